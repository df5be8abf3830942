"""The client's portal: today, practising, logging, history, progress and phrases.

Views stay thin: access through the selectors' *_or_404 helpers (someone else's
object answers 404 like a missing one), figures from the selectors, writes
through the services.
"""

from datetime import date, datetime, timedelta
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.access import client_required
from accounts.models import User
from accounts.offline import offline_cacheable
from accounts.selectors import crisis_resources_for_user
from homework import charts
from homework.forms.completions import CompletionForm, ReplyForm
from homework.models import Assignment, Completion, Feedback
from homework.page_cache import Rendered, cached_client_page
from homework.panels import panels_render
from homework.schedule import Schedule, describe, local_date
from homework.selectors.practice import (
    assignment_for_client_or_404,
    client_today,
    days_log,
    log_details,
    logging_closed_reason,
    moment_practice,
    next_session_for_client,
    phrase_bank,
    reflection_visible_to,
    thread_for_client_or_404,
    today_for_client,
)
from homework.selectors.progress import client_progress
from homework.services.completions import (
    CompletionLocked,
    Logged,
    completion_clinician_tell,
    completion_correct,
    completion_for_client_uuid,
    completion_log_outcome,
    earliest_loggable_day,
)
from homework.services.feedback import client_reply_create, feedback_mark_read

HISTORY_PAGE_SIZE = 20


@client_required
@offline_cacheable
def today(request: HttpRequest) -> HttpResponse:
    client = request.user

    def page() -> Rendered:
        figures = today_for_client(client=client)
        context = {
            "today": figures,
            "next_session_on": next_session_for_client(client=client, today=figures.local_date),
            "panels": panels_render(page="today", request=request, client=client),
        }
        return Rendered(render(request, "portal/today.html", context))

    # The day's plans as of the client's record and day: from the page cache
    # (homework.page_cache) until any of it changes.
    return cached_client_page(request, page="today", client=client, render=page)


@client_required
@offline_cacheable
def moment(request: HttpRequest) -> HttpResponse:
    """The page "I need a moment" opens: the client's "any time" practices, or, with
    none, a short built-in practice to follow with nothing to log."""
    items = today_for_client(client=request.user).moment_items
    return render(
        request,
        "portal/moment.html",
        {"items": items, "exercise": None if items else moment_practice()},
    )


