"""homework.selectors.progress and practice: the figures behind portal, dashboard and summaries."""

from datetime import UTC, date, datetime, timedelta

from homework.models import AssignmentEvent
from homework.schedule import Adherence
from homework.selectors.practice import schedule_for, today_for_client
from homework.selectors.progress import caseload_for_clinician, client_progress, kind_streak
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion, make_exercise

# Wednesday 11 March 2026, midday in London.
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 11)
MONDAY = date(2026, 3, 9)


def week(planned: float, done: float) -> Adherence:
    return Adherence(planned, done)


# --- The kind streak ---


def test_it_counts_weeks_with_the_plan_met():
    streak = kind_streak([week(3, 3), week(3, 3), week(3, 1)])
    assert streak.weeks == 2  # the current week is not over yet and does not break it
    assert not streak.this_week_met


def test_it_counts_the_current_week_once_its_plan_is_met():
    streak = kind_streak([week(3, 3), week(3, 3)])
    assert streak.weeks == 2
    assert streak.this_week_met


def test_it_counts_a_week_as_met_at_four_in_five_practices():
    assert kind_streak([week(7, 6), week(5, 4), week(7, 7)]).weeks == 3
    assert kind_streak([week(7, 5), week(7, 5), week(7, 7)]).weeks == 1


def test_it_forgives_one_missed_week():
    streak = kind_streak([week(3, 3), week(3, 3), week(3, 0), week(3, 3), week(3, 0)])
    assert streak.weeks == 3


def test_it_says_the_count_is_resting_after_a_single_missed_week():
    streak = kind_streak([week(3, 3), week(3, 0), week(3, 0)])
    assert streak.weeks == 1
    assert streak.resting


def test_it_starts_afresh_after_two_missed_weeks_in_a_row():
    streak = kind_streak([week(3, 3), week(3, 3), week(3, 0), week(3, 1), week(3, 3), week(3, 0)])
    assert streak.weeks == 1
    assert not streak.resting


def test_it_skips_weeks_with_nothing_planned():
    streak = kind_streak([week(2, 2), week(0, 0), week(0, 0), week(0, 0), week(2, 2), week(2, 0)])
    assert streak.weeks == 2


# --- Schedules read from history ---


def test_it_reads_pauses_and_the_end_from_the_assignments_history(world):
    assignment = make_assignment(world.client, start_date=date(2026, 3, 1), status="ended")
    for action, day in (("paused", 3), ("resumed", 6), ("edited", 7), ("ended", 10)):
        AssignmentEvent.objects.create(
            assignment=assignment,
            action=action,
            created_at=datetime(2026, 3, day, 23, 30, tzinfo=UTC),
        )
    # 23:30 UTC is already the next day in Sydney.
    schedule = schedule_for(assignment, zone=world.client.zone, events=assignment.events.all())
    assert schedule.pauses == ((date(2026, 3, 3), date(2026, 3, 6)),)
    assert schedule.end_date == date(2026, 3, 9)
    world.client.timezone = "Australia/Sydney"
    sydney = schedule_for(assignment, zone=world.client.zone, events=assignment.events.all())
    assert sydney.pauses == ((date(2026, 3, 4), date(2026, 3, 7)),)
    assert sydney.end_date == date(2026, 3, 10)


def test_it_takes_a_paused_plan_without_history_as_paused_since_its_last_change(world):
    assignment = make_assignment(world.client, start_date=date(2026, 3, 1), status="paused")
    assignment.updated_at = datetime(2026, 3, 5, 10, tzinfo=UTC)
    schedule = schedule_for(assignment, zone=world.client.zone, events=[])
    assert schedule.pauses == ((date(2026, 3, 5), None),)


# --- Today ---


def test_it_gives_today_as_a_plain_structure_for_the_api(world):
    exercise = make_exercise(world.clinic, title="Kind words")
    daily = make_assignment(world.client, exercise, start_date=date(2026, 3, 1))
    flexible = make_assignment(
        world.client,
        make_exercise(world.clinic, title="Breathing"),
        start_date=date(2026, 3, 1),
        schedule_kind="times_per_week",
        times_per_week=2,
    )
    make_completion(daily, TODAY, minutes=4)
    make_completion(flexible, MONDAY)
    make_completion(flexible, MONDAY + timedelta(days=1))
    today = today_for_client(client=world.client, now=NOW)
    data = today.as_dict()
    assert data["local_date"] == "2026-03-11"
    assert data["timezone"] == "Europe/London"
    assert [item["assignment_id"] for item in data["done"]] == [daily.pk]
    assert data["due"] == []
    later = data["later"][0]
    assert (later["assignment_id"], later["left_this_week"], later["done_this_week"]) == (
        flexible.pk,
        0,
        2,
    )
    assert later["next_day"] is None or later["next_day"] > "2026-03-11"


# --- One client's progress ---


