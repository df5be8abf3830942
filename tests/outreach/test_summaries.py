"""Weekly summaries: Monday 08:00 in each recipient's zone, once a week, opt-out, true figures."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ClientProfile, User
from homework.selectors.progress import caseload_for_clinician, client_progress
from notifications.models import Notification
from notifications.services import notification_render
from outreach import summaries
from outreach.services import clinician_weekly_summary_set
from outreach.summaries import caseload_week, client_week, weekly_summaries_create_due
from tests.factories import (
    make_assignment,
    make_clients,
    make_completion,
    make_daily_plans,
    make_exercise,
    make_measure_response,
)

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
WEEK = date(2026, 5, 4)  # the Monday of the week the summaries of 11 May cover
Kind = Notification.Kind


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _quiet_queue(monkeypatch):
    monkeypatch.setattr(summaries, "notifications_enqueue", lambda *, ids: None)


def place(user: User, zone: str) -> User:
    User.objects.filter(pk=user.pk).update(timezone=zone, date_joined=LONG_AGO)
    user.refresh_from_db()
    return user


def give_plan(client: User, **fields):
    fields.setdefault("created_at", LONG_AGO)
    fields.setdefault("start_date", date(2026, 1, 5))
    return make_assignment(client, make_exercise(client.clinic), **fields)


@pytest.fixture
def zones_world(world):
    """A client in Auckland, one in Los Angeles (same clinician), both with a daily plan.

    Everyone else in the world is placed where no Monday morning falls in these tests.
    """
    for user in [world.stranger_client, world.stranger_clinician, world.colleague]:
        place(user, "Pacific/Honolulu")
    auckland = place(world.client, "Pacific/Auckland")
    los_angeles = place(world.other_client, "America/Los_Angeles")
    place(world.clinician, "Europe/London")
    give_plan(auckland)
    give_plan(los_angeles)
    return world


def summary_keys(kind: str | None = None) -> list[str]:
    rows = Notification.objects.exclude(kind=Kind.REMINDER)
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("idempotency_key", flat=True))


# --- When ---


def test_it_writes_each_summary_at_monday_eight_in_the_recipients_zone(zones_world):
    world = zones_world
    auckland, los_angeles = world.client, world.other_client
    # Sunday 19:59 UTC is Monday 07:59 in Auckland (NZST, +12).
    assert weekly_summaries_create_due(now=utc(2026, 5, 10, 19, 59)) == []
    # One UTC instant, two zones: Monday 08:00 in Auckland, Sunday 13:00 in Los Angeles.
    assert len(weekly_summaries_create_due(now=utc(2026, 5, 10, 20, 0))) == 1
    assert summary_keys() == [f"weekly_client:{auckland.pk}:2026-05-04"]
    # Monday 08:00 in London (BST) is 07:00 UTC; Los Angeles is still asleep.
    weekly_summaries_create_due(now=utc(2026, 5, 11, 7, 0))
    assert summary_keys(Kind.WEEKLY_CLINICIAN) == [
        f"weekly_clinician:{world.clinician.pk}:2026-05-04"
    ]
    assert weekly_summaries_create_due(now=utc(2026, 5, 11, 14, 59)) == []
    # Monday 08:00 PDT (-7) is 15:00 UTC.
    assert len(weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))) == 1
    assert summary_keys(Kind.WEEKLY_CLIENT) == [
        f"weekly_client:{auckland.pk}:2026-05-04",
        f"weekly_client:{los_angeles.pk}:2026-05-04",
    ]


def test_it_catches_up_later_on_monday_but_not_after(zones_world):
    world = zones_world
    # Monday 22:00 in Auckland: the 08:00 run was missed; the summary still goes.
    assert len(weekly_summaries_create_due(now=utc(2026, 5, 11, 10, 0))) == 2  # + London 11:00
    assert f"weekly_client:{world.client.pk}:2026-05-04" in summary_keys()
    Notification.objects.all().delete()
    # Tuesday 00:30 in Auckland: that Monday is over, so this week's summary is skipped.
    weekly_summaries_create_due(now=utc(2026, 5, 11, 12, 30))
    assert f"weekly_client:{world.client.pk}:2026-05-04" not in summary_keys()


def test_it_writes_one_summary_per_recipient_per_week(zones_world):
    world = zones_world
    moments = [utc(2026, 5, 11, 15, 0), utc(2026, 5, 11, 15, 15), utc(2026, 5, 11, 23, 0)]
    for moment in moments:
        weekly_summaries_create_due(now=moment)
    weekly_summaries_create_due(now=utc(2026, 5, 18, 15, 0))
    assert (
        summary_keys(Kind.WEEKLY_CLIENT).count(f"weekly_client:{world.other_client.pk}:2026-05-04")
        == 1
    )
    assert f"weekly_client:{world.other_client.pk}:2026-05-11" in summary_keys()
    assert [
        key
        for key in summary_keys(Kind.WEEKLY_CLINICIAN)
        if key.startswith(f"weekly_clinician:{world.clinician.pk}:")
    ] == [
        f"weekly_clinician:{world.clinician.pk}:2026-05-04",
        f"weekly_clinician:{world.clinician.pk}:2026-05-11",
    ]


def test_it_touches_nothing_outside_the_monday_window(zones_world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert weekly_summaries_create_due(now=utc(2026, 5, 13, 12, 0)) == []  # Wednesday


def test_it_honours_the_clients_opt_out(zones_world):
    world = zones_world
    ClientProfile.objects.filter(user=world.other_client).update(weekly_summary=False)
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    assert f"weekly_client:{world.other_client.pk}:2026-05-04" not in summary_keys()


def test_a_discharged_client_gets_no_summary_and_leaves_the_clinicians(zones_world):
    world = zones_world
    ClientProfile.objects.filter(user=world.other_client).update(
        discharged_at=utc(2026, 5, 9, 0, 0)
    )
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    assert f"weekly_client:{world.other_client.pk}:2026-05-04" not in summary_keys()
    # Both of the clinician's clients discharged: no caseload summary either.
    ClientProfile.objects.filter(user=world.client).update(discharged_at=utc(2026, 5, 9, 0, 0))
    Notification.objects.all().delete()
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    assert summary_keys(Kind.WEEKLY_CLINICIAN) == []


def test_a_clinicians_summary_stays_an_email_when_they_have_a_device(zones_world):
    """A clinician's device shows urgent notices and messages, not the weekly figures;
    a client's summary still reaches each channel of theirs."""
    from notifications.models import PushSubscription
    from tests.push_service import Browser

    world = zones_world
    for user in (world.clinician, world.client):
        browser = Browser()
        PushSubscription.objects.create(
            user=user,
            endpoint=f"https://fcm.googleapis.com/fcm/send/{user.pk}",
            p256dh=browser.p256dh,
            auth=browser.auth,
        )
    weekly_summaries_create_due(now=utc(2026, 5, 10, 20, 0))  # Monday 08:00 in Auckland
    weekly_summaries_create_due(now=utc(2026, 5, 11, 7, 0))  # Monday 08:00 in London
    channels = Notification.objects.filter(kind__in=[Kind.WEEKLY_CLIENT, Kind.WEEKLY_CLINICIAN])
    assert sorted(channels.values_list("recipient_id", "kind", "channel")) == sorted(
        [
            (world.client.pk, Kind.WEEKLY_CLIENT, "email"),
            (world.client.pk, Kind.WEEKLY_CLIENT, "push"),
            (world.clinician.pk, Kind.WEEKLY_CLINICIAN, "email"),
        ]
    )


