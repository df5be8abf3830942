"""Bad input: a 400 (or the refusal it deserves) with field messages, and nothing written."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Invitation
from homework.models import Assignment, AssignmentEvent, Completion, Exercise, Feedback
from notifications.models import Notification
from tests.api.conftest import ApiWorld
from tests.factories import local_today, make_completion


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Assignment,
            AssignmentEvent,
            Completion,
            Exercise,
            Feedback,
            Invitation,
            Notification,
        )
    }


def messages(value: object) -> list[str]:
    """Every message under a field, however nested (a list, a dict of fields, a list of dicts)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [m for inner in value.values() for m in messages(inner)]
    if isinstance(value, list):
        return [m for inner in value for m in messages(inner)]
    return []


def assert_refused(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    for field in fields:
        assert field in body, (field, body)
        assert messages(body[field]), (field, body)
        assert all(message.strip() for message in messages(body[field])), body
    return body


def new_assignment(api: ApiWorld, **fields) -> dict:
    data = {
        "client": api.world.client.pk,
        "exercise": api.exercise.pk,
        "schedule_kind": "daily",
        "start_date": local_today(api.world.client).isoformat(),
    }
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_date": "2001-01-01"}, "start_date"),
        ({"start_date": "not a date"}, "start_date"),
        ({"schedule_kind": "weekdays", "weekdays": []}, "weekdays"),
        ({"schedule_kind": "weekdays", "weekdays": [7]}, "weekdays"),
        ({"schedule_kind": "times_per_week"}, "times_per_week"),
        ({"schedule_kind": "hourly"}, "schedule_kind"),
        ({"reminder_time": "25:00"}, "reminder_time"),
        ({"reminder_time": "18:30:15"}, "reminder_time"),
        ({"note": "x" * 2001}, "note"),
        ({"end_date": "2001-01-01"}, "end_date"),
        ({"exercise": 999_999_999}, "exercise"),
        ({"client": None}, "client"),
    ],
)
def test_it_refuses_a_bad_assignment_and_writes_nothing(api, change: dict, field: str) -> None:
    before = counts()
    response = api.as_user("clinician").post(
        reverse("api:v1:assignment-list"), new_assignment(api, **change), format="json"
    )
    assert_refused(response, 400, field)
    assert counts() == before


def test_it_gives_another_clinics_client_the_answer_of_an_unknown_one(api) -> None:
    browser = api.as_user("clinician")
    url = reverse("api:v1:assignment-list")
    stranger = browser.post(
        url, new_assignment(api, client=api.world.stranger_client.pk), format="json"
    )
    unknown = browser.post(url, new_assignment(api, client=999_999_999), format="json")
    colleague_client = api.as_user("colleague").post(url, new_assignment(api), format="json")
    assert_refused(stranger, 400, "client")
    assert_refused(colleague_client, 400, "client")
    assert stranger.json()["client"] == [
        message.replace("999999999", str(api.world.stranger_client.pk))
        for message in unknown.json()["client"]
    ]
    assert not Assignment.objects.filter(client=api.world.stranger_client).exists()


def test_it_refuses_another_clinics_exercise_like_an_unknown_one(api) -> None:
    from tests.factories import make_exercise

    theirs = make_exercise(api.world.other_clinic, title="Theirs")
    response = api.as_user("clinician").post(
        reverse("api:v1:assignment-list"), new_assignment(api, exercise=theirs.pk), format="json"
    )
    assert_refused(response, 400, "exercise")
    assert not Assignment.objects.filter(exercise=theirs).exists()


def test_it_refuses_an_edit_of_an_ended_assignment(api) -> None:
    browser = api.as_user("clinician")
    assert (
        browser.post(reverse("api:v1:assignment-end", kwargs={"pk": api.assignment.pk})).status_code
        == 200
    )
    before = counts()
    response = browser.patch(
        reverse("api:v1:assignment-detail", kwargs={"pk": api.assignment.pk}),
        {"note": "again"},
        format="json",
    )
    assert_refused(response, 400, "non_field_errors")
    assert counts() == before


def test_it_refuses_resuming_an_active_assignment(api) -> None:
    before = counts()
    response = api.as_user("clinician").post(
        reverse("api:v1:assignment-resume", kwargs={"pk": api.assignment.pk})
    )
    assert_refused(response, 400, "status")
    assert counts() == before


