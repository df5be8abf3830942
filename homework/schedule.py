"""What is due when: the one module that owns schedule arithmetic.

Portal, dashboard, progress, reminders and the API all call these functions.
They work on plain dates in the client's own time zone (the caller converts
"now" with zoneinfo first) and know nothing about the database, so they are
easy to test exhaustively.

Rules, in words a clinician would use:
- A plan runs from its start date to its end date (inclusive, open-ended if none).
- Days on which the clinician had paused the plan ask for nothing: a pause covers
  the day it was paused up to (not including) the day it was resumed. The day a
  plan was ended asks for nothing either. (The caller reads those days from the
  assignment's history; see homework.selectors.practice.schedule_for.)
- "Every day" and "chosen weekdays" plans are due on each such day.
- "N times a week" plans may be done on any day; weeks run Monday to Sunday.
  A week's quota is N, or the number of days the plan runs that week if fewer
  (a plan that starts on a Saturday asks for at most 2 that week).
- Adherence counts kindly: practice on an unscheduled day still counts, but
  never above what was planned, so adherence always lies between 0 and 1.
  For "N times a week" plans a window covering part of a week is credited
  with that share of the week's quota.
- Several plans together (a client's week, a caseload row) add up each plan's
  planned and done; a window that holds today counts only to today (`plans_adherence`).
"""

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY = "daily"
WEEKDAYS = "weekdays"
TIMES_PER_WEEK = "times_per_week"

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# A pause: the first paused day and the day practice resumed (None: still paused).
Pause = tuple[date, date | None]