def test_it_honours_the_clinicians_opt_out(zones_world):
    world = zones_world
    clinician_weekly_summary_set(user=world.clinician, enabled=False)
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    assert summary_keys(Kind.WEEKLY_CLINICIAN) == []
    assert summary_keys(Kind.WEEKLY_CLIENT)  # the clients still get theirs


def test_it_leaves_out_anyone_with_the_email_turned_off_in_the_recipients_query(zones_world):
    world = zones_world
    # As the admin would: the field itself, not the service.
    User.objects.filter(pk__in=[world.clinician.pk, world.client.pk]).update(
        weekly_summary_email=False
    )
    assert weekly_summaries_create_due(now=utc(2026, 5, 10, 20, 0)) == []  # Auckland's Monday
    with CaptureQueriesContext(connection) as queries:  # Los Angeles' and London's
        weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    assert summary_keys() == [f"weekly_client:{world.other_client.pk}:2026-05-04"]
    # Filtered in the recipients query itself (one chunk, then the empty one that ends
    # the loop), not looked up user by user.
    filtering = [q["sql"] for q in queries if '"weekly_summary_email"' in q["sql"]]
    assert len(filtering) == 2
    assert not any("auth_group" in q["sql"] for q in queries)


def test_it_refuses_to_send_a_caseload_summary_turned_off_once_the_row_was_written(zones_world):
    world = zones_world
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    clinician_weekly_summary_set(user=world.clinician, enabled=False)
    row = Notification.objects.get(recipient=world.clinician)
    with pytest.raises(Exception, match="turned weekly summaries off"):
        notification_render(row)


