"""Questionnaires (measures) and "what helps": the client's and the clinician's pages.

Views stay thin: access through accounts.access and the measure selectors' *_or_404
helpers (someone else's object answers 404 like a missing one), writes through
measures.services, figures from the selectors and measures.insights.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.access import (
    caseload_reader_required,
    client_for_user_or_404,
    client_required,
    clients_visible_to,
    clinician_required,
    may_write_caseload,
)
from accounts.models import User
from accounts.selectors import crisis_resources_for_user
from audit.services import audit_record_view, audit_record_views
from homework.schedule import local_date
from measures.charts import measure_trend_charts
from measures.engine import instruments
from measures.forms import MeasureAssignmentForm, MeasureResponseForm
from measures.insights import (
    MIN_PERIODS,
    MIN_PRACTICES,
    SMALL_SAMPLE,
    what_helps_across_caseload,
    what_helps_by_client,
    what_helps_by_questionnaire,
    what_helps_for_client,
)
from measures.models import MeasureResponse
from measures.selectors import (
    measure_assignment_for_client_or_404,
    measure_assignment_for_user_or_404,
    measure_history,
    measure_statuses,
    risk_flag_for_user_or_404,
    scored,
)
from measures.services import (
    measure_assignment_create,
    measure_assignment_end,
    measure_response_submit,
    risk_flag_acknowledge,
)


def _cited(*groups: list) -> list:
    """Each instrument shown on a page once, for its citation."""
    seen: dict[str, object] = {}
    for group in groups:
        for entry in group:
            seen.setdefault(entry.instrument.code, entry.instrument)
    return list(seen.values())


def _insight_context() -> dict:
    return {
        "min_practices": MIN_PRACTICES,
        "small_sample": SMALL_SAMPLE,
        "min_periods": MIN_PERIODS,
    }


# --- The client's side ---


@client_required
def client_measures(request: HttpRequest) -> HttpResponse:
    """Questionnaires due now, past answers with their scores, and the trend."""
    statuses = measure_statuses(client=request.user)
    history = measure_history(client=request.user)
    return render(
        request,
        "portal/measures.html",
        {
            "statuses": statuses,
            "history": history,
            "trend_charts": measure_trend_charts(client=request.user, history=history),
            "cited": _cited(statuses, history),
        },
    )


@client_required
def measure_answer(request: HttpRequest, measure_id: int) -> HttpResponse:
    measure = measure_assignment_for_client_or_404(request.user, measure_id)
    status = next(
        (s for s in measure_statuses(client=request.user) if s.measure.pk == measure.pk), None
    )
    if status is None or not status.is_due:
        return render(
            request,
            "portal/measure_closed.html",
            {"measure": measure, "status": status},
            status=200 if request.method == "GET" else 400,
        )
    instrument = status.instrument
    code = 200
    if request.method == "POST":
        form = MeasureResponseForm(request.POST, instrument=instrument)
        if form.is_valid():
            try:
                response = measure_response_submit(
                    client=request.user, measure=measure, answers=form.answers
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, "Thank you. Your answers are saved.")
                return redirect("measures:measure-response", response_id=response.pk)
        code = 400
    else:
        form = MeasureResponseForm(instrument=instrument)
    return render(
        request,
        "portal/measure_answer.html",
        {"measure": measure, "instrument": instrument, "form": form, "status": status},
        status=code,
    )


@client_required
def client_response_detail(request: HttpRequest, response_id: int) -> HttpResponse:
    response = MeasureResponse.objects.filter(pk=response_id, client_id=request.user.pk).first()
    item = scored(response) if response is not None else None
    if item is None:
        raise Http404("No such answer.")
    # An answer past a risk item's threshold: the clinic's crisis resources come first.
    crisis = crisis_resources_for_user(user=request.user) if item.scores.alerts else None
    return render(request, "portal/measure_response.html", {"item": item, "crisis": crisis})


@client_required
def client_what_helps(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/measure_what_helps.html",
        {
            "insights": what_helps_for_client(client=request.user),
            "questionnaire_insights": what_helps_by_questionnaire(client=request.user),
            **_insight_context(),
        },
    )


# --- The clinician's side ---


def _clinician_page(
    request: HttpRequest, client: User, form: MeasureAssignmentForm, status: int = 200
) -> HttpResponse:
    history = measure_history(client=client)
    return render(
        request,
        "clinician/measures.html",
        {
            "client": client,
            "form": form,
            "statuses": measure_statuses(client=client, include_ended=True),
            "history": history,
            "trend_charts": measure_trend_charts(client=client, history=history),
            "insights": what_helps_for_client(client=client),
            "questionnaire_insights": what_helps_by_questionnaire(client=client, history=history),
            "can_write": may_write_caseload(request.user),
            # The form lists every instrument, so every one is cited.
            "cited": list(instruments().values()),
            **_insight_context(),
        },
        status=status,
    )


@caseload_reader_required
def clinician_measures(request: HttpRequest, client_id: int) -> HttpResponse:
    """A client's questionnaires: schedule one, see the answers, the trend and what helps."""
    client = client_for_user_or_404(request.user, client_id)
    if request.method == "POST":
        form = MeasureAssignmentForm(request.POST)
        if form.is_valid():
            try:
                measure_assignment_create(
                    clinician=request.user, client=client, **form.service_arguments()
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, "The questionnaire is scheduled. It shows on the client's Today page."
                )
                return redirect("measures:clinician-measures", client_id=client.pk)
        return _clinician_page(request, client, form, status=400)
    audit_record_view(request=request, target=client, client=client)
    today = local_date(timezone.now(), client.zone)
    return _clinician_page(request, client, MeasureAssignmentForm(initial={"start_date": today}))


