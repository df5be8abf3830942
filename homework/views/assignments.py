"""Assigning homework to a client, and changing, pausing, resuming or ending a plan."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import client_closed_reason, client_for_user_or_404, clinician_required
from accounts.models import User
from homework.forms.assignments import AssignmentCreateForm, AssignmentForm
from homework.forms.exercises import apply_validation_error
from homework.models import Assignment, AssignmentStatus, Exercise
from homework.selectors.assignments import (
    assignment_for_clinician_or_404,
    assignment_history,
    assignment_schedule_text,
)
from homework.selectors.exercises import exercises_visible_to
from homework.services import assignments as services


def _form_context(client: User) -> dict:
    return {
        "client_zone": client.timezone,
        "client_reminder": client.client_profile.reminder_time.strftime("%H:%M"),
    }


def _client_page(client: User) -> str:
    return reverse("homework:client-detail", args=[client.pk])


@clinician_required
def assignment_create(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    closed = client_closed_reason(client)
    if closed is not None and request.method == "GET":
        # Say so before the clinician fills in a form that would be refused.
        messages.error(request, closed)
        return redirect(_client_page(client))
    exercises = list(
        exercises_visible_to(request.user).active().order_by("category", "title", "id")
    )
    initial = {"start_date": services.client_today(client=client)}
    wanted = request.GET.get("exercise", "")
    if wanted.isdigit():
        if any(exercise.pk == int(wanted) for exercise in exercises):
            initial["exercise"] = int(wanted)
        else:
            messages.info(request, "That exercise cannot be assigned; choose one from the list.")
    form = AssignmentCreateForm(
        request.POST or None, initial=initial, exercises=exercises, **_form_context(client)
    )
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        exercise_id = arguments.pop("exercise_id")
        # Any exercise id is looked up; the service decides what may be assigned.
        exercise = Exercise.objects.filter(pk=exercise_id).first()
        try:
            services.assignment_create(
                clinician=request.user, client=client, exercise=exercise, **arguments
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{client} has a new practice: {exercise.title}.")
            return redirect(_client_page(client))
    return render(
        request,
        "clinician/assignments/create.html",
        {"form": form, "client": client, "client_page": _client_page(client)},
    )


@clinician_required
def assignment_edit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = assignment_for_clinician_or_404(request.user, assignment_id)
    client = assignment.client
    editable = assignment.status != AssignmentStatus.ENDED
    form = AssignmentForm(
        request.POST or None,
        initial=AssignmentForm.initial_for(assignment),
        **_form_context(client),
    )
    if request.method == "POST" and editable and form.is_valid():
        try:
            changed = services.assignment_update(
                assignment=assignment, actor=request.user, **form.service_arguments()
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if changed:
                messages.success(request, "The plan was updated.")
            else:
                messages.info(request, "Nothing had changed.")
            return redirect("homework:assignment-edit", assignment_id=assignment.pk)
    return render(
        request,
        "clinician/assignments/edit.html",
        {
            "form": form,
            "assignment": assignment,
            "client": client,
            "client_page": _client_page(client),
            "editable": editable,
            "schedule_text": assignment_schedule_text(assignment),
            "history": assignment_history(assignment),
        },
        status=400 if request.method == "POST" and not editable else 200,
    )


def _status_action(
    request: HttpRequest, assignment_id: int, change: Callable[..., Assignment], done: str
) -> HttpResponse:
    assignment = assignment_for_clinician_or_404(request.user, assignment_id)
    try:
        change(assignment=assignment, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    # The client page's buttons say where they came from, so the clinician stays there.
    if request.POST.get("return_to") == "client":
        return redirect(f"{_client_page(assignment.client)}#plan-{assignment.pk}")
    return redirect("homework:assignment-edit", assignment_id=assignment.pk)


@require_POST
@clinician_required
def assignment_pause(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _status_action(
        request,
        assignment_id,
        services.assignment_pause,
        "Paused. The client is not asked to practise this until you resume it.",
    )


@require_POST
@clinician_required
def assignment_resume(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _status_action(request, assignment_id, services.assignment_resume, "Resumed from today.")


@require_POST
@clinician_required
def assignment_end(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _status_action(
        request,
        assignment_id,
        services.assignment_end,
        "Ended. The client's practice log and this history are kept.",
    )
