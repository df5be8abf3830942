"""Discharge and reopen, and handover to a colleague: pages, services, refusals, audit."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Handover
from audit.models import AuditEvent
from homework.models import Assignment, Completion
from notifications.models import Notification
from tests.factories import local_today, make_assignment, make_completion, make_measure

pytestmark = pytest.mark.django_db


def discharge_url(client) -> str:
    return reverse("homework:client-discharge", args=[client.pk])


def reopen_url(client) -> str:
    return reverse("homework:client-reopen", args=[client.pk])


def handover_url(client) -> str:
    return reverse("homework:handover-offer", args=[client.pk])


# --- discharge and reopen ------------------------------------------------------------


def test_discharge_asks_first_then_ends_everything_and_keeps_the_record(world) -> None:
    today = local_today(world.client)
    plan = make_assignment(world.client, start_date=today)
    paused = make_assignment(world.client, start_date=today, status="paused")
    make_completion(plan, today)
    measure = make_measure(world.client)
    browser = world.login(world.clinician)

    asked = browser.get(discharge_url(world.client))
    assert asked.status_code == 200
    assert "cannot log new practice" in asked.content.decode()
    assert Assignment.objects.filter(status="active").exists()

    done = browser.post(discharge_url(world.client), follow=True)
    text = done.content.decode()
    assert "is discharged. 2 plans ended" in text
    assert "Reopen Alex Client" in text
    assert set(
        Assignment.objects.filter(pk__in=[plan.pk, paused.pk]).values_list("status", flat=True)
    ) == {"ended"}
    measure.refresh_from_db()
    assert measure.status == "ended"
    assert Completion.objects.filter(client=world.client).count() == 1
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.discharged_at is not None
    assert AuditEvent.objects.filter(action="discharge", client_id=world.client.pk).count() == 1

    # The client still logs in and reads their history, and can export it.
    client_browser = world.login(world.client)
    assert client_browser.get(reverse("homework:history")).status_code == 200
    assert client_browser.get(reverse("homework:today")).status_code == 200


def test_a_discharged_client_cannot_log_new_practice(world) -> None:
    plan = make_assignment(world.client, start_date=local_today(world.client))
    world.login(world.clinician).post(discharge_url(world.client))
    response = world.login(world.client).post(
        reverse("homework:log", args=[plan.pk]), {"minutes": "5"}
    )
    assert response.status_code in (200, 400, 403, 404)
    assert not Completion.objects.filter(client=world.client).exists()


def test_reopen_lets_the_clinician_assign_again_and_is_audited(world) -> None:
    browser = world.login(world.clinician)
    browser.post(discharge_url(world.client))
    done = browser.post(reopen_url(world.client), follow=True)
    assert "open again" in done.content.decode()
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.discharged_at is None
    assert AuditEvent.objects.filter(action="reopen", client_id=world.client.pk).count() == 1
    page = browser.get(reverse("homework:client-detail", args=[world.client.pk])).content.decode()
    assert "Discharge" in page


def test_discharging_twice_or_reopening_an_open_record_says_so(world) -> None:
    browser = world.login(world.clinician)
    text = browser.post(reopen_url(world.client), follow=True).content.decode()
    assert "This client is not discharged." in text
    browser.post(discharge_url(world.client))
    text = browser.post(discharge_url(world.client), follow=True).content.decode()
    assert "already discharged" in text
    assert AuditEvent.objects.filter(action="discharge").count() == 1


@pytest.mark.parametrize("who", ["stranger_clinician", "colleague", "client", "admin"])
@pytest.mark.parametrize("url", [discharge_url, reopen_url, handover_url])
def test_others_are_refused_and_nothing_changes(world, who, url) -> None:
    response = world.login(getattr(world, who)).post(url(world.client))
    assert response.status_code in (403, 404)
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.discharged_at is None
    assert not Handover.objects.exists()


@pytest.mark.parametrize("url", [discharge_url, reopen_url, handover_url])
def test_anonymous_visitors_go_to_login(world, url) -> None:
    response = world.login(None).post(url(world.client))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- handover ------------------------------------------------------------------------


def test_handover_waits_for_the_colleague_then_moves_the_client_and_tells_them(
    world, django_capture_on_commit_callbacks
) -> None:
    browser = world.login(world.clinician)
    response = browser.post(handover_url(world.client), {"to_clinician": world.colleague.pk})
    assert response.status_code == 302
    handover = Handover.objects.get()
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.clinician  # not yet

    # Both see it waiting.
    assert (
        "waiting for them to accept" in browser.get(reverse("homework:dashboard")).content.decode()
    )
    colleague = world.login(world.colleague)
    assert "offers you Alex Client" in colleague.get(reverse("homework:dashboard")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        colleague.post(reverse("homework:handover-accept", args=[handover.pk]))
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.colleague
    assert AuditEvent.objects.filter(action="handover", client_id=world.client.pk).count() == 1
    notification = Notification.objects.get(kind="clinician_changed")
    assert notification.context == {"handover_id": handover.pk}
    message = mail.outbox[-1]
    assert message.to == [world.client.email]
    assert "Your clinician is now Lee Colleague at Harbour Clinic" in message.body
    # The former clinician no longer sees the client.
    assert browser.get(reverse("homework:client-detail", args=[world.client.pk])).status_code == 404


def test_only_the_colleague_offered_can_accept(world) -> None:
    world.login(world.clinician).post(
        handover_url(world.client), {"to_clinician": world.colleague.pk}
    )
    handover = Handover.objects.get()
    for who in ("clinician", "stranger_clinician"):
        world.login(getattr(world, who)).post(
            reverse("homework:handover-accept", args=[handover.pk])
        )
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.clinician
    assert (
        world.login(world.client)
        .post(reverse("homework:handover-accept", args=[handover.pk]))
        .status_code
        == 403
    )


def test_either_side_can_withdraw_and_nothing_moves(world) -> None:
    world.login(world.clinician).post(
        handover_url(world.client), {"to_clinician": world.colleague.pk}
    )
    handover = Handover.objects.get()
    world.login(world.colleague).post(reverse("homework:handover-cancel", args=[handover.pk]))
    handover.refresh_from_db()
    assert handover.cancelled_at is not None
    text = (
        world.login(world.colleague)
        .post(reverse("homework:handover-accept", args=[handover.pk]), follow=True)
        .content.decode()
    )
    assert "no longer waiting" in text


@pytest.mark.parametrize(
    "posted, message",
    [
        ({}, "Choose a colleague in your clinic."),
        ({"to_clinician": "abc"}, "Choose a colleague in your clinic."),
        ({"to_clinician": "999999"}, "Choose a colleague in your clinic."),
    ],
)
def test_bad_handover_input_is_a_form_with_a_message(world, posted, message) -> None:
    response = world.login(world.clinician).post(handover_url(world.client), posted)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Handover.objects.exists()


def test_a_colleague_of_another_clinic_or_oneself_is_refused(world) -> None:
    browser = world.login(world.clinician)
    for target in (world.stranger_clinician, world.clinician, world.client):
        response = browser.post(handover_url(world.client), {"to_clinician": target.pk})
        assert response.status_code == 400
    assert not Handover.objects.exists()


def test_a_second_open_handover_is_refused(world) -> None:
    from tests.conftest import make_user

    third = make_user("kim@harbour.test", "clinician", world.clinic, full_name="Kim Third")
    browser = world.login(world.clinician)
    browser.post(handover_url(world.client), {"to_clinician": world.colleague.pk})
    response = browser.post(handover_url(world.client), {"to_clinician": third.pk})
    assert response.status_code == 400
    assert "already has a handover waiting" in response.content.decode()
    assert Handover.objects.count() == 1
