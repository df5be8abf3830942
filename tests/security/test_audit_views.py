"""Audit on view: every time a clinician or admin reads a client's logs, reflections,
progress or export, the trail records who, what and when, and never the text itself."""

from datetime import date

import pytest
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from audit.models import AuditEvent
from homework.models import Completion
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion, make_measure_response

CANARY = "canary-view-2a9e I was so hard on myself today"


@pytest.fixture
def logs(world) -> list[Completion]:
    mine = make_completion(
        make_assignment(world.client), date(2026, 1, 6), reflection=CANARY, answers={"m": CANARY}
    )
    theirs = make_completion(make_assignment(world.other_client), date(2026, 1, 6))
    return [mine, theirs]


def api_as(user) -> APIClient:
    browser = APIClient()
    _instance, token = AuthToken.objects.create(user=user)
    browser.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return browser


def views() -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action="view")
        .order_by("id")
        .values_list("actor_id", "object_type", "object_id", "client_id")
    )


def assert_no_text_in_trail() -> None:
    everything = " ".join(str(row) for row in AuditEvent.objects.values_list())
    assert CANARY not in everything
    assert "hard on myself" not in everything


def test_it_records_a_clinicians_look_at_the_client_page(world, logs):
    before = AuditEvent.objects.count()
    page = world.login(world.clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert page.status_code == 200
    assert CANARY in page.content.decode()  # the clinician did see the shared reflection
    assert views() == [(world.clinician.pk, "accounts.user", str(world.client.pk), world.client.pk)]
    event = AuditEvent.objects.get(action="view")
    assert event.ip_address == "127.0.0.1"
    assert AuditEvent.objects.count() == before + 1
    assert_no_text_in_trail()


def test_it_records_nothing_for_a_refused_look(world, logs):
    colleagues = make_client("robin@client.test", world.colleague)
    world.login(world.clinician).get(reverse("homework:client-detail", args=[colleagues.pk]))
    world.login(world.stranger_clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert views() == []


def test_it_does_not_record_a_clients_look_at_their_own_record(world, logs):
    browser = world.login(world.client)
    browser.get(reverse("homework:history"))
    api_as(world.client).get("/api/v1/completions/")
    api_as(world.client).get(f"/api/v1/completions/{logs[0].pk}/")
    assert views() == []


def test_it_records_the_api_list_once_per_client_shown(world, logs):
    more = make_completion(logs[0].assignment, date(2026, 1, 7), reflection=CANARY)
    response = api_as(world.clinician).get("/api/v1/completions/")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {logs[0].pk, logs[1].pk, more.pk}
    assert sorted(views()) == sorted(
        [
            (world.clinician.pk, "homework.completion", "", world.client.pk),
            (world.clinician.pk, "homework.completion", "", world.other_client.pk),
        ]
    )
    assert_no_text_in_trail()


def test_it_records_the_api_detail_and_progress(world, logs):
    browser = api_as(world.clinician)
    assert browser.get(f"/api/v1/completions/{logs[0].pk}/").status_code == 200
    assert browser.get(f"/api/v1/clients/{world.client.pk}/progress/").status_code == 200
    assert views() == [
        (world.clinician.pk, "homework.completion", str(logs[0].pk), world.client.pk),
        (world.clinician.pk, "accounts.user", str(world.client.pk), world.client.pk),
    ]
    assert_no_text_in_trail()


def test_it_records_nothing_when_the_api_refuses(world, logs):
    browser = api_as(world.stranger_clinician)
    assert browser.get(f"/api/v1/completions/{logs[0].pk}/").status_code == 404
    assert browser.get(f"/api/v1/clients/{world.client.pk}/progress/").status_code == 404
    assert views() == []


def test_it_shows_the_clinicians_look_on_the_clients_privacy_page(world, logs):
    world.login(world.clinician).get(reverse("homework:client-detail", args=[world.client.pk]))
    api_as(world.clinician).get(f"/api/v1/completions/{logs[0].pk}/")
    page = world.login(world.client).get(reverse("audit:record-views")).content.decode()
    # Two looks on one day by one person: one row naming both.
    assert page.count("Dana Clinician") == 1
    assert "2 views" in page
    assert "A practice you logged" in page and "Your record" in page
    other = world.login(world.other_client).get(reverse("audit:record-views")).content.decode()
    assert "Dana Clinician" not in other


def test_it_records_the_api_reads_of_questionnaire_answers(world):
    answered = make_measure_response(
        client=world.client, answers=dict.fromkeys(range(1, 13), 3), local_date=date(2026, 1, 6)
    )
    browser = api_as(world.clinician)
    assert browser.get("/api/v1/measure-responses/").status_code == 200
    assert browser.get(f"/api/v1/measure-responses/{answered.pk}/").status_code == 200
    assert views() == [
        (world.clinician.pk, "measures.measureresponse", "", world.client.pk),
        (world.clinician.pk, "measures.measureresponse", str(answered.pk), world.client.pk),
    ]
    assert (
        api_as(world.stranger_clinician)
        .get(f"/api/v1/measure-responses/{answered.pk}/")
        .status_code
        == 404
    )
    assert len(views()) == 2


def test_it_groups_repeated_views_by_viewer_and_day_and_keeps_every_event(world, logs):
    from datetime import timedelta

    from audit.models import AuditEvent

    browser = world.login(world.clinician)
    for _ in range(14):
        browser.get(reverse("homework:client-detail", args=[world.client.pk]))
    world.login(world.admin).get(reverse("homework:client-detail", args=[world.client.pk]))
    events = AuditEvent.objects.filter(client_id=world.client.pk, action="view")
    assert events.count() == 14  # the admin has no client page; the trail keeps all 14
    # One more view two days ago: a row of its own for that day.
    earlier = events.order_by("id").first()
    AuditEvent.objects.create(
        created_at=earlier.created_at - timedelta(days=2),
        actor=world.clinician,
        actor_role=earlier.actor_role,
        action=earlier.action,
        object_type=earlier.object_type,
        object_id=earlier.object_id,
        client_id=world.client.pk,
    )
    page = world.login(world.client).get(reverse("audit:record-views")).content.decode()
    assert page.count("Dana Clinician") == 2
    assert "14 views" in page
    assert "(14 times)" in page
