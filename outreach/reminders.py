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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TimeField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Mod
from django.utils import timezone

from accounts.models import DEFAULT_REMINDER_TIME, Role, User
from core.bulk import insert_rows
from homework import schedule
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, Completion
from homework.selectors.practice import STATUS_ACTIONS, schedule_for
from notifications.models import Notification
from notifications.services import notifications_enqueue
from outreach.services import channels_for

logger = logging.getLogger(__name__)

# Rows fetched per round trip of the candidate query's server-side cursor.
CHUNK_SIZE = 1000
# Outbox rows written per transaction (and per INSERT).
WRITE_BATCH = 2000

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


class DueReminder(NamedTuple):
    """One reminder to write (a tuple: hundreds of thousands are made in one tick)."""

    assignment_id: int
    client_id: int
    to_email: str
    day: date
    due_at: datetime

    @property
    def key(self) -> str:
        return reminder_key(assignment_id=self.assignment_id, day=self.day)


@dataclass(frozen=True)
class _ZoneDay:
    """One zone's "today" as the tick sees it, worked out once per zone, never per client."""

    zone: ZoneInfo
    today: date
    monday: date
    sunday: date


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


@dataclass(frozen=True)
class _ZoneFilters:
    days: dict[str, _ZoneDay]  # by zone name, known zones of active clients only
    may_be_due: Q  # leaves out plans whose reminder time has not come yet in their zone
    today: Case  # the client's local today
    monday: Case  # the Monday of that week
    sunday: Case  # and its Sunday
    weekday_bit: Case  # 1 << today's weekday (Monday = 0), for the plan's weekday mask
    key_suffix: Case  # ":<local today>", the end of the outbox key


