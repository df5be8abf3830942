"""The "who is due" decision as it stood before it moved into SQL (commit c3a20d3): one
Python decision per candidate plan. Kept here, unchanged but for its imports, as the
oracle the equivalence test compares the SQL decision with (test_who_is_due_equivalence).
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from django.db.models import Case, CharField, DateField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat

from accounts.models import Role, User
from homework import schedule
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, Completion
from homework.selectors.practice import STATUS_ACTIONS, schedule_for
from notifications.models import Notification
from outreach.reminders import (
    CHUNK_SIZE,
    EVERY_CLIENT,
    DueReminder,
    Shard,
    _latest_wall_clock,
    effective_reminder_time,
    effective_reminder_time_sql,
    reminder_due_at,
    zone_for,
)

_ASSIGNMENT_FIELDS = (
    "id",
    "client_id",
    "client__email",
    "client__timezone",
    "reminder_time",
    "created_at",
    "schedule_kind",
    "start_date",
    "end_date",
    "weekdays",
    "times_per_week",
    "status",
    "updated_at",
    "client__client_profile__reminder_time",
    "client__client_profile__quiet_hours_start",
    "client__client_profile__quiet_hours_end",
    "client__client_profile__reminders_paused_until",
)


def _schedule_of(row: dict) -> schedule.Schedule:
    return schedule.Schedule(
        kind=row["schedule_kind"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        weekdays=row["weekdays"],
        times_per_week=row["times_per_week"],
    )


def _candidate(row: dict, now: datetime) -> DueReminder | None:
    """Everything that can be decided from the assignment row alone."""
    zone = zone_for(row["client__timezone"])
    at = effective_reminder_time(
        assignment_time=row["reminder_time"],
        preferred_time=row["client__client_profile__reminder_time"],
    )
    if zone is None:
        return None
    today = schedule.local_date(now, zone)
    if not schedule.is_scheduled_day(_schedule_of(row), today):
        return None
    due_at = reminder_due_at(
        day=today,
        reminder_time=at,
        zone=zone,
        quiet_hours_start=row["client__client_profile__quiet_hours_start"],
        quiet_hours_end=row["client__client_profile__quiet_hours_end"],
    )
    if due_at is None or due_at > now or row["created_at"] >= due_at:
        return None
    paused_until = row["client__client_profile__reminders_paused_until"]
    if paused_until is not None and paused_until > due_at:
        return None
    return DueReminder(row["id"], row["client_id"], row["client__email"], today, due_at)


def _zone_filters(*, now: datetime) -> tuple[Q, Case, Case] | None:
    """Per zone of the active clients: reminders not yet due there, local today, its key suffix.

    One query (the distinct zone names), so the candidate query below can leave out,
    in SQL, plans whose reminder time has not come yet, plans practised on the
    client's local today and plans whose key for that day is written. Zones are few
    whatever the number of clients.
    """
    names = (
        User.objects.filter(is_active=True, role=Role.CLIENT)
        .order_by()
        .values_list("timezone", flat=True)
        .distinct()
    )
    may_be_due = Q(pk__in=[])
    day_of: list[When] = []
    suffix_of: list[When] = []
    for name in names:
        zone = zone_for(name)
        if zone is None:
            continue  # an unknown zone never has a reminder due (see _candidate)
        latest = _latest_wall_clock(now, zone)
        in_zone = Q(client__timezone=name)
        may_be_due |= in_zone if latest == time.max else in_zone & Q(_at__lte=latest)
        today = schedule.local_date(now, zone)
        day_of.append(When(in_zone, then=Value(today)))
        suffix_of.append(When(in_zone, then=Value(":" + today.isoformat())))
    if not day_of:
        return None
    return (
        may_be_due,
        Case(*day_of, default=None, output_field=DateField()),
        Case(*suffix_of, default=Value(":"), output_field=CharField()),
    )


def _candidate_rows(*, now: datetime, shard: Shard = EVERY_CLIENT) -> QuerySet | None:
    """Active plans of active clients whose reminder may be due now and is not yet written.

    Necessary conditions only; `_candidate` and `schedule.due_on` decide in Python.
    """
    filters = _zone_filters(now=now)
    if filters is None:
        return None
    may_be_due, local_today, day_suffix = filters
    utc_today = now.astimezone(UTC).date()
    written = Notification.objects.filter(idempotency_key=OuterRef("_key"))
    practised = Completion.objects.filter(
        assignment_id=OuterRef("id"), local_date=OuterRef("_today")
    )
    # Local "today" is within a day of the UTC date in every zone (UTC-12 .. UTC+14).
    plans = shard.filter(Assignment.objects.all(), "client_id")
    return (
        plans.filter(
            status=AssignmentStatus.ACTIVE,
            client__is_active=True,
            client__role=Role.CLIENT,
            start_date__lte=utc_today + timedelta(days=1),
            created_at__lt=now,
        )
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=utc_today - timedelta(days=1)))
        .filter(
            Q(client__client_profile__reminders_paused_until__isnull=True)
            | Q(client__client_profile__reminders_paused_until__lte=now)
        )
        .alias(
            _at=effective_reminder_time_sql(),
            _today=local_today,
            _key=Concat(Value("reminder:"), Cast("id", CharField()), day_suffix),
        )
        .filter(may_be_due)
        .filter(~Exists(written), ~Exists(practised))
    )


def _done_dates(*, candidate_ids: QuerySet, now: datetime) -> dict[int, set[date]]:
    """Practice dates of every candidate plan this week (around the UTC date), one query."""
    utc_today = now.astimezone(UTC).date()
    earliest = schedule.week_start(utc_today - timedelta(days=1))
    latest = utc_today + timedelta(days=1)
    done: dict[int, set[date]] = defaultdict(set)
    rows = Completion.objects.filter(
        assignment_id__in=candidate_ids, local_date__gte=earliest, local_date__lte=latest
    ).values_list("assignment_id", "local_date")
    for assignment_id, day in rows:
        done[assignment_id].add(day)
    return done


def _status_events(*, candidate_ids: QuerySet) -> dict[int, list[AssignmentEvent]]:
    """Pause, resume and end events of every candidate plan, one query."""
    events: dict[int, list[AssignmentEvent]] = defaultdict(list)
    for event in AssignmentEvent.objects.filter(
        assignment_id__in=candidate_ids, action__in=STATUS_ACTIONS
    ).only("id", "assignment_id", "action", "created_at"):
        events[event.assignment_id].append(event)
    return events


def reminders_due(
    *, now: datetime, chunk_size: int = CHUNK_SIZE, shard: Shard = EVERY_CLIENT
) -> list[DueReminder]:
    """The reminders that are due and not yet written, in a fixed number of queries.

    Four whatever the number of clients: the zones, the candidate plans (one query
    streamed through one server-side cursor, chunk_size rows at a time), their
    completions and their history (each with the candidate query as a subquery).
    A tick that finds everything written stops after the first two.
    """
    queryset = _candidate_rows(now=now, shard=shard)
    if queryset is None:
        return []
    rows: dict[int, dict] = {}
    candidates: list[DueReminder] = []
    for row in queryset.values(*_ASSIGNMENT_FIELDS).iterator(chunk_size=chunk_size):
        candidate = _candidate(row, now)
        if candidate is not None:
            rows[candidate.assignment_id] = row
            candidates.append(candidate)
    if not candidates:
        return []
    candidate_ids = queryset.order_by().values("id")
    done = _done_dates(candidate_ids=candidate_ids, now=now)
    events = _status_events(candidate_ids=candidate_ids)
    due = []
    for candidate in candidates:
        # Built by the same selector as the portal's Today page, so a reminder goes out
        # exactly when that page shows the practice as due (pauses shrink a weekly quota).
        plan = schedule_for(
            SimpleNamespace(**rows[candidate.assignment_id]),
            zone=candidate.due_at.tzinfo,
            events=events.get(candidate.assignment_id, ()),
        )
        if schedule.due_on(plan, candidate.day, done.get(candidate.assignment_id, set())):
            due.append(candidate)
    return due
