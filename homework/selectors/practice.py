"""Reads for the client's practice: today's list, the phrase bank, and who may see what.

`today_for_client` is the one answer to "what is due today" for the portal page
and the API's `today` endpoint alike; both render `Today.as_dict()` or the objects
behind it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.access import KEY_RANGE, clients_visible_to, clinician_stand_in, rule_compiles_for
from accounts.models import Role, User
from core.compiled import CompiledModels, CompiledValues, IdList
from homework.models import (
    Assignment,
    AssignmentEvent,
    AssignmentStatus,
    ClientNote,
    Completion,
    Exercise,
    Feedback,
    Rating,
)
from homework.schedule import (
    TIMES_PER_WEEK,
    Pause,
    Schedule,
    describe,
    done_in_week,
    due_on,
    left_this_week,
    local_date,
    next_scheduled_day,
    week_quota,
    week_start,
)
from homework.selectors.assignments import assignments_visible_to

# AssignmentEvent.action values that change whether a plan runs. Both the verb and
# the past tense are accepted so the history reads right whichever the writer used.
PAUSE_ACTIONS = frozenset({"paused", "pause"})
RESUME_ACTIONS = frozenset({"resumed", "resume"})
END_ACTIONS = frozenset({"ended", "end"})
STATUS_ACTIONS = PAUSE_ACTIONS | RESUME_ACTIONS | END_ACTIONS


# --- Access: objects that are not the caller's answer 404, like missing ones. ---


def client_assignment_query(assignment_id: int, client_id: int) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(pk=assignment_id, client_id=client_id)
        .select_related("exercise")
        .order_by("pk")[:1]
    )


def days_log_query(assignment_id: int, day: date) -> QuerySet[Completion]:
    """A plan's log of one day (the first, for a plan that takes several)."""
    return Completion.objects.filter(assignment_id=assignment_id, local_date=day).order_by("pk")[:1]


# Read on every practice and log page and every logged practice: compiled once per
# process (core.compiled; tests/core/test_compiled.py compares them with the ORM).
_CLIENT_ASSIGNMENT = CompiledModels(client_assignment_query, int, int)
_DAYS_LOG = CompiledModels(days_log_query, int, date)


def _client_assignment(client_id: int, assignment_id: int) -> Assignment | None:
    """The client's own plan with this id, its exercise read with it (compiled)."""
    if assignment_id not in KEY_RANGE:
        return None
    found = _CLIENT_ASSIGNMENT.all(assignment_id, client_id)
    return found[0] if found else None


def assignment_for_client_or_404(client: User, assignment_id: int) -> Assignment:
    assignment = _client_assignment(client.pk, assignment_id)
    if assignment is None:
        raise Http404("No such practice.")
    return assignment


def assignment_with_exercise_visible_to(user: User, assignment_id: int) -> Assignment | None:
    """`assignments_visible_to(user)`'s plan with this id, its exercise read with it: a
    client's own plan from the compiled read (the API's practice log names one)."""
    if user.role == Role.CLIENT:
        return _client_assignment(user.pk, assignment_id)
    if assignment_id not in KEY_RANGE:
        return None
    return assignments_visible_to(user).select_related("exercise").filter(pk=assignment_id).first()


def days_log(assignment: Assignment, day: date) -> Completion | None:
    """The plan's log of `day`, if there is one."""
    found = _DAYS_LOG.all(assignment.pk, day)
    return found[0] if found else None


def completions_visible_to(user: User) -> QuerySet[Completion]:
    return Completion.objects.filter(client__in=clients_visible_to(user))


def completion_for_user_or_404(user: User, completion_id: int) -> Completion:
    completion = (
        completions_visible_to(user)
        .select_related("assignment__exercise", "client")
        .filter(pk=completion_id)
        .first()
    )
    if completion is None:
        raise Http404("No such practice log.")
    return completion


def thread_for_client_or_404(client: User, completion_id: int) -> Completion:
    """One of the client's own logs with its messages; anyone else's answers 404."""
    completion = (
        Completion.objects.filter(pk=completion_id, client_id=client.pk)
        .select_related("assignment__exercise")
        .prefetch_related(
            Prefetch("feedback", queryset=Feedback.objects.select_related("clinician"))
        )
        .first()
    )
    if completion is None:
        raise Http404("No such practice log.")
    return completion