def new_log(api: ApiWorld, **fields) -> dict:
    data = {"assignment": api.assignment.pk, "minutes": 5}
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"minutes": 601}, "minutes"),
        ({"minutes": -1}, "minutes"),
        ({"minutes": "five"}, "minutes"),
        ({"ratings": {"self_kindness_after": 5}}, "ratings"),  # not asked by the exercise
        ({"ratings": {"distress_before": 11}}, "ratings"),
        ({"answers": {"not_a_prompt": "hello"}}, "answers"),
        ({"answers": {"moment": ["not", "text"]}}, "answers"),
        ({"reflection": "x" * 10_001}, "reflection"),
        ({"reflection_shared": "perhaps"}, "reflection_shared"),
        ({"assignment": None}, "assignment"),
    ],
)
def test_it_refuses_a_bad_log_and_writes_nothing(api, change: dict, field: str) -> None:
    Completion.objects.all().delete()
    before = counts()
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"), new_log(api, **change), format="json"
    )
    assert_refused(response, 400, field)
    assert counts() == before


def test_it_refuses_a_log_for_a_paused_plan(api) -> None:
    before = counts()
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"),
        new_log(api, assignment=api.paused_assignment.pk),
        format="json",
    )
    body = assert_refused(response, 400, "non_field_errors")
    assert "paused" in body["non_field_errors"][0]
    assert counts() == before


def test_it_refuses_a_log_for_someone_elses_assignment_like_an_unknown_one(api) -> None:
    from tests.factories import make_assignment

    theirs = make_assignment(api.world.other_client, api.exercise)
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"), new_log(api, assignment=theirs.pk), format="json"
    )
    assert_refused(response, 400, "assignment")
    assert not Completion.objects.filter(assignment=theirs).exists()


def test_it_keeps_an_earlier_days_log_as_it_was(api) -> None:
    yesterday = local_today(api.world.client) - timedelta(days=1)
    old = make_completion(api.assignment, yesterday, minutes=3)
    response = api.as_user("client").patch(
        reverse("api:v1:completion-detail", kwargs={"pk": old.pk}), {"minutes": 9}, format="json"
    )
    assert_refused(response, 403, "detail")
    old.refresh_from_db()
    assert old.minutes == 3


def test_it_refuses_a_bad_correction_and_keeps_the_log(api) -> None:
    response = api.as_user("client").patch(
        reverse("api:v1:completion-detail", kwargs={"pk": api.completion.pk}),
        {"minutes": 5, "ratings": {"distress_before": 12}},
        format="json",
    )
    assert_refused(response, 400, "ratings")
    api.completion.refresh_from_db()
    assert api.completion.distress_before == 7


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"steps": []}, "steps"),
        ({"steps": "one step"}, "steps"),
        ({"category": "juggling"}, "category"),
        ({"typical_minutes": 0}, "typical_minutes"),
        ({"ratings": ["happiness"]}, "ratings"),
        ({"prompts": [{"label": ""}]}, "prompts"),
    ],
)
def test_it_refuses_a_bad_exercise_and_writes_nothing(api, change: dict, field: str) -> None:
    data = {
        "title": "Kind letter",
        "category": "self_kindness",
        "summary": "Write to yourself as to a friend.",
        "steps": ["Think of a friend.", "Write."],
        "typical_minutes": 10,
    }
    data.update(change)
    before = counts()
    response = api.as_user("clinician").post(reverse("api:v1:exercise-list"), data, format="json")
    assert_refused(response, 400, field)
    assert counts() == before


def test_it_refuses_to_change_a_builtin_exercise(api) -> None:
    response = api.as_user("clinician").patch(
        reverse("api:v1:exercise-detail", kwargs={"pk": api.builtin.pk}),
        {"title": "Mine now"},
        format="json",
    )
    assert_refused(response, 400, "non_field_errors")
    api.builtin.refresh_from_db()
    assert api.builtin.title != "Mine now"


def test_it_refuses_an_invitation_for_an_existing_account(api) -> None:
    before = counts()
    response = api.as_user("clinician").post(
        reverse("api:v1:invitation-list"), {"email": api.world.other_client.email}, format="json"
    )
    assert_refused(response, 400, "email")
    assert counts() == before


def test_it_refuses_a_revoke_of_a_closed_invitation(api) -> None:
    browser = api.as_user("clinician")
    url = reverse("api:v1:invitation-revoke", kwargs={"pk": api.invitation.pk})
    assert browser.post(url).status_code == 200
    assert_refused(browser.post(url), 400, "non_field_errors")
    assert_refused(
        browser.post(reverse("api:v1:invitation-resend", kwargs={"pk": api.invitation.pk})),
        400,
        "non_field_errors",
    )


