"""A reminder to a client who chose both channels, through a real Celery worker: one email
to the SMTP sink and one push to the fake push service, each exactly once."""

import time

import pytest

from accounts.models import ClientProfile
from notifications.models import Notification, PushSubscription
from notifications.push import vapid_keys_generate
from tests.integration.test_reminders import due_clients, publish_tick, settle
from tests.push_service import Browser, PushService

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_reminder_is_one_email_and_one_push_each_exactly_once(
    world, smtp_sink, celery_worker, settings
):
    private, public = vapid_keys_generate()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = private, public
    push_service = PushService().start()
    try:
        celery_worker(
            smtp=smtp_sink,
            env={
                "VAPID_PRIVATE_KEY": private,
                "VAPID_PUBLIC_KEY": public,
                "VAPID_SUBJECT": "mailto:push-test@kindwork.test",
            },
        )
        both, push_only = due_clients(world.clinician, 2)
        ClientProfile.objects.filter(user=push_only).update(email_reminders=False)
        browsers = {}
        for client in (both, push_only):
            browser = Browser()
            browsers[client.pk] = browser
            PushSubscription.objects.create(
                user=client,
                endpoint=push_service.endpoint(f"client-{client.pk}"),
                p256dh=browser.p256dh,
                auth=browser.auth,
            )

        publish_tick()
        settle(smtp_sink, 1)
        publish_tick()  # the next tick finds nothing new
        time.sleep(2)

        assert [mail.rcpt_tos for mail in smtp_sink.received] == [[both.email]]
        paths = sorted(received.path for received in push_service.received)
        assert paths == sorted(f"/push/client-{client.pk}" for client in (both, push_only))
        for received in push_service.received:
            push_service.verify_vapid(received, public_key=public)
            client_id = int(received.path.rsplit("-", 1)[1])
            payload = browsers[client_id].decrypt(received.body)
            assert payload["title"] == "Time for your practice"
            assert payload["url"].endswith("/portal/")
        rows = Notification.objects.filter(kind=Notification.Kind.REMINDER)
        assert sorted((row.recipient_id, row.channel, row.status) for row in rows) == sorted(
            [
                (both.pk, "email", "sent"),
                (both.pk, "push", "sent"),
                (push_only.pk, "push", "sent"),
            ]
        )
    finally:
        push_service.stop()