def test_it_refuses_to_send_after_an_opt_out_made_once_the_row_was_written(zones_world):
    world = zones_world
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    ClientProfile.objects.filter(user=world.other_client).update(weekly_summary=False)
    row = Notification.objects.get(recipient=world.other_client)
    with pytest.raises(Exception, match="turned weekly summaries off"):
        notification_render(row)


def test_it_skips_clients_without_a_plan_that_week_and_clinicians_without_one_on_caseload(
    world,
):
    place(world.client, "Europe/London")  # a plan that only starts after the week
    give_plan(world.client, start_date=date(2026, 5, 11))
    place(world.colleague, "Europe/London")  # no caseload
    place(world.other_client, "Europe/London")  # no plan at all
    place(world.clinician, "Europe/London")  # their clients had no plan that week

    def recipients() -> set[int]:
        weekly_summaries_create_due(now=utc(2026, 5, 11, 9, 0))
        return set(
            Notification.objects.filter(kind__startswith="weekly").values_list(
                "recipient_id", flat=True
            )
        )

    # A caseload whose plans began after the week (a new clinician's first Monday) has
    # nothing to sum up.
    assert recipients() == set()
    give_plan(world.other_client, start_date=date(2026, 5, 4))
    assert recipients() == {world.other_client.pk, world.clinician.pk}


def test_it_writes_only_ids_and_the_week_in_the_row(zones_world):
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    for row in Notification.objects.all():
        assert set(row.context) == {"week", "batch"}
        assert row.context["week"] == "2026-05-04"


def _many_clients(clinician: User, count: int) -> None:
    users = make_clients(clinician, count, zones=["Asia/Kolkata"], date_joined=LONG_AGO)
    make_daily_plans(users, clinician, start_date=date(2026, 1, 5), created_at=LONG_AGO)


@pytest.mark.parametrize("count", [20, 200])
def test_it_decides_for_many_recipients_in_a_constant_number_of_queries(
    world, count, django_assert_max_num_queries
):
    _many_clients(world.clinician, count)
    place(world.clinician, "Asia/Kolkata")
    # Two of these read the recipients' channels (email wanted, devices subscribed).
    with django_assert_max_num_queries(10):
        created = weekly_summaries_create_due(now=utc(2026, 5, 11, 3, 0))  # 08:30 IST
    assert len(created) == count + 1


# --- What (the figures) ---


@pytest.fixture
def practised_world(zones_world):
    """Practice around the week's edges, in each client's own local dates."""
    world = zones_world
    auckland_plan = world.client.assignments.get()
    la_plan = world.other_client.assignments.get()
    make_completion(auckland_plan, date(2026, 5, 3), minutes=50)  # the Sunday before
    make_completion(auckland_plan, date(2026, 5, 4), minutes=10)  # Monday
    make_completion(auckland_plan, date(2026, 5, 10), minutes=15)  # Sunday
    make_completion(auckland_plan, date(2026, 5, 11), minutes=40)  # the next Monday
    weekly_plan = give_plan(world.other_client, schedule_kind="times_per_week", times_per_week=3)
    make_completion(weekly_plan, date(2026, 5, 5), minutes=20)
    make_completion(la_plan, date(2026, 5, 5), minutes=5)
    return world


def test_it_counts_the_week_in_the_clients_own_dates(practised_world):
    week = client_week(client=practised_world.client, monday=WEEK, now=utc(2026, 5, 11, 15, 0))
    assert (week.practice_days, week.minutes) == (2, 25)
    assert (week.done, week.planned) == (2, 7)
    assert [m for _, m in week.minutes_by_day] == [10, 0, 0, 0, 0, 0, 15]


