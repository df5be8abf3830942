"""Property-based tests of homework.schedule over random plans, date ranges and time zones.

Each property is checked against an independent way of computing the same thing
(arithmetic instead of day-by-day loops, or a simulated client), not against the
module's own helpers.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from homework.schedule import (
    DAILY,
    NO_PLAN,
    TIMES_PER_WEEK,
    WEEKDAYS,
    Schedule,
    adherence,
    adherence_to_date,
    days_between,
    due_on,
    is_active_on,
    is_scheduled_day,
    left_this_week,
    local_date,
    local_day_bounds,
    plans_adherence,
    week_quota,
    week_start,
    weekdays_from_mask,
)

EXAMPLES = settings(max_examples=200, deadline=None)

dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def schedules(draw, *, with_pauses: bool = True) -> Schedule:
    kind = draw(st.sampled_from([DAILY, WEEKDAYS, TIMES_PER_WEEK]))
    start = draw(dates)
    end = draw(st.none() | st.integers(0, 120).map(lambda n: start + timedelta(days=n)))
    pauses = ()
    if with_pauses:
        pauses = tuple(
            (
                start + timedelta(days=first),
                None if length is None else start + timedelta(first + length),
            )
            for first, length in draw(
                st.lists(st.tuples(st.integers(0, 100), st.none() | st.integers(1, 30)), max_size=2)
            )
        )
    return Schedule(
        kind=kind,
        start_date=start,
        end_date=end,
        weekdays=draw(st.integers(1, 127)) if kind == WEEKDAYS else 0,
        times_per_week=draw(st.integers(1, 7)) if kind == TIMES_PER_WEEK else None,
        pauses=pauses,
    )


@st.composite
def plan_and_history(draw, *, with_pauses: bool = True):
    """A plan, a window around it, and random days practised."""
    schedule = draw(schedules(with_pauses=with_pauses))
    window_start = schedule.start_date + timedelta(days=draw(st.integers(-20, 100)))
    window_end = window_start + timedelta(days=draw(st.integers(0, 90)))
    done = draw(
        st.sets(
            st.integers(-20, 200).map(lambda n: schedule.start_date + timedelta(days=n)),
            max_size=80,
        )
    )
    return schedule, window_start, window_end, done


def weekday_count(first: date, last: date, weekday: int) -> int:
    """How many dates in [first, last] fall on weekday, by arithmetic."""
    if last < first:
        return 0
    first_hit = first + timedelta(days=(weekday - first.weekday()) % 7)
    return 0 if first_hit > last else (last - first_hit).days // 7 + 1


# --- Occurrence counts ---


@EXAMPLES
@given(plan_and_history(with_pauses=False))
def test_it_counts_occurrences_of_fixed_day_plans_like_the_calendar_does(case):
    schedule, window_start, window_end, _ = case
    scheduled = sum(
        1 for day in days_between(window_start, window_end) if is_scheduled_day(schedule, day)
    )
    first = max(window_start, schedule.start_date)
    last = window_end if schedule.end_date is None else min(window_end, schedule.end_date)
    if schedule.kind == DAILY:
        expected = max(0, (last - first).days + 1)
    elif schedule.kind == WEEKDAYS:
        expected = sum(weekday_count(first, last, w) for w in weekdays_from_mask(schedule.weekdays))
    else:
        return  # flexible plans have no fixed occurrences; see the quota tests
    assert scheduled == expected


@EXAMPLES
@given(schedules())
def test_it_never_schedules_a_day_outside_the_plan_or_inside_a_pause(schedule):
    for offset in range(-3, 160):
        day = schedule.start_date + timedelta(days=offset)
        if is_scheduled_day(schedule, day):
            assert day >= schedule.start_date
            assert schedule.end_date is None or day <= schedule.end_date
            assert not any(
                first <= day and (resumed is None or day < resumed)
                for first, resumed in schedule.pauses
            )


# --- Weekly quotas ---


@EXAMPLES
@given(schedules(), st.integers(-10, 150))
def test_it_asks_a_weekly_quota_within_the_plan_and_the_week(schedule, offset):
    day = schedule.start_date + timedelta(days=offset)
    quota = week_quota(schedule, day)
    monday = day - timedelta(days=day.weekday())
    running_days = sum(
        1 for d in (monday + timedelta(days=i) for i in range(7)) if is_active_on(schedule, d)
    )
    assert 0 <= quota <= running_days <= 7
    if schedule.kind == TIMES_PER_WEEK:
        assert quota == min(schedule.times_per_week, running_days)
    if schedule.kind == WEEKDAYS and running_days == 7:
        assert quota == bin(schedule.weekdays).count("1")


@EXAMPLES
@given(plan_and_history())
def test_it_leaves_the_quota_minus_what_was_done_and_never_less_than_zero(case):
    schedule, window_start, _, done = case
    left = left_this_week(schedule, window_start, done)
    monday = window_start - timedelta(days=window_start.weekday())
    done_running = sum(
        1 for d in done if monday <= d <= monday + timedelta(days=6) and is_active_on(schedule, d)
    )
    assert left == max(0, week_quota(schedule, window_start) - done_running)


@EXAMPLES
@given(schedules(), st.integers(0, 20))
def test_it_asks_a_client_who_practises_whenever_due_exactly_the_quota_each_week(schedule, weeks):
    """Simulate a client who practises each day it is due: each week ends with the quota met."""
    done: set[date] = set()
    monday = schedule.start_date - timedelta(days=schedule.start_date.weekday())
    monday += timedelta(weeks=weeks)
    for offset in range(-7, 14):
        day = monday + timedelta(days=offset)
        if due_on(schedule, day, done):
            done.add(day)
    week_done = {d for d in done if monday <= d <= monday + timedelta(days=6)}
    assert len(week_done) == week_quota(schedule, monday)
    result = adherence(schedule, monday, monday + timedelta(days=6), done)
    assert result.ratio in (None, 1.0)


# --- Adherence ---


@EXAMPLES
@given(plan_and_history())
def test_it_keeps_adherence_within_zero_and_one(case):
    schedule, window_start, window_end, done = case
    result = adherence(schedule, window_start, window_end, done)
    assert 0 <= result.done <= result.planned
    assert result.ratio is None or 0.0 <= result.ratio <= 1.0
    assert result.percent is None or 0 <= result.percent <= 100
    to_date = adherence_to_date(schedule, window_start, window_end, done)
    assert to_date.ratio is None or 0.0 <= to_date.ratio <= 1.0


def _adherence_day_by_day(schedule, window_start, window_end, done):
    """The rule written out day by day, as the module computed it before it was optimised."""
    planned_total = done_total = 0.0
    monday = week_start(window_start)
    while monday <= window_end:
        part = [
            d
            for d in days_between(max(monday, window_start), min(monday + timedelta(6), window_end))
            if is_active_on(schedule, d)
        ]
        if part:
            week = days_between(monday, monday + timedelta(days=6))
            active_in_week = sum(1 for d in week if is_active_on(schedule, d))
            if schedule.kind == TIMES_PER_WEEK:
                quota = min(schedule.times_per_week, active_in_week)
                planned = quota * len(part) / active_in_week
            else:
                planned = float(sum(1 for d in part if is_scheduled_day(schedule, d)))
            planned_total += planned
            done_total += min(planned, float(sum(1 for d in part if d in done)))
        monday += timedelta(days=7)
    return planned_total, done_total


@EXAMPLES
@given(plan_and_history())
def test_it_computes_adherence_exactly_as_the_day_by_day_rule(case):
    # The window is clamped to the plan's dates and pause-free weeks are counted without
    # a day-by-day walk; the figures must stay identical, not merely close.
    schedule, window_start, window_end, done = case
    result = adherence(schedule, window_start, window_end, done)
    assert (result.planned, result.done) == _adherence_day_by_day(
        schedule, window_start, window_end, done
    )
    assert adherence(schedule, window_start, window_end, list(done)) == result


@EXAMPLES
@given(plan_and_history(), st.integers(0, 90))
def test_it_adds_up_planned_practice_over_adjacent_windows(case, split):
    schedule, window_start, window_end, done = case
    middle = min(window_end, window_start + timedelta(days=split))
    whole = adherence(schedule, window_start, window_end, done)
    first = adherence(schedule, window_start, middle, done)
    second = adherence(schedule, middle + timedelta(days=1), window_end, done)
    assert abs(whole.planned - (first.planned + second.planned)) < 1e-9


@EXAMPLES
@given(plan_and_history(), st.integers(-20, 200))
def test_it_never_lowers_adherence_when_more_practice_is_logged(case, extra):
    schedule, window_start, window_end, done = case
    before = adherence(schedule, window_start, window_end, done)
    more = done | {schedule.start_date + timedelta(days=extra)}
    after = adherence(schedule, window_start, window_end, more)
    assert after.planned == before.planned
    assert after.done >= before.done


@EXAMPLES
@given(plan_and_history(with_pauses=False), st.integers(0, 60), st.integers(1, 30))
def test_it_plans_no_more_with_a_pause_than_without(case, first, length):
    schedule, window_start, window_end, done = case
    # Over whole weeks: within a week, a flexible plan's quota is spread over the days
    # it runs, so pausing Tuesday rightly gives Monday alone a larger share.
    window_start -= timedelta(days=window_start.weekday())
    window_end += timedelta(days=6 - window_end.weekday())
    paused = Schedule(
        kind=schedule.kind,
        start_date=schedule.start_date,
        end_date=schedule.end_date,
        weekdays=schedule.weekdays,
        times_per_week=schedule.times_per_week,
        pauses=(
            (
                schedule.start_date + timedelta(first),
                schedule.start_date + timedelta(first + length),
            ),
        ),
    )
    assert (
        adherence(paused, window_start, window_end, done).planned
        <= adherence(schedule, window_start, window_end, done).planned + 1e-9
    )


@EXAMPLES
@given(plan_and_history(with_pauses=False))
def test_it_gives_full_adherence_to_a_client_who_does_every_scheduled_day(case):
    schedule, window_start, window_end, _ = case
    if schedule.kind == TIMES_PER_WEEK:
        return  # covered by the simulated client above (prorated part-weeks differ)
    every = set(d for d in days_between(window_start, window_end) if is_scheduled_day(schedule, d))
    result = adherence(schedule, window_start, window_end, every)
    assert result.ratio in (None, 1.0)
    assert result.planned == len(every)


@st.composite
def plans_in_a_window(draw):
    """Up to four plans near one window, each with its own random days practised."""
    window_start = draw(dates)
    window_end = window_start + timedelta(days=draw(st.integers(0, 40)))
    plans = []
    for _ in range(draw(st.integers(0, 4))):
        schedule = draw(schedules())
        # Move the plan near the window so that most examples overlap it.
        shift = window_start - schedule.start_date + timedelta(days=draw(st.integers(-30, 30)))
        schedule = Schedule(
            kind=schedule.kind,
            start_date=schedule.start_date + shift,
            end_date=schedule.end_date and schedule.end_date + shift,
            weekdays=schedule.weekdays,
            times_per_week=schedule.times_per_week,
            pauses=tuple(
                (first + shift, resumed and resumed + shift) for first, resumed in schedule.pauses
            ),
        )
        done = draw(
            st.sets(
                st.integers(-10, 50).map(lambda n: window_start + timedelta(days=n)),
                max_size=30,
            )
        )
        plans.append((schedule, done))
    today = draw(st.none() | st.integers(-10, 50).map(lambda n: window_start + timedelta(days=n)))
    return plans, window_start, window_end, today


@EXAMPLES
@given(plans_in_a_window())
def test_it_gives_several_plans_the_sum_of_each_plans_adherence(case):
    plans, window_start, window_end, today = case
    expected = NO_PLAN
    for schedule, done in plans:
        if today is not None and window_start <= today <= window_end:
            expected += adherence_to_date(schedule, window_start, today, done)
        else:
            expected += adherence(schedule, window_start, window_end, done)
    # Added in the same order, so equal to the last bit: callers rely on that.
    assert plans_adherence(plans, window_start, window_end, today=today) == expected


# --- Local dates in real time zones, across DST ---

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
]
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
)
# Day lengths real zones have in these years: 23, 23.5, 24, 24.5 or 25 hours.
DAY_LENGTHS = {timedelta(hours=h) for h in (23, 23.5, 24, 24.5, 25)}


@EXAMPLES
@given(instants, st.sampled_from(ZONES))
def test_it_places_every_instant_inside_the_bounds_of_its_local_day(instant, zone_name):
    zone = ZoneInfo(zone_name)
    day = local_date(instant, zone)
    start, end = local_day_bounds(day, zone)
    assert start <= instant < end
    assert end - start in DAY_LENGTHS
    assert local_date(start, zone) == day
    assert local_date(end, zone) == day + timedelta(days=1)


@EXAMPLES
@given(instants, st.sampled_from(ZONES), st.integers(1, 36 * 60))
def test_it_never_moves_the_local_date_backwards_as_time_passes(instant, zone_name, minutes):
    zone = ZoneInfo(zone_name)
    later = instant + timedelta(minutes=minutes)
    assert local_date(later, zone) >= local_date(instant, zone)
    assert (local_date(later, zone) - local_date(instant, zone)).days <= 2


@EXAMPLES
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2032, 12, 31)), st.sampled_from(ZONES))
def test_it_tiles_consecutive_local_days_without_gaps_or_overlaps(day, zone_name):
    zone = ZoneInfo(zone_name)
    _, end = local_day_bounds(day, zone)
    next_start, _ = local_day_bounds(day + timedelta(days=1), zone)
    assert end == next_start
