"""Backdraft: a practice that stirs up something hard gets a gentle grounding page.

Shown when distress after is at least 2 points above before, or when the client ticks
"this stirred up something hard". From there the client may let their clinician know:
one content-free email and a reason on the caseload.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from homework.models import Completion
from homework.selectors.progress import caseload_for_clinician
from notifications.models import Notification
from tests.factories import local_today, make_assignment, make_completion
from tests.homework.test_portal import log_data


@pytest.fixture
def assignment(world):
    return make_assignment(world.client, start_date=local_today(world.client) - timedelta(days=7))


def log(world, assignment, **overrides):
    return world.login(world.client).post(
        reverse("homework:log", args=[assignment.pk]), log_data(**overrides)
    )


def grounding_url(completion: Completion) -> str:
    return reverse("homework:grounding", args=[completion.pk])


def test_it_goes_back_to_today_when_distress_rose_by_one(world, assignment):
    response = log(world, assignment, rating_distress_before="4", rating_distress_after="5")
    assert response["Location"] == reverse("homework:today")


def test_it_offers_the_grounding_page_when_distress_rose_by_two(world, assignment):
    response = log(world, assignment, rating_distress_before="4", rating_distress_after="6")
    completion = Completion.objects.get()
    assert response["Location"] == grounding_url(completion)
    assert not completion.stirred_up


def test_it_offers_the_grounding_page_when_the_client_ticks_the_box(world, assignment):
    response = log(world, assignment, stirred_up="on")
    completion = Completion.objects.get()
    assert completion.stirred_up
    assert response["Location"] == grounding_url(completion)


def test_it_words_the_grounding_page_gently_with_the_clinics_resources(world, assignment):
    world.clinic.crisis_text = "Harbour duty line."
    world.clinic.save()
    completion = make_completion(assignment, local_today(world.client), stirred_up=True)
    page = world.login(world.client).get(grounding_url(completion)).content.decode()
    assert "It is not a failure" in page
    assert "Something soothing to try now" in page
    assert "Harbour duty line." in page
    assert "Let my clinician know" in page
    for unkind in ("wrong with you", "should have", "cure", "will fix"):
        assert unkind not in page


def test_it_lets_the_clinician_know_once_with_no_clinical_content(
    world, assignment, django_capture_on_commit_callbacks
):
    completion = make_completion(
        assignment,
        local_today(world.client),
        distress_before=2,
        distress_after=8,
        reflection="REFLECTION-CANARY",
    )
    browser = world.login(world.client)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(grounding_url(completion))
        browser.post(grounding_url(completion))
    assert response.status_code == 302
    completion.refresh_from_db()
    assert completion.clinician_told_at is not None
    [row] = Notification.objects.filter(kind="practice_hard")
    assert row.context == {"client_id": world.client.pk}
    [message] = mail.outbox
    assert message.to == [world.clinician.email]
    for body in [message.subject, message.body, message.alternatives[0][0]]:
        for canary in ("REFLECTION-CANARY", "Alex", "distress", "Self-compassion"):
            assert canary not in body
    assert (
        "Your clinician will see that this practice was hard."
        in browser.get(grounding_url(completion)).content.decode()
    )
    row = next(
        r for r in caseload_for_clinician(clinician=world.clinician) if r.client == world.client
    )
    assert any("it stirred up something hard" in reason for reason in row.reasons)
    client_page = world.login(world.clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert "The client asked you to look at this log" in client_page.content.decode()


def test_it_keeps_the_caseload_quiet_until_the_client_asks(world, assignment):
    make_completion(assignment, local_today(world.client), stirred_up=True)
    row = next(
        r for r in caseload_for_clinician(clinician=world.clinician) if r.client == world.client
    )
    assert not any("stirred up" in reason for reason in row.reasons)


@pytest.mark.parametrize("who", ["other_client", "stranger_client"])
def test_it_answers_another_client_as_if_the_log_did_not_exist(world, assignment, who):
    completion = make_completion(assignment, local_today(world.client), stirred_up=True)
    browser = world.login(getattr(world, who))
    assert browser.get(grounding_url(completion)).status_code == 404
    assert browser.post(grounding_url(completion)).status_code == 404
    completion.refresh_from_db()
    assert completion.clinician_told_at is None


@pytest.mark.parametrize("who", ["clinician", "colleague", "stranger_clinician"])
def test_it_refuses_clinicians_the_clients_grounding_page(world, assignment, who):
    completion = make_completion(assignment, local_today(world.client), stirred_up=True)
    assert world.login(getattr(world, who)).post(grounding_url(completion)).status_code == 403
    completion.refresh_from_db()
    assert completion.clinician_told_at is None


def test_it_sends_an_anonymous_visitor_to_log_in(world, assignment):
    completion = make_completion(assignment, local_today(world.client))
    response = world.login(None).get(grounding_url(completion))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_takes_the_tick_through_the_api(world, assignment):
    api = APIClient()
    api.force_authenticate(world.client)
    created = api.post(
        "/api/v1/completions/",
        {"assignment": assignment.pk, "minutes": 5, "stirred_up": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["stirred_up"] is True
    assert Completion.objects.get().stirred_up
    refused = api.post(
        "/api/v1/completions/",
        {"assignment": assignment.pk, "minutes": 5, "stirred_up": "maybe"},
        format="json",
    )
    assert refused.status_code == 400 and "stirred_up" in refused.json()
