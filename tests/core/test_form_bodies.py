"""Portal pages: a body no browser form sends is a 400, never read as an empty form;
text and dates follow the same rules and messages as the API."""

import pytest
from django.urls import reverse

from core.validation import DATE_RANGE_MESSAGE, TEXT_MESSAGE
from homework.models import Assignment, Completion
from tests.factories import local_today, make_assignment, make_exercise

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(world):
    return make_assignment(world.client, make_exercise(world.clinic))


def log_url(assignment) -> str:
    return reverse("homework:log", args=[assignment.pk])


def test_a_valid_form_still_logs_practice(world, assignment):
    response = world.login(world.client).post(log_url(assignment), {"minutes": "7"})
    assert response.status_code == 302
    assert Completion.objects.get().minutes == 7


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"minutes": 7}', "application/json"),
        (b"minutes=7", "text/plain"),
        (b"minutes=7&reflection=%FF%FE", "application/x-www-form-urlencoded"),
        (b"minutes=7&reflection=\xff\xfe", "application/x-www-form-urlencoded"),
        (
            b'--XyZ\r\nContent-Disposition: form-data; name="minutes"\r\n\r\n7\r\n--XyZ',
            "multipart/form-data; boundary=XyZ",
        ),
        (b"--XyZ\r\nContent-Disposition: form-data; na", "multipart/form-data; boundary=XyZ"),
        (b"minutes=7", "multipart/form-data"),
    ],
)
def test_it_refuses_bodies_no_form_sends_and_writes_nothing(world, assignment, body, content_type):
    response = world.login(world.client).post(
        log_url(assignment), data=body, content_type=content_type
    )
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert not Completion.objects.exists()


def test_an_empty_post_is_not_mistaken_for_a_broken_one(world, assignment):
    # The test client sends a multipart body with only its closing boundary.
    response = world.login(world.client).post(log_url(assignment))
    assert response.status_code == 400  # the form's own answer: minutes are required
    assert "Minutes" in response.content.decode() or "minutes" in response.content.decode()
    assert not Completion.objects.exists()


@pytest.mark.parametrize("text", ["bad\x00text", "\u202eevil", "esc\x1b[31m"])
def test_the_portal_refuses_the_same_text_with_the_same_message(world, assignment, text):
    response = world.login(world.client).post(
        log_url(assignment), {"minutes": "7", "reflection": text}
    )
    assert response.status_code == 400
    assert TEXT_MESSAGE in response.context["form"].errors["reflection"]
    assert not Completion.objects.exists()


def test_the_portal_keeps_emoji_and_combining_marks(world, assignment):
    text = "Gentle 💛 with myself, cafe\u0301 🧘🏽‍♀️"
    response = world.login(world.client).post(
        log_url(assignment), {"minutes": "7", "reflection": text}
    )
    assert response.status_code == 302
    assert Completion.objects.get().reflection == text


def test_text_without_a_limit_of_its_own_is_still_bounded(world, assignment):
    response = world.login(world.client).post(
        log_url(assignment), {"minutes": "7", "reflection": "x" * 100_000}
    )
    assert response.status_code == 400
    assert not Completion.objects.exists()


@pytest.mark.parametrize("day", ["9999-12-30", "0001-01-01", "2101-01-01"])
def test_the_assignment_form_refuses_dates_outside_the_range(world, day):
    exercise = make_exercise(world.clinic)
    url = reverse("homework:assignment-create", args=[world.client.pk])
    response = world.login(world.clinician).post(
        url,
        {
            "exercise": exercise.pk,
            "schedule_kind": "daily",
            "start_date": day,
            "times_per_week": "",
        },
    )
    assert response.status_code in (200, 400)
    assert DATE_RANGE_MESSAGE in response.context["form"].errors["start_date"]
    assert not Assignment.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/portal/weeks/0001-01-01/",
        "/portal/weeks/9999-12-31/",
        "/portal/weeks/1999-12-27/",
        "/portal/weeks/+2026-01-05/",
        "/portal/weeks/20260105/",
    ],
)
def test_week_pages_outside_the_range_are_not_found(world, path):
    assert world.login(world.client).get(path).status_code == 404
    clinician_path = path.replace("/portal/", "/clinician/")
    assert world.login(world.clinician).get(clinician_path).status_code == 404


def test_a_week_page_inside_the_range_still_shows(world):
    monday = local_today(world.client)
    monday = monday.fromordinal(monday.toordinal() - monday.weekday())
    assert world.login(world.client).get(f"/portal/weeks/{monday}/").status_code == 200