@pytest.mark.parametrize("who", ["client", "other_client"])
def test_it_matches_the_progress_page_figures(practised_world, who):
    client = getattr(practised_world, who)
    now = utc(2026, 5, 11, 15, 0)
    week = client_week(client=client, monday=WEEK, now=now)
    # The progress page, looked at the moment the week ended, shows the same week.
    ended = datetime.combine(date(2026, 5, 11), time(0), tzinfo=ZoneInfo(client.timezone))
    (row,) = [r for r in client_progress(client=client, now=ended).weeks if r.monday == WEEK]
    assert week.adherence == row.adherence
    assert (week.practice_days, week.minutes) == (row.practice_days, row.minutes)
    # The per-plan rows add up to the total.
    assert sum(p.adherence.planned for p in week.plans) == pytest.approx(row.adherence.planned)
    assert sum(p.adherence.done for p in week.plans) == pytest.approx(row.adherence.done)


def test_it_matches_the_dashboard_for_the_caseload(practised_world):
    world = practised_world
    ended = datetime.combine(date(2026, 5, 11), time(0), tzinfo=ZoneInfo("Europe/London"))
    week = caseload_week(clinician=world.clinician, monday=WEEK, now=utc(2026, 5, 11, 15, 0))
    dashboard = caseload_for_clinician(clinician=world.clinician, now=ended)
    assert week.clients == len(dashboard) == 2
    assert week.needing_attention == sum(1 for row in dashboard if row.needs_attention)
    assert week.practised == 2


def test_it_counts_clients_needing_attention_like_the_dashboard(world):
    place(world.clinician, "Europe/London")
    idle = place(world.client, "Europe/London")
    give_plan(idle)  # never practised since January: the dashboard flags them
    busy = place(world.other_client, "Europe/London")
    busy_plan = give_plan(busy)
    for offset in range(7):
        make_completion(busy_plan, WEEK + timedelta(days=offset))
    week = caseload_week(clinician=world.clinician, monday=WEEK, now=utc(2026, 5, 11, 15, 0))
    assert (week.clients, week.practised, week.needing_attention) == (2, 1, 1)
    flagged = {row.client.pk for row in week.rows if row.needs_attention}
    assert flagged == {idle.pk}


def test_it_puts_the_figures_in_the_client_email(practised_world):
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    row = Notification.objects.get(kind=Kind.WEEKLY_CLIENT, recipient=practised_world.other_client)
    message = notification_render(row)
    week = client_week(client=practised_world.other_client, monday=WEEK)
    assert f"you practised on {week.practice_days} day" in message.body
    assert f"{week.done} of the {week.planned} practices in your plan" in message.body
    assert f"{week.minutes} minutes in all" in message.body
    assert "/portal/weeks/2026-05-04/" in message.body


def test_it_puts_the_figures_in_the_clinician_email(practised_world):
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    row = Notification.objects.get(kind=Kind.WEEKLY_CLINICIAN)
    message = notification_render(row)
    week = caseload_week(clinician=practised_world.clinician, monday=WEEK)
    assert f"{week.practised} of your {week.clients} clients practised" in message.body
    assert "/clinician/weeks/2026-05-04/" in message.body


def test_it_counts_urgent_flags_in_the_clinician_email_without_saying_why(practised_world):
    from measures.models import RiskFlag

    answer = make_measure_response(
        client=practised_world.client,
        instrument="PHQ-9",
        answers=dict.fromkeys(range(1, 10), 1),
    )
    RiskFlag.objects.create(client=practised_world.client, response=answer, item=9)
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    message = notification_render(Notification.objects.get(kind=Kind.WEEKLY_CLINICIAN))
    assert "1 client has an urgent flag not yet acknowledged." in message.body
    for body in [message.body, message.alternatives[0][0]]:
        assert "PHQ" not in body and "question 9" not in body and "threshold" not in body


def test_it_leaves_the_urgent_line_out_when_no_flag_is_open(practised_world):
    weekly_summaries_create_due(now=utc(2026, 5, 11, 15, 0))
    message = notification_render(Notification.objects.get(kind=Kind.WEEKLY_CLINICIAN))
    assert "urgent flag" not in message.body
