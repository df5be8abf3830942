"""Progress figures: one client's (portal and clinician) and a clinician's caseload.

These are the single source of the numbers shown on the portal's progress page,
the clinician's dashboard and client page, and later the API and the weekly
summaries. Each reads a fixed handful of queries, whatever the size of the
caseload or of the history, and does the arithmetic in Python with
homework.schedule.

Definitions (shown to people in the templates too):
- Adherence over "the last 7 (or 28) days" runs up to today; today counts once
  practised, so a day still in progress is not a miss (schedule.adherence_to_date).
- Adherence by week: whole weeks Monday to Sunday; the current week so far.
- The streak counts weeks in which the plan was met, kindly: a week counts as met
  when at least STREAK_MET_SHARE (4 in 5) of its planned practice was done, so a
  daily plan done 6 days of 7 counts. A single missed week is forgiven (the count
  pauses); two missed weeks in a row start it afresh. Weeks with nothing planned
  neither add nor break. The current week adds once met and never breaks the
  count, since it is not over.
- Needs attention, for a client with a running plan: no practice logged for
  ATTENTION_IDLE_DAYS days or more (counted from the later of the last practice
  and the day the plan started or resumed), or distress after practice trending
  up: the mean distress-after of the latest TREND_LOGS logs that record it is at
  least TREND_RISE points above the mean of the TREND_LOGS logs before them.
"""

import hashlib
import logging
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any

from django.core.cache import caches
from django.db.models import F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.access import clients_visible_to, clinician_stand_in, rule_compiles_for
from accounts.models import User
from core.compiled import CompiledModels, CompiledValues
from homework import schedule as schedule_module
from homework.attention import attention_reasons_for
from homework.models import (
    RATING_PAIRS,
    Assignment,
    AssignmentStatus,
    Completion,
    FiguresVersion,
    Rating,
)
from homework.schedule import (
    Adherence,
    Schedule,
    adherence_to_date,
    describe,
    is_active_on,
    local_date,
    plans_adherence,
    week_start,
)
from homework.selectors import practice as practice_module
from homework.selectors.practice import last_resumed_on, schedules_for, with_status_event_flag

logger = logging.getLogger(__name__)

WEEKS_SHOWN = 12
ATTENTION_IDLE_DAYS = 5
TREND_LOGS = 3
TREND_RISE = 1.0
STREAK_GRACE_WEEKS = 1
STREAK_MET_SHARE = 0.8

PAIR_LABELS = {
    "distress": "Distress",
    "belief": "Belief in the critical thought",
    "self_criticism": "Self-criticism",
}

# A log the client asked their clinician to look at stays on the caseload this long.
BACKDRAFT_SHOWN_DAYS = 7


@dataclass(frozen=True)
class WeekRow:
    monday: date
    adherence: Adherence
    practice_days: int
    minutes: int
    is_current: bool = False

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


@dataclass(frozen=True)
class RatingWeek:
    monday: date
    before: float | None
    after: float | None
    logs: int


@dataclass(frozen=True)
class RatingSeries:
    """Weekly means of one before/after pair, for the line chart."""

    key: str
    label: str
    weeks: list[RatingWeek]


@dataclass(frozen=True)
class RatingChange:
    key: str
    label: str
    logs: int
    mean_before: float
    mean_after: float

    @property
    def change(self) -> float:
        return self.mean_after - self.mean_before


@dataclass(frozen=True)
class ExerciseChange:
    exercise_id: int
    title: str
    practices: int
    minutes: int
    changes: list[RatingChange]
    mean_self_kindness_after: float | None


@dataclass(frozen=True)
class Streak:
    weeks: int  # weeks with the plan met in the current run
    resting: bool  # the last finished week was missed but forgiven
    this_week_met: bool


@dataclass(frozen=True)
class AssignmentSummary:
    assignment: Assignment
    schedule: Schedule
    adherence_28: Adherence
    last_practice: date | None
    practices: int

    @property
    def schedule_text(self) -> str:
        return describe(self.schedule)


