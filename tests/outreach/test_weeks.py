"""The week pages the summaries link to: who gets in, what they see, constant queries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from homework.schedule import local_date, week_start
from outreach.summaries import caseload_week, client_week
from tests.factories import (
    make_assignment,
    make_clients,
    make_completion,
    make_exercise,
)

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def last_monday(user: User) -> date:
    """The Monday of the last whole week in the user's zone."""
    return week_start(local_date(timezone.now(), user.zone)) - timedelta(days=7)


def practise(client: User, title: str, days: list[date], minutes: int = 10):
    assignment = make_assignment(
        client,
        make_exercise(client.clinic, title=title),
        created_at=LONG_AGO,
        start_date=date(2026, 1, 5),
    )
    for day in days:
        make_completion(assignment, day, minutes=minutes)
    return assignment


@pytest.fixture
def week_world(world):
    monday = last_monday(world.client)
    practise(world.client, "Alex's breathing space", [monday, monday + timedelta(days=2)], 12)
    practise(world.other_client, "Blair's kind letter", [monday + timedelta(days=1)])
    practise(world.stranger_client, "Casey's soothing touch", [monday])
    return world, monday


def client_url(monday: date) -> str:
    return reverse("outreach:client-week", args=[monday.isoformat()])


def clinician_url(monday: date) -> str:
    return reverse("outreach:clinician-week", args=[monday.isoformat()])


# --- The client's week ---


def test_it_shows_the_client_their_own_week(week_world):
    world, monday = week_world
    response = world.login(world.client).get(client_url(monday))
    assert response.status_code == 200
    week = client_week(client=world.client, monday=monday)
    assert "Alex&#x27;s breathing space" in response.text
    assert f"You practised on <strong>{week.practice_days} days</strong>" in response.text
    assert f"{week.minutes} minutes in all" in response.text
    assert week.minutes == 24
    # Nobody else's practice.
    assert "Blair" not in response.text and "Casey" not in response.text
    assert '<th scope="col">' in response.text  # the table has headers for screen readers
    assert "<svg" in response.text  # the minutes chart


def test_it_moves_any_day_to_the_monday_of_its_week(week_world):
    world, monday = week_world
    response = world.login(world.client).get(client_url(monday + timedelta(days=3)))
    assert response.status_code == 302
    assert response["Location"] == client_url(monday)


@pytest.mark.parametrize("value", ["2026-13-45", "yesterday", "2026-5-4x"])
def test_it_answers_404_for_a_date_that_is_not_one(week_world, value):
    world, _ = week_world
    url = reverse("outreach:client-week", args=[value])
    assert world.login(world.client).get(url).status_code == 404


def test_it_answers_404_for_a_week_that_has_not_begun(week_world):
    world, monday = week_world
    future = client_url(monday + timedelta(days=14))
    assert world.login(world.client).get(future).status_code == 404
    current = client_url(monday + timedelta(days=7))
    assert world.login(world.client).get(current).status_code == 200


def test_it_sends_anonymous_visitors_to_login(week_world):
    world, monday = week_world
    for url in [client_url(monday), clinician_url(monday)]:
        response = world.login(None).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["clinician", "stranger_clinician", "admin"])
def test_it_refuses_the_client_week_to_other_roles(week_world, who):
    world, monday = week_world
    assert world.login(getattr(world, who)).get(client_url(monday)).status_code == 403


@pytest.mark.parametrize("who", ["client", "other_client", "stranger_client", "admin"])
def test_it_refuses_the_clinician_week_to_other_roles(week_world, who):
    world, monday = week_world
    assert world.login(getattr(world, who)).get(clinician_url(monday)).status_code == 403


def test_it_shows_another_client_only_their_own_week(week_world):
    world, monday = week_world
    response = world.login(world.stranger_client).get(client_url(monday))
    assert response.status_code == 200
    assert "Casey&#x27;s soothing touch" in response.text
    assert "Alex" not in response.text and "Blair" not in response.text


def test_it_reads_the_client_week_in_constant_queries(world, django_assert_max_num_queries):
    monday = last_monday(world.client)
    browser = world.login(world.client)
    practise(world.client, "One", [monday])
    with django_assert_max_num_queries(12) as few:
        browser.get(client_url(monday))
    for index in range(6):
        practise(world.client, f"More {index}", [monday + timedelta(days=d) for d in range(5)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert browser.get(client_url(monday)).status_code == 200


# --- The clinician's week ---


def test_it_shows_the_clinician_their_caseload_week(week_world):
    world, monday = week_world
    response = world.login(world.clinician).get(clinician_url(monday))
    assert response.status_code == 200
    week = caseload_week(clinician=world.clinician, monday=monday)
    assert f"{week.practised} of {week.clients} clients" in response.text
    assert week.practised == 2
    assert world.client.full_name in response.text
    assert world.other_client.full_name in response.text
    assert world.stranger_client.full_name not in response.text
    assert reverse("homework:client-detail", args=[world.client.pk]) in response.text


def test_it_shows_a_colleague_none_of_anothers_caseload(week_world):
    world, monday = week_world
    response = world.login(world.colleague).get(clinician_url(monday))
    assert response.status_code == 200
    assert "No clients on your caseload yet" in response.text
    assert world.client.full_name not in response.text


def test_it_shows_the_other_clinic_none_of_this_caseload(week_world):
    world, monday = week_world
    response = world.login(world.stranger_clinician).get(clinician_url(monday))
    assert response.status_code == 200
    assert world.stranger_client.full_name in response.text
    assert world.client.full_name not in response.text
    assert world.other_client.full_name not in response.text


def _add_clients(clinician: User, count: int, monday: date) -> None:
    for user in make_clients(clinician, count):
        practise(user, "Practice", [monday, monday + timedelta(days=1)])


def test_it_reads_the_caseload_week_in_constant_queries(week_world, django_assert_max_num_queries):
    world, monday = week_world
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(20) as few:
        browser.get(clinician_url(monday))
    _add_clients(world.clinician, 12, monday)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = browser.get(clinician_url(monday))
    assert "<strong>14 of 14 clients</strong>" in response.text
