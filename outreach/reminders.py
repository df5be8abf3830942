"""Practice reminders: which reminders have fallen due, in each client's own time zone.

There is no table of scheduled reminders. The database already is the schedule
(assignments, completions, the client's preferences), and the outbox's unique
idempotency key `reminder:<assignment id>:<local date>` remembers what was sent.
A beat task calls `reminders_create_due` every minute; each run writes an
outbox row for every reminder whose time today has passed and that has no row
yet. A run that was missed (beat or worker down) is therefore caught up by the
next one, as long as it is still the same local day for that client; two runs
at once cannot double a reminder because the key is unique.

Policy, in words:
- The reminder time is the assignment's own, else the client's preference, else
  the default (effective_reminder_time), on the wall clock of the client's zone
  *today* (the zone they have now: a client who moves gets the next reminder in
  the new zone, and no second one on a local date that already had one).
- A wall-clock time that does not exist (spring forward) is sent at the first
  valid minute after the gap: 02:30 on 8 March 2026 in New York is sent at 03:00.
- A wall-clock time that happens twice (fall back) is sent once, at the first
  occurrence (zoneinfo's fold=0): 01:30 on 1 November 2026 in New York is sent
  at 01:30 EDT, never again at 01:30 EST.
- Quiet hours [start, end) may cross midnight. A reminder inside them moves to
  their end if that is still the same local day, otherwise it is skipped.
- Nothing is sent while reminders are paused at the moment the reminder falls
  due (a pause that has ended since does not bring back a skipped reminder),
  for a plan that is paused or ended, on a day the plan does not ask for
  practice, once the day's practice is logged, or once an "N times a week"
  quota is met. A plan created after today's reminder time starts tomorrow.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    DateField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    TimeField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Mod
from django.utils import timezone

from accounts.models import DEFAULT_REMINDER_TIME, Role, User
from homework import schedule
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, Completion
from homework.selectors.practice import STATUS_ACTIONS, schedule_for
from notifications.models import Notification
from notifications.services import notifications_enqueue
from outreach.services import channels_for, notifications_for_channels

logger = logging.getLogger(__name__)

# Rows fetched per round trip of the candidate query's server-side cursor.
CHUNK_SIZE = 1000
# Outbox rows written per transaction.
WRITE_BATCH = 1000

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


def reminder_key(*, assignment_id: int, day: date) -> str:
    return f"reminder:{assignment_id}:{day.isoformat()}"


# --- Which time ---------------------------------------------------------------------------
# The rule and its SQL twin sit side by side so they cannot drift apart: the candidate
# query filters on the twin, and everything else (the per-row decision, questionnaire
# reminders, the calendar feed) calls the function. A test runs both over the same rows.


def effective_reminder_time(*, assignment_time: time | None, preferred_time: time | None) -> time:
    """The wall-clock time a reminder comes: the plan's own, else the client's preference,
    else the default (a client with no profile has no preference).

    A questionnaire has no time of its own: its reminders pass assignment_time=None.
    """
    return assignment_time or preferred_time or DEFAULT_REMINDER_TIME


def effective_reminder_time_sql() -> Coalesce:
    """effective_reminder_time as an expression on an Assignment queryset."""
    return Coalesce(
        "reminder_time",
        "client__client_profile__reminder_time",
        Value(DEFAULT_REMINDER_TIME),
        output_field=TimeField(),
    )


# --- Wall clock to instant -------------------------------------------------------------


def zone_for(name: str) -> ZoneInfo | None:
    """The zone of a stored name, or None for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _exists(local: datetime) -> bool:
    """Whether an aware local datetime names a wall-clock time that really happens."""
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant the wall clock in zone shows `at` on `day`, by the DST policy above.

    Repeated times: fold=0 is the first occurrence. Missing times: the answer is the
    instant the clocks jumped, which is the first valid local minute after the gap.
    Returned in the zone (aware), so `.date()` and `.time()` read the wall clock.
    """
    naive = datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=zone, fold=0)
    if _exists(first):
        return first
    # In a gap, fold=1 resolves with the offset after the jump and fold=0 with the one
    # before, so the jump lies between the two UTC readings. Bisect it to the minute.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    if low > high:
        low, high = high, low
    after_offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high.astimezone(zone)


def in_quiet_hours(at: time, start: time | None, end: time | None) -> bool:
    """Whether wall-clock `at` falls in quiet hours [start, end), which may cross midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


