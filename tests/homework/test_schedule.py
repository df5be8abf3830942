"""Unit tests of homework.schedule: what is due when, weekly quotas, adherence, local dates."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from homework.schedule import (
    DAILY,
    TIMES_PER_WEEK,
    WEEKDAYS,
    Schedule,
    adherence,
    adherence_to_date,
    days_between,
    describe,
    due_on,
    is_active_on,
    is_scheduled_day,
    left_this_week,
    local_date,
    local_day_bounds,
    next_scheduled_day,
    plans_adherence,
    week_quota,
    weekdays_from_mask,
    weekdays_mask,
    weekly_adherence,
)

MONDAY = date(2026, 3, 2)  # a Monday
SUNDAY = MONDAY + timedelta(days=6)


def days(*offsets: int) -> set[date]:
    return {MONDAY + timedelta(days=o) for o in offsets}


def daily(**extra) -> Schedule:
    return Schedule(kind=DAILY, start_date=MONDAY, **extra)


def weekly(n: int, **extra) -> Schedule:
    return Schedule(kind=TIMES_PER_WEEK, start_date=MONDAY, times_per_week=n, **extra)


def on_days(*weekdays: int, **extra) -> Schedule:
    return Schedule(kind=WEEKDAYS, start_date=MONDAY, weekdays=weekdays_mask(weekdays), **extra)


# --- Schedule.of ---


def test_it_reads_a_schedule_from_an_assignment_like_object():
    assignment = SimpleNamespace(
        schedule_kind="weekdays",
        start_date=MONDAY,
        end_date=None,
        weekdays=0b101,
        times_per_week=None,
    )
    schedule = Schedule.of(assignment)
    assert schedule == Schedule("weekdays", MONDAY, None, 0b101, None, ())


def test_it_ends_a_plan_the_day_before_it_was_ended():
    assignment = SimpleNamespace(
        schedule_kind="daily", start_date=MONDAY, end_date=None, weekdays=0, times_per_week=None
    )
    schedule = Schedule.of(assignment, ended_on=MONDAY + timedelta(days=3))
    assert schedule.end_date == MONDAY + timedelta(days=2)
    assert is_scheduled_day(schedule, MONDAY + timedelta(days=2))
    assert not is_scheduled_day(schedule, MONDAY + timedelta(days=3))


def test_it_keeps_an_earlier_planned_end_date_when_ended_later():
    assignment = SimpleNamespace(
        schedule_kind="daily",
        start_date=MONDAY,
        end_date=MONDAY + timedelta(days=1),
        weekdays=0,
        times_per_week=None,
    )
    assert Schedule.of(assignment, ended_on=SUNDAY).end_date == MONDAY + timedelta(days=1)


# --- weekdays masks and describing ---


def test_it_builds_and_reads_weekday_masks():
    assert weekdays_mask([0, 2, 6]) == 0b1000101
    assert weekdays_from_mask(0b1000101) == [0, 2, 6]


def test_it_refuses_a_weekday_outside_the_week():
    with pytest.raises(ValueError, match=r"0\.\.6"):
        weekdays_mask([7])


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (daily(), "Every day"),
        (on_days(0, 2), "Monday, Wednesday"),
        (on_days(*range(7)), "Every day"),
        (Schedule(kind=WEEKDAYS, start_date=MONDAY, weekdays=0), "No days chosen"),
        (weekly(1), "Once a week"),
        (weekly(3), "3 times a week"),
    ],
)
def test_it_describes_a_plan_in_plain_words(schedule, text):
    assert describe(schedule) == text


# --- Which days are scheduled ---


def test_it_runs_a_plan_from_start_to_end_inclusive():
    schedule = daily(end_date=MONDAY + timedelta(days=2))
    assert not is_active_on(schedule, MONDAY - timedelta(days=1))
    assert is_active_on(schedule, MONDAY)
    assert is_active_on(schedule, MONDAY + timedelta(days=2))
    assert not is_active_on(schedule, MONDAY + timedelta(days=3))


def test_it_asks_only_on_chosen_weekdays():
    schedule = on_days(0, 3)  # Monday and Thursday
    scheduled = [d for d in days_between(MONDAY, SUNDAY) if is_scheduled_day(schedule, d)]
    assert scheduled == [MONDAY, MONDAY + timedelta(days=3)]


def test_it_asks_nothing_on_paused_days_and_resumes_on_the_resume_day():
    schedule = daily(pauses=((MONDAY + timedelta(days=2), MONDAY + timedelta(days=5)),))
    scheduled = [d for d in days_between(MONDAY, SUNDAY) if is_scheduled_day(schedule, d)]
    assert scheduled == [MONDAY, MONDAY + timedelta(days=1), *sorted(days(5, 6))]


def test_it_treats_an_open_pause_as_paused_from_then_on():
    schedule = daily(pauses=((MONDAY + timedelta(days=3), None),))
    assert is_active_on(schedule, MONDAY + timedelta(days=2))
    assert not is_active_on(schedule, MONDAY + timedelta(days=30))


def test_it_finds_the_next_scheduled_day():
    schedule = on_days(0, 3)
    assert next_scheduled_day(schedule, MONDAY) == MONDAY + timedelta(days=3)
    assert next_scheduled_day(schedule, MONDAY + timedelta(days=3)) == MONDAY + timedelta(7)
    ended = on_days(0, end_date=MONDAY)
    assert next_scheduled_day(ended, MONDAY) is None


# --- Weekly quotas and what is left ---


def test_it_asks_n_times_in_a_full_week():
    assert week_quota(weekly(3), MONDAY) == 3


def test_it_caps_the_quota_by_the_days_the_plan_runs_that_week():
    starts_saturday = Schedule(
        kind=TIMES_PER_WEEK, start_date=MONDAY + timedelta(days=5), times_per_week=4
    )
    assert week_quota(starts_saturday, MONDAY) == 2


def test_it_counts_the_quota_of_a_weekday_plan_from_its_days():
    assert week_quota(on_days(1, 3, 5), MONDAY) == 3
    assert week_quota(daily(), MONDAY) == 7


def test_it_counts_what_is_left_this_week_and_never_below_zero():
    assert left_this_week(weekly(3), MONDAY, days(0)) == 2
    assert left_this_week(weekly(3), MONDAY, days(0, 1, 2, 3)) == 0


def test_it_does_not_count_practice_from_another_week():
    last_week = {MONDAY - timedelta(days=1)}
    assert left_this_week(weekly(2), MONDAY, last_week) == 2


def test_it_does_not_count_practice_before_the_plan_started_towards_the_quota():
    schedule = Schedule(
        kind=TIMES_PER_WEEK, start_date=MONDAY + timedelta(days=2), times_per_week=2
    )
    assert left_this_week(schedule, MONDAY + timedelta(days=3), days(0)) == 2


# --- Due today ---


def test_it_is_due_on_a_scheduled_day_until_done():
    assert due_on(daily(), MONDAY, set())
    assert not due_on(daily(), MONDAY, {MONDAY})


def test_it_is_not_due_on_an_unchosen_weekday():
    assert not due_on(on_days(1), MONDAY, set())


def test_it_is_due_each_day_of_a_flexible_plan_until_the_quota_is_met():
    schedule = weekly(2)
    assert due_on(schedule, MONDAY + timedelta(days=2), days(0))
    assert not due_on(schedule, MONDAY + timedelta(days=2), days(0, 1))


def test_it_is_not_due_before_start_after_end_or_while_paused():
    schedule = daily(end_date=MONDAY + timedelta(days=3), pauses=((MONDAY + timedelta(1), None),))
    assert not due_on(schedule, MONDAY - timedelta(days=1), set())
    assert not due_on(schedule, MONDAY + timedelta(days=1), set())
    assert not due_on(schedule, MONDAY + timedelta(days=4), set())


# --- Adherence ---


def test_it_measures_adherence_as_done_over_planned():
    result = adherence(daily(), MONDAY, SUNDAY, days(0, 1, 2))
    assert (result.planned, result.done) == (7, 3)
    assert result.ratio == pytest.approx(3 / 7)
    assert result.percent == 43


def test_it_has_no_ratio_when_nothing_was_planned():
    before_start = adherence(daily(), MONDAY - timedelta(7), MONDAY - timedelta(1), set())
    assert before_start.planned == 0
    assert before_start.ratio is None
    assert before_start.percent is None


def test_it_credits_practice_on_an_unscheduled_day_but_never_above_the_plan():
    schedule = on_days(0, 2)  # Monday and Wednesday
    result = adherence(schedule, MONDAY, SUNDAY, days(0, 1, 4, 5))
    assert result.planned == 2
    assert result.done == 2
    assert result.ratio == 1.0


def test_it_prorates_a_flexible_plan_over_part_of_a_week():
    # Thursday to Sunday is 4 of the week's 7 days of a 7-day plan asking 3 times.
    result = adherence(weekly(3), MONDAY + timedelta(days=3), SUNDAY, days(3))
    assert result.planned == pytest.approx(3 * 4 / 7)
    assert result.done == 1


def test_it_leaves_paused_days_out_of_adherence():
    schedule = daily(pauses=((MONDAY + timedelta(days=2), MONDAY + timedelta(days=6)),))
    result = adherence(schedule, MONDAY, SUNDAY, days(0, 1, 6))
    assert (result.planned, result.done) == (3, 3)


def test_it_counts_today_only_once_practised():
    schedule = daily()
    today = MONDAY + timedelta(days=3)
    not_yet = adherence_to_date(schedule, MONDAY, today, days(0, 1, 2))
    assert (not_yet.planned, not_yet.done) == (3, 3)
    done = adherence_to_date(schedule, MONDAY, today, days(0, 1, 2, 3))
    assert (done.planned, done.done) == (4, 4)


def test_it_adds_adherence_of_several_plans():
    total = adherence(daily(), MONDAY, SUNDAY, days(0)) + adherence(
        weekly(2), MONDAY, SUNDAY, days(0, 1)
    )
    assert (total.planned, total.done) == (9, 3)


def test_it_gives_adherence_per_whole_week():
    rows = weekly_adherence(weekly(2), MONDAY, 3, days(0, 7, 8, 9))
    assert [monday for monday, _ in rows] == [MONDAY, MONDAY + timedelta(7), MONDAY + timedelta(14)]
    assert [(a.planned, a.done) for _, a in rows] == [(2, 1), (2, 2), (2, 0)]


# --- Several plans together in one window (a client's week, a caseload row) ---

WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)


@pytest.mark.parametrize(
    ("plans", "today", "planned", "done"),
    [
        pytest.param([(daily(), days(0, 1, 3))], None, 7, 3, id="daily, a past week"),
        pytest.param(
            [(daily(), days(0, 1, 3))], THURSDAY, 4, 3, id="daily, today practised counts"
        ),
        pytest.param(
            [(daily(), days(0, 1))], WEDNESDAY, 2, 2, id="daily, today not yet practised waits"
        ),
        pytest.param(
            [(daily(), days(0))],
            MONDAY + timedelta(days=7),
            7,
            1,
            id="daily, today after the window counts it whole",
        ),
        pytest.param(
            [(on_days(0, 2, 4), days(0, 1))], None, 3, 2, id="weekdays, an unscheduled day counts"
        ),
        pytest.param(
            [(on_days(0, 2, 4), days(0, 1, 3, 5))], None, 3, 3, id="weekdays, never above plan"
        ),
        pytest.param([(weekly(3), days(0, 5))], None, 3, 2, id="3 times a week, whole week"),
        pytest.param(
            [(weekly(3), days(0, 2))],
            WEDNESDAY,
            3 * 3 / 7,
            3 * 3 / 7,
            id="3 times a week, Monday to Wednesday is 3/7 of the quota",
        ),
        pytest.param(
            [(Schedule(kind=DAILY, start_date=THURSDAY), days(1, 3, 6))],
            None,
            4,
            2,
            id="daily starting Thursday, Tuesday before it does not count",
        ),
        pytest.param(
            [
                (
                    Schedule(TIMES_PER_WEEK, MONDAY + timedelta(days=5), times_per_week=3),
                    days(5),
                )
            ],
            None,
            2,
            1,
            id="3 times a week starting Saturday asks 2",
        ),
        pytest.param(
            [(daily(pauses=((WEDNESDAY, MONDAY + timedelta(days=4)),)), days(0, 2, 4))],
            None,
            5,
            2,
            id="daily paused Wednesday and Thursday",
        ),
        pytest.param(
            [(weekly(2, pauses=((WEDNESDAY, None),)), days(0, 3))],
            None,
            2,
            1,
            id="2 times a week paused from Wednesday on",
        ),
        pytest.param(
            [(daily(end_date=WEDNESDAY), days(0, 3))], None, 3, 1, id="daily ended on Wednesday"
        ),
        pytest.param(
            [
                (
                    Schedule(DAILY, MONDAY - timedelta(days=14), end_date=MONDAY - timedelta(1)),
                    days(0),
                )
            ],
            None,
            0,
            0,
            id="a plan ended the week before asks nothing",
        ),
        pytest.param([(daily(), days(0, 1)), (on_days(0, 3), days(3))], None, 9, 3, id="two plans"),
        pytest.param(
            [(daily(), days(0)), (weekly(2), days(1))],
            MONDAY + timedelta(days=1),
            1 + 2 * 2 / 7,
            1 + 2 * 2 / 7,
            id="two plans, today practised in one of them only",
        ),
        pytest.param([], None, 0, 0, id="no plans"),
    ],
)
def test_it_adds_up_a_week_of_several_plans(plans, today, planned, done):
    result = plans_adherence(plans, MONDAY, SUNDAY, today=today)
    assert result.planned == pytest.approx(planned)
    assert result.done == pytest.approx(done)


# --- Local dates across time zones and DST ---

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        # 2026-03-08: New York springs forward at 02:00 EST (07:00 UTC).
        (datetime(2026, 3, 8, 4, 59, tzinfo=UTC), NEW_YORK, date(2026, 3, 7)),
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), NEW_YORK, date(2026, 3, 8)),
        (datetime(2026, 3, 9, 3, 59, tzinfo=UTC), NEW_YORK, date(2026, 3, 8)),
        (datetime(2026, 3, 9, 4, 0, tzinfo=UTC), NEW_YORK, date(2026, 3, 9)),
        # 2026-11-01: New York falls back at 02:00 EDT (06:00 UTC).
        (datetime(2026, 11, 1, 3, 59, tzinfo=UTC), NEW_YORK, date(2026, 10, 31)),
        (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), NEW_YORK, date(2026, 11, 1)),
        (datetime(2026, 11, 2, 4, 59, tzinfo=UTC), NEW_YORK, date(2026, 11, 1)),
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), NEW_YORK, date(2026, 11, 2)),
        # London: BST from 2026-03-29 01:00 UTC.
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), LONDON, date(2026, 3, 30)),
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), LONDON, date(2026, 3, 28)),
        # Lord Howe is UTC+10:30 in winter, +11 in summer (half-hour DST).
        (datetime(2026, 7, 1, 13, 29, tzinfo=UTC), LORD_HOWE, date(2026, 7, 1)),
        (datetime(2026, 7, 1, 13, 30, tzinfo=UTC), LORD_HOWE, date(2026, 7, 2)),
        (datetime(2026, 1, 1, 12, 59, tzinfo=UTC), LORD_HOWE, date(2026, 1, 1)),
        (datetime(2026, 1, 1, 13, 0, tzinfo=UTC), LORD_HOWE, date(2026, 1, 2)),
    ],
)
def test_it_finds_the_local_date_of_an_instant(instant, zone, expected):
    assert local_date(instant, zone) == expected


def test_it_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2026, 3, 8, 12), NEW_YORK)


@pytest.mark.parametrize(
    ("day", "zone", "hours"),
    [
        (date(2026, 3, 8), NEW_YORK, 23),
        (date(2026, 11, 1), NEW_YORK, 25),
        (date(2026, 3, 29), LONDON, 23),
        (date(2026, 10, 25), LONDON, 25),
        (date(2026, 4, 5), LORD_HOWE, 24.5),  # DST ends: clocks go back 30 minutes
        (date(2026, 10, 4), LORD_HOWE, 23.5),  # DST starts: clocks go forward 30 minutes
        (date(2026, 6, 15), NEW_YORK, 24),
    ],
)
def test_it_knows_how_long_a_local_day_is_across_dst(day, zone, hours):
    start, end = local_day_bounds(day, zone)
    assert (end - start) == timedelta(hours=hours)
    assert local_date(start, zone) == day
    assert local_date(end - timedelta(microseconds=1), zone) == day
    assert local_date(end, zone) == day + timedelta(days=1)


def test_it_starts_a_day_whose_midnight_does_not_exist_at_the_first_real_instant():
    # Chile springs forward at 00:00 on 2026-09-06: the day begins at 01:00 local.
    santiago = ZoneInfo("America/Santiago")
    start, end = local_day_bounds(date(2026, 9, 6), santiago)
    assert start.astimezone(santiago).hour == 1
    assert local_date(start - timedelta(microseconds=1), santiago) == date(2026, 9, 5)
    assert end - start == timedelta(hours=23)