@dataclass(frozen=True)
class ClientProgress:
    client: User
    local_date: date
    weeks: list[WeekRow]
    practice_days_total: int
    minutes_total: int
    practice_days_recent: int  # within the weeks shown
    minutes_recent: int
    exercises: list[ExerciseChange]
    rating_series: list[RatingSeries]
    streak: Streak
    assignments: list[AssignmentSummary]

    @property
    def first_monday(self) -> date:
        return self.weeks[0].monday


def kind_streak(
    weeks: Sequence[Adherence],
    *,
    grace: int = STREAK_GRACE_WEEKS,
    met_share: float = STREAK_MET_SHARE,
) -> Streak:
    """Count weeks with the plan met, forgiving up to `grace` missed weeks in a row.

    weeks runs oldest first and its last item is the current week, which is not
    over: it adds when already met and otherwise changes nothing.
    """
    count = 0
    missed_in_row = 0
    this_week_met = False
    for index, week in enumerate(weeks):
        if week.planned <= 0:
            continue
        met = week.done >= week.planned * met_share - 1e-9
        is_current = index == len(weeks) - 1
        if met:
            count += 1
            missed_in_row = 0
            this_week_met = is_current
        elif not is_current:
            missed_in_row += 1
            if missed_in_row > grace:
                count = 0
    return Streak(
        weeks=count, resting=0 < missed_in_row <= grace and count > 0, this_week_met=this_week_met
    )


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


@dataclass(frozen=True)
class _ProgressNumbers:
    """What `client_progress` works out from a client's logs: numbers, dates and ids
    only. The exercises' titles are left empty and filled from the plans read with
    each request, so the cache holds no words (and a renamed exercise shows at once)."""

    assignment_ids: tuple[int, ...]
    weeks: list[WeekRow]
    practice_days_total: int
    minutes_total: int
    practice_days_recent: int
    minutes_recent: int
    exercises: list[ExerciseChange]
    rating_series: list[RatingSeries]
    streak: Streak
    # Per plan: adherence over the last 28 days, the last practice, practices logged.
    plans: dict[int, tuple[Adherence, date | None, int]]


def _client_plans(client_id: int) -> QuerySet[Assignment]:
    return (
        with_status_event_flag(Assignment.objects.filter(client_id=client_id))
        .select_related("exercise")
        .order_by("status", "-start_date", "-id")
    )


# Read by the client page, the report and the client's progress page (core.compiled).
_CLIENT_PLANS = CompiledModels(_client_plans, int)


def _progress_plans(client: User) -> tuple[list[Assignment], dict[int, Schedule]]:
    assignments = _CLIENT_PLANS.all(client.pk)
    return assignments, schedules_for(assignments, zone_of={client.pk: client.zone})