@clinician_required
@require_http_methods(["POST"])
def clinician_measure_end(request: HttpRequest, measure_id: int) -> HttpResponse:
    measure = measure_assignment_for_user_or_404(request.user, measure_id)
    measure_assignment_end(clinician=request.user, measure=measure)
    messages.success(request, "The questionnaire schedule has ended. Past answers are kept.")
    return redirect("measures:clinician-measures", client_id=measure.client_id)


@caseload_reader_required
def clinician_response_detail(request: HttpRequest, response_id: int) -> HttpResponse:
    response = MeasureResponse.objects.filter(pk=response_id).select_related("client").first()
    if response is None:
        raise Http404("No such answer.")
    client = client_for_user_or_404(request.user, response.client_id)
    item = scored(response)
    if item is None:
        raise Http404("No such answer.")
    audit_record_view(request=request, target=response, client=client)
    return render(request, "clinician/measure_response.html", {"item": item, "client": client})


@caseload_reader_required
def clinician_insights(request: HttpRequest) -> HttpResponse:
    """What seems to help, across the caseload and per client; three queries."""
    clients = list(clients_visible_to(request.user).order_by("full_name", "email", "id"))
    if request.user.is_supervisor:
        # As on the dashboard: a supervisor's look at each client is on their record.
        audit_record_views(request=request, target=User, client_ids=[c.pk for c in clients])
    by_client = what_helps_by_client(clients=clients)
    return render(
        request,
        "clinician/insights.html",
        {
            "across": what_helps_across_caseload(clinician=request.user),
            "rows": [(client, by_client.get(client.pk, [])) for client in clients],
            **_insight_context(),
        },
    )


@clinician_required
@require_http_methods(["POST"])
def clinician_risk_flag_acknowledge(request: HttpRequest, flag_id: int) -> HttpResponse:
    """The clinician has seen an urgent flag and is acting on it (audited)."""
    flag = risk_flag_for_user_or_404(request.user, flag_id)
    risk_flag_acknowledge(clinician=request.user, flag=flag)
    messages.success(request, "The flag is acknowledged. It stays in the client's record.")
    return redirect("homework:client-detail", client_id=flag.client_id)
