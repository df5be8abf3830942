"""The outbox against a real SMTP conversation (a local sink), not a mocked backend.

This is where smtplib's own exceptions meet our classification: a 5xx reply to
RCPT TO fails the email, a 4xx reply or a server that is gone means try later.
"""

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.conftest import PASSWORD
from tests.integration.conftest import free_port

pytestmark = pytest.mark.django_db

Status = Notification.Status


@pytest.fixture
def reset_email(world) -> Notification:
    # A real kind with a real context builder (accounts registers it).
    notification, _created = services.notification_create(
        kind=Notification.Kind.PASSWORD_RESET,
        to_email=world.client.email,
        recipient_id=world.client.pk,
        idempotency_key="password_reset:test",
    )
    return notification


def test_it_delivers_subject_text_and_html_over_smtp(settings, smtp_sink, reset_email, world):
    settings.MAILERS = smtp_sink.mailers

    report = services.notifications_send(ids=[reset_email.pk])

    assert report.sent == [reset_email.pk]
    (received,) = smtp_sink.received
    assert received.rcpt_tos == [world.client.email]
    assert received.subject == "Reset your Kindwork password"
    assert "/accounts/reset/" in received.text()
    assert "/accounts/reset/" in received.html()
    assert PASSWORD not in received.text()


def test_it_fails_an_email_the_server_refuses_with_a_5xx(settings, smtp_sink, reset_email):
    settings.MAILERS = smtp_sink.mailers
    smtp_sink.refuse_recipients.append("550 5.1.1 No such user here")

    services.notifications_send(ids=[reset_email.pk])

    reset_email.refresh_from_db()
    assert reset_email.status == Status.FAILED
    assert reset_email.last_error == "SMTPRecipientsRefused: 550 5.1.1 No such user here"
    assert smtp_sink.received == []


def test_it_retries_an_email_the_server_defers_with_a_4xx(settings, smtp_sink, reset_email):
    settings.MAILERS = smtp_sink.mailers
    smtp_sink.refuse_recipients.append("450 4.2.1 Mailbox busy, try later")

    services.notifications_send(ids=[reset_email.pk])

    reset_email.refresh_from_db()
    assert (reset_email.status, reset_email.attempts) == (Status.PENDING, 1)
    assert reset_email.last_error == "SMTPRecipientsRefused: 450 4.2.1 Mailbox busy, try later"

    # The same row goes out at its next attempt.
    services.notifications_send(ids=[reset_email.pk], now=reset_email.next_attempt_at)
    reset_email.refresh_from_db()
    assert (reset_email.status, reset_email.attempts) == (Status.SENT, 2)
    assert len(smtp_sink.received) == 1


def test_it_retries_when_no_smtp_server_answers(settings, reset_email):
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.smtp.OutboxSmtpBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }

    services.notifications_send(ids=[reset_email.pk], now=timezone.now())

    reset_email.refresh_from_db()
    assert (reset_email.status, reset_email.attempts) == (Status.PENDING, 1)
    assert reset_email.last_error.startswith("ConnectionRefusedError:")