def _progress_numbers(
    client: User,
    assignments: list[Assignment],
    schedules: dict[int, Schedule],
    today: date,
    weeks: int,
) -> _ProgressNumbers:
    this_monday = week_start(today)
    first_monday = this_monday - timedelta(weeks=weeks - 1)
    logs = list(
        Completion.objects.filter(client_id=client.pk)
        .order_by("local_date", "id")
        .values("assignment_id", "local_date", "minutes", *Rating.values)
    )

    done: dict[int, set[date]] = defaultdict(set)
    for log in logs:
        done[log["assignment_id"]].add(log["local_date"])

    plans = [(schedules[a.pk], done.get(a.pk, set())) for a in assignments]

    # Weekly adherence across every plan; the current week so far (today once practised),
    # or whole for the streak, where the current week adds once met and never breaks.
    def week_adherence(monday: date, *, whole: bool) -> Adherence:
        return plans_adherence(
            plans, monday, monday + timedelta(days=6), today=None if whole else today
        )

    recent = [log for log in logs if first_monday <= log["local_date"] <= today]
    # The shown weeks' logs, grouped once (a year of logs is thousands of rows). Only
    # the current week can hold a log dated after today (the client moved west).
    by_week: dict[date, list[dict]] = defaultdict(list)
    for log in logs:
        if log["local_date"] >= first_monday:
            by_week[week_start(log["local_date"])].append(log)
    recent_by_week = {
        **by_week,
        this_monday: [log for log in by_week.get(this_monday, []) if log["local_date"] <= today],
    }

    week_rows = []
    for index in range(weeks):
        monday = first_monday + timedelta(weeks=index)
        in_week = by_week.get(monday, [])
        week_rows.append(
            WeekRow(
                monday=monday,
                adherence=week_adherence(monday, whole=False),
                practice_days=len({log["local_date"] for log in in_week}),
                minutes=sum(log["minutes"] for log in in_week),
                is_current=monday == this_monday,
            )
        )

    # The streak looks back to the first week any plan ran.
    starts = [a.start_date for a in assignments if a.start_date <= today]
    streak_weeks = []
    if starts:
        monday = week_start(min(starts))
        while monday <= this_monday:
            streak_weeks.append(week_adherence(monday, whole=True))
            monday += timedelta(weeks=1)

    return _ProgressNumbers(
        assignment_ids=tuple(a.pk for a in assignments),
        weeks=week_rows,
        practice_days_total=len({log["local_date"] for log in logs}),
        minutes_total=sum(log["minutes"] for log in logs),
        practice_days_recent=len({log["local_date"] for log in recent}),
        minutes_recent=sum(log["minutes"] for log in recent),
        exercises=_exercise_changes(assignments, logs),
        rating_series=_rating_series(recent_by_week, first_monday, weeks),
        streak=kind_streak(streak_weeks),
        plans={
            a.pk: (
                adherence_to_date(
                    schedules[a.pk], today - timedelta(days=27), today, done.get(a.pk, set())
                ),
                max(done[a.pk]) if done.get(a.pk) else None,
                len(done.get(a.pk, ())),
            )
            for a in assignments
        },
    )


def _progress_assemble(
    client: User,
    today: date,
    assignments: list[Assignment],
    schedules: dict[int, Schedule],
    numbers: _ProgressNumbers,
) -> ClientProgress:
    titles = {a.exercise_id: a.exercise.title for a in assignments}
    exercises = [replace(change, title=titles[change.exercise_id]) for change in numbers.exercises]
    return ClientProgress(
        client=client,
        local_date=today,
        weeks=numbers.weeks,
        practice_days_total=numbers.practice_days_total,
        minutes_total=numbers.minutes_total,
        practice_days_recent=numbers.practice_days_recent,
        minutes_recent=numbers.minutes_recent,
        exercises=sorted(exercises, key=lambda change: (-change.practices, change.title)),
        rating_series=numbers.rating_series,
        streak=numbers.streak,
        assignments=[
            AssignmentSummary(
                assignment=a,
                schedule=schedules[a.pk],
                adherence_28=numbers.plans[a.pk][0],
                last_practice=numbers.plans[a.pk][1],
                practices=numbers.plans[a.pk][2],
            )
            for a in assignments
        ],
    )


def client_progress_compute(
    *, client: User, now: datetime | None = None, weeks: int = WEEKS_SHOWN
) -> ClientProgress:
    """`client_progress` worked out afresh from the database, past the cache."""
    today = local_date(now or timezone.now(), client.zone)
    assignments, schedules = _progress_plans(client)
    numbers = _progress_numbers(client, assignments, schedules, today, weeks)
    return _progress_assemble(client, today, assignments, schedules, numbers)


_FIGURES_VERSION = CompiledValues(
    lambda client_id: FiguresVersion.objects.filter(client_id=client_id).values("version")
)


def figures_version_of(client_id: int) -> uuid.UUID | None:
    """The client's figures version (None before any write since the triggers)."""
    rows = _FIGURES_VERSION.rows(client_id)
    # PostgreSQL answers a UUID, SQLite the 32 hex digits Django stores there.
    return uuid.UUID(str(rows[0]["version"])) if rows else None


def _progress_key(client: User, today: date, weeks: int) -> str:
    """Reads the client's figures version: call it before reading what the figures
    come from, so nothing older than the version is ever stored under it."""
    return _figures_key("progress", client, figures_version_of(client.pk), today, weeks)