def _zone_filters(*, now: datetime) -> _ZoneFilters | None:
    """Per zone of the active clients: what the candidate query needs to decide in SQL.

    One query (the distinct zone names); zones are few whatever the number of
    clients, so the local date, its weekday and the latest wall-clock time are
    worked out once per zone and reach SQL as one CASE branch per zone.
    """
    names = (
        User.objects.filter(is_active=True, role=Role.CLIENT)
        .order_by()
        .values_list("timezone", flat=True)
        .distinct()
    )
    days: dict[str, _ZoneDay] = {}
    may_be_due = Q(pk__in=[])
    today_of: list[When] = []
    monday_of: list[When] = []
    sunday_of: list[When] = []
    bit_of: list[When] = []
    suffix_of: list[When] = []
    for name in names:
        zone = zone_for(name)
        if zone is None:
            continue  # an unknown zone never has a reminder due
        latest = _latest_wall_clock(now, zone)
        in_zone = Q(client__timezone=name)
        may_be_due |= in_zone if latest == time.max else in_zone & Q(_at__lte=latest)
        today = schedule.local_date(now, zone)
        monday = schedule.week_start(today)
        days[name] = _ZoneDay(zone, today, monday, monday + timedelta(days=6))
        today_of.append(When(in_zone, then=Value(today)))
        monday_of.append(When(in_zone, then=Value(monday)))
        sunday_of.append(When(in_zone, then=Value(monday + timedelta(days=6))))
        bit_of.append(When(in_zone, then=Value(1 << today.weekday())))
        suffix_of.append(When(in_zone, then=Value(":" + today.isoformat())))
    if not days:
        return None
    return _ZoneFilters(
        days=days,
        may_be_due=may_be_due,
        today=Case(*today_of, default=None, output_field=DateField()),
        monday=Case(*monday_of, default=None, output_field=DateField()),
        sunday=Case(*sunday_of, default=None, output_field=DateField()),
        weekday_bit=Case(*bit_of, default=Value(0), output_field=IntegerField()),
        key_suffix=Case(*suffix_of, default=Value(":"), output_field=CharField()),
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

# The candidate query's columns, in this order (plain tuples: a row costs little in Python).
_ROW_FIELDS = (
    "id",
    "client_id",
    "client__email",
    "client__timezone",
    "_at",
    "client__client_profile__quiet_hours_start",
    "client__client_profile__quiet_hours_end",
    "_created_lately",
    "client__client_profile__reminders_paused_until",
    "_has_history",
    # "N times a week" plans only (NULL for the others):
    "_done_this_week",
    "_start_date",
    "_end_date",
    "_times_per_week",
)
# A plan created longer ago than this was created before its client's local today began
# (no local day lasts more than 25 hours), so before any reminder of today: the query
# sends created_at only when it may matter.
_CREATED_LATELY = timedelta(days=2)


def _candidate_rows(
    *, now: datetime, filters: _ZoneFilters, shard: Shard = EVERY_CLIENT
) -> QuerySet:
    """Active plans of active clients that ask for practice on their local today and whose
    reminder may be due now and is not yet written, decided in SQL as far as SQL can.

    Left to Python, per row: the exact instant the reminder falls due (DST gaps and
    folds, quiet hours: one computation per zone, time and quiet hours, cached) and,
    for "N times a week", the week's quota when the plan starts or ends this week.
    A plan with a pause, resume or end in its history takes the full rule
    (`schedule_for`), as the portal's Today page does.
    """
    utc_today = now.astimezone(UTC).date()
    written = Notification.objects.filter(idempotency_key=OuterRef("_key"))
    practised = Completion.objects.filter(
        assignment_id=OuterRef("id"), local_date=OuterRef("_today")
    )
    # Days practised this week on days the plan ran, up to the day after the UTC date
    # (no practice is logged on a later day). "N times a week" plans only.
    done_this_week = Subquery(
        Completion.objects.filter(
            assignment_id=OuterRef("id"),
            local_date__gte=OuterRef("_monday"),
            local_date__lte=utc_today + timedelta(days=1),
        )
        .filter(local_date__gte=OuterRef("start_date"))
        .filter(local_date__lte=OuterRef("_sunday"))
        .filter(
            local_date__lte=Coalesce(
                OuterRef("end_date"), OuterRef("_sunday"), output_field=DateField()
            )
        )
        .order_by()
        .values("assignment_id")
        .annotate(n=Count("local_date", distinct=True))
        .values("n"),
        output_field=IntegerField(),
    )
    history = AssignmentEvent.objects.filter(
        assignment_id=OuterRef("id"), action__in=STATUS_ACTIONS
    )
    # Local "today" is within a day of the UTC date in every zone (UTC-12 .. UTC+14).
    plans = shard.filter(Assignment.objects.order_by(), "client_id")
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
            _today=filters.today,
            _monday=filters.monday,
            _sunday=filters.sunday,
            _weekday_hit=F("weekdays").bitand(filters.weekday_bit),
            _key=Concat(Value("reminder:"), Cast("id", CharField()), filters.key_suffix),
        )
        .annotate(_at=effective_reminder_time_sql())
        .filter(filters.may_be_due)
        # The plan runs today (its dates) and, for chosen weekdays, today is one of them.
        .filter(start_date__lte=F("_today"))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=F("_today")))
        .filter(~Q(schedule_kind=schedule.WEEKDAYS) | Q(_weekday_hit__gt=0))
        .filter(~Exists(written), ~Exists(practised))
        .annotate(
            _has_history=Exists(history),
            _created_lately=Case(
                When(created_at__gte=now - _CREATED_LATELY, then=F("created_at")),
                default=None,
            ),
            **{
                name: Case(
                    When(schedule_kind=schedule.TIMES_PER_WEEK, then=value),
                    default=None,
                    output_field=field,
                )
                for name, value, field in [
                    ("_done_this_week", Coalesce(done_this_week, 0), IntegerField()),
                    ("_start_date", F("start_date"), DateField()),
                    ("_end_date", F("end_date"), DateField()),
                    ("_times_per_week", F("times_per_week"), IntegerField()),
                ]
            },
        )
    )


def _week_quota(day: _ZoneDay, start: date, end: date | None, times_per_week: int | None) -> int:
    """schedule.week_quota of an "N times a week" plan without a history, in O(1):
    N, or the number of days the plan runs this week if fewer."""
    first = max(day.monday, start)
    last = day.sunday if end is None else min(day.sunday, end)
    return min(times_per_week or 0, (last - first).days + 1)