@lru_cache(maxsize=8192)
def reminder_due_at(
    *,
    day: date,
    reminder_time: time,
    zone: ZoneInfo,
    quiet_hours_start: time | None = None,
    quiet_hours_end: time | None = None,
) -> datetime | None:
    """When the reminder for local `day` falls due (aware, in zone), or None if skipped.

    None means quiet hours (or a gap at midnight) push it past the end of the day.
    Cached: thousands of clients share a handful of zones and reminder times.
    """
    due = local_instant(day, reminder_time, zone)
    if due.date() != day:
        return None
    wall = due.time().replace(tzinfo=None)
    if in_quiet_hours(wall, quiet_hours_start, quiet_hours_end):
        if quiet_hours_start < quiet_hours_end or wall < quiet_hours_end:
            due = local_instant(day, quiet_hours_end, zone)
        else:
            return None  # quiet until tomorrow morning: today's reminder is skipped
        if due.date() != day:
            return None
    return due


# --- Who is due now ---------------------------------------------------------------------


@dataclass(frozen=True)
class DueReminder:
    assignment_id: int
    client_id: int
    to_email: str
    day: date
    due_at: datetime

    @property
    def key(self) -> str:
        return reminder_key(assignment_id=self.assignment_id, day=self.day)


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


def _latest_wall_clock(now: datetime, zone: ZoneInfo) -> time:
    """The latest wall-clock time the zone's clocks have shown today, up to now.

    Usually the time now; after clocks fell back earlier today they showed later
    times than they show now (01:59 EDT, then 01:10 EST), so the reading with the
    offset the day began with counts too. A reminder at a later wall-clock time
    cannot be due yet: quiet hours and DST gaps only ever move a reminder later.
    """
    local_now = now.astimezone(zone)
    today = local_now.date()
    latest = local_now.time().replace(tzinfo=None)
    morning_offset = local_instant(today, time(0), zone).utcoffset()
    reading = now.astimezone(UTC).replace(tzinfo=None) + morning_offset
    if reading.date() > today:
        return time.max
    if reading.date() == today:
        latest = max(latest, reading.time())
    return latest


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


@dataclass(frozen=True)
class Shard:
    """One of `count` disjoint parts of the clients (client id modulo count).

    A tick split into shards lets several worker processes or machines share the
    work; each shard is idempotent on its own (the outbox keys are unique), and the
    shards together cover every client exactly once.
    """

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"No shard {self.index} of {self.count}.")

    def filter(self, queryset: QuerySet, field: str) -> QuerySet:
        """Only the rows whose `field` (a client's id) falls in this shard."""
        if self.count == 1:
            return queryset
        return queryset.alias(_shard=Mod(field, Value(self.count))).filter(_shard=self.index)


EVERY_CLIENT = Shard()


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


def _notifications_write(*, due: list[DueReminder], now: datetime) -> list[int]:
    """Insert the rows, ignoring keys another run inserted meanwhile; return our new ids.

    The batch token tells our rows apart from ones a concurrent run just wrote, so
    each new row is enqueued by exactly the run that created it.
    """
    batch = uuid.uuid4().hex
    channels = channels_for(user_ids=list({reminder.client_id for reminder in due}))
    rows = notifications_for_channels(
        channels=channels,
        rows=[
            Notification(
                kind=Notification.Kind.REMINDER,
                recipient_id=reminder.client_id,
                to_email=reminder.to_email,
                idempotency_key=reminder.key,
                # Ids and dates only: the email is built from them at send time.
                context={
                    "assignment_id": reminder.assignment_id,
                    "local_date": reminder.day.isoformat(),
                    "batch": batch,
                },
                created_at=now,
                next_attempt_at=now,
            )
            for reminder in due
        ],
    )
    Notification.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return list(
        Notification.objects.filter(
            idempotency_key__in=[reminder.key for reminder in due], context__batch=batch
        ).values_list("id", flat=True)
    )