def client_progress(
    *, client: User, now: datetime | None = None, weeks: int = WEEKS_SHOWN
) -> ClientProgress:
    """Everything the progress page and the clinician's client page chart.

    The numbers worked out from the client's logs are kept in the figures cache under
    the client's figures version (read first, so nothing older than it is ever stored
    under it), zone, local date and the weeks shown: four queries when they are there
    (the version, the plans, their history), five when not (and the logs). The plans
    and their exercises are read every time, so the page shows their current words.
    """
    today = local_date(now or timezone.now(), client.zone)
    key = _progress_key(client, today, weeks)
    assignments, schedules = _progress_plans(client)
    numbers = _figures_cache_read([key]).get(key)
    # Plans that differ from the entry's can only be a write that landed between the
    # version's read and the plans': work it out afresh.
    if numbers is None or numbers.assignment_ids != tuple(a.pk for a in assignments):
        numbers = _progress_numbers(client, assignments, schedules, today, weeks)
        _figures_cache_write({key: numbers})
    return _progress_assemble(client, today, assignments, schedules, numbers)


def _exercise_changes(assignments: list[Assignment], logs: list[dict]) -> list[ExerciseChange]:
    """Mean before and after of each rating pair, per exercise, over logs that record both."""
    exercise_of = {a.pk: a.exercise for a in assignments}
    by_exercise: dict[int, list[dict]] = defaultdict(list)
    for log in logs:
        by_exercise[exercise_of[log["assignment_id"]].pk].append(log)
    result = []
    for exercise_id, rows in by_exercise.items():
        changes = []
        for key, before, after in RATING_PAIRS:
            pairs = [
                (r[before], r[after])
                for r in rows
                if r[before] is not None and r[after] is not None
            ]
            if pairs:
                changes.append(
                    RatingChange(
                        key=key,
                        label=PAIR_LABELS[key],
                        logs=len(pairs),
                        mean_before=fmean(p[0] for p in pairs),
                        mean_after=fmean(p[1] for p in pairs),
                    )
                )
        kindness = [
            r[Rating.SELF_KINDNESS_AFTER] for r in rows if r[Rating.SELF_KINDNESS_AFTER] is not None
        ]
        result.append(
            ExerciseChange(
                exercise_id=exercise_id,
                title="",  # filled from the plans as read (`_progress_assemble`)
                practices=len(rows),
                minutes=sum(r["minutes"] for r in rows),
                changes=changes,
                mean_self_kindness_after=_mean(kindness),
            )
        )
    return result


def _rating_series(
    by_week: dict[date, list[dict]], first_monday: date, weeks: int
) -> list[RatingSeries]:
    """Weekly mean before and after of each pair that has any data in the window."""
    series = []
    for key, before, after in RATING_PAIRS:
        rows = []
        any_data = False
        for index in range(weeks):
            monday = first_monday + timedelta(weeks=index)
            in_week = by_week.get(monday, [])
            befores = [log[before] for log in in_week if log[before] is not None]
            afters = [log[after] for log in in_week if log[after] is not None]
            any_data = any_data or bool(befores or afters)
            rows.append(
                RatingWeek(
                    monday=monday,
                    before=_mean(befores),
                    after=_mean(afters),
                    logs=max(len(befores), len(afters)),
                )
            )
        if any_data:
            series.append(RatingSeries(key=key, label=PAIR_LABELS[key], weeks=rows))
    return series


# --- The caseload ---


@dataclass(frozen=True)
class CaseloadRow:
    client: User
    local_date: date
    active_assignments: int  # status active and not past its end date
    adherence_7: Adherence
    adherence_28: Adherence
    practised_days_7: int
    last_practice: date | None
    idle_days: int | None  # None when no plan is running today
    distress_recent: float | None
    distress_earlier: float | None
    reasons: list[str] = field(default_factory=list)
    # A reason another app marked urgent (a risk flag): the row goes above all others.
    urgent: bool = False
    discharged: bool = False
    # The last moment the row holds as it is, when a reason on it lapses at a moment (a
    # request to look is shown for seven days): a cached caseload is used until then.
    until: datetime | None = None

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)

    @property
    def is_active(self) -> bool:
        """False for a deactivated account: marked on the caseload, never "needs attention"."""
        return self.client.is_active

    @property
    def is_open(self) -> bool:
        return self.is_active and not self.discharged

    @property
    def days_since_practice(self) -> int | None:
        return None if self.last_practice is None else (self.local_date - self.last_practice).days