def reflection_visible_to(
    user: User | AnonymousUser | None,
    completion: Completion,
    *,
    record_visible: bool | None = None,
) -> bool:
    """May this user read the log's reflection and its answers to the exercise's prompts?

    The one rule for every surface (pages, API, exports). The answers are part of
    what the client wrote about the practice, so "keep my reflection private"
    covers them too. The client reads all of their own; anyone else who may see the
    client's record (accounts.access: their clinician, their clinic's admin)
    reads only what the client shared; nobody else reads any. The practice itself,
    its minutes and its ratings are not covered: whoever sees the record sees them.

    `record_visible=True` is for callers whose rows already come from the
    caller's access rules (one client's page after client_for_user_or_404, an API
    queryset from completions_visible_to, an export of a record its caller may
    see): it saves a query per log. Left as None, the database is asked.
    """
    if user is None or not user.is_authenticated:
        return False
    if completion.client_id != user.pk and not completion.reflection_shared:
        return False
    if record_visible is None:
        record_visible = clients_visible_to(user).filter(pk=completion.client_id).exists()
    return record_visible


# --- Schedules with their history ---


def with_status_event_flag(assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Mark each assignment that has any pause, resume or end in its history.

    `schedules_for` then reads the history of only those: most plans were never
    paused, and a page that shows one client's plans usually saves a query.
    """
    return assignments.annotate(
        has_status_events=Exists(
            AssignmentEvent.objects.filter(assignment_id=OuterRef("pk"), action__in=STATUS_ACTIONS)
        )
    )


def status_events_query(assignment_ids: Iterable[int]) -> QuerySet[AssignmentEvent]:
    return AssignmentEvent.objects.filter(
        assignment_id__in=assignment_ids, action__in=STATUS_ACTIONS
    ).only("id", "assignment_id", "action", "created_at")


# Read by every page that shows a schedule (core.compiled; tests/core/test_compiled.py).
_STATUS_EVENTS = CompiledModels(status_events_query, IdList)


def status_events_by_assignment(
    assignment_ids: Iterable[int],
) -> dict[int, list[AssignmentEvent]]:
    """Pause, resume and end events of many assignments, in one query."""
    events: dict[int, list[AssignmentEvent]] = defaultdict(list)
    ids = list(assignment_ids)
    if not ids:
        return events
    for event in _STATUS_EVENTS.all(ids):
        events[event.assignment_id].append(event)
    return events


def schedule_for(
    assignment: Assignment, *, zone: ZoneInfo, events: Iterable[AssignmentEvent] = ()
) -> Schedule:
    """The assignment's schedule with its pauses and its end read from its history.

    Dates come from the client's zone. A plan that is paused or ended but has no
    matching event (history written before events existed) is taken to have stopped
    on the day the row last changed.
    """
    pauses: list[Pause] = []
    paused_on: date | None = None
    ended_on: date | None = None
    for event in sorted(events, key=lambda e: (e.created_at, e.pk)):
        day = local_date(event.created_at, zone)
        if event.action in PAUSE_ACTIONS and paused_on is None:
            paused_on = day
        elif event.action in RESUME_ACTIONS and paused_on is not None:
            if day > paused_on:
                pauses.append((paused_on, day))
            paused_on = None
        elif event.action in END_ACTIONS:
            ended_on = day
    last_change = local_date(assignment.updated_at, zone)
    if assignment.status == AssignmentStatus.PAUSED:
        pauses.append((paused_on or last_change, None))
    elif paused_on is not None and assignment.status == AssignmentStatus.ENDED:
        pauses.append((paused_on, None))
    # An "ended" event counts only while the plan is still ended.
    ended_on = (ended_on or last_change) if assignment.status == AssignmentStatus.ENDED else None
    return Schedule.of(assignment, pauses=pauses, ended_on=ended_on)


def schedules_for(
    assignments: Iterable[Assignment], *, zone_of: dict[int, ZoneInfo]
) -> dict[int, Schedule]:
    """Schedules of many assignments (one query for their history), keyed by assignment id.

    Assignments loaded through `with_status_event_flag` skip that query when none of
    them has a history that matters.
    """
    assignments = list(assignments)
    events = status_events_by_assignment(
        a.pk for a in assignments if getattr(a, "has_status_events", True)
    )
    return {
        a.pk: schedule_for(a, zone=zone_of[a.client_id], events=events.get(a.pk, ()))
        for a in assignments
    }


def last_resumed_on(schedule: Schedule) -> date | None:
    """The day practice last restarted after a pause, if it ever did."""
    resumed = [resumed for _, resumed in schedule.pauses if resumed is not None]
    return max(resumed) if resumed else None


def is_open_for_logging(assignment: Assignment, day: date) -> bool:
    """Whether a new log may be written for the assignment on the client's local day.

    Only running plans take new logs: not paused (the clinician paused it for a
    reason, and paused days ask for nothing), not ended, not before the start or
    after the end date. Practice on an unscheduled day of a running plan is welcome.
    """
    return (
        assignment.status == AssignmentStatus.ACTIVE
        and assignment.start_date <= day
        and (assignment.end_date is None or day <= assignment.end_date)
    )


def logging_closed_reason(assignment: Assignment, day: date) -> str | None:
    """Why a new log cannot be written today, in the client's words; None when it can."""
    if assignment.status == AssignmentStatus.ENDED or (
        assignment.end_date is not None and day > assignment.end_date
    ):
        return "This practice has ended, so new logs can't be added to it."
    if assignment.status == AssignmentStatus.PAUSED:
        return (
            "Your clinician has paused this practice for now. You can log it again once it resumes."
        )
    if day < assignment.start_date:
        start = assignment.start_date
        return f"This practice starts on {start:%A} {start.day} {start:%B}."
    return None


# --- Today ---


@dataclass(frozen=True)
class TodayItem:
    """One plan as it stands today for the client."""

    assignment: Assignment
    schedule: Schedule
    state: str  # "due", "done", "later" (nothing asked today) or "paused"
    completion: Completion | None  # today's log, if any
    week_quota: int
    done_this_week: int
    left_this_week: int
    next_day: date | None  # the next day it asks for practice, for "later" items
    can_log: bool

    @property
    def exercise(self):
        return self.assignment.exercise

    @property
    def is_flexible(self) -> bool:
        return self.schedule.kind == TIMES_PER_WEEK

    @property
    def is_any_time(self) -> bool:
        return self.assignment.exercise.any_time

    @property
    def schedule_text(self) -> str:
        return describe(self.schedule)

    def as_dict(self) -> dict:
        return {
            "assignment_id": self.assignment.pk,
            "exercise_id": self.assignment.exercise_id,
            "title": self.assignment.exercise.title,
            "typical_minutes": self.assignment.exercise.typical_minutes,
            "note": self.assignment.note,
            "schedule": self.schedule_text,
            "schedule_kind": self.schedule.kind,
            "state": self.state,
            "completion_id": self.completion.pk if self.completion else None,
            "week_quota": self.week_quota,
            "done_this_week": self.done_this_week,
            "left_this_week": self.left_this_week,
            "next_day": self.next_day.isoformat() if self.next_day else None,
            "can_log": self.can_log,
            "any_time": self.is_any_time,
        }


@dataclass(frozen=True)
class Today:
    client_id: int
    local_date: date
    timezone: str
    due: list[TodayItem] = field(default_factory=list)
    done: list[TodayItem] = field(default_factory=list)
    later: list[TodayItem] = field(default_factory=list)
    paused: list[TodayItem] = field(default_factory=list)
    unread_feedback: int = 0

    @property
    def has_plans(self) -> bool:
        return bool(self.due or self.done or self.later or self.paused)

    @property
    def items(self) -> list[TodayItem]:
        """Every current plan: the ones Today shows, in any state."""
        return [*self.due, *self.done, *self.later, *self.paused]

    @property
    def moment_items(self) -> list[TodayItem]:
        """The "any time" practices the client may open in a hard moment right now."""
        return [
            item
            for item in (*self.due, *self.done, *self.later)
            if item.is_any_time and item.can_log
        ]

    def as_dict(self) -> dict:
        return {
            "local_date": self.local_date.isoformat(),
            "timezone": self.timezone,
            "due": [item.as_dict() for item in self.due],
            "done": [item.as_dict() for item in self.done],
            "later": [item.as_dict() for item in self.later],
            "paused": [item.as_dict() for item in self.paused],
            "unread_feedback": self.unread_feedback,
        }


# The built-in practice "I need a moment" opens for a client with no "any time" plan.
MOMENT_PRACTICE_SLUG = "self-compassion-break"


def moment_practice() -> Exercise | None:
    """A short built-in practice for a hard moment, to follow without a plan or a log."""
    return (
        Exercise.objects.active()
        .filter(clinic__isnull=True, slug=MOMENT_PRACTICE_SLUG)
        .only("title", "summary", "steps", "typical_minutes")
        .first()
    )


def client_today(client: User, now: datetime | None = None) -> date:
    return local_date(now or timezone.now(), client.zone)


def _unread_feedback(client_id: int) -> QuerySet:
    """The clinician's messages on a client's logs not yet read, counted in one row."""
    return (
        Feedback.objects.filter(
            completion__client_id=client_id, from_client=False, read_at__isnull=True
        )
        .order_by()
        .values("completion__client_id")
        .annotate(unread=Count("id"))
    )


# The today page and API today count these on every request: compiled once per process
# (core.compiled; 0.70 -> 0.12 ms of CPU, docs/benchmarks.md).
_UNREAD_FEEDBACK = CompiledValues(_unread_feedback)


def unread_feedback_count(client_id: int) -> int:
    rows = _UNREAD_FEEDBACK.rows(client_id)
    return rows[0]["unread"] if rows else 0


def _todays_plans(client_id: int) -> QuerySet[Assignment]:
    return (
        with_status_event_flag(
            Assignment.objects.filter(
                client_id=client_id, status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED]
            )
        )
        .select_related("exercise")
        .order_by("start_date", "id")
    )


