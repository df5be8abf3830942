"""Clinician pages for programs, groups and enrolments; the course panels for the
client's Today and Progress pages live in programs/panels.py.

Views stay thin: access through the selectors' *_or_404 helpers (someone else's
program or group answers 404 like a missing one), writes through programs.services.
"""

import zoneinfo
from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import clients_visible_to, clinician_required
from accounts.models import User
from audit.services import audit_record_views
from homework.models import Exercise
from homework.page_cache import Rendered, cached_page
from homework.schedule import Schedule, describe, local_date, weekdays_mask
from programs import services
from programs.charts import group_weeks_chart
from programs.forms import BulkAssignForm, EnrolForm, GroupForm, ProgramForm
from programs.models import Enrolment, Group
from programs.selectors import (
    enrolments_visible_to,
    exercise_titles,
    group_for_user_or_404,
    group_member_zones,
    group_overview,
    groups_visible_to,
    program_for_user_or_404,
    program_latest_version,
    programs_visible_to,
)


def _caseload(user: User) -> QuerySet[User]:
    return clients_visible_to(user).filter(is_active=True).order_by("full_name", "email")


def _exercises(user: User) -> QuerySet[Exercise]:
    return Exercise.objects.visible_to_clinic(user.clinic_id).active()


@clinician_required
def program_list(request: HttpRequest) -> HttpResponse:
    programs = list(programs_visible_to(request.user).order_by("clinic_id", "title"))
    return render(
        request,
        "clinician/programs/list.html",
        {
            "builtins": [p for p in programs if p.is_builtin],
            "own": [p for p in programs if not p.is_builtin],
        },
    )


def _schedule_text(item: dict) -> str:
    return describe(
        Schedule(
            kind=item["schedule_kind"],
            start_date=date(2024, 1, 1),
            weekdays=weekdays_mask(item["weekdays"]),
            times_per_week=item["times_per_week"],
        )
    )


@clinician_required
def program_detail(request: HttpRequest, program_id: int) -> HttpResponse:
    program = program_for_user_or_404(request.user, program_id)
    version = program_latest_version(program)
    weeks = version.weeks if version else []
    ids = {i["exercise_id"] for w in weeks for i in w["items"]}
    titles = exercise_titles(ids)
    any_time = set(Exercise.objects.filter(pk__in=ids, any_time=True).values_list("pk", flat=True))
    return render(
        request,
        "clinician/programs/detail.html",
        {
            "program": program,
            "version": version,
            "weeks": [
                {
                    **week,
                    "practices": [
                        (
                            titles.get(i["exercise_id"], ""),
                            _schedule_text(i)
                            + (
                                "; also any time, as often as the client needs"
                                if i["exercise_id"] in any_time
                                else ""
                            ),
                        )
                        for i in week["items"]
                    ],
                }
                for week in weeks
            ],
        },
    )


@clinician_required
@require_http_methods(["GET", "POST"])
def program_edit(request: HttpRequest, program_id: int | None = None) -> HttpResponse:
    program = None
    version = None
    if program_id is not None:
        program = program_for_user_or_404(request.user, program_id)
        if program.is_builtin:
            raise PermissionDenied("Built-in programs are read-only: copy one to change it.")
        version = program_latest_version(program)
    initial = (
        {
            "title": program.title,
            "summary": program.summary,
            "delivery": program.delivery,
            "practices_to_advance": program.practices_to_advance,
        }
        if program
        else {}
    )
    form = ProgramForm(
        request.POST or None,
        exercises=_exercises(request.user),
        version=version,
        initial=initial,
    )
    status = 200
    if request.method == "POST" and not form.is_adding:
        if form.is_valid():
            data = form.cleaned_data
            try:
                program = services.program_save(
                    clinician=request.user,
                    program=program,
                    title=data["title"],
                    summary=data["summary"],
                    delivery=data["delivery"],
                    practices_to_advance=data["practices_to_advance"],
                    weeks=form.weeks(),
                )
            except ValidationError as error:
                form.add_service_errors(
                    error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
                )
            else:
                messages.success(request, "The program is saved.")
                return redirect("programs:program-detail", program_id=program.pk)
        status = 400
    return render(
        request,
        "clinician/programs/edit.html",
        {"form": form, "program": program},
        status=status,
    )


@clinician_required
@require_POST
def program_copy(request: HttpRequest, program_id: int) -> HttpResponse:
    program = program_for_user_or_404(request.user, program_id)
    copy = services.program_copy(clinician=request.user, program=program)
    messages.success(request, "A copy is in your clinic's programs. You can change it.")
    return redirect("programs:program-detail", program_id=copy.pk)


def _chosen_clients(request: HttpRequest, data: dict) -> tuple[list[User], Group | None]:
    """The group's members, or the chosen clients; ids the caller may not see are kept as
    users of their own so the service can name them, but only among the caller's clinic."""
    group = None
    if data.get("group"):
        group = group_for_user_or_404(request.user, data["group"])
        return list(
            group.members.select_related("client_profile").order_by("full_name", "email")
        ), group
    return list(
        _caseload(request.user)
        .select_related("client_profile")
        .filter(pk__in=data.get("clients") or [])
    ), None


