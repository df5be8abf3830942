"""Plans at the very edges of what `datetime.date` holds (written before the product's
date range was enforced, or by hand): every page, feed, export and API read that shows
them still answers, and no date arithmetic overflows."""

from datetime import date

import pytest
from django.urls import reverse

from homework.models import Assignment, ScheduleKind
from outreach.calendar import calendar_feed_create
from tests.api.conftest import client_with_token, token_for
from tests.factories import make_exercise

pytestmark = pytest.mark.django_db

EDGES = [
    (date(9999, 12, 30), None),
    (date(9999, 12, 25), date(9999, 12, 31)),
    (date(1, 1, 1), date(1, 1, 8)),
    (date(1, 1, 1), None),
]


@pytest.fixture(params=EDGES, ids=lambda edge: f"{edge[0]}..{edge[1]}")
def edge_world(request, world):
    start, end = request.param
    exercise = make_exercise(world.clinic)
    for kind, extra in [
        (ScheduleKind.DAILY, {}),
        (ScheduleKind.WEEKDAYS, {"weekdays": 0b1010101}),
        (ScheduleKind.TIMES_PER_WEEK, {"times_per_week": 3}),
    ]:
        # bulk_create skips model validation on purpose: this is data from before the rules.
        Assignment.objects.bulk_create(
            [
                Assignment(
                    client=world.client,
                    clinician=world.clinician,
                    exercise=exercise,
                    schedule_kind=kind,
                    start_date=start,
                    end_date=end,
                    **extra,
                )
            ]
        )
    return world


CLIENT_PAGES = [
    "homework:today",
    "homework:moment",
    "homework:history",
    "homework:progress",
    "homework:phrases",
    "outreach:reminder-preferences",
    "outreach:calendar",
    "records:export",
]
CLIENT_API = [
    "api:v1:today",
    "api:v1:me-progress",
    "api:v1:assignment-list",
    "api:v1:me-export",
    "api:v1:me-measures",
    "api:v1:me-what-helps",
]
CLINICIAN_API = ["api:v1:client-list", "api:v1:assignment-list", "api:v1:what-helps"]


def test_client_pages_and_api_answer(edge_world):
    browser = edge_world.login(edge_world.client)
    for name in CLIENT_PAGES:
        response = browser.get(reverse(name))
        assert response.status_code < 500, name
    api = client_with_token(token_for(edge_world.client))
    for name in CLIENT_API:
        assert api.get(reverse(name)).status_code < 500, name


def test_clinician_pages_and_api_answer(edge_world):
    browser = edge_world.login(edge_world.clinician)
    for url in [
        reverse("homework:dashboard"),
        reverse("homework:client-detail", args=[edge_world.client.pk]),
    ]:
        assert browser.get(url).status_code < 500, url
    for assignment in Assignment.objects.all():
        url = reverse("homework:assignment-edit", args=[assignment.pk])
        assert browser.get(url).status_code < 500, url
    api = client_with_token(token_for(edge_world.clinician))
    for name in CLINICIAN_API:
        assert api.get(reverse(name)).status_code < 500, name
    export = api.get(reverse("api:v1:exports"), {"client": edge_world.client.pk})
    assert export.status_code < 500


def test_the_calendar_feed_answers(edge_world, client):
    _feed, token = calendar_feed_create(client=edge_world.client)
    response = client.get(reverse("outreach:calendar-feed", args=[token]))
    assert response.status_code == 200
    assert b"BEGIN:VCALENDAR" in response.content