def _with_history(
    rows: list[tuple], *, now: datetime, days: dict[str, _ZoneDay]
) -> list[DueReminder]:
    """The full rule for plans whose history has pauses, resumes or ends: their schedule
    built by the portal's own selector from that history (one query, which brings the
    plan's schedule along) and their week's practice (one more)."""
    ids = [row[0] for row in rows]
    plans: dict[int, SimpleNamespace] = {}
    events: dict[int, list[SimpleNamespace]] = defaultdict(list)
    for event in AssignmentEvent.objects.filter(
        assignment_id__in=ids, action__in=STATUS_ACTIONS
    ).values(
        "id",
        "assignment_id",
        "action",
        "created_at",
        "assignment__schedule_kind",
        "assignment__start_date",
        "assignment__end_date",
        "assignment__weekdays",
        "assignment__times_per_week",
        "assignment__updated_at",
    ):
        assignment_id = event["assignment_id"]
        events[assignment_id].append(
            SimpleNamespace(pk=event["id"], action=event["action"], created_at=event["created_at"])
        )
        plans[assignment_id] = SimpleNamespace(
            schedule_kind=event["assignment__schedule_kind"],
            start_date=event["assignment__start_date"],
            end_date=event["assignment__end_date"],
            weekdays=event["assignment__weekdays"],
            times_per_week=event["assignment__times_per_week"],
            status=AssignmentStatus.ACTIVE,  # the candidate query reads active plans only
            updated_at=event["assignment__updated_at"],
        )
    utc_today = now.astimezone(UTC).date()
    done: dict[int, set[date]] = defaultdict(set)
    for assignment_id, day in Completion.objects.filter(
        assignment_id__in=ids,
        local_date__gte=schedule.week_start(utc_today - timedelta(days=1)),
        local_date__lte=utc_today + timedelta(days=1),
    ).values_list("assignment_id", "local_date"):
        done[assignment_id].add(day)
    due = []
    for row, reminder in zip(rows, _due_instants(rows, now=now, days=days), strict=True):
        if reminder is None or row[0] not in plans:  # its history changed meanwhile
            continue
        plan = schedule_for(plans[row[0]], zone=days[row[3]].zone, events=events[row[0]])
        if schedule.due_on(plan, reminder.day, done.get(row[0], set())):
            due.append(reminder)
    return due


def _due_instants(
    rows: list[tuple],
    *,
    now: datetime,
    days: dict[str, _ZoneDay],
    instants: dict[tuple, tuple | None] | None = None,
) -> list[DueReminder | None]:
    """For each candidate row: its reminder if that has fallen due by now, else None.

    The instant depends only on the zone, the wall-clock time and the quiet hours, so it
    is computed once per distinct combination (a handful per zone) and looked up for
    each row; rows then compare only with the UTC instant (same tzinfo: cheap).
    """
    instants = {} if instants is None else instants
    found: list[DueReminder | None] = []
    for row in rows:
        combination = row[3:7]  # zone name, reminder time, quiet hours start and end
        try:
            instant = instants[combination]
        except KeyError:
            day = days[row[3]]
            due_at = reminder_due_at(
                day=day.today,
                reminder_time=row[4],
                zone=day.zone,
                quiet_hours_start=row[5],
                quiet_hours_end=row[6],
            )
            instant = instants[combination] = (
                None
                if due_at is None or due_at > now
                else (due_at, due_at.astimezone(UTC), day.today)
            )
        if instant is None:
            found.append(None)
            continue
        due_at, due_utc, today = instant
        created_at, paused_until = row[7], row[8]
        if (created_at is not None and created_at >= due_utc) or (
            paused_until is not None and paused_until > due_utc
        ):
            found.append(None)
        else:
            found.append(DueReminder(row[0], row[1], row[2], today, due_at))
    return found