def reminders_create_due(
    *, now: datetime | None = None, chunk_size: int = CHUNK_SIZE, shard: Shard = EVERY_CLIENT
) -> list[int]:
    """Write one outbox row per reminder that has fallen due; enqueue them after commit.

    Safe to run twice or twice at once, and shards may run at once: the unique key
    keeps one row per assignment and local date. Returns the ids this run created.
    """
    now = now or timezone.now()
    due = reminders_due(now=now, chunk_size=chunk_size, shard=shard)
    created: list[int] = []
    # One transaction per batch: a failure loses at most one batch, which the next tick writes.
    for start in range(0, len(due), WRITE_BATCH):
        with transaction.atomic():
            ids = _notifications_write(due=due[start : start + WRITE_BATCH], now=now)
            notifications_enqueue(ids=ids)
        created.extend(ids)
    if created:
        logger.info("Reminders: %d new notification(s)", len(created))
    return created


# --- At send time ----------------------------------------------------------------------


def reminder_item(context: dict | None) -> tuple[int, date] | None:
    """(assignment id, local date) named by a row's context, or None if unreadable."""
    try:
        return int(context["assignment_id"]), date.fromisoformat(context["local_date"])
    except (KeyError, TypeError, ValueError):
        return None


def reminder_still_wanted(*, assignment_id: int, day: date, now: datetime | None = None) -> str:
    """Why one written reminder should no longer go out, or "" if it should.

    The rules live in reminders_still_wanted; this asks about a batch of one.
    """
    return reminders_still_wanted(items=[(assignment_id, day)], now=now)[0]


def reminders_still_wanted(
    *, items: Iterable[tuple[int, date]], now: datetime | None = None
) -> list[str]:
    """For each written reminder (assignment id, local date): why it should no longer go out,
    or "" if it should; in the order given.

    The outbox may send late (a broker outage): by then the practice may be logged,
    the plan ended, reminders paused, or the client's day over. One query for the
    whole batch (the send path asks once per claim): the plans with their client's
    zone and pause, and whether each was practised on each date the batch names.
    """
    now = now or timezone.now()
    items = list(items)
    if not items:
        return []
    # One EXISTS per distinct date: a claim's reminders share a date or two (more only
    # after an outage), and each row needs only the answer for its own date.
    logged_on = {day: f"logged_{index}" for index, day in enumerate(sorted({d for _, d in items}))}
    rows = {
        row["id"]: row
        for row in Assignment.objects.filter(pk__in={assignment_id for assignment_id, _ in items})
        .annotate(
            **{
                name: Exists(
                    Completion.objects.filter(assignment_id=OuterRef("pk"), local_date=day)
                )
                for day, name in logged_on.items()
            }
        )
        .order_by()
        # Plain values: no model instances (nor decrypted fields) on the send path.
        .values(
            "id",
            "status",
            "client__is_active",
            "client__timezone",
            "client__client_profile__reminders_paused_until",
            *logged_on.values(),
        )
    }
    return [
        _reminder_unwanted_reason(rows.get(assignment_id), day=day, logged=logged_on[day], now=now)
        for assignment_id, day in items
    ]


def _reminder_unwanted_reason(row: dict | None, *, day: date, logged: str, now: datetime) -> str:
    """The rules for one reminder; `logged` names the row's field saying `day` was practised."""
    if row is None or not row["client__is_active"]:
        return "the plan or the account no longer exists"
    if row["status"] != AssignmentStatus.ACTIVE:
        return "the plan is paused or ended"
    zone = zone_for(row["client__timezone"])
    if zone is None or schedule.local_date(now, zone) != day:
        return "the client's day is over"
    paused_until = row["client__client_profile__reminders_paused_until"]
    if paused_until is not None and paused_until > now:
        return "reminders are paused"
    if row[logged]:
        return "the practice is already logged"
    return ""
