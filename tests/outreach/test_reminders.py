"""Which reminders fall due when: time zones, DST, quiet hours, pauses, plans, catch-up."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import ClientProfile, User
from homework.models import Assignment, AssignmentEvent
from homework.schedule import weekdays_mask
from homework.selectors.practice import today_for_client
from notifications.models import Notification
from outreach import reminders
from outreach.reminders import local_instant, reminder_due_at, reminders_create_due
from tests.factories import (
    make_assignment,
    make_clients,
    make_completion,
    make_daily_plans,
    make_exercise,
)

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def prepare(client: User, zone: str, reminder_time: time = time(9, 0), **profile) -> User:
    client.timezone = zone
    client.save(update_fields=["timezone"])
    ClientProfile.objects.filter(user=client).update(reminder_time=reminder_time, **profile)
    client.refresh_from_db()
    return client


def plan_for(client: User, **fields) -> Assignment:
    fields.setdefault("created_at", LONG_AGO)
    fields.setdefault("exercise", make_exercise(clinic=client.clinic))
    return make_assignment(client, **fields)


def reminder_keys() -> list[str]:
    return sorted(
        Notification.objects.filter(kind=Notification.Kind.REMINDER).values_list(
            "idempotency_key", flat=True
        )
    )


@pytest.fixture(autouse=True)
def _no_publish(monkeypatch):
    """Unit tests look at the outbox rows; the send path has its own tests."""
    published: list[list[int]] = []
    monkeypatch.setattr(reminders, "notifications_enqueue", lambda *, ids: published.append(ids))
    return published


# --- Wall clock to instant (no database) ---


def test_it_moves_a_missing_spring_forward_time_to_the_first_valid_minute():
    due = reminder_due_at(
        day=date(2026, 3, 8), reminder_time=time(2, 30), zone=ZoneInfo("America/New_York")
    )
    assert due == local("America/New_York", 2026, 3, 8, 3, 0)
    assert due.astimezone(UTC) == utc(2026, 3, 8, 7, 0)


def test_it_takes_the_first_occurrence_of_a_repeated_fall_back_time():
    due = reminder_due_at(
        day=date(2026, 11, 1), reminder_time=time(1, 30), zone=ZoneInfo("America/New_York")
    )
    assert due.astimezone(UTC) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST
    assert due.utcoffset() == timedelta(hours=-4)


def test_it_handles_london_changes_both_ways():
    zone = ZoneInfo("Europe/London")
    assert local_instant(date(2026, 3, 29), time(1, 30), zone).astimezone(UTC) == utc(
        2026, 3, 29, 1, 0
    )  # 01:00-02:00 does not exist: 02:00 BST
    assert local_instant(date(2026, 10, 25), time(1, 30), zone).astimezone(UTC) == utc(
        2026, 10, 25, 0, 30
    )  # 01:30 BST comes first


def test_it_uses_half_hour_offsets():
    due = reminder_due_at(
        day=date(2026, 3, 8), reminder_time=time(9, 0), zone=ZoneInfo("Asia/Kolkata")
    )
    assert due.astimezone(UTC) == utc(2026, 3, 8, 3, 30)


def test_it_handles_a_thirty_minute_dst_shift_on_lord_howe():
    zone = ZoneInfo("Australia/Lord_Howe")
    # Spring forward 02:00 -> 02:30 (+10:30 -> +11).
    assert local_instant(date(2026, 10, 4), time(2, 15), zone) == local(
        "Australia/Lord_Howe", 2026, 10, 4, 2, 30
    )
    assert local_instant(date(2026, 10, 4), time(2, 15), zone).astimezone(UTC) == utc(
        2026, 10, 3, 15, 30
    )
    # Fall back 02:00 -> 01:30 (+11 -> +10:30): 01:45 happens twice; the first is +11.
    first = local_instant(date(2026, 4, 5), time(1, 45), zone)
    assert first.astimezone(UTC) == utc(2026, 4, 4, 14, 45)


def test_it_skips_a_day_that_does_not_exist():
    # Samoa skipped 30 December 2011 entirely.
    assert (
        reminder_due_at(
            day=date(2011, 12, 30), reminder_time=time(9), zone=ZoneInfo("Pacific/Apia")
        )
        is None
    )


def test_it_moves_a_reminder_out_of_quiet_hours_across_midnight():
    zone = ZoneInfo("Europe/London")
    quiet = {"quiet_hours_start": time(22, 0), "quiet_hours_end": time(7, 0)}
    early = reminder_due_at(day=date(2026, 5, 6), reminder_time=time(6, 30), zone=zone, **quiet)
    assert early == local("Europe/London", 2026, 5, 6, 7, 0)
    late = reminder_due_at(day=date(2026, 5, 6), reminder_time=time(23, 0), zone=zone, **quiet)
    assert late is None  # quiet until tomorrow: today's reminder is skipped
    outside = reminder_due_at(day=date(2026, 5, 6), reminder_time=time(18, 0), zone=zone, **quiet)
    assert outside == local("Europe/London", 2026, 5, 6, 18, 0)


def test_it_moves_a_reminder_to_the_end_of_daytime_quiet_hours():
    zone = ZoneInfo("Europe/London")
    due = reminder_due_at(
        day=date(2026, 5, 6),
        reminder_time=time(13, 0),
        zone=zone,
        quiet_hours_start=time(12, 0),
        quiet_hours_end=time(14, 0),
    )
    assert due == local("Europe/London", 2026, 5, 6, 14, 0)


def test_it_skips_a_reminder_when_quiet_hours_end_at_midnight():
    due = reminder_due_at(
        day=date(2026, 5, 6),
        reminder_time=time(23, 0),
        zone=ZoneInfo("Europe/London"),
        quiet_hours_start=time(22, 0),
        quiet_hours_end=time(0, 0),
    )
    assert due is None


# --- Who is due (database) ---


def test_it_sends_the_spring_forward_reminder_at_three_once(world):
    client = prepare(world.client, "America/New_York", time(2, 30))
    assignment = plan_for(client)
    assert reminders_create_due(now=utc(2026, 3, 8, 6, 59)) == []
    assert len(reminders_create_due(now=utc(2026, 3, 8, 7, 0))) == 1
    assert reminders_create_due(now=utc(2026, 3, 8, 7, 30)) == []
    assert reminder_keys() == [f"reminder:{assignment.pk}:2026-03-08"]


def test_it_sends_the_fall_back_reminder_once_at_the_first_occurrence(world):
    client = prepare(world.client, "America/New_York", time(1, 30))
    assignment = plan_for(client)
    assert reminders_create_due(now=utc(2026, 11, 1, 5, 29)) == []
    assert len(reminders_create_due(now=utc(2026, 11, 1, 5, 30))) == 1
    # 01:30 again, an hour later (EST): no second reminder.
    assert reminders_create_due(now=utc(2026, 11, 1, 6, 30)) == []
    assert reminder_keys() == [f"reminder:{assignment.pk}:2026-11-01"]


def test_it_catches_up_the_fall_back_reminder_while_the_clock_reads_earlier(world):
    client = prepare(world.client, "America/New_York", time(1, 30))
    assignment = plan_for(client)
    # No tick ran at 01:30 EDT. At 01:10 EST (06:10 UTC) the wall clock reads before 01:30,
    # yet the reminder's (first) 01:30 has passed: the SQL pre-filter must not hold it back.
    assert len(reminders_create_due(now=utc(2026, 11, 1, 6, 10))) == 1
    assert reminder_keys() == [f"reminder:{assignment.pk}:2026-11-01"]


def test_it_skips_clients_in_an_unknown_zone_without_failing(world):
    client = prepare(world.client, "Europe/London")
    unknown = prepare(world.other_client, "Mars/Olympus_Mons")
    plan_for(client)
    plan_for(unknown)
    created = reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0))
    assert Notification.objects.filter(pk__in=created).get().recipient_id == client.pk


def test_it_sends_at_the_client_local_time_in_kolkata_and_lord_howe(world):
    kolkata = prepare(world.client, "Asia/Kolkata", time(9, 0))
    lord_howe = prepare(world.other_client, "Australia/Lord_Howe", time(2, 0))
    in_kolkata = plan_for(kolkata, start_date=date(2026, 10, 4))
    on_lord_howe = plan_for(lord_howe)
    # 02:00 does not exist on Lord Howe on 4 October 2026: sent at 02:30 (15:30 UTC the day before).
    assert reminders_create_due(now=utc(2026, 10, 3, 15, 29)) == []
    assert len(reminders_create_due(now=utc(2026, 10, 3, 15, 30))) == 1
    assert reminder_keys() == [f"reminder:{on_lord_howe.pk}:2026-10-04"]
    assert reminders_create_due(now=utc(2026, 10, 4, 3, 29)) == []
    assert len(reminders_create_due(now=utc(2026, 10, 4, 3, 30))) == 1
    assert f"reminder:{in_kolkata.pk}:2026-10-04" in reminder_keys()


def test_it_sends_in_london_on_the_day_the_clocks_go_back(world):
    client = prepare(world.client, "Europe/London", time(1, 30))
    plan_for(client)
    assert reminders_create_due(now=utc(2026, 10, 25, 0, 29)) == []
    assert len(reminders_create_due(now=utc(2026, 10, 25, 0, 30))) == 1
    assert reminders_create_due(now=utc(2026, 10, 25, 1, 30)) == []


def test_it_honours_quiet_hours_in_the_tick(world):
    client = prepare(
        world.client,
        "Europe/London",
        time(6, 30),
        quiet_hours_start=time(22, 0),
        quiet_hours_end=time(7, 0),
    )
    plan_for(client)
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 6, 45)) == []
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 6, 7, 0))) == 1


def test_it_skips_the_day_when_quiet_hours_run_past_midnight(world):
    client = prepare(
        world.client,
        "Europe/London",
        time(23, 0),
        quiet_hours_start=time(22, 0),
        quiet_hours_end=time(7, 0),
    )
    plan_for(client)
    for hour, minute in [(23, 0), (23, 59)]:
        assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, hour, minute)) == []
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 7, 7, 30)) == []
    assert reminder_keys() == []


def test_it_sends_nothing_while_reminders_are_paused(world):
    client = prepare(
        world.client,
        "Europe/London",
        reminders_paused_until=local("Europe/London", 2026, 5, 8, 12, 0),
    )
    plan_for(client)
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 9, 30)) == []
    # The pause ends at noon on the 8th: that day's 09:00 reminder stays skipped...
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 8, 12, 30)) == []
    # ...and the next day's comes as usual.
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 9, 9, 0))) == 1


def test_it_sends_once_a_pause_ended_before_the_reminder_time(world):
    client = prepare(
        world.client,
        "Europe/London",
        reminders_paused_until=local("Europe/London", 2026, 5, 6, 8, 0),
    )
    plan_for(client)
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 6, 9, 0))) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "ended"},
        {"status": "paused"},
        {"end_date": date(2026, 5, 5)},
        {"start_date": date(2026, 5, 7)},
    ],
    ids=["ended", "paused", "past-end-date", "not-started"],
)
def test_it_sends_nothing_for_plans_that_are_not_running(world, fields):
    client = prepare(world.client, "Europe/London")
    plan_for(client, **fields)
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0)) == []


def test_it_sends_on_the_last_day_of_a_plan(world):
    client = prepare(world.client, "Europe/London")
    plan_for(client, end_date=date(2026, 5, 6))
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0))) == 1


def test_it_sends_nothing_once_today_is_done(world):
    client = prepare(world.client, "Europe/London")
    assignment = plan_for(client)
    other = plan_for(client)
    make_completion(assignment, date(2026, 5, 6))
    make_completion(other, date(2026, 5, 5))  # yesterday's practice does not count today
    reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0))
    assert reminder_keys() == [f"reminder:{other.pk}:2026-05-06"]


def test_it_sends_nothing_on_a_day_the_plan_does_not_ask_for(world):
    client = prepare(world.client, "Europe/London")
    plan_for(client, schedule_kind="weekdays", weekdays=weekdays_mask([0, 2]))  # Mon, Wed
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 5, 10, 0)) == []  # Tuesday
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0))) == 1


def test_it_stops_once_the_weekly_quota_is_met(world):
    client = prepare(world.client, "Europe/London")
    met = plan_for(client, schedule_kind="times_per_week", times_per_week=2)
    not_met = plan_for(client, schedule_kind="times_per_week", times_per_week=2)
    make_completion(met, date(2026, 5, 4))  # Monday
    make_completion(met, date(2026, 5, 5))  # Tuesday
    make_completion(not_met, date(2026, 5, 4))
    make_completion(not_met, date(2026, 4, 30))  # last week does not count
    reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0))  # Wednesday
    assert reminder_keys() == [f"reminder:{not_met.pk}:2026-05-06"]


def test_it_reads_the_quota_like_the_today_page_does(world):
    """A practice logged on a day the plan was later paused does not count (as on Today)."""
    client = prepare(world.client, "Europe/London")
    assignment = plan_for(client, schedule_kind="times_per_week", times_per_week=2)
    make_completion(assignment, date(2026, 5, 4))  # Monday
    make_completion(assignment, date(2026, 5, 5))  # Tuesday, then paused that evening
    for action, day, hour in [("paused", 5, 20), ("resumed", 6, 8)]:
        AssignmentEvent.objects.create(
            assignment=assignment,
            action=action,
            created_at=local("Europe/London", 2026, 5, day, hour),
        )
    now = local("Europe/London", 2026, 5, 6, 10, 0)
    today = today_for_client(client=client, now=now)
    assert [item.assignment.pk for item in today.due] == [assignment.pk]
    assert len(reminders_create_due(now=now)) == 1


def test_it_catches_up_after_ten_minutes_of_beat_downtime(world):
    client = prepare(world.client, "Europe/London", time(9, 5))
    assignment = plan_for(client)
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 9, 0)) == []
    # Ticks from 09:01 to 09:09 never ran.
    created = reminders_create_due(now=local("Europe/London", 2026, 5, 6, 9, 10))
    assert len(created) == 1
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 9, 11)) == []
    assert reminder_keys() == [f"reminder:{assignment.pk}:2026-05-06"]


def test_it_does_not_catch_up_a_day_that_is_over(world):
    client = prepare(world.client, "Europe/London", time(21, 0))
    plan_for(client)
    # Down from 20:50 until after midnight: yesterday's reminder is gone, today's not due.
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 7, 0, 10)) == []


def test_it_follows_a_client_to_a_new_time_zone_without_a_duplicate(world):
    client = prepare(world.client, "Europe/London", time(9, 0))
    assignment = plan_for(client)
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 6, 9, 0))) == 1
    client.timezone = "America/New_York"
    client.save(update_fields=["timezone"])
    # 09:00 in New York is still 6 May there: that local date already had its reminder.
    assert reminders_create_due(now=local("America/New_York", 2026, 5, 6, 9, 0)) == []
    # 09:00 in London on the 7th is 04:00 in New York: not yet.
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 7, 9, 0)) == []
    assert len(reminders_create_due(now=local("America/New_York", 2026, 5, 7, 9, 0))) == 1
    assert reminder_keys() == [
        f"reminder:{assignment.pk}:2026-05-06",
        f"reminder:{assignment.pk}:2026-05-07",
    ]


def test_it_starts_a_plan_created_after_todays_reminder_time_tomorrow(world):
    client = prepare(world.client, "Europe/London", time(9, 0))
    assignment = plan_for(client, created_at=local("Europe/London", 2026, 5, 6, 11, 0))
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 11, 1)) == []
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 7, 9, 0))) == 1
    assert reminder_keys() == [f"reminder:{assignment.pk}:2026-05-07"]


def test_it_prefers_the_assignment_reminder_time(world):
    client = prepare(world.client, "Europe/London", time(18, 0))
    plan_for(client, reminder_time=time(7, 15))
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 7, 14)) == []
    assert len(reminders_create_due(now=local("Europe/London", 2026, 5, 6, 7, 15))) == 1


def test_it_sends_nothing_to_inactive_clients(world):
    client = prepare(world.client, "Europe/London")
    plan_for(client)
    User.objects.filter(pk=client.pk).update(is_active=False)
    assert reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0)) == []


def test_it_writes_one_row_when_the_same_tick_runs_twice(world, _no_publish):
    client = prepare(world.client, "Europe/London")
    plan_for(client)
    now = local("Europe/London", 2026, 5, 6, 10, 0)
    first = reminders_create_due(now=now)
    second = reminders_create_due(now=now)
    assert len(first) == 1 and second == []
    assert _no_publish == [first]  # enqueued once, by the run that created it


def test_it_stores_ids_and_dates_only_in_the_row(world):
    client = prepare(world.client, "Europe/London")
    assignment = plan_for(
        client, note="Canary note", exercise=make_exercise(client.clinic, title="Canary title")
    )
    reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0))
    row = Notification.objects.get()
    assert row.recipient_id == client.pk
    assert row.to_email == client.email
    assert row.context["assignment_id"] == assignment.pk
    assert row.context["local_date"] == "2026-05-06"
    assert set(row.context) == {"assignment_id", "local_date", "batch"}
    assert row.status == Notification.Status.PENDING


def test_it_works_through_many_chunks(world):
    clinician = world.clinician
    clients = _many_clients(clinician, 20, "Europe/London")
    created = reminders_create_due(now=local("Europe/London", 2026, 5, 6, 10, 0), chunk_size=7)
    assert len(created) == len(clients) == Notification.objects.count()


def _many_clients(clinician: User, count: int, zone: str) -> list[User]:
    """Clients reminded at 09:00, with one daily plan each since long ago."""
    users = make_clients(clinician, count, zones=[zone], reminder_time=time(9, 0))
    make_daily_plans(users, clinician, start_date=date(2026, 1, 5), created_at=LONG_AGO)
    return users


@pytest.mark.parametrize("count", [20, 200])
def test_it_decides_for_many_clients_in_a_constant_number_of_queries(
    world, count, django_assert_max_num_queries
):
    _many_clients(world.clinician, count, "Asia/Kolkata")
    # Half of them practised already today, so completions are really read.
    for assignment in Assignment.objects.all()[: count // 2]:
        make_completion(assignment, date(2026, 5, 6))
    now = local("Asia/Kolkata", 2026, 5, 6, 10, 0)
    # Chunks of 7 rows: 3 chunks for 20 clients, 29 for 200, the same bound for both.
    # The zones, JIT off (PostgreSQL), the candidates; two more for plans with a history.
    with django_assert_max_num_queries(5):
        due = reminders.reminders_due(now=now, chunk_size=7)
    assert len(due) == count - count // 2
    with django_assert_max_num_queries(11):
        created = reminders_create_due(now=now, chunk_size=7)
    assert len(created) == count - count // 2
    # Nothing left to do: the next tick leaves out every written key in SQL.
    with django_assert_max_num_queries(3):
        assert (
            reminders_create_due(now=local("Asia/Kolkata", 2026, 5, 6, 10, 1), chunk_size=7) == []
        )


def test_it_reads_no_plan_before_its_reminder_time(world, django_assert_max_num_queries):
    _many_clients(world.clinician, 20, "Asia/Kolkata")
    # 08:59 in Kolkata: every reminder is at 09:00, so the candidate query finds nothing.
    with django_assert_max_num_queries(3):
        assert reminders_create_due(now=local("Asia/Kolkata", 2026, 5, 6, 8, 59)) == []
    assert len(reminders_create_due(now=local("Asia/Kolkata", 2026, 5, 6, 9, 0))) == 20
