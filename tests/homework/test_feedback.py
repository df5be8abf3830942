"""Feedback: a clinician replies to a log, and the client sees it in their history."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from homework.models import Feedback
from homework.services.feedback import feedback_create
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion


@pytest.fixture
def completion(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    return make_completion(assignment, date(2026, 2, 3), reflection_shared=False)


def url_for(completion) -> str:
    return reverse("homework:feedback-create", args=[completion.pk])


def test_it_saves_feedback_and_returns_to_the_log(world, completion):
    response = world.login(world.clinician).post(url_for(completion), {"text": "  Well done.  "})
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("homework:client-detail", args=[world.client.pk]) + f"#log-{completion.pk}"
    )
    feedback = Feedback.objects.get()
    assert (feedback.completion, feedback.clinician, feedback.text) == (
        completion,
        world.clinician,
        "Well done.",
    )


def test_it_shows_the_feedback_to_the_client_in_their_history(world, completion):
    world.login(world.clinician).post(url_for(completion), {"text": "That took courage."})
    page = world.login(world.client).get(reverse("homework:history")).content.decode()
    assert "That took courage." in page


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Write a few words before sending."), ("   ", "Write a few words before sending.")],
)
def test_it_refuses_empty_feedback_with_a_message_and_writes_nothing(
    world, completion, text, message
):
    response = world.login(world.clinician).post(url_for(completion), {"text": text})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Your feedback wasn't sent" in response.content.decode()
    assert not Feedback.objects.exists()


def test_it_refuses_too_long_feedback_and_keeps_the_text(world, completion):
    text = "kind words " * 400
    response = world.login(world.clinician).post(url_for(completion), {"text": text})
    assert response.status_code == 400
    assert "kind words kind words" in response.content.decode()
    assert not Feedback.objects.exists()


def test_it_refuses_anonymous_clients_admins_and_get(world, completion):
    response = world.login(None).post(url_for(completion), {"text": "Hi"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.client).post(url_for(completion), {"text": "Hi"}).status_code == 403
    assert world.login(world.admin).post(url_for(completion), {"text": "Hi"}).status_code == 403
    assert world.login(world.clinician).get(url_for(completion)).status_code == 405
    assert not Feedback.objects.exists()


def test_it_answers_404_to_a_colleague_and_another_clinic(world, completion):
    make_client("robin@client.test", world.colleague)
    assert world.login(world.colleague).post(url_for(completion), {"text": "Hi"}).status_code == 404
    assert (
        world.login(world.stranger_clinician).post(url_for(completion), {"text": "Hi"}).status_code
        == 404
    )
    missing = reverse("homework:feedback-create", args=[987654])
    assert world.login(world.clinician).post(missing, {"text": "Hi"}).status_code == 404
    assert not Feedback.objects.exists()


def test_it_lets_only_the_clients_clinician_reply_in_the_service(world, completion):
    with pytest.raises(PermissionDenied):
        feedback_create(clinician=world.colleague, completion=completion, text="Hi")
    with pytest.raises(PermissionDenied):
        feedback_create(clinician=world.stranger_clinician, completion=completion, text="Hi")
    with pytest.raises(ValidationError):
        feedback_create(clinician=world.clinician, completion=completion, text=" ")
    assert not Feedback.objects.exists()


def test_it_marks_feedback_read_once_the_client_has_seen_it(world, completion):
    feedback_create(clinician=world.clinician, completion=completion, text="Noted.")
    assert Feedback.objects.get().read_at is None
    before = timezone.now()
    world.login(world.client).get(reverse("homework:history"))
    assert before <= Feedback.objects.get().read_at <= timezone.now()
    page = world.login(world.clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert "· read" in page.content.decode()
    assert timedelta(0) <= Feedback.objects.get().read_at - Feedback.objects.get().created_at