def _weeks_logs(client_id: int, first: date, last: date) -> QuerySet[Completion]:
    # Only what the page shows: loading the whole row would decrypt reflections and answers.
    return Completion.objects.filter(
        client_id=client_id, local_date__gte=first, local_date__lte=last
    ).only("id", "assignment_id", "local_date", "minutes")


# The today page and API today read these on every request: compiled once per process
# (core.compiled: 2.4 ms of the ORM's Python per request, docs/benchmarks.md).
_TODAYS_PLANS = CompiledModels(_todays_plans, int)
_WEEKS_LOGS = CompiledModels(_weeks_logs, int, date, date)


def today_for_client(*, client: User, now: datetime | None = None) -> Today:
    """What is due today in the client's own zone, what is done, what is left this week.

    Four queries whatever the number of plans: assignments, their history, this
    week's logs, and unread feedback.
    """
    zone = client.zone
    day = local_date(now or timezone.now(), zone)
    monday = week_start(day)
    assignments = [
        a
        for a in _TODAYS_PLANS.all(client.pk)
        # A plan whose end date has passed is over, whatever its status says.
        if a.end_date is None or a.end_date >= day
    ]
    schedules = schedules_for(assignments, zone_of={client.pk: zone})
    done_dates: dict[int, set[date]] = defaultdict(set)
    todays: dict[int, Completion] = {}
    for completion in _WEEKS_LOGS.all(client.pk, monday, day):
        done_dates[completion.assignment_id].add(completion.local_date)
        if completion.local_date == day:
            todays[completion.assignment_id] = completion
    unread = unread_feedback_count(client.pk)

    result = Today(
        client_id=client.pk, local_date=day, timezone=client.timezone, unread_feedback=unread
    )
    for assignment in assignments:
        sched = schedules[assignment.pk]
        done = done_dates.get(assignment.pk, set())
        completion = todays.get(assignment.pk)
        if assignment.status == AssignmentStatus.PAUSED:
            state = "paused"
        elif completion is not None:
            state = "done"
        elif due_on(sched, day, done):
            state = "due"
        else:
            state = "later"
        next_day = None
        if state == "later":
            next_day = (
                assignment.start_date
                if day < assignment.start_date
                else next_scheduled_day(sched, day)
            )
        item = TodayItem(
            assignment=assignment,
            schedule=sched,
            state=state,
            completion=completion,
            week_quota=week_quota(sched, day),
            done_this_week=done_in_week(day, done, schedule=sched),
            left_this_week=left_this_week(sched, day, done),
            next_day=next_day,
            can_log=completion is not None or is_open_for_logging(assignment, day),
        )
        getattr(result, state).append(item)
    return result