def _is_running(assignment: Assignment, schedule: Schedule, day: date) -> bool:
    return assignment.status == AssignmentStatus.ACTIVE and is_active_on(schedule, day)


@dataclass(frozen=True)
class CaseloadFigures:
    """A client's computed caseload figures: what a row shows that comes from their plans,
    their plans' history and their logs (the rest of a row is read fresh every time).

    Cached under (client, figures version, zone, local date): the triggers of
    homework.models.FiguresVersion give the client a new version with every write these
    are computed from, and the zone and the day are the only other inputs (the time of
    day enters only through `told`, which keeps the moments and is filtered on reading).
    """

    active_assignments: int
    adherence_7: Adherence
    adherence_28: Adherence
    practised_days_7: int
    last_practice: date | None
    idle_days: int | None
    distress_recent: float | None
    distress_earlier: float | None
    # (local date, moment) of each recent log the client asked their clinician to see.
    told: tuple[tuple[date, datetime], ...]

    def as_cached(self) -> tuple:
        """Plain values only: a cached entry never depends on a class's pickled shape."""
        return (
            self.active_assignments,
            self.adherence_7.planned,
            self.adherence_7.done,
            self.adherence_28.planned,
            self.adherence_28.done,
            self.practised_days_7,
            self.last_practice,
            self.idle_days,
            self.distress_recent,
            self.distress_earlier,
            self.told,
        )

    @classmethod
    def from_cached(cls, value: tuple) -> "CaseloadFigures":
        (
            active,
            planned_7,
            done_7,
            planned_28,
            done_28,
            days_7,
            last,
            idle,
            recent,
            earlier,
            told,
        ) = value
        return cls(
            active_assignments=active,
            adherence_7=Adherence(planned_7, done_7),
            adherence_28=Adherence(planned_28, done_28),
            practised_days_7=days_7,
            last_practice=last,
            idle_days=idle,
            distress_recent=recent,
            distress_earlier=earlier,
            told=told,
        )


def _code_version() -> str:
    """The figures' code: this module, the schedule arithmetic and the schedules' reader.
    A deploy that changes any of them changes every key, so no entry computed by older
    code is read (nobody has to remember to bump a number)."""
    digest = hashlib.sha256()
    for module in (sys.modules[__name__], schedule_module, practice_module):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


FIGURES_FORMAT = _code_version()


def _figures_key(
    kind: str, client: User, version: uuid.UUID | None, today: date, *more: object
) -> str:
    """A figures cache key: what is cached, the code that computed it, the client, their
    figures version, zone and local date, and whatever else the figures depend on."""
    parts = [kind, FIGURES_FORMAT, client.pk, version.hex if version else "none"]
    return ":".join(str(part) for part in [*parts, client.timezone, today.isoformat(), *more])


def _figures_cache_read(keys: list[str]) -> dict[str, Any]:
    """Cached figures by key; nothing when the cache cannot answer (the page computes)."""
    try:
        return caches["figures"].get_many(keys)
    # A cache that fails (Redis down, an entry it cannot read) must never fail the page.
    except Exception:
        logger.warning("figures cache unavailable for reading; computing", exc_info=True)
        return {}


def _figures_cache_write(entries: dict[str, Any]) -> None:
    try:
        caches["figures"].set_many(entries)
    except Exception:
        logger.warning("figures cache unavailable for writing", exc_info=True)


