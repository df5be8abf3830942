"""What is due when: the one module that owns schedule arithmetic.

Portal, dashboard, progress, reminders and the API all call these functions.
They work on plain dates in the client's own time zone (the caller converts
"now" with zoneinfo first) and know nothing about the database, so they are
easy to test exhaustively.

Rules, in words a clinician would use:
- A plan runs from its start date to its end date (inclusive, open-ended if none).
- "Every day" and "chosen weekdays" plans are due on each such day.
- "N times a week" plans may be done on any day; weeks run Monday to Sunday.
  A week's quota is N, or the number of days the plan runs that week if fewer
  (a plan that starts on a Saturday asks for at most 2 that week).
- Adherence counts kindly: practice on an unscheduled day still counts, but
  never above what was planned, so adherence always lies between 0 and 1.
  For "N times a week" plans a window covering part of a week is credited
  with that share of the week's quota.
"""

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

DAILY = "daily"
WEEKDAYS = "weekdays"
TIMES_PER_WEEK = "times_per_week"

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Schedule:
    kind: str
    start_date: date
    end_date: date | None = None
    weekdays: int = 0  # bit i set = weekday i, Monday = 0
    times_per_week: int | None = None

    @classmethod
    def of(cls, assignment) -> "Schedule":
        """The schedule of an Assignment (or anything with the same attributes)."""
        return cls(
            kind=assignment.schedule_kind,
            start_date=assignment.start_date,
            end_date=assignment.end_date,
            weekdays=assignment.weekdays,
            times_per_week=assignment.times_per_week,
        )


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
    return schedule.start_date <= day and (schedule.end_date is None or day <= schedule.end_date)


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


def done_in_week(day: date, done_dates: Collection[date]) -> int:
    monday = week_start(day)
    sunday = monday + timedelta(days=6)
    return sum(1 for d in done_dates if monday <= d <= sunday)


def left_this_week(schedule: Schedule, day: date, done_dates: Collection[date]) -> int:
    """Practices still to do this week (never negative)."""
    return max(0, week_quota(schedule, day) - done_in_week(day, done_dates))


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
    total = NO_PLAN
    monday = week_start(window_start)
    while monday <= window_end:
        sunday = monday + timedelta(days=6)
        part_start, part_end = max(monday, window_start), min(sunday, window_end)
        total += _week_part_adherence(schedule, monday, part_start, part_end, done_dates)
        monday += timedelta(days=7)
    return total


def _week_part_adherence(
    schedule: Schedule, monday: date, part_start: date, part_end: date, done_dates: Collection[date]
) -> Adherence:
    active_in_part = [d for d in days_between(part_start, part_end) if is_active_on(schedule, d)]
    if not active_in_part:
        return NO_PLAN
    done_days = sum(1 for d in active_in_part if d in done_dates)
    if schedule.kind == TIMES_PER_WEEK:
        active_in_week = _active_days_in_week(schedule, monday)
        planned = week_quota(schedule, monday) * len(active_in_part) / active_in_week
    else:
        planned = float(sum(1 for d in active_in_part if is_scheduled_day(schedule, d)))
    return Adherence(planned, min(planned, float(done_days)))


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
        return ", ".join(WEEKDAY_NAMES[d] for d in weekdays_from_mask(schedule.weekdays))
    n = schedule.times_per_week or 0
    return "Once a week" if n == 1 else f"{n} times a week"