def _stream(queryset: QuerySet, *, chunk_size: int) -> Iterator[tuple]:
    """The candidate rows through a server-side cursor, in one transaction on PostgreSQL.

    There with JIT compilation off: the CASE per zone and the subqueries make
    PostgreSQL estimate the query as costly, and compiling it took longer (4.8 s for
    200,000 clients) than running it. The transaction (no savepoint when nested) keeps
    the cursor streaming instead of materialising every row first, as a cursor held
    across commits must. Rows come as psycopg loads them (dates, times, aware
    datetimes, booleans: already the right types), without Django's per-value
    converters, which SQLite needs and keeps.
    """
    if connection.vendor != "postgresql":
        yield from queryset.iterator(chunk_size=chunk_size)
        return
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(chunk_size):
                yield from chunk


def reminders_due(
    *, now: datetime, chunk_size: int = CHUNK_SIZE, shard: Shard = EVERY_CLIENT
) -> list[DueReminder]:
    """The reminders that are due and not yet written, in a fixed number of queries.

    Three whatever the number of clients: the zones, JIT off (PostgreSQL only), and
    the candidate plans (one query streamed through one server-side cursor, chunk_size
    rows at a time) with their week's practice counted and their history flagged in
    SQL. Plans with a pause, resume or end in their history (few) take two more: that
    history and their week's practice, for the full rule (`_with_history`).
    """
    filters = _zone_filters(now=now)
    if filters is None:
        return []
    days = filters.days
    queryset = _candidate_rows(now=now, filters=filters, shard=shard).values_list(*_ROW_FIELDS)
    due: list[DueReminder] = []
    instants: dict[tuple, datetime | None] = {}
    with_history: list[tuple] = []
    plain: list[tuple] = []
    for row in _stream(queryset, chunk_size=chunk_size):
        if row[9]:
            with_history.append(row)
        # "N times a week" (a count of days done): the week's quota is N, or fewer in a
        # week the plan starts or ends in.
        elif row[10] is None or _week_quota(days[row[3]], row[11], row[12], row[13]) > row[10]:
            plain.append(row)
        if len(plain) >= chunk_size:
            due += filter(None, _due_instants(plain, now=now, days=days, instants=instants))
            plain.clear()
    due += filter(None, _due_instants(plain, now=now, days=days, instants=instants))
    if with_history:
        due.extend(_with_history(with_history, now=now, days=days))
    return due


def _notifications_write(*, due: list[DueReminder], now: datetime) -> list[int]:
    """Insert the rows, ignoring keys another run inserted meanwhile; return our new ids.

    One row per channel each client is reached on, from plain values (a model
    instance costs more than anything else here when a tick writes hundreds of
    thousands). On PostgreSQL the insert returns exactly the rows it wrote; elsewhere
    the batch token tells our rows apart from ones a concurrent run just wrote. Either
    way each new row is enqueued by exactly the run that created it.
    """
    batch = uuid.uuid4().hex
    channels = channels_for(user_ids=list({reminder.client_id for reminder in due}))
    email_only = [Notification.Channel.EMAIL]
    reached = [
        (reminder, channel)
        for reminder in due
        for channel in channels.get(reminder.client_id, email_only)
    ]
    columns = {
        "channel": [channel for _, channel in reached],
        "recipient_id": [reminder.client_id for reminder, _ in reached],
        "to_email": [reminder.to_email for reminder, _ in reached],
        "idempotency_key": [reminder.key for reminder, _ in reached],
        # Ids and dates only: the email is built from them at send time.
        "context": [
            {
                "assignment_id": reminder.assignment_id,
                "local_date": reminder.day.isoformat(),
                "batch": batch,
            }
            for reminder, _ in reached
        ],
    }
    # Every other column as a new row has it, so a column added to the outbox later
    # gets its model default here too.
    new_row = Notification(kind=Notification.Kind.REMINDER, created_at=now, next_attempt_at=now)
    constants = {
        field.attname: getattr(new_row, field.attname)
        for field in Notification._meta.concrete_fields
        if not field.primary_key and field.attname not in columns
    }
    if connection.vendor == "postgresql":
        return insert_rows(Notification, columns, constants, ignore_conflicts=True)
    rows = [
        Notification(**constants, **dict(zip(columns, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]
    Notification.objects.bulk_create(rows, batch_size=WRITE_BATCH, ignore_conflicts=True)
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