# --- Phrase bank ---


@dataclass(frozen=True)
class Phrase:
    text: str
    exercise_title: str
    last_used: date
    times: int


def phrase_bank(*, client: User) -> list[Phrase]:
    """The kind phrases a client wrote in answer to prompts marked "phrase", newest first.

    The same phrase written again (ignoring case and spacing) appears once, with how
    often and when it was last used. Read in Python rather than by JSON queries so it
    keeps working when answers are encrypted at rest.
    """
    phrases: dict[str, Phrase] = {}
    completions = (
        Completion.objects.filter(client_id=client.pk)
        .select_related("assignment__exercise")
        .only(
            "id",
            "local_date",
            "answers",
            "assignment__id",
            "assignment__exercise__id",
            "assignment__exercise__title",
            "assignment__exercise__prompts",
        )
        .order_by("-local_date", "-id")
    )
    for completion in completions:
        exercise = completion.assignment.exercise
        phrase_keys = [
            p.get("key") for p in exercise.prompts if isinstance(p, dict) and p.get("phrase")
        ]
        for key in phrase_keys:
            text = str((completion.answers or {}).get(key) or "").strip()
            if not text:
                continue
            normal = " ".join(text.lower().split())
            seen = phrases.get(normal)
            if seen is None:
                phrases[normal] = Phrase(text, exercise.title, completion.local_date, 1)
            else:
                phrases[normal] = Phrase(
                    seen.text, seen.exercise_title, seen.last_used, seen.times + 1
                )
    return list(phrases.values())


