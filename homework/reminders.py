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
- The reminder time is the assignment's own, else the client's preference, on
  the wall clock of the client's zone *today* (the zone they have now: a client
  who moves gets the next reminder in the new zone, and no second one on a
  local date that already had one).
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role
from homework import schedule
from homework.models import Assignment, AssignmentStatus, Completion
from homework.selectors.practice import schedule_for, status_events_by_assignment
from notifications.models import Notification
from notifications.services import notifications_enqueue

logger = logging.getLogger(__name__)

# Rows read per query while deciding who is due; bounded memory, constant queries per chunk.
CHUNK_SIZE = 1000

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
    at = row["reminder_time"] or row["client__client_profile__reminder_time"]
    if zone is None or at is None:
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


def _assignment_chunks(*, now: datetime, chunk_size: int) -> Iterator[list[dict]]:
    """Active plans of active clients that could be due somewhere on Earth today.

    Keyset pagination on id: each chunk is one query and at most chunk_size small dicts.
    """
    utc_today = now.astimezone(UTC).date()
    # Local "today" is within a day of the UTC date in every zone (UTC-12 .. UTC+14).
    queryset = (
        Assignment.objects.filter(
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
        .order_by("id")
    )
    last_id = 0
    while True:
        rows = list(queryset.filter(id__gt=last_id).values(*_ASSIGNMENT_FIELDS)[:chunk_size])
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


def _done_dates(candidates: list[DueReminder]) -> dict[int, set[date]]:
    """Practice dates per assignment from the earliest Monday to the latest day, one query."""
    earliest = min(schedule.week_start(c.day) for c in candidates)
    latest = max(c.day for c in candidates)
    done: dict[int, set[date]] = defaultdict(set)
    rows = Completion.objects.filter(
        assignment_id__in=[c.assignment_id for c in candidates],
        local_date__gte=earliest,
        local_date__lte=latest,
    ).values_list("assignment_id", "local_date")
    for assignment_id, day in rows:
        done[assignment_id].add(day)
    return done


def _schedules_with_history(rows: list[dict], candidates: list[DueReminder]) -> dict:
    """Full schedules (pauses earlier this week shrink an "N times a week" quota), one query.

    Built by the same selector as the portal's Today page, so a reminder goes out
    exactly when that page shows the practice as due.
    """
    by_id = {row["id"]: row for row in rows}
    events = status_events_by_assignment(c.assignment_id for c in candidates)
    return {
        c.assignment_id: schedule_for(
            SimpleNamespace(**by_id[c.assignment_id]),
            zone=c.due_at.tzinfo,
            events=events.get(c.assignment_id, ()),
        )
        for c in candidates
    }


def reminders_due(*, rows: list[dict], now: datetime) -> list[DueReminder]:
    """The reminders among one chunk of assignment rows that are due and not yet written.

    At most three queries whatever the chunk size: completions, plan history, existing keys.
    """
    candidates = [c for row in rows if (c := _candidate(row, now)) is not None]
    if not candidates:
        return []
    done = _done_dates(candidates)
    schedules = _schedules_with_history(rows, candidates)
    still_due = [
        c
        for c in candidates
        if schedule.due_on(schedules[c.assignment_id], c.day, done.get(c.assignment_id, set()))
    ]
    if not still_due:
        return []
    existing = set(
        Notification.objects.filter(idempotency_key__in=[c.key for c in still_due]).values_list(
            "idempotency_key", flat=True
        )
    )
    return [c for c in still_due if c.key not in existing]


def _notifications_write(*, due: list[DueReminder], now: datetime) -> list[int]:
    """Insert the rows, ignoring keys another run inserted meanwhile; return our new ids.

    The batch token tells our rows apart from ones a concurrent run just wrote, so
    each new row is enqueued by exactly the run that created it.
    """
    batch = uuid.uuid4().hex
    Notification.objects.bulk_create(
        [
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
        batch_size=500,
        ignore_conflicts=True,
    )
    return list(
        Notification.objects.filter(
            idempotency_key__in=[reminder.key for reminder in due], context__batch=batch
        ).values_list("id", flat=True)
    )


def reminders_create_due(*, now: datetime | None = None, chunk_size: int = CHUNK_SIZE) -> list[int]:
    """Write one outbox row per reminder that has fallen due; enqueue them after commit.

    Safe to run twice or twice at once: the unique key keeps one row per assignment
    and local date. Returns the ids this run created.
    """
    now = now or timezone.now()
    created: list[int] = []
    for rows in _assignment_chunks(now=now, chunk_size=chunk_size):
        due = reminders_due(rows=rows, now=now)
        if not due:
            continue
        with transaction.atomic():
            ids = _notifications_write(due=due, now=now)
            notifications_enqueue(ids=ids)
        created.extend(ids)
    if created:
        logger.info("Reminders: %d new notification(s)", len(created))
    return created


# --- At send time ----------------------------------------------------------------------


def reminder_still_wanted(*, assignment_id: int, day: date, now: datetime | None = None) -> str:
    """Why a written reminder should no longer go out, or "" if it should.

    The outbox may send late (a broker outage): by then the practice may be logged,
    the plan ended, reminders paused, or the client's day over.
    """
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_related("client", "client__client_profile")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None or not assignment.client.is_active:
        return "the plan or the account no longer exists"
    if assignment.status != AssignmentStatus.ACTIVE:
        return "the plan is paused or ended"
    zone = zone_for(assignment.client.timezone)
    if zone is None or schedule.local_date(now, zone) != day:
        return "the client's day is over"
    profile = getattr(assignment.client, "client_profile", None)
    if profile and profile.reminders_paused_until and profile.reminders_paused_until > now:
        return "reminders are paused"
    if Completion.objects.filter(assignment_id=assignment_id, local_date=day).exists():
        return "the practice is already logged"
    return ""