def test_it_sums_practice_days_minutes_and_adherence_by_week(world):
    assignment = make_assignment(world.client, start_date=MONDAY - timedelta(weeks=1))
    for offset, minutes in ((0, 5), (1, 10), (2, 5), (7, 8), (8, 4)):
        make_completion(
            assignment, MONDAY - timedelta(weeks=1) + timedelta(days=offset), minutes=minutes
        )
    progress = client_progress(client=world.client, now=NOW, weeks=3)
    assert [row.monday for row in progress.weeks] == [
        MONDAY - timedelta(weeks=2),
        MONDAY - timedelta(weeks=1),
        MONDAY,
    ]
    before, last_week, this_week = progress.weeks
    assert before.adherence.ratio is None
    assert (last_week.adherence.planned, last_week.adherence.done) == (7, 3)
    assert (last_week.practice_days, last_week.minutes) == (3, 20)
    # Monday and Tuesday done, Wednesday (today) not yet: 2 of 2 so far.
    assert (this_week.adherence.planned, this_week.adherence.done) == (2, 2)
    assert this_week.is_current
    assert (progress.practice_days_total, progress.minutes_total) == (5, 32)


def test_it_reports_the_before_and_after_change_per_exercise(world):
    assignment = make_assignment(world.client, start_date=date(2026, 2, 1))
    make_completion(assignment, date(2026, 3, 2), distress_before=8, distress_after=5)
    make_completion(assignment, date(2026, 3, 3), distress_before=6, distress_after=3)
    make_completion(assignment, date(2026, 3, 4), distress_before=7)  # no after: left out
    progress = client_progress(client=world.client, now=NOW)
    [exercise] = progress.exercises
    assert exercise.practices == 3
    [change] = exercise.changes
    assert change.label == "Distress"
    assert (change.logs, change.mean_before, change.mean_after) == (2, 7.0, 4.0)
    assert change.change == -3.0


def test_it_builds_weekly_rating_series_for_the_chart(world):
    assignment = make_assignment(world.client, start_date=date(2026, 2, 1))
    make_completion(assignment, MONDAY, distress_before=8, distress_after=4)
    make_completion(assignment, MONDAY + timedelta(days=1), distress_before=6, distress_after=2)
    progress = client_progress(client=world.client, now=NOW, weeks=2)
    [series] = progress.rating_series
    assert series.key == "distress"
    assert [(w.before, w.after, w.logs) for w in series.weeks] == [
        (None, None, 0),
        (7.0, 3.0, 2),
    ]


def test_it_leaves_paused_weeks_out_of_the_streak_and_adherence(world):
    assignment = make_assignment(world.client, start_date=MONDAY - timedelta(weeks=3))
    AssignmentEvent.objects.create(
        assignment=assignment, action="paused", created_at=datetime(2026, 2, 23, 8, tzinfo=UTC)
    )
    AssignmentEvent.objects.create(
        assignment=assignment, action="resumed", created_at=datetime(2026, 3, 9, 8, tzinfo=UTC)
    )
    for offset in range(7):
        make_completion(assignment, MONDAY - timedelta(weeks=3) + timedelta(days=offset))
    for offset in range(3):
        make_completion(assignment, MONDAY + timedelta(days=offset))
    progress = client_progress(client=world.client, now=NOW, weeks=4)
    assert [row.adherence.ratio for row in progress.weeks] == [1.0, None, None, 1.0]
    assert progress.streak.weeks == 1  # the paused weeks neither count nor break it


def test_it_never_mixes_in_another_clients_logs(world):
    mine = make_assignment(world.client, start_date=date(2026, 3, 1))
    theirs = make_assignment(
        world.other_client, make_exercise(world.clinic), start_date=date(2026, 3, 1)
    )
    make_completion(mine, MONDAY, minutes=5)
    make_completion(theirs, MONDAY, minutes=50)
    assert client_progress(client=world.client, now=NOW).minutes_total == 5


# --- The caseload ---


def row_for(rows, client):
    return next(row for row in rows if row.client == client)


def test_it_lists_only_the_clinicians_own_clients(world):
    rows = caseload_for_clinician(clinician=world.clinician, now=NOW)
    assert {row.client for row in rows} == {world.client, world.other_client}
    assert caseload_for_clinician(clinician=world.colleague, now=NOW) == []
    assert {
        r.client for r in caseload_for_clinician(clinician=world.stranger_clinician, now=NOW)
    } == {world.stranger_client}


def test_it_gives_adherence_over_the_last_7_and_28_days(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=40))
    for days_ago in (0, 1, 2, 10, 20):
        make_completion(assignment, TODAY - timedelta(days=days_ago))
    row = row_for(caseload_for_clinician(clinician=world.clinician, now=NOW), world.client)
    assert (row.adherence_7.planned, row.adherence_7.done) == (7, 3)
    assert (row.adherence_28.planned, row.adherence_28.done) == (28, 5)
    assert row.last_practice == TODAY
    assert row.active_assignments == 1
    assert row.practised_days_7 == 3
    assert not row.needs_attention


def test_it_flags_a_client_with_no_practice_for_five_days(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=30))
    make_completion(assignment, TODAY - timedelta(days=5))
    rows = caseload_for_clinician(clinician=world.clinician, now=NOW)
    row = row_for(rows, world.client)
    assert row.idle_days == 5
    assert row.reasons == ["No practice logged for 5 days"]
    assert rows[0].client == world.client  # needing attention comes first