# --- One log, ready to show ---


@dataclass(frozen=True)
class LogDetails:
    completion: Completion
    ratings: list[tuple[str, int]]  # (label, value) for the ratings recorded
    reflection_visible: bool  # from reflection_visible_to; when False the two below are empty
    answers: list[tuple[str, str]]  # (prompt label, answer) in the exercise's order
    reflection: str
    is_today: bool

    @property
    def exercise(self):
        return self.completion.assignment.exercise


def log_details(
    completion: Completion, *, reflection_visible: bool, today: date | None = None
) -> LogDetails:
    """Labels for a log's ratings and answers; the answers and reflection only when the
    caller, asking reflection_visible_to, says the reader may see them."""
    exercise = completion.assignment.exercise
    ratings = [
        (Rating(key).label, getattr(completion, key))
        for key in Rating.values
        if getattr(completion, key) is not None
    ]
    answers: list[tuple[str, str]] = []
    if reflection_visible:
        labels = {
            str(p["key"]): p.get("label") or str(p["key"])
            for p in exercise.prompts
            if isinstance(p, dict) and "key" in p
        }
        answers = [
            (labels.get(key, key), text)
            for key, text in sorted(
                (completion.answers or {}).items(),
                key=lambda item: list(labels).index(item[0]) if item[0] in labels else len(labels),
            )
            if text
        ]
    return LogDetails(
        completion=completion,
        ratings=ratings,
        reflection_visible=reflection_visible,
        answers=answers,
        reflection=completion.reflection if reflection_visible else "",
        is_today=completion.local_date == today,
    )


def inbox_for_clinician(*, clinician: User) -> QuerySet[Feedback]:
    """Clients' unread replies across the caseload, newest first: one query for any size."""
    return (
        Feedback.objects.filter(
            from_client=True,
            read_at__isnull=True,
            completion__client__in=clients_visible_to(clinician),
        )
        .select_related("completion__client", "completion__assignment__exercise")
        .order_by("-created_at", "-id")
    )


def _inbox_unread(clinic_id: int, clinician_id: int) -> QuerySet:
    return (
        inbox_for_clinician(clinician=clinician_stand_in(clinic_id, clinician_id))
        .order_by()
        .values("from_client")
        .annotate(unread=Count("id"))
    )


# The dashboard's "Inbox: N unread replies", from the inbox's own rule, compiled once per
# process for a clinician of a clinic (core.compiled; tests/core/test_compiled.py).
_INBOX_UNREAD = CompiledValues(_inbox_unread, int, int)


def inbox_unread_count(*, clinician: User) -> int:
    """How many replies `inbox_for_clinician` holds."""
    if rule_compiles_for(clinician):
        rows = _INBOX_UNREAD.rows(clinician.clinic_id, clinician.pk)
        return sum(row["unread"] for row in rows)
    return inbox_for_clinician(clinician=clinician).count()


def notes_for_client(*, client: User) -> QuerySet[ClientNote]:
    """A client's private notes, newest first. Callers check the reader may see the client
    and is not the client (accounts.access and the clinician-only views)."""
    return ClientNote.objects.filter(client_id=client.pk).select_related("author")


def next_session_for_client(*, client: User, today: date) -> date | None:
    """The client's next session day in their zone, if one is recorded from today on.

    The signed-in client comes with their profile (accounts.backends): no query then."""
    profile = getattr(client, "client_profile", None)
    on = profile.next_session_on if profile is not None else None
    return on if on is not None and on >= today else None