@client_required
@offline_cacheable
def practice(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = assignment_for_client_or_404(request.user, assignment_id)
    day = client_today(request.user)
    todays_log = days_log(assignment, day)
    return render(
        request,
        "portal/practice.html",
        {
            "assignment": assignment,
            "exercise": assignment.exercise,
            "schedule_text": describe(Schedule.of(assignment)),
            "closed_reason": None if todays_log else logging_closed_reason(assignment, day),
            "todays_log": todays_log,
        },
    )


def _minutes_from_timer(request: HttpRequest) -> int | None:
    """The practice page's timer passes ?minutes=; anything odd is simply ignored."""
    value = request.GET.get("minutes", "")
    return int(value) if value.isdigit() and int(value) <= 600 else None


def _locked(request: HttpRequest, completion: Completion | None, reason: str) -> HttpResponse:
    return render(
        request,
        "portal/log_locked.html",
        {"completion": completion, "reason": reason},
        status=403,
    )


def _save(
    client: User, assignment: Assignment, form: CompletionForm, now: datetime
) -> tuple[Completion, Logged]:
    arguments = form.service_arguments()
    practised_on = arguments.pop("practised_on")
    client_uuid = arguments.pop("client_uuid")
    editing_id = form.cleaned_data.get("completion_id")
    editing = (
        Completion.objects.select_related("assignment__exercise")
        .filter(pk=editing_id, client_id=client.pk, assignment_id=assignment.pk)
        .first()
        if editing_id
        else None
    )
    if editing is not None:
        corrected = completion_correct(client=client, completion=editing, now=now, **arguments)
        return corrected, Logged.CORRECTED
    return completion_log_outcome(
        client=client,
        assignment=assignment,
        now=now,
        practised_on=practised_on,
        client_uuid=client_uuid,
        **arguments,
    )


def _loggable_days(client: User, now: datetime) -> list[date]:
    """Today first, then each earlier day still inside the grace window."""
    today = local_date(now, client.zone)
    earliest = earliest_loggable_day(client=client, now=now)
    return [today - timedelta(days=n) for n in range((today - earliest).days + 1)]


def _todays_log(assignment: Assignment, day: date) -> Completion | None:
    """The day's log a once-a-day plan's form corrects; an "any time" plan takes new ones."""
    return None if assignment.exercise.any_time else days_log(assignment, day)


LOGGED = "Your practice is logged. Thank you for taking this time for yourself."


def _log_post(
    request: HttpRequest,
    assignment: Assignment,
    now: datetime,
    *,
    editing: Completion | None = None,
) -> HttpResponse:
    """A log sent from the form (or the phone's queue): saved and on to today, or the form
    again with its messages. The log the form corrects (`editing`, from history, else
    today's log of the plan) is read only when the form is shown again."""

    def existing() -> Completion | None:
        if editing is not None:
            return editing
        return _todays_log(assignment, local_date(now, request.user.zone))

    form = CompletionForm(
        request.POST, exercise=assignment.exercise, days=_loggable_days(request.user, now)
    )
    if form.is_valid():
        try:
            saved, outcome = _save(request.user, assignment, form, now)
        except CompletionLocked as error:
            return _locked(request, existing(), str(error))
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            corrected = outcome is Logged.CORRECTED
            messages.success(request, "Your log is corrected." if corrected else LOGGED)
            if outcome is not Logged.REPLAYED and saved.is_backdraft:
                return redirect("homework:grounding", completion_id=saved.pk)
            return redirect("homework:today")
    elif _already_arrived(request, assignment):
        # A log the phone sends again (its answer was lost on the way, or it was a double
        # tap) is answered as the success it was, whatever changed since: the plan may
        # have ended, or the day left the grace window, and neither is a reason to tell
        # the client a log they made was refused. (The service answers replays itself
        # once the form has passed.)
        messages.success(request, LOGGED)
        return redirect("homework:today")
    return _log_page(request, assignment, existing(), now, form=form)


def _log_page(
    request: HttpRequest,
    assignment: Assignment,
    existing: Completion | None,
    now: datetime,
    *,
    form: CompletionForm | None = None,
) -> HttpResponse:
    """The log form: empty, or correcting today's log; or `form` refused, with its messages."""
    exercise = assignment.exercise
    day = local_date(now, request.user.zone)
    closed_reason = None if existing else logging_closed_reason(assignment, day)
    if form is None:
        # Correcting today's log keeps its day (the form shows no choice); a new log may
        # be for an earlier day of the grace window.
        form = CompletionForm(
            initial=CompletionForm.initial_for(exercise, existing, _minutes_from_timer(request)),
            exercise=exercise,
            days=[day] if existing else _loggable_days(request.user, now),
        )
    return render(
        request,
        "portal/log.html",
        {
            "assignment": assignment,
            "exercise": exercise,
            "form": form,
            "existing": existing,
            "closed_reason": closed_reason,
            "local_date": day,
        },
        status=400 if form.is_bound else 200,
    )


def _already_arrived(request: HttpRequest, assignment: Assignment) -> bool:
    """Whether the new log's id (the form's, or ?client_uuid= from the phone's queue
    asking before it sends) is already a log of this plan."""
    data = request.POST if request.method == "POST" else request.GET
    if data.get("completion_id"):
        return False  # a correction carries no id of its own
    try:
        client_uuid = UUID(data.get("client_uuid", ""))
    except ValueError:
        return False
    replayed = completion_for_client_uuid(client=request.user, client_uuid=client_uuid)
    return replayed is not None and replayed.assignment_id == assignment.pk


@client_required
@offline_cacheable
def log(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Log a practice; if today's log of a once-a-day plan exists, this corrects it.

    An "any time" practice takes a new log each time.
    """
    assignment = assignment_for_client_or_404(request.user, assignment_id)
    now = timezone.now()
    if request.method == "POST":
        return _log_post(request, assignment, now)
    if _already_arrived(request, assignment):
        return redirect("homework:today")  # the phone's queue asking before it sends
    existing = _todays_log(assignment, local_date(now, request.user.zone))
    return _log_page(request, assignment, existing, now)


@client_required
def completion_edit(request: HttpRequest, completion_id: int) -> HttpResponse:
    """Correct a log from history: today's opens the log form, an earlier day's is kept as is."""
    completion = (
        Completion.objects.select_related("assignment__exercise")
        .filter(pk=completion_id, client_id=request.user.pk)
        .first()
    )
    if completion is None:
        raise Http404("No such practice log.")
    now = timezone.now()
    if completion.local_date != local_date(now, request.user.zone):
        return _locked(
            request,
            completion,
            "Logs from earlier days can't be changed, so your record stays as it was on the day.",
        )
    # The plan's log page corrects today's one log; an any-time practice has several
    # a day, so each is corrected here, on its own page.
    if request.method == "POST":
        return _log_post(request, completion.assignment, now, editing=completion)
    if not completion.assignment.exercise.any_time:
        return redirect("homework:log", assignment_id=completion.assignment_id)
    return _log_page(request, completion.assignment, completion, now)


@client_required
def history(request: HttpRequest) -> HttpResponse:
    completions = (
        Completion.objects.filter(client_id=request.user.pk)
        .select_related("assignment__exercise")
        .prefetch_related(
            Prefetch("feedback", queryset=Feedback.objects.select_related("clinician"))
        )
        .order_by("-local_date", "-id")
    )
    page = Paginator(completions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    day = client_today(request.user)
    entries = [
        log_details(
            completion,
            today=day,
            # The client's own logs, selected above.
            reflection_visible=reflection_visible_to(request.user, completion, record_visible=True),
        )
        for completion in page.object_list
    ]
    # Shown now, so read now; the "new" marks above were taken before this update.
    feedback_mark_read(client=request.user, completion_ids=[e.completion.pk for e in entries])
    return render(request, "portal/history.html", {"page": page, "entries": entries})


@client_required
def progress(request: HttpRequest) -> HttpResponse:
    figures = client_progress(client=request.user)
    return render(
        request,
        "portal/progress.html",
        {
            "progress": figures,
            "adherence_chart": charts.adherence_chart(figures.weeks),
            "rating_charts": [charts.ratings_chart(series) for series in figures.rating_series],
            "panels": panels_render(page="progress", request=request, client=request.user),
        },
    )


@client_required
def phrases(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/phrases.html", {"phrases": phrase_bank(client=request.user)})


@client_required
@require_http_methods(["GET", "POST"])
def thread(request: HttpRequest, completion_id: int) -> HttpResponse:
    """One log and its conversation with the clinician; the client replies here."""
    completion = thread_for_client_or_404(request.user, completion_id)
    form = ReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                client_reply_create(
                    client=request.user, completion=completion, text=form.cleaned_data["text"]
                )
            except ValidationError as error:
                form.add_error("text", error.messages)
            else:
                messages.success(request, "Your reply is sent. Your clinician will see it.")
                return redirect("homework:thread", completion_id=completion.pk)
        status = 400
    entry = log_details(
        completion,
        today=client_today(request.user),
        reflection_visible=reflection_visible_to(request.user, completion, record_visible=True),
    )
    thread_messages = list(completion.feedback.all())
    # Shown now, so read now; the "new" marks on the page were taken before this update.
    feedback_mark_read(client=request.user, completion_ids=[completion.pk])
    return render(
        request,
        "portal/thread.html",
        {
            "entry": entry,
            "thread_messages": thread_messages,
            "can_reply": any(not message.from_client for message in thread_messages),
            "form": form,
        },
        status=status,
    )


@client_required
@require_http_methods(["GET", "HEAD", "POST"])
def grounding(request: HttpRequest, completion_id: int) -> HttpResponse:
    """After a hard practice: why it can happen, a soothing practice, the clinic's help,
    and the choice to let the clinician know (a POST)."""
    completion = Completion.objects.filter(pk=completion_id, client_id=request.user.pk).first()
    if completion is None:
        raise Http404("No such log.")
    if request.method == "POST":
        completion_clinician_tell(client=request.user, completion=completion)
        messages.success(request, "Your clinician will see that this practice was hard.")
        return redirect("homework:grounding", completion_id=completion.pk)
    return render(
        request,
        "portal/grounding.html",
        {"completion": completion, "crisis": crisis_resources_for_user(user=request.user)},
    )
