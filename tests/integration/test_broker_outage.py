"""A Redis outage must not fail or slow down the request that writes an email.

The row is written, the publish fails fast, and the sweep publishes the row
once Redis is back. Runs against a redis-server of the test's own, never the
machine's shared one.
"""

import time

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clinic.celery import app
from notifications import services
from notifications.models import Notification

# A correctness bound, not a benchmark: without fail-fast settings this takes
# seconds per publish (measured: ~5 s with a hanging Redis, 2 s refused).
QUICKLY = 3.0


@pytest.mark.services
@pytest.mark.django_db
def test_it_invites_quickly_with_redis_down_and_sends_once_it_is_back(
    world, private_redis, use_broker, django_capture_on_commit_callbacks
):
    queue = use_broker(private_redis.url())
    private_redis.stop()
    browser = world.login(world.clinician)

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = browser.post(
            reverse("accounts:invitations"), {"email": "new.client@example.test", "full_name": ""}
        )
    elapsed = time.monotonic() - started

    assert response.status_code == 302, response.content.decode()
    assert len(callbacks) == 1  # the publish was attempted, and failed
    assert elapsed < QUICKLY
    notification = Notification.objects.get(to_email="new.client@example.test")
    assert (notification.status, notification.attempts) == (Notification.Status.PENDING, 0)
    assert mail.outbox == []

    private_redis.start()
    later = timezone.now() + services.SWEEP_GRACE
    assert services.notifications_sweep(now=later) == 1

    # The id travelled through Redis: take the message off the queue and run it
    # as a worker would.
    with app.connection_for_write() as connection:
        message = connection.default_channel.basic_get(queue, no_ack=True)
    assert message is not None
    assert message.content_type == "application/json"
    assert message.headers["task"] == "notifications.tasks.send_notifications"
    args, kwargs, _embed = message.decode()
    assert args == [[notification.pk]]
    app.tasks[message.headers["task"]].apply(args=args, kwargs=kwargs)

    (sent,) = mail.outbox
    assert sent.to == ["new.client@example.test"]
    assert "/invite/" in sent.body
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


@pytest.mark.services
@pytest.mark.django_db
def test_it_publishes_to_a_hanging_redis_quickly(
    world, use_broker, django_capture_on_commit_callbacks
):
    # A server that accepts connections and never answers: the worst case for timeouts.
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept_forever() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_forever, daemon=True).start()
    use_broker(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_create(
                kind=Notification.Kind.PASSWORD_RESET,
                to_email=world.client.email,
                recipient_id=world.client.pk,
                idempotency_key="password_reset:hanging",
            )
        elapsed = time.monotonic() - started
    finally:
        listener.close()
        for connection in held:
            connection.close()

    assert elapsed < QUICKLY
    assert Notification.objects.get().status == Notification.Status.PENDING