def test_it_does_not_flag_four_quiet_days(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=30))
    make_completion(assignment, TODAY - timedelta(days=4))
    assert not row_for(
        caseload_for_clinician(clinician=world.clinician, now=NOW), world.client
    ).needs_attention


def test_it_counts_quiet_days_from_a_recent_start_or_resume(world):
    make_assignment(world.client, start_date=TODAY - timedelta(days=2))
    resumed = make_assignment(
        world.other_client, make_exercise(world.clinic), start_date=TODAY - timedelta(days=60)
    )
    AssignmentEvent.objects.create(
        assignment=resumed, action="paused", created_at=NOW - timedelta(days=40)
    )
    AssignmentEvent.objects.create(
        assignment=resumed, action="resumed", created_at=NOW - timedelta(days=3)
    )
    rows = caseload_for_clinician(clinician=world.clinician, now=NOW)
    assert row_for(rows, world.client).idle_days == 2
    assert row_for(rows, world.other_client).idle_days == 3
    assert not any(row.needs_attention for row in rows)


def test_it_does_not_flag_a_client_whose_plans_are_paused_or_ended(world):
    make_assignment(world.client, start_date=TODAY - timedelta(days=30), status="paused")
    make_assignment(
        world.other_client,
        make_exercise(world.clinic),
        start_date=TODAY - timedelta(days=30),
        status="ended",
    )
    rows = caseload_for_clinician(clinician=world.clinician, now=NOW)
    assert not any(row.needs_attention for row in rows)
    assert all(row.active_assignments == 0 for row in rows)


def test_it_flags_distress_after_practice_trending_up(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=30))
    # Oldest first: 3 logs averaging 3, then 3 averaging 4.
    for days_ago, after in zip(range(6, 0, -1), (2, 3, 4, 4, 4, 4), strict=True):
        make_completion(assignment, TODAY - timedelta(days=days_ago), distress_after=after)
    row = row_for(caseload_for_clinician(clinician=world.clinician, now=NOW), world.client)
    assert (row.distress_earlier, row.distress_recent) == (3.0, 4.0)
    assert row.reasons == ["Distress after practice rising (average 4.0, was 3.0)"]


def test_it_reads_the_distress_trend_across_logs_older_than_the_last_28_days(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=90))
    # Three old logs averaging 2, then three recent ones averaging 4: the earlier half
    # lies outside the 28 days the caseload reads for adherence.
    for days_ago, after in zip((70, 65, 60, 3, 2, 1), (2, 2, 2, 4, 4, 4), strict=True):
        make_completion(assignment, TODAY - timedelta(days=days_ago), distress_after=after)
    row = row_for(caseload_for_clinician(clinician=world.clinician, now=NOW), world.client)
    assert (row.distress_earlier, row.distress_recent) == (2.0, 4.0)


def test_it_takes_only_the_latest_logs_for_the_trend_when_many_are_recent(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=90))
    second = make_assignment(
        world.client, make_exercise(world.clinic), start_date=TODAY - timedelta(days=90)
    )
    for days_ago in (80, 70, 60):  # high and old: must not count
        make_completion(assignment, TODAY - timedelta(days=days_ago), distress_after=9)
    # Eight recent logs, two of them on the same day (the later-written one is newer).
    for days_ago, after in zip(range(8, 1, -1), (1, 1, 1, 3, 3, 3, 5), strict=True):
        make_completion(assignment, TODAY - timedelta(days=days_ago), distress_after=after)
    make_completion(second, TODAY - timedelta(days=2), distress_after=7)
    row = row_for(caseload_for_clinician(clinician=world.clinician, now=NOW), world.client)
    # Newest first: 7, 5, 3 | 3, 3, 1.
    assert (row.distress_recent, row.distress_earlier) == (5.0, 7 / 3)


def test_it_does_not_flag_a_rise_under_one_point_or_too_few_logs(world):
    assignment = make_assignment(world.client, start_date=TODAY - timedelta(days=30))
    for days_ago, after in zip(range(6, 0, -1), (3, 3, 3, 4, 4, 3), strict=True):
        make_completion(assignment, TODAY - timedelta(days=days_ago), distress_after=after)
    other = make_assignment(
        world.other_client, make_exercise(world.clinic), start_date=TODAY - timedelta(days=30)
    )
    for days_ago, after in zip(range(5, 0, -1), (1, 1, 9, 9, 9), strict=True):
        make_completion(other, TODAY - timedelta(days=days_ago), distress_after=after)
    rows = caseload_for_clinician(clinician=world.clinician, now=NOW)
    assert not any(row.needs_attention for row in rows)


def test_it_uses_each_clients_own_local_date(world):
    tokyo = make_client("kei@client.test", world.clinician, full_name="Kei", timezone="Asia/Tokyo")
    assignment = make_assignment(tokyo, start_date=date(2026, 3, 1))
    late = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)  # already the 12th in Tokyo
    make_completion(assignment, date(2026, 3, 12))
    row = row_for(caseload_for_clinician(clinician=world.clinician, now=late), tokyo)
    assert row.local_date == date(2026, 3, 12)
    assert row.days_since_practice == 0
