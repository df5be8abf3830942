"""Weekly summaries: which are due (Monday 08:00 in each recipient's zone) and their figures.

Like reminders, summaries have no table of their own: a beat task calls
`weekly_summaries_create_due`, which writes one outbox row per recipient and
week under the unique key `weekly_client:<user id>:<monday>` or
`weekly_clinician:<user id>:<monday>`, where <monday> starts the week the
summary covers (the week that has just ended). A run missed at 08:00 is caught
up by a later one the same Monday (local); after that Monday it is skipped.

The figures come from homework.selectors.progress, the source of the portal's
progress page and the clinician's dashboard, so an email and the page it links
to never disagree. A past week is read "as it stood when it ended": at 00:00 on
the following Monday in the reader's zone.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import ClientProfile, Role, User
from homework.models import Assignment, Completion
from homework.schedule import (
    Adherence,
    Schedule,
    adherence_as_of,
    days_between,
    describe,
    local_date,
    plans_adherence,
    week_start,
)
from homework.selectors.practice import schedules_for
from homework.selectors.progress import caseload_for_clinician
from notifications.models import Notification
from notifications.services import notifications_enqueue
from outreach.reminders import CHUNK_SIZE, EVERY_CLIENT, Shard, local_instant, zone_for
from outreach.services import channels_for, notifications_for_channels

logger = logging.getLogger(__name__)

SUMMARY_WEEKDAY = 0  # Monday
SUMMARY_TIME = time(8, 0)

KIND_WORDS_PRACTISED = (
    "Every practice is a way of being on your own side. Thank you for making the time."
)
KIND_WORDS_NOT_PRACTISED = (
    "Some weeks are full, and that is human. A few kind minutes this week are a fine start."
)


def summary_key(*, kind: str, user_id: int, monday: date) -> str:
    return f"{kind}:{user_id}:{monday.isoformat()}"


def week_end_instant(*, monday: date, zone: ZoneInfo) -> datetime:
    """The instant a week ends in zone: 00:00 on the following Monday (DST policy applied)."""
    return local_instant(monday + timedelta(days=7), time(0), zone)


# --- Figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayMark:
    day: date
    done: bool


@dataclass(frozen=True)
class PlanWeek:
    """One plan's part of the week, for the client's week page."""

    assignment: Assignment
    schedule: Schedule
    adherence: Adherence
    days: list[DayMark]
    minutes: int

    @property
    def schedule_text(self) -> str:
        return describe(self.schedule)


@dataclass(frozen=True)
class ClientWeek:
    monday: date
    is_current: bool
    adherence: Adherence  # done against planned, every plan together
    practice_days: int
    minutes: int
    minutes_by_day: list[tuple[date, int]]
    plans: list[PlanWeek] = field(default_factory=list)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def planned(self) -> int:
        return round(self.adherence.planned)

    @property
    def done(self) -> int:
        return round(self.adherence.done)

    @property
    def kind_word(self) -> str:
        return KIND_WORDS_PRACTISED if self.practice_days else KIND_WORDS_NOT_PRACTISED


def client_week(*, client: User, monday: date, now: datetime | None = None) -> ClientWeek:
    """A client's week, Monday to Sunday in their zone, with the progress page's figures.

    The totals are the per-plan rows added up, computed exactly as the progress
    selector computes its week row (tests/outreach/test_summaries.py holds them
    equal). They are not read from client_progress itself: that reads the client's
    whole history and streak, which made each weekly email several times dearer at
    clinic scale (docs/benchmarks.md). Three queries (see client_weeks).
    """
    return client_weeks(clients=[client], monday=monday, now=now)[client.pk]


def client_weeks(
    *, clients: Iterable[User], monday: date, now: datetime | None = None
) -> dict[int, ClientWeek]:
    """Many clients' weeks of `monday` (see client_week), keyed by client id.

    Three queries whatever the number of clients (their plans, the plans' history,
    the week's logs), so the weekly emails cost a few queries per batch, not per
    email. Each client's week is read in their own zone: their local today decides
    whether it is the current week (counted to date) or a past one (counted whole).
    """
    now = now or timezone.now()
    zone_of = {client.pk: client.zone for client in clients}
    if not zone_of:
        return {}
    sunday = monday + timedelta(days=6)

    assignments = list(
        Assignment.objects.filter(client_id__in=zone_of, start_date__lte=sunday)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=monday))
        .select_related("exercise")
        .order_by("start_date", "id")
    )
    assignments_of: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in assignments:
        assignments_of[assignment.client_id].append(assignment)
    schedules = schedules_for(assignments, zone_of=zone_of)
    # Logs by plan (days, minutes) and by client (minutes per local date).
    done: dict[int, set[date]] = defaultdict(set)
    minutes_of: dict[int, int] = defaultdict(int)
    minutes_by_day: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for assignment_id, client_id, day, minutes in Completion.objects.filter(
        client_id__in=zone_of, local_date__gte=monday, local_date__lte=sunday
    ).values_list("assignment_id", "client_id", "local_date", "minutes"):
        done[assignment_id].add(day)
        minutes_of[assignment_id] += minutes
        minutes_by_day[client_id][day] += minutes

    return {
        client_id: _client_week_of(
            monday=monday,
            today=local_date(now, zone),
            assignments=assignments_of.get(client_id, []),
            schedules=schedules,
            done=done,
            minutes_of=minutes_of,
            minutes_by_day=minutes_by_day.get(client_id, {}),
        )
        for client_id, zone in zone_of.items()
    }


def _client_week_of(
    *,
    monday: date,
    today: date,
    assignments: list[Assignment],
    schedules: dict[int, Schedule],
    done: dict[int, set[date]],
    minutes_of: dict[int, int],
    minutes_by_day: dict[date, int],
) -> ClientWeek:
    """One client's week from their plans (in start order) and the week's logs."""
    is_current = week_start(today) == monday
    sunday = monday + timedelta(days=6)
    plans = []
    for assignment in assignments:
        sched, dates = schedules[assignment.pk], done.get(assignment.pk, set())
        figure = adherence_as_of(sched, monday, sunday, dates, today=today)
        if figure.planned <= 0 and not dates:
            continue  # not running that week and nothing logged
        plans.append(
            PlanWeek(
                assignment=assignment,
                schedule=sched,
                adherence=figure,
                days=[DayMark(d, d in dates) for d in days_between(monday, sunday)],
                minutes=minutes_of.get(assignment.pk, 0),
            )
        )
    # Added up in the progress selector's order of plans, so the floats match to the last bit.
    in_progress_order = sorted(
        assignments, key=lambda a: (a.status, -a.start_date.toordinal(), -a.pk)
    )
    total = plans_adherence(
        [(schedules[a.pk], done.get(a.pk, set())) for a in in_progress_order],
        monday,
        sunday,
        today=today,
    )
    return ClientWeek(
        monday=monday,
        is_current=is_current,
        adherence=total,
        practice_days=len(minutes_by_day),  # days with a log, even one of 0 minutes
        minutes=sum(minutes_by_day.values()),
        minutes_by_day=[(d, minutes_by_day.get(d, 0)) for d in days_between(monday, sunday)],
        plans=plans,
    )


@dataclass(frozen=True)
class CaseloadWeekRow:
    client: User
    adherence: Adherence
    practice_days: int
    minutes: int
    needs_attention: bool
    reasons: list[str]
    urgent: bool = False  # an urgent flag not yet acknowledged


@dataclass(frozen=True)
class CaseloadWeek:
    monday: date
    is_current: bool
    rows: list[CaseloadWeekRow]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def clients(self) -> int:
        return len(self.rows)

    @property
    def practised(self) -> int:
        return sum(1 for row in self.rows if row.practice_days)

    @property
    def needing_attention(self) -> int:
        return sum(1 for row in self.rows if row.needs_attention)

    @property
    def urgent_flags(self) -> int:
        """Clients with an urgent flag not yet acknowledged: a count, never the reason."""
        return sum(1 for row in self.rows if row.urgent)


def caseload_week(*, clinician: User, monday: date, now: datetime | None = None) -> CaseloadWeek:
    """The caseload's week: who practised, how much, and who needs attention.

    "Needs attention" is the dashboard's own verdict (caseload_for_clinician), taken
    as the week ended in the clinician's zone, or now for the current week. Each
    client's days are their own local dates. A constant nine or so queries.
    """
    now = now or timezone.now()
    zone = clinician.zone
    is_current = week_start(local_date(now, zone)) == monday
    anchor = now if is_current else week_end_instant(monday=monday, zone=zone)
    caseload = caseload_for_clinician(clinician=clinician, now=anchor)
    if not caseload:
        return CaseloadWeek(monday=monday, is_current=is_current, rows=[])
    clients = {row.client.pk: row.client for row in caseload}
    sunday = monday + timedelta(days=6)

    assignments = list(
        Assignment.objects.filter(client_id__in=clients, start_date__lte=sunday)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=monday))
        .only(
            "id",
            "client_id",
            "schedule_kind",
            "weekdays",
            "times_per_week",
            "start_date",
            "end_date",
            "status",
            "updated_at",
        )
    )
    zones = {pk: client.zone for pk, client in clients.items()}
    schedules = schedules_for(assignments, zone_of=zones)
    done: dict[int, set[date]] = defaultdict(set)
    days_of: dict[int, set[date]] = defaultdict(set)
    minutes_of: dict[int, int] = defaultdict(int)
    for assignment_id, client_id, day, minutes in Completion.objects.filter(
        client_id__in=clients, local_date__gte=monday, local_date__lte=sunday
    ).values_list("assignment_id", "client_id", "local_date", "minutes"):
        done[assignment_id].add(day)
        days_of[client_id].add(day)
        minutes_of[client_id] += minutes

    plans_of: dict[int, list[tuple[Schedule, set[date]]]] = defaultdict(list)
    for assignment in assignments:
        plans_of[assignment.client_id].append(
            (schedules[assignment.pk], done.get(assignment.pk, set()))
        )

    rows = [
        CaseloadWeekRow(
            client=row.client,
            # Each client's week as it stands in their own zone at the anchor.
            adherence=plans_adherence(
                plans_of.get(row.client.pk, []),
                monday,
                sunday,
                today=local_date(anchor, zones[row.client.pk]),
            ),
            practice_days=len(days_of.get(row.client.pk, ())),
            minutes=minutes_of.get(row.client.pk, 0),
            needs_attention=row.needs_attention,
            reasons=list(row.reasons),
            urgent=row.urgent,
        )
        for row in caseload
    ]
    return CaseloadWeek(monday=monday, is_current=is_current, rows=rows)


# --- Which summaries are due -----------------------------------------------------------

# Monday 08:00 happens somewhere on Earth from Sunday 18:00 UTC (UTC+14) and the
# last Monday ends at Tuesday 12:00 UTC (UTC-12); outside that window no zone is due.
_WINDOW_START = (6, time(18, 0))  # Sunday
_WINDOW_END = (1, time(12, 0))  # Tuesday


def _maybe_due_somewhere(now: datetime) -> bool:
    utc = now.astimezone(UTC)
    moment = (utc.weekday(), utc.time())
    return moment >= _WINDOW_START or moment < _WINDOW_END


def summary_weeks_due(*, zone_names: list[str], now: datetime) -> dict[str, date]:
    """Zones where it is Monday and 08:00 has passed: zone name -> Monday of the week covered."""
    due = {}
    for name in zone_names:
        zone = zone_for(name)
        if zone is None:
            continue
        today = local_date(now, zone)
        if today.weekday() != SUMMARY_WEEKDAY:
            continue
        if local_instant(today, SUMMARY_TIME, zone) <= now:
            due[name] = today - timedelta(days=7)
    return due


@dataclass(frozen=True)
class DueSummary:
    kind: str
    user_id: int
    to_email: str
    monday: date

    @property
    def key(self) -> str:
        return summary_key(kind=self.kind, user_id=self.user_id, monday=self.monday)


def _recipient_chunks(
    *, zones: dict[str, date], now: datetime, chunk_size: int, shard: Shard = EVERY_CLIENT
) -> Iterator[list[dict]]:
    """Active clients who opted in and had a plan that week, and clinicians with a client
    on their caseload who had a plan that week (a caseload that began after the week has
    nothing to sum up: no summary of zeros on a new clinician's first Monday).

    Anyone with weekly_summary_email off is left out here, in SQL, not one by one.
    """
    # Every due zone shares one calendar Monday: the window above is shorter than a week.
    monday = min(zones.values())
    sunday = monday + timedelta(days=6)
    plans_that_week = Assignment.objects.filter(start_date__lte=sunday, created_at__lt=now).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=monday)
    )
    had_plan = plans_that_week.filter(client_id=OuterRef("pk"))
    has_clients = ClientProfile.objects.filter(
        clinician_id=OuterRef("pk"),
        user__is_active=True,
        user__role=Role.CLIENT,
        discharged_at__isnull=True,
    ).filter(Exists(plans_that_week.filter(client_id=OuterRef("user_id"))))
    queryset = (
        shard.filter(User.objects.all(), "id")
        .filter(is_active=True, weekly_summary_email=True, timezone__in=list(zones))
        .filter(
            (
                Q(
                    role=Role.CLIENT,
                    client_profile__weekly_summary=True,
                    # A discharged client's work has ended: no more summaries.
                    client_profile__discharged_at__isnull=True,
                    date_joined__lt=now,
                )
                & Exists(had_plan)
            )
            | (Q(role=Role.CLINICIAN) & Exists(has_clients))
        )
        .order_by("id")
    )
    last_id = 0
    while True:
        rows = list(
            queryset.filter(id__gt=last_id).values("id", "email", "role", "timezone")[:chunk_size]
        )
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


def _summaries_write(*, due: list[DueSummary], now: datetime) -> list[int]:
    """Insert rows, ignoring keys a concurrent run wrote; return the ids this run created."""
    batch = uuid.uuid4().hex
    # A client's summary reaches them on their channels; a clinician's is an email only
    # (their devices show urgent notices and messages, not the weekly figures).
    channels = channels_for(
        user_ids=list(
            {summary.user_id for summary in due if summary.kind == Notification.Kind.WEEKLY_CLIENT}
        )
    )
    rows = notifications_for_channels(
        channels=channels,
        rows=[
            Notification(
                kind=summary.kind,
                recipient_id=summary.user_id,
                to_email=summary.to_email,
                idempotency_key=summary.key,
                context={"week": summary.monday.isoformat(), "batch": batch},
                created_at=now,
                next_attempt_at=now,
            )
            for summary in due
        ],
    )
    Notification.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return list(
        Notification.objects.filter(
            idempotency_key__in=[summary.key for summary in due], context__batch=batch
        ).values_list("id", flat=True)
    )


def weekly_summaries_create_due(
    *, now: datetime | None = None, chunk_size: int = CHUNK_SIZE, shard: Shard = EVERY_CLIENT
) -> list[int]:
    """Write the weekly summaries that are due and enqueue them after commit.

    Runs often (beat, every 15 minutes) and cheaply: outside the Sunday-to-Tuesday
    UTC window it does not touch the database. Returns the ids this run created.
    """
    now = now or timezone.now()
    if not _maybe_due_somewhere(now):
        return []
    zone_names = list(
        User.objects.filter(is_active=True, role__in=[Role.CLIENT, Role.CLINICIAN])
        .order_by()
        .values_list("timezone", flat=True)
        .distinct()
    )
    zones = summary_weeks_due(zone_names=zone_names, now=now)
    if not zones:
        return []
    created: list[int] = []
    for rows in _recipient_chunks(zones=zones, now=now, chunk_size=chunk_size, shard=shard):
        due = [
            DueSummary(
                kind=(
                    Notification.Kind.WEEKLY_CLIENT
                    if row["role"] == Role.CLIENT
                    else Notification.Kind.WEEKLY_CLINICIAN
                ),
                user_id=row["id"],
                to_email=row["email"],
                monday=zones[row["timezone"]],
            )
            for row in rows
        ]
        existing = set(
            Notification.objects.filter(idempotency_key__in=[s.key for s in due]).values_list(
                "idempotency_key", flat=True
            )
        )
        due = [summary for summary in due if summary.key not in existing]
        if not due:
            continue
        with transaction.atomic():
            ids = _summaries_write(due=due, now=now)
            notifications_enqueue(ids=ids)
        created.extend(ids)
    if created:
        logger.info("Weekly summaries: %d new notification(s)", len(created))
    return created
