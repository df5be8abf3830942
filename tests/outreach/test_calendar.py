"""The private practice calendar: a real iCalendar parser reads it, DST is honoured, and a
revoked or replaced address answers 404."""

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from outreach.calendar import calendar_feed_create, practice_calendar
from outreach.models import CalendarFeed
from tests.factories import make_assignment, make_exercise

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def feed_path(token: str) -> str:
    return reverse("outreach:calendar-feed", args=[token])


def parse(content: bytes) -> Calendar:
    return Calendar.from_ical(content)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def occurrences(event, *, until: datetime) -> list[datetime]:
    """Expand the event's RRULE from its DTSTART, as a calendar app would."""
    start = event.decoded("dtstart")
    rule = rrulestr(event["rrule"].to_ical().decode(), dtstart=start)
    return list(rule.between(start - timedelta(seconds=1), until, inc=True))


@pytest.fixture
def new_york(world):
    world.client.timezone = "America/New_York"
    world.client.save()
    return world.client


def test_it_makes_a_secret_address_and_keeps_only_its_hash(world):
    browser = world.login(world.client)
    assert "Make my calendar address" in browser.get(reverse("outreach:calendar")).text
    page = browser.post(reverse("outreach:calendar-create"))
    assert page.status_code == 200
    feed = CalendarFeed.objects.get()
    url = page.context["new_url"]
    token = url.rsplit("/", 1)[-1].removesuffix(".ics")
    assert len(token) == 43  # 32 random bytes, URL-safe base64 without padding
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in feed.token_hash
    assert url in page.text
    assert "webcal://" in page.text
    # Shown once: the page afterwards no longer holds it.
    assert token not in browser.get(reverse("outreach:calendar")).text


def test_it_serves_a_feed_a_real_parser_reads_with_only_practice_time_as_title(world, new_york):
    exercise = make_exercise(title="Compassionate letter to my inner critic", typical_minutes=15)
    make_assignment(
        new_york,
        exercise,
        note="Remember the argument with your sister",
        start_date=date(2026, 3, 1),
        reminder_time=time(18, 0),
    )
    _, token = calendar_feed_create(client=new_york)
    response = world.login(None).get(feed_path(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"].startswith("private")
    calendar = parse(response.content)
    assert calendar["version"] == "2.0"
    [event] = events(calendar)
    assert str(event["summary"]) == "Practice time"
    assert event.decoded("duration") == timedelta(minutes=15)
    text = response.content.decode()
    for clinical in ("Compassionate letter", "inner critic", "sister", "Alex", "alex@"):
        assert clinical not in text
    assert [str(c["summary"]) for c in calendar.walk() if "summary" in c] == ["Practice time"]


def test_it_honours_daylight_saving_in_the_clients_zone(world, new_york):
    make_assignment(new_york, start_date=date(2026, 3, 1), reminder_time=time(18, 0))
    calendar = parse(practice_calendar(client=new_york, now=NOW))
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["tzid"]) == "America/New_York"
    [event] = events(calendar)
    assert event["dtstart"].params["TZID"] == "America/New_York"
    assert str(event["rrule"].to_ical().decode()) == "FREQ=DAILY"
    days = {
        moment.date(): moment.astimezone(UTC)
        for moment in occurrences(event, until=datetime(2026, 3, 10, tzinfo=UTC))
    }
    # 18:00 EST is 23:00 UTC; from 8 March (clocks go forward) 18:00 EDT is 22:00 UTC.
    assert days[date(2026, 3, 7)] == datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    assert days[date(2026, 3, 8)] == datetime(2026, 3, 8, 22, 0, tzinfo=UTC)
    assert days[date(2026, 3, 9)] == datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
    # In autumn, back to 23:00 UTC after 1 November.
    autumn = {
        m.date(): m.astimezone(UTC)
        for m in occurrences(event, until=datetime(2026, 11, 3, tzinfo=UTC))
    }
    assert autumn[date(2026, 10, 31)] == datetime(2026, 10, 31, 22, 0, tzinfo=UTC)
    assert autumn[date(2026, 11, 1)] == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)


def test_it_uses_the_clients_preferred_time_in_their_own_zone(world):
    world.client.client_profile.reminder_time = time(7, 30)
    world.client.client_profile.save()
    make_assignment(world.client, start_date=date(2026, 3, 28), reminder_time=None)
    [event] = events(parse(practice_calendar(client=world.client, now=NOW)))
    start = event.decoded("dtstart")
    assert start.tzinfo == ZoneInfo("Europe/London")
    assert (start.date(), start.time()) == (date(2026, 3, 28), time(7, 30))
    days = {
        m.date(): m.astimezone(UTC)
        for m in occurrences(event, until=datetime(2026, 3, 31, tzinfo=UTC))
    }
    # London springs forward on 29 March 2026: 07:30 GMT, then 07:30 BST (06:30 UTC).
    assert days[date(2026, 3, 28)] == datetime(2026, 3, 28, 7, 30, tzinfo=UTC)
    assert days[date(2026, 3, 29)] == datetime(2026, 3, 29, 6, 30, tzinfo=UTC)