def test_it_refuses_empty_feedback(api) -> None:
    before = counts()
    response = api.as_user("clinician").post(
        reverse("api:v1:completion-feedback", kwargs={"pk": api.completion.pk}),
        {"text": "   "},
        format="json",
    )
    assert_refused(response, 400, "text")
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"full_name": "x" * 201}, "full_name"),
    ],
)
def test_it_refuses_a_bad_change_to_me(api, change: dict, field: str) -> None:
    response = api.as_user("client").patch(reverse("api:v1:me"), change, format="json")
    assert_refused(response, 400, field)
    api.world.client.refresh_from_db()
    assert api.world.client.timezone == "Europe/London"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"reminder_time": "7pm"}, "reminder_time"),
        ({"pause_days": 0}, "pause_days"),
        ({"pause_days": 91}, "pause_days"),
        ({"paused_until": "2001-01-01T00:00:00Z"}, "pause"),
        ({"weekly_summary": "sometimes"}, "weekly_summary"),
    ],
)
def test_it_refuses_bad_reminder_preferences(api, change: dict, field: str) -> None:
    profile = api.world.client.client_profile
    before = (profile.reminder_time, profile.quiet_hours_start, profile.reminders_paused_until)
    response = api.as_user("client").patch(reverse("api:v1:me-preferences"), change, format="json")
    assert_refused(response, 400, field)
    profile.refresh_from_db()
    assert (profile.reminder_time, profile.quiet_hours_start, profile.reminders_paused_until) == (
        before
    )


@pytest.mark.parametrize(
    ("route", "query", "field"),
    [
        ("api:v1:assignment-list", "status=finished", "status"),
        ("api:v1:assignment-list", "status=", "status"),
        ("api:v1:assignment-list", "client=abc", "client"),
        ("api:v1:completion-list", "date_from=yesterday", "date_from"),
        ("api:v1:completion-list", "date_from=2026-02-01&date_to=2026-01-01", "date_to"),
        ("api:v1:completion-list", "assignment=999999999", "assignment"),
        ("api:v1:exercise-list", "category=juggling", "category"),
        ("api:v1:exercise-list", "source=everywhere", "source"),
        ("api:v1:exercise-list", "archived=maybe", "archived"),
        ("api:v1:exercise-list", "page=0", "page"),
        ("api:v1:exercise-list", "page=two", "page"),
        ("api:v1:exercise-list", "page_size=101", "page_size"),
        ("api:v1:client-list", "page_size=0", "page_size"),
        # A boolean filter given something else, once read as "no filter" (schema fuzzing).
        ("api:v1:risk-flag-list", "open=null", "open"),
        ("api:v1:risk-flag-list", "open=maybe", "open"),
    ],
)
def test_it_refuses_a_bad_filter_with_a_message(api, route: str, query: str, field: str) -> None:
    response = api.as_user("clinician").get(f"{reverse(route)}?{query}")
    assert_refused(response, 400, field)


@pytest.mark.parametrize("value", ["true", "false"])
def test_it_takes_a_boolean_filter_it_knows(api, value: str) -> None:
    response = api.as_user("clinician").get(f"{reverse('api:v1:risk-flag-list')}?open={value}")
    assert response.status_code == 200


def test_it_refuses_a_filter_naming_someone_elses_client(api) -> None:
    browser = api.as_user("clinician")
    url = reverse("api:v1:completion-list")
    theirs = browser.get(f"{url}?client={api.world.stranger_client.pk}")
    unknown = browser.get(f"{url}?client=999999999")
    assert_refused(theirs, 400, "client")
    assert_refused(unknown, 400, "client")


def test_it_answers_malformed_json_with_a_message(api) -> None:
    before = counts()
    response = api.as_user("clinician").generic(
        "POST", reverse("api:v1:assignment-list"), "{not json", content_type="application/json"
    )
    assert_refused(response, 400, "detail")
    response = api.as_user("clinician").post(
        reverse("api:v1:assignment-list"), {"client": 1}, format="multipart"
    )
    assert response.status_code == 415
    assert counts() == before


def test_it_answers_an_unknown_api_url_with_json(api) -> None:
    for url in ("/api/v1/nothing-here/", "/api/v1/assignments/abc/", "/api/v1/me"):
        response = api.as_user("clinician").post(url, {}, format="json")
        assert_refused(response, 404, "detail")