@dataclass(frozen=True)
class Schedule:
    kind: str
    start_date: date
    end_date: date | None = None
    weekdays: int = 0  # bit i set = weekday i, Monday = 0
    times_per_week: int | None = None
    pauses: tuple[Pause, ...] = ()

    @classmethod
    def of(
        cls, assignment, *, pauses: Iterable[Pause] = (), ended_on: date | None = None
    ) -> "Schedule":
        """The schedule of an Assignment (or anything with the same attributes).

        pauses and ended_on come from the assignment's history, which this module
        cannot read; without them the plan is taken to have run without a break.
        """
        end_date = assignment.end_date
        if ended_on is not None:
            # The day a plan is ended asks for nothing, as with a pause.
            last_day = ended_on - timedelta(days=1)
            end_date = last_day if end_date is None else min(end_date, last_day)
        return cls(
            kind=assignment.schedule_kind,
            start_date=assignment.start_date,
            end_date=end_date,
            weekdays=assignment.weekdays,
            times_per_week=assignment.times_per_week,
            pauses=tuple(pauses),
        )


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date on the wall in zone at an aware instant (the client's "today")."""
    if instant.tzinfo is None:
        raise ValueError("local_date needs an aware datetime")
    return instant.astimezone(zone).date()


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a local calendar day.

    Days are 23 or 25 hours long across DST changes (23.5/24.5 on Lord Howe). Where
    midnight itself does not exist (a spring-forward at 00:00), the day starts at the
    first instant that does: fold=0 resolves a missing time with the offset from
    before the change, which lands exactly on the change.
    """
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def weekdays_mask(days: Iterable[int]) -> int:
    """Bit mask from weekday numbers (Monday = 0)."""
    mask = 0
    for day in days:
        if not 0 <= day <= 6:
            raise ValueError(f"weekday must be 0..6, got {day}")
        mask |= 1 << day
    return mask


def weekdays_from_mask(mask: int) -> list[int]:
    return [day for day in range(7) if mask & (1 << day)]


def week_start(day: date) -> date:
    """The Monday of the week containing day."""
    return day - timedelta(days=day.weekday())


def days_between(start: date, end: date) -> Iterator[date]:
    """Every date from start to end inclusive (nothing if end < start)."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def is_active_on(schedule: Schedule, day: date) -> bool:
    """Whether the plan is running on day: started, not over, not paused."""
    if day < schedule.start_date or (schedule.end_date is not None and day > schedule.end_date):
        return False
    return not any(
        first <= day and (resumed is None or day < resumed) for first, resumed in schedule.pauses
    )


def is_scheduled_day(schedule: Schedule, day: date) -> bool:
    """Whether the plan asks for practice on this particular day.

    For "N times a week" every active day is eligible; see `due_on` for the quota.
    """
    if not is_active_on(schedule, day):
        return False
    if schedule.kind == WEEKDAYS:
        return bool(schedule.weekdays & (1 << day.weekday()))
    return True


def _active_days_in_week(schedule: Schedule, monday: date) -> int:
    return sum(
        1 for day in days_between(monday, monday + timedelta(days=6)) if is_active_on(schedule, day)
    )


def week_quota(schedule: Schedule, day: date) -> int:
    """How many practices the plan asks for in the week containing day."""
    monday = week_start(day)
    if schedule.kind == TIMES_PER_WEEK:
        return min(schedule.times_per_week or 0, _active_days_in_week(schedule, monday))
    return sum(
        1 for d in days_between(monday, monday + timedelta(days=6)) if is_scheduled_day(schedule, d)
    )


def done_in_week(
    day: date, done_dates: Collection[date], *, schedule: Schedule | None = None
) -> int:
    """Days practised in the week containing day.

    With a schedule, only days on which the plan was running count, as in `adherence`.
    """
    monday = week_start(day)
    sunday = monday + timedelta(days=6)
    return sum(
        1
        for d in set(done_dates)
        if monday <= d <= sunday and (schedule is None or is_active_on(schedule, d))
    )


def left_this_week(schedule: Schedule, day: date, done_dates: Collection[date]) -> int:
    """Practices still to do this week (never negative)."""
    return max(0, week_quota(schedule, day) - done_in_week(day, done_dates, schedule=schedule))


def next_scheduled_day(schedule: Schedule, after: date) -> date | None:
    """The first day after `after` on which the plan asks for practice, within a week."""
    for offset in range(1, 8):
        day = after + timedelta(days=offset)
        if is_scheduled_day(schedule, day):
            return day
    return None


def due_on(schedule: Schedule, day: date, done_dates: Collection[date]) -> bool:
    """Whether practice is still due on day, given the dates already done."""
    if day in done_dates or not is_scheduled_day(schedule, day):
        return False
    if schedule.kind == TIMES_PER_WEEK:
        return left_this_week(schedule, day, done_dates) > 0
    return True


@dataclass(frozen=True)
class Adherence:
    planned: float
    done: float

    @property
    def ratio(self) -> float | None:
        """done / planned in 0..1, or None when nothing was planned."""
        if self.planned <= 0:
            return None
        return min(1.0, self.done / self.planned)

    @property
    def percent(self) -> int | None:
        ratio = self.ratio
        return None if ratio is None else round(ratio * 100)

    def __add__(self, other: "Adherence") -> "Adherence":
        return Adherence(self.planned + other.planned, self.done + other.done)


NO_PLAN = Adherence(0.0, 0.0)


def adherence(
    schedule: Schedule, window_start: date, window_end: date, done_dates: Collection[date]
) -> Adherence:
    """Planned and done practices of one plan within [window_start, window_end]."""
    # Days outside the plan's dates ask for nothing, so clamp the window to them first:
    # most plans on a long-running caseload ended months ago (docs/benchmarks.md).
    first = max(window_start, schedule.start_date)
    last = window_end if schedule.end_date is None else min(window_end, schedule.end_date)
    if last < first:
        return NO_PLAN
    if not isinstance(done_dates, (set, frozenset)):
        done_dates = frozenset(done_dates)
    planned_total = done_total = 0.0
    monday = week_start(first)
    while monday <= last:
        sunday = monday + timedelta(days=6)
        part_start, part_end = max(monday, first), min(sunday, last)
        planned, done = _week_part_adherence(schedule, monday, part_start, part_end, done_dates)
        planned_total += planned
        done_total += done
        monday += timedelta(days=7)
    return Adherence(planned_total, done_total)


def _week_part_adherence(
    schedule: Schedule, monday: date, part_start: date, part_end: date, done_dates: Collection[date]
) -> tuple[float, float]:
    """(planned, done) on days part_start..part_end of one week, all within the plan's dates."""
    if not schedule.pauses:
        return _unpaused_week_part_adherence(schedule, monday, part_start, part_end, done_dates)
    days = days_between(part_start, part_end)
    active_in_part = [d for d in days if is_active_on(schedule, d)]
    if not active_in_part:
        return 0.0, 0.0
    done_days = sum(1 for d in active_in_part if d in done_dates)
    if schedule.kind == TIMES_PER_WEEK:
        active_in_week = _active_days_in_week(schedule, monday)
        quota = min(schedule.times_per_week or 0, active_in_week)
        planned = quota * len(active_in_part) / active_in_week
    elif schedule.kind == WEEKDAYS:
        planned = float(sum(1 for d in active_in_part if schedule.weekdays & (1 << d.weekday())))
    else:
        planned = float(len(active_in_part))
    return planned, min(planned, float(done_days))


_ONE_DAY = timedelta(days=1)


def _unpaused_week_part_adherence(
    schedule: Schedule, monday: date, part_start: date, part_end: date, done_dates: Collection[date]
) -> tuple[float, float]:
    """`_week_part_adherence` for a plan never paused: every day of the part is active.

    The same rule with the days counted arithmetically (the dashboard, group page and
    client page compute thousands of these per request; docs/benchmarks.md).
    """
    count = (part_end - part_start).days + 1
    done_days = 0
    day = part_start
    for _ in range(count):
        if day in done_dates:
            done_days += 1
        day += _ONE_DAY
    if schedule.kind == TIMES_PER_WEEK:
        week_first = max(monday, schedule.start_date)
        week_last = monday + timedelta(days=6)
        if schedule.end_date is not None:
            week_last = min(week_last, schedule.end_date)
        active_in_week = (week_last - week_first).days + 1
        quota = min(schedule.times_per_week or 0, active_in_week)
        planned = quota * count / active_in_week
    elif schedule.kind == WEEKDAYS:
        # The part lies within one week: its weekdays run from part_start's on.
        in_part = (schedule.weekdays >> part_start.weekday()) & ((1 << count) - 1)
        planned = float(in_part.bit_count())
    else:
        planned = float(count)
    return planned, min(planned, float(done_days))


def adherence_to_date(
    schedule: Schedule, window_start: date, today: date, done_dates: Collection[date]
) -> Adherence:
    """Adherence from window_start up to and including today, for "the last N days".

    Today is still in progress, so it counts only once practised: until then the
    window ends yesterday, and a morning look at the dashboard is not a miss. A plan
    that starts today counts today, practised or not: otherwise its first day reads
    "nothing planned" beside "1 active plan".
    """
    if window_start > today:
        return NO_PLAN
    if today in done_dates or schedule.start_date == today:
        return adherence(schedule, window_start, today, done_dates)
    return adherence(schedule, window_start, today - timedelta(days=1), done_dates)


def adherence_as_of(
    schedule: Schedule,
    window_start: date,
    window_end: date,
    done_dates: Collection[date],
    *,
    today: date | None = None,
) -> Adherence:
    """One plan's adherence within [window_start, window_end], as it stands on today.

    A window that holds today is still in progress and counts to date (see
    `adherence_to_date`); a window wholly past or to come, or no today at all, counts whole.
    """
    if today is not None and window_start <= today <= window_end:
        return adherence_to_date(schedule, window_start, today, done_dates)
    return adherence(schedule, window_start, window_end, done_dates)


def plans_adherence(
    plans: Iterable[tuple[Schedule, Collection[date]]],
    window_start: date,
    window_end: date,
    *,
    today: date | None = None,
) -> Adherence:
    """Planned and done across several plans (each with its days done) in one window.

    The sum of each plan's `adherence_as_of`: what a client's week, "the last 7 days"
    or a caseload row shows. The plans are added in the order given, so callers that
    must agree to the last bit of a float pass them in the same order.
    """
    total = NO_PLAN
    for schedule, done_dates in plans:
        # A plan that does not run in the window adds nothing. Skipping it before any
        # day-by-day work matters: most plans of a long-running caseload ended long ago,
        # and their empty adherence was most of the dashboard's time (docs/benchmarks.md).
        if schedule.start_date > window_end or (
            schedule.end_date is not None and schedule.end_date < window_start
        ):
            continue
        total += adherence_as_of(schedule, window_start, window_end, done_dates, today=today)
    return total


def weekly_adherence(
    schedule: Schedule, first_monday: date, weeks: int, done_dates: Collection[date]
) -> list[tuple[date, Adherence]]:
    """Adherence per whole week, for charts: [(monday, Adherence), ...]."""
    result = []
    for index in range(weeks):
        monday = first_monday + timedelta(days=7 * index)
        result.append((monday, adherence(schedule, monday, monday + timedelta(days=6), done_dates)))
    return result


def describe(schedule: Schedule) -> str:
    """The plan in plain words, e.g. "Every day" or "Monday, Wednesday"."""
    if schedule.kind == DAILY:
        return "Every day"
    if schedule.kind == WEEKDAYS:
        days = weekdays_from_mask(schedule.weekdays)
        if not days:
            return "No days chosen"
        if len(days) == 7:
            return "Every day"
        return ", ".join(WEEKDAY_NAMES[d] for d in days)
    n = schedule.times_per_week or 0
    return "Once a week" if n == 1 else f"{n} times a week"