def caseload_figures_compute(
    clients: Sequence[User], *, todays: dict[int, date]
) -> dict[int, CaseloadFigures]:
    """Compute the figures of `clients` (each with the local date in `todays`) from the
    database, never from the cache. At most five queries for any number of clients:
    assignments, the history of those ever paused or ended, the last 28 days of logs,
    the latest distress ratings of clients with few of them in those days, and the last
    practice of each."""
    if not clients:
        return {}
    ids = [c.pk for c in clients]
    zones = {c.pk: c.zone for c in clients}
    earliest = min(todays.values()) - timedelta(days=28)

    assignments = list(
        with_status_event_flag(Assignment.objects.filter(client_id__in=ids)).only(
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
    schedules = schedules_for(assignments, zone_of=zones)
    done: dict[int, set[date]] = defaultdict(set)
    days_by_client: dict[int, set[date]] = defaultdict(set)
    # (local_date, id, distress after) of the recent logs that record it, per client.
    recent_distress: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    # Logs the client asked their clinician to look at (a hard practice), recently.
    told: dict[int, list[tuple[date, datetime]]] = defaultdict(list)
    for log_id, assignment_id, client_id, day, distress_after, told_at in (
        Completion.objects.filter(client_id__in=ids, local_date__gte=earliest)
        .order_by()
        .values_list(
            "id", "assignment_id", "client_id", "local_date", "distress_after", "clinician_told_at"
        )
    ):
        if told_at is not None:
            told[client_id].append((day, told_at))
        done[assignment_id].add(day)
        days_by_client[client_id].add(day)
        if distress_after is not None:
            recent_distress[client_id].append((day, log_id, distress_after))

    # Each client's latest 2 x TREND_LOGS distress ratings, newest first. Every log since
    # `earliest` was read above, so a client with that many among them needs nothing
    # more; the rest (little recent practice) are read back through their whole history.
    distress: dict[int, list[int]] = {}
    for client_id, found in recent_distress.items():
        if len(found) >= 2 * TREND_LOGS:
            found.sort(reverse=True)
            distress[client_id] = [value for _day, _id, value in found[: 2 * TREND_LOGS]]
    older = [pk for pk in ids if pk not in distress]
    if older:
        history: dict[int, list[int]] = defaultdict(list)
        for client_id, _rank, value in (
            Completion.objects.filter(client_id__in=older, distress_after__isnull=False)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("client_id")],
                    order_by=[F("local_date").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=2 * TREND_LOGS)
            .order_by("client_id", "rank")
            .values_list("client_id", "rank", "distress_after")
        ):
            history[client_id].append(value)
        distress.update(history)

    # Each client's last practice: one backwards step on (client, local_date) each.
    latest_log = Completion.objects.filter(client_id=OuterRef("pk")).order_by("-local_date")
    last_practices = dict(
        User.objects.filter(pk__in=ids)
        .annotate(last_practice=Subquery(latest_log.values("local_date")[:1]))
        .values_list("pk", "last_practice")
    )

    by_client: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in assignments:
        by_client[assignment.client_id].append(assignment)

    figures = {}
    for client in clients:
        today = todays[client.pk]
        plans = by_client.get(client.pk, [])
        running = [a for a in plans if _is_running(a, schedules[a.pk], today)]
        plans_done = [(schedules[a.pk], done.get(a.pk, set())) for a in plans]
        last = last_practices.get(client.pk)
        idle_days = None
        if running:
            began = min(
                max(a.start_date, last_resumed_on(schedules[a.pk]) or a.start_date) for a in running
            )
            idle_days = (today - max(began, last or began)).days
        latest = distress.get(client.pk, [])
        enough = len(latest) >= 2 * TREND_LOGS
        figures[client.pk] = CaseloadFigures(
            active_assignments=sum(
                1
                for a in plans
                if a.status == AssignmentStatus.ACTIVE
                and (a.end_date is None or a.end_date >= today)
            ),
            adherence_7=plans_adherence(plans_done, today - timedelta(days=6), today, today=today),
            adherence_28=plans_adherence(
                plans_done, today - timedelta(days=27), today, today=today
            ),
            practised_days_7=sum(
                1 for d in days_by_client.get(client.pk, ()) if d > today - timedelta(days=7)
            ),
            last_practice=last,
            idle_days=idle_days,
            distress_recent=_mean(latest[:TREND_LOGS]) if enough else None,
            distress_earlier=_mean(latest[TREND_LOGS:]) if enough else None,
            told=tuple(sorted(told.get(client.pk, []))),
        )
    return figures


def caseload_figures(clients: Sequence[User], *, now: datetime) -> dict[int, CaseloadFigures]:
    """The figures of `clients` (read with `with_figures_version`): from the cache where
    their version, zone and local date have an entry, computed (and kept) otherwise."""
    todays = {c.pk: local_date(now, c.zone) for c in clients}
    keys = {c.pk: _figures_key("caseload", c, c.figures_version, todays[c.pk]) for c in clients}
    cached = _figures_cache_read(list(keys.values()))
    figures: dict[int, CaseloadFigures] = {}
    missing = []
    for client in clients:
        value = cached.get(keys[client.pk])
        if value is None:
            missing.append(client)
        else:
            figures[client.pk] = CaseloadFigures.from_cached(value)
    if missing:
        computed = caseload_figures_compute(missing, todays=todays)
        figures.update(computed)
        _figures_cache_write({keys[pk]: found.as_cached() for pk, found in computed.items()})
    return figures


def with_figures_version(clients: QuerySet[User]) -> QuerySet[User]:
    """Clients with their figures version (None before any write since the triggers)."""
    return clients.annotate(
        figures_version=Subquery(
            FiguresVersion.objects.filter(client_id=OuterRef("pk")).values("version")[:1]
        )
    )


def _caseload_query(clients: QuerySet[User]) -> QuerySet[User]:
    return (
        with_figures_version(clients)
        # The clinician's name rides along for a supervisor's list of several caseloads.
        .select_related("client_profile__clinician")
        .order_by("full_name", "email", "id")
    )


# A clinician's own caseload, read by every dashboard and search: compiled once per
# process (core.compiled) from the access rule itself, whose query for a clinician of a
# clinic depends on their clinic and id alone (tests/core/test_compiled.py checks it).
_CLINICIANS_CASELOAD = CompiledModels(
    lambda clinic_id, clinician_id: _caseload_query(
        clients_visible_to(clinician_stand_in(clinic_id, clinician_id))
    ),
    int,
    int,
)


def caseload_clients(reader: User) -> list[User]:
    """The clients `reader` may see, with their figures versions, in caseload order."""
    if rule_compiles_for(reader):
        return _CLINICIANS_CASELOAD.all(reader.clinic_id, reader.pk)
    return list(_caseload_query(clients_visible_to(reader)))


def caseload_for_clinician(*, clinician: User, now: datetime | None = None) -> list[CaseloadRow]:
    """One row per client on the clinician's caseload, urgent first, then those needing
    attention.

    Two queries for any caseload whose figures are cached (the clients with their
    figures versions, and the cache), and the five of `caseload_figures_compute` for
    the clients whose figures are not; plus the fixed few of each registered attention
    provider (homework.attention), which are always read fresh.
    """
    now = now or timezone.now()
    clients = caseload_clients(clinician)
    if not clients:
        return []
    figures = caseload_figures(clients, now=now)
    told_since = now - timedelta(days=BACKDRAFT_SHOWN_DAYS)
    # Moments in the reader's zone: the clinician (or supervisor) who acts on them.
    added = attention_reasons_for(client_ids=[c.pk for c in clients], now=now, zone=clinician.zone)

    rows = []
    for client in clients:
        found = figures[client.pk]
        recent, earlier = found.distress_recent, found.distress_earlier
        extra = added.get(client.pk, [])
        profile = getattr(client, "client_profile", None)
        discharged = profile is not None and profile.discharged_at is not None
        # An urgent reason (a risk flag) is shown whatever the record's state: safety first.
        reasons = [reason.text for reason in extra if reason.urgent]
        # Nobody can act on a closed record, so it never asks for attention otherwise.
        closed = discharged or not client.is_active
        idle_days = found.idle_days
        if not closed and idle_days is not None and idle_days >= ATTENTION_IDLE_DAYS:
            reasons.append(f"No practice logged for {idle_days} days")
        rising = recent is not None and earlier is not None and recent - earlier >= TREND_RISE
        if not closed and rising:
            reasons.append(
                f"Distress after practice rising (average {recent:.1f}, was {earlier:.1f})"
            )
        # Reasons that lapse at a moment: the row is true until the first of them.
        lapses = [reason.until for reason in extra if reason.until is not None]
        for day, told_at in (entry for entry in found.told if entry[1] >= told_since):
            reasons.append(
                f"Asked you to look at the practice log of {day.day} {day:%b}: it stirred up "
                "something hard"
            )
            lapses.append(told_at + timedelta(days=BACKDRAFT_SHOWN_DAYS))
        reasons.extend(reason.text for reason in extra if not reason.urgent)
        client.last_practice = found.last_practice
        rows.append(
            CaseloadRow(
                client=client,
                local_date=local_date(now, client.zone),
                active_assignments=found.active_assignments,
                adherence_7=found.adherence_7,
                adherence_28=found.adherence_28,
                practised_days_7=found.practised_days_7,
                last_practice=found.last_practice,
                idle_days=idle_days,
                distress_recent=recent,
                distress_earlier=earlier,
                reasons=reasons,
                urgent=any(reason.urgent for reason in extra),
                discharged=discharged,
                until=min(lapses, default=None),
            )
        )
    return sorted(rows, key=lambda row: (not row.urgent, not row.needs_attention))


# Filters of the caseload, by their key in the URL: (label, keep this row?). Urgent
# flags, groups and programs join here as entries when they exist.
CASELOAD_FILTERS: dict[str, tuple[str, Callable[[CaseloadRow], bool]]] = {
    "urgent": ("Urgent flags", lambda row: row.urgent),
    "attention": ("Needing attention", lambda row: row.needs_attention),
    "open": ("Current clients", lambda row: row.is_open),
    "inactive": ("Deactivated accounts", lambda row: not row.is_active),
    "discharged": ("Discharged", lambda row: row.discharged),
}

# Orders of the caseload, by their key in the URL: (label, sort key). Clients with no
# figure for a column come last either way.
CASELOAD_SORTS: dict[str, tuple[str, Callable[[CaseloadRow], object]]] = {
    "name": ("Name, A to Z", lambda row: (row.client.get_full_name().casefold(), row.client.pk)),
    "-name": ("Name, Z to A", lambda row: (row.client.get_full_name().casefold(), row.client.pk)),
    "active_plans": ("Fewest active plans", lambda row: row.active_assignments),
    "-active_plans": ("Most active plans", lambda row: row.active_assignments),
    "adherence_7": ("Last 7 days, lowest first", lambda row: row.adherence_7.ratio),
    "-adherence_7": ("Last 7 days, highest first", lambda row: row.adherence_7.ratio),
    "adherence_28": ("Last 28 days, lowest first", lambda row: row.adherence_28.ratio),
    "-adherence_28": ("Last 28 days, highest first", lambda row: row.adherence_28.ratio),
    "last_practice": ("Last practice, longest ago first", lambda row: row.last_practice),
    "-last_practice": ("Last practice, most recent first", lambda row: row.last_practice),
}


def caseload_query(
    rows: list[CaseloadRow], *, search: str = "", status: str = "", sort: str = ""
) -> list[CaseloadRow]:
    """The caseload's rows searched, filtered and sorted: plain Python over rows already
    read, so the page costs the same queries whatever is asked."""
    needle = search.strip().casefold()
    if needle:
        rows = [
            row
            for row in rows
            if needle in row.client.full_name.casefold() or needle in row.client.email.casefold()
        ]
    if status:
        keep = CASELOAD_FILTERS[status][1]
        rows = [row for row in rows if keep(row)]
    if sort:
        key = CASELOAD_SORTS[sort][1]
        present = [row for row in rows if key(row) is not None]
        missing = [row for row in rows if key(row) is None]
        rows = sorted(present, key=key, reverse=sort.startswith("-")) + missing
    return rows