def test_it_repeats_on_chosen_weekdays_and_stops_at_the_end_date(world, new_york):
    make_assignment(
        new_york,
        schedule_kind="weekdays",
        weekdays=0b0010101,  # Monday, Wednesday, Friday
        start_date=date(2026, 3, 1),  # a Sunday: the first event is Monday 2 March
        end_date=date(2026, 3, 13),
        reminder_time=time(9, 0),
    )
    [event] = events(parse(practice_calendar(client=new_york, now=NOW)))
    rule = event["rrule"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["BYDAY"] == ["MO", "WE", "FR"]
    # UNTIL is in UTC, as RFC 5545 asks when DTSTART has a time zone.
    assert rule["UNTIL"][0] == datetime(2026, 3, 13, 13, 0, tzinfo=UTC)
    dates = [m.date() for m in occurrences(event, until=datetime(2026, 4, 30, tzinfo=UTC))]
    assert dates == [
        date(2026, 3, 2),
        date(2026, 3, 4),
        date(2026, 3, 6),
        date(2026, 3, 9),
        date(2026, 3, 11),
        date(2026, 3, 13),
    ]


def test_it_suggests_spread_days_for_n_times_a_week(world):
    make_assignment(
        world.client, schedule_kind="times_per_week", times_per_week=3, start_date=date(2026, 3, 3)
    )
    [event] = events(parse(practice_calendar(client=world.client, now=NOW)))
    assert event["rrule"]["BYDAY"] == ["MO", "WE", "FR"]
    assert event.decoded("dtstart").date() == date(2026, 3, 4)
    assert "suggested days" in str(event["description"])


def test_it_leaves_out_paused_ended_and_finished_plans(world):
    make_assignment(world.client, status="paused", start_date=date(2026, 2, 1))
    make_assignment(world.client, status="ended", start_date=date(2026, 2, 1))
    make_assignment(world.client, start_date=date(2026, 2, 1), end_date=date(2026, 2, 20))
    running = make_assignment(world.client, start_date=date(2026, 2, 1))
    [event] = events(parse(practice_calendar(client=world.client, now=NOW)))
    assert str(event["uid"]).startswith(f"practice-{running.pk}@")


def test_it_revokes_the_address_so_it_answers_404(world):
    make_assignment(world.client)
    _, token = calendar_feed_create(client=world.client)
    anonymous = world.login(None)
    assert anonymous.get(feed_path(token)).status_code == 200
    browser = world.login(world.client)
    assert browser.post(reverse("outreach:calendar-revoke")).status_code == 302
    assert anonymous.get(feed_path(token)).status_code == 404
    assert "Make my calendar address" in browser.get(reverse("outreach:calendar")).text


def test_it_replaces_the_address_and_the_old_one_answers_404(world):
    make_assignment(world.client)
    _, old = calendar_feed_create(client=world.client)
    page = world.login(world.client).post(reverse("outreach:calendar-create"))
    new = page.context["new_url"].rsplit("/", 1)[-1].removesuffix(".ics")
    assert new != old
    anonymous = world.login(None)
    assert anonymous.get(feed_path(old)).status_code == 404
    assert anonymous.get(feed_path(new)).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_it_answers_404_for_unknown_tokens_and_closed_accounts(world):
    _, token = calendar_feed_create(client=world.client)
    anonymous = world.login(None)
    assert anonymous.get(feed_path("not-a-real-token")).status_code == 404
    assert anonymous.get(feed_path(token[:-1])).status_code == 404
    assert anonymous.get(feed_path("x" * 200)).status_code == 404
    assert anonymous.post(feed_path(token)).status_code == 405
    world.client.is_active = False
    world.client.save()
    assert anonymous.get(feed_path(token)).status_code == 404


def test_it_notes_when_a_calendar_app_last_read_the_feed(world):
    feed, token = calendar_feed_create(client=world.client)
    assert feed.last_used_at is None
    before = timezone.now()
    world.login(None).get(feed_path(token))
    feed.refresh_from_db()
    assert before <= feed.last_used_at <= timezone.now()


def test_it_refuses_the_calendar_pages_to_everyone_but_the_client(world):
    pages = [
        ("get", reverse("outreach:calendar")),
        ("post", reverse("outreach:calendar-create")),
        ("post", reverse("outreach:calendar-revoke")),
    ]
    for method, url in pages:
        anonymous = getattr(world.login(None), method)(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith(reverse("accounts:login"))
        for other in (world.clinician, world.admin):
            assert getattr(world.login(other), method)(url).status_code == 403
    assert world.login(world.client).get(reverse("outreach:calendar-create")).status_code == 405
    assert not CalendarFeed.objects.exists()


def test_it_keeps_each_clients_address_their_own(world):
    _, mine = calendar_feed_create(client=world.client)
    world.login(world.other_client).post(reverse("outreach:calendar-revoke"))
    assert world.login(None).get(feed_path(mine)).status_code == 200
    with pytest.raises(ValueError):
        calendar_feed_create(client=world.clinician)


@pytest.mark.parametrize("plans", [1, 15])
def test_it_serves_the_feed_in_a_fixed_number_of_queries(
    world, plans, django_assert_max_num_queries
):
    for _ in range(plans):
        make_assignment(world.client, make_exercise())
    _, token = calendar_feed_create(client=world.client)
    anonymous = world.login(None)
    # feed + its client, last-used update, the plans.
    with django_assert_max_num_queries(4):
        response = anonymous.get(feed_path(token))
    assert len(events(parse(response.content))) == plans
