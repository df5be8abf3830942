"""A real Celery worker process on a real Redis broker and PostgreSQL delivers an
invitation through the outbox to a local SMTP sink."""

import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import invitation_create
from notifications import services
from notifications.models import Notification
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^\s/]+(/invite/[^\s/]+/)")


def test_it_delivers_an_invitation_through_a_real_worker(world, smtp_sink, celery_worker):
    worker = celery_worker(smtp=smtp_sink)

    invitation_create(
        clinic=world.clinic,
        email="new.client@example.test",
        role=Role.CLIENT,
        invited_by=world.clinician,
        clinician=world.clinician,
    )

    (received,) = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["new.client@example.test"]
    assert received.subject == "You're invited to Kindwork"
    # The worker records a claim's rows as sent once the whole claim is through SMTP,
    # a moment after the sink has the message.
    wait_until(
        lambda: Notification.objects.filter(
            to_email="new.client@example.test", status=Notification.Status.SENT
        ).exists(),
        timeout=30,
    )
    notification = Notification.objects.get(to_email="new.client@example.test")
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)
    assert "send_notifications" in worker.log()

    # The link in the email is the one that works.
    path = LINK.search(received.text()).group(1)
    response = world.login(None).get(path)
    assert response.status_code == 200


def test_it_delivers_with_a_real_worker_after_a_redis_outage(
    world, smtp_sink, private_redis, celery_worker
):
    celery_worker(smtp=smtp_sink, broker_url=private_redis.url())
    private_redis.stop()

    started = time.monotonic()
    response = world.login(world.clinician).post(
        reverse("accounts:invitations"), {"email": "new.client@example.test", "full_name": ""}
    )
    assert response.status_code == 302
    assert time.monotonic() - started < 3.0
    notification = Notification.objects.get(to_email="new.client@example.test")
    assert notification.status == Notification.Status.PENDING

    private_redis.start()  # the worker reconnects by itself
    assert services.notifications_sweep(now=timezone.now() + services.SWEEP_GRACE) == 1

    (received,) = smtp_sink.wait_for(1, timeout=45)
    assert received.rcpt_tos == ["new.client@example.test"]
    wait_until(
        lambda: Notification.objects.filter(
            pk=notification.pk, status=Notification.Status.SENT
        ).exists(),
        timeout=30,
    )