@clinician_required
@require_http_methods(["GET", "POST"])
def program_enrol(request: HttpRequest, program_id: int) -> HttpResponse:
    program = program_for_user_or_404(request.user, program_id)
    form = EnrolForm(
        request.POST or None,
        clients=list(_caseload(request.user)),
        groups=list(groups_visible_to(request.user)),
        initial={"group": request.GET.get("group")},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            clients, group = _chosen_clients(request, form.cleaned_data)
            try:
                enrolments = services.enrolments_create(
                    clinician=request.user,
                    program=program,
                    clients=clients,
                    group=group,
                    start_date=form.cleaned_data["start_date"],
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    target = field if field in form.fields else None
                    for problem in problems:
                        form.add_error(target, problem)
            else:
                messages.success(request, f"Enrolled {len(enrolments)} in “{program.title}”.")
                if group is not None:
                    return redirect("programs:group-detail", group_id=group.pk)
                return redirect("programs:program-detail", program_id=program.pk)
        status = 400
    return render(
        request,
        "clinician/programs/enrol.html",
        {"form": form, "program": program},
        status=status,
    )


@clinician_required
def group_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "clinician/programs/groups.html",
        {"groups": list(groups_visible_to(request.user).order_by("name"))},
    )


@clinician_required
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, group_id: int | None = None) -> HttpResponse:
    group = group_for_user_or_404(request.user, group_id) if group_id is not None else None
    initial = (
        {"name": group.name, "members": list(group.members.values_list("pk", flat=True))}
        if group
        else {}
    )
    form = GroupForm(request.POST or None, clients=list(_caseload(request.user)), initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                group = services.group_save(
                    clinician=request.user,
                    group=group,
                    name=form.cleaned_data["name"],
                    member_ids=form.cleaned_data["members"],
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                messages.success(request, "The group is saved.")
                return redirect("programs:group-detail", group_id=group.pk)
        status = 400
    return render(
        request,
        "clinician/programs/group_edit.html",
        {"form": form, "group": group},
        status=status,
    )


@clinician_required
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_for_user_or_404(request.user, group_id)
    members = group_member_zones(group_id=group.pk)
    # The page shows each member's practice: a view of their records.
    audit_record_views(request=request, target=Enrolment, client_ids=[pk for pk, _ in members])
    now = timezone.now()

    def page() -> Rendered:
        overview = group_overview(group=group, now=now)
        body = render_to_string(
            "clinician/programs/_group_body.html",
            {
                "group": group,
                "overview": overview,
                "chart": group_weeks_chart(overview),
                "programs": list(programs_visible_to(request.user).order_by("clinic_id", "title")),
            },
            request=request,
        )
        # Safe: rendered from the body's template, where every value was escaped.
        context = {"group": group, "body": mark_safe(body)}
        return Rendered(render(request, "clinician/programs/group.html", context))

    # Each member's week so far is counted to their own today.
    todays = sorted({local_date(now, zoneinfo.ZoneInfo(zone)) for _, zone in members})
    return cached_page(
        request,
        page="group",
        client_ids=[pk for pk, _ in members],
        depends_on=[group, *todays],
        render=page,
    )


ACTIONS = {
    "forward": lambda e, u: services.enrolment_move(enrolment=e, actor=u, forward=True),
    "back": lambda e, u: services.enrolment_move(enrolment=e, actor=u, forward=False),
    "pause": lambda e, u: services.enrolment_pause(enrolment=e, actor=u),
    "resume": lambda e, u: services.enrolment_resume(enrolment=e, actor=u),
    "remove": lambda e, u: services.enrolment_remove(enrolment=e, actor=u),
    "update": lambda e, u: services.enrolment_version_update(enrolment=e, actor=u),
}

DONE = {
    "forward": "Moved on a week; the new week starts today.",
    "back": "Moved back a week; that week starts again today.",
    "pause": "The course is paused for this client.",
    "resume": "The course carries on.",
    "remove": "The client is taken out of the course. Their past practice stays.",
    "update": "The client follows the newest version from next week.",
}


@clinician_required
@require_POST
def enrolment_action(request: HttpRequest, enrolment_id: int, action: str) -> HttpResponse:
    enrolment = get_object_or_404(enrolments_visible_to(request.user), pk=enrolment_id)
    if action not in ACTIONS:
        return render(request, "404.html", status=404)
    try:
        ACTIONS[action](enrolment, request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, DONE[action])
    back = request.POST.get("next", "")
    if back.startswith("/clinician/") and "//" not in back:
        return redirect(back)
    return redirect("homework:client-detail", client_id=enrolment.client_id)


@clinician_required
@require_http_methods(["GET", "POST"])
def assign_many(request: HttpRequest) -> HttpResponse:
    """One exercise for several clients or a group: all of them, or none."""
    form = BulkAssignForm(
        request.POST or None,
        clients=list(_caseload(request.user)),
        groups=list(groups_visible_to(request.user)),
        exercises=_exercises(request.user),
        initial={"group": request.GET.get("group")},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            clients, _ = _chosen_clients(request, data)
            try:
                made = services.assignments_create_for_clients(
                    clinician=request.user,
                    clients=clients,
                    exercise=_exercises(request.user).filter(pk=data["exercise"]).first(),
                    schedule_kind=data["schedule_kind"],
                    weekdays=data["weekdays"],
                    times_per_week=data["times_per_week"],
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                messages.success(request, f"The exercise is given to {len(made)} clients.")
                return redirect("homework:dashboard")
        status = 400
    return render(request, "clinician/programs/assign_many.html", {"form": form}, status=status)
