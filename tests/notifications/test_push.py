"""Web Push through the outbox, against a fake push service on loopback."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import timezone
from py_vapid import Vapid02

from homework.services.assignments import assignment_create
from homework.services.feedback import feedback_create
from notifications import services
from notifications.models import Notification, PushSubscription
from tests.factories import make_assignment, make_completion, make_exercise
from tests.push_service import Browser, PushService, b64decode

pytestmark = pytest.mark.django_db


def subscribe(user, service: PushService, name: str) -> tuple[PushSubscription, Browser]:
    browser = Browser()
    device = PushSubscription.objects.create(
        user=user,
        endpoint=service.endpoint(name),
        p256dh=browser.p256dh,
        auth=browser.auth,
        label="Firefox on Android",
    )
    return device, browser


def push_row(client, key: str = "new_practice:1", **fields) -> Notification:
    notification, _ = services.notification_create(
        kind=Notification.Kind.NEW_PRACTICE,
        channel=Notification.Channel.PUSH,
        to_email=client.email,
        recipient_id=client.pk,
        idempotency_key=key,
        context={"assignment_id": 1},
        **fields,
    )
    return notification


def test_it_pushes_a_signed_encrypted_content_free_message(world, vapid, push_service, settings):
    settings.SITE_URL = "https://kindwork.example"
    device, browser = subscribe(world.client, push_service, "phone")
    notification = push_row(world.client)

    report = services.notifications_send(ids=[notification.pk])

    assert report.sent == [notification.pk]
    [received] = push_service.received
    claims = push_service.verify_vapid(received, public_key=vapid)
    assert claims["sub"] == "mailto:push-test@kindwork.test"
    assert received.headers["content-encoding"] == "aes128gcm"
    assert int(received.headers["ttl"]) > 0
    payload = browser.decrypt(received.body)
    assert payload == {
        "title": "You have a new practice",
        "body": "Have a look when you have a moment.",
        "url": "https://kindwork.example/portal/",
    }
    notification.refresh_from_db()
    device.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 1
    assert device.last_success_at is not None


def test_it_refuses_a_signature_from_another_key(world, vapid, push_service):
    from cryptography.exceptions import InvalidSignature

    from notifications.push import vapid_keys_generate

    subscribe(world.client, push_service, "phone")
    services.notifications_send(ids=[push_row(world.client).pk])
    _, someone_elses = vapid_keys_generate()
    with pytest.raises((InvalidSignature, AssertionError)):
        push_service.verify_vapid(push_service.received[0], public_key=someone_elses)


@pytest.mark.parametrize("status", [404, 410])
def test_it_forgets_a_device_the_push_service_no_longer_knows(world, vapid, push_service, status):
    gone, _ = subscribe(world.client, push_service, "gone")
    kept, _ = subscribe(world.client, push_service, "kept")
    push_service.answers["gone"] = [status]
    notification = push_row(world.client)

    report = services.notifications_send(ids=[notification.pk])

    assert report.sent == [notification.pk]
    assert not PushSubscription.objects.filter(pk=gone.pk).exists()
    assert PushSubscription.objects.filter(pk=kept.pk).exists()


def test_it_fails_a_push_when_every_device_is_gone(world, vapid, push_service):
    device, _ = subscribe(world.client, push_service, "gone")
    push_service.answers["gone"] = [410]
    notification = push_row(world.client)

    report = services.notifications_send(ids=[notification.pk])

    assert report.failed == [notification.pk]
    assert not PushSubscription.objects.filter(pk=device.pk).exists()
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert "410" in notification.last_error


@pytest.mark.parametrize("status", [429, 500, 503])
def test_it_retries_later_and_reaches_each_device_once(world, vapid, push_service, status):
    subscribe(world.client, push_service, "busy")
    subscribe(world.client, push_service, "fine")
    push_service.answers["busy"] = [status, 201]
    notification = push_row(world.client)
    start = timezone.now()

    first = services.notifications_send(ids=[notification.pk], now=start)

    assert first.retry_later == [notification.pk]
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    assert notification.next_attempt_at == start + services.RETRY_BACKOFF[0]
    assert str(status) in notification.last_error
    # Not due yet: nothing happens.
    assert services.notifications_send(ids=[notification.pk], now=start).sent == []

    later = services.notifications_send(
        ids=[notification.pk], now=start + services.RETRY_BACKOFF[0]
    )

    assert later.sent == [notification.pk]
    paths = [received.path for received in push_service.received]
    assert paths.count("/push/fine") == 1
    assert paths.count("/push/busy") == 2


def test_it_retries_when_the_push_service_cannot_be_reached(world, vapid):
    PushSubscription.objects.create(
        user=world.client,
        endpoint="http://127.0.0.1:9/push/x",
        p256dh=Browser().p256dh,
        auth=Browser().auth,
    )
    notification = push_row(world.client)
    report = services.notifications_send(ids=[notification.pk])
    assert report.retry_later == [notification.pk]


def test_it_fails_a_push_to_someone_with_no_device(world, vapid):
    notification = push_row(world.client)
    report = services.notifications_send(ids=[notification.pk])
    assert report.failed == [notification.pk]


def test_it_keeps_one_row_per_key_and_channel(world):
    email, created_email = services.notification_create(
        kind=Notification.Kind.NEW_PRACTICE,
        to_email=world.client.email,
        recipient_id=world.client.pk,
        idempotency_key="new_practice:7",
    )
    push = push_row(world.client, key="new_practice:7")
    again = push_row(world.client, key="new_practice:7")
    assert created_email
    assert email.pk != push.pk
    assert again.pk == push.pk
    assert Notification.objects.filter(idempotency_key="new_practice:7").count() == 2


CANARY = "CANARY-7f3a-private"


def test_no_clinical_content_reaches_a_notification(world, vapid, push_service):
    """A canary in every clinical field (exercise, note, reflection, ratings' log, reply)
    appears in no payload and no outbox row."""
    _, browser = subscribe(world.client, push_service, "phone")
    exercise = make_exercise(
        clinic=world.clinic,
        title=CANARY,
        summary=CANARY,
        steps=[CANARY],
        prompts=[{"key": "moment", "label": CANARY, "phrase": False}],
    )
    assignment = assignment_create(
        clinician=world.clinician,
        client=world.client,
        exercise=exercise,
        schedule_kind="daily",
        start_date=timezone.localdate(),
        note=CANARY,
    )
    completion = make_completion(
        make_assignment(world.client, exercise=exercise),
        timezone.localdate(),
        reflection=CANARY,
    )
    feedback_create(clinician=world.clinician, completion=completion, text=CANARY)

    pushes = Notification.objects.filter(channel=Notification.Channel.PUSH)
    assert set(pushes.values_list("kind", flat=True)) == {
        Notification.Kind.NEW_PRACTICE,
        Notification.Kind.FEEDBACK_REPLY,
    }
    assert assignment.pk in [row.context.get("assignment_id") for row in pushes]
    report = services.notifications_send(ids=list(pushes.values_list("id", flat=True)))

    assert len(report.sent) == 2
    payloads = [browser.decrypt(received.body) for received in push_service.received]
    assert {payload["title"] for payload in payloads} == {
        "You have a new practice",
        "Your clinician left you a reply",
    }
    for payload in payloads:
        assert CANARY not in str(payload)
    for row in Notification.objects.all():
        assert CANARY not in str(row.context)


def test_the_production_check_wants_a_vapid_pair(settings):
    from notifications.checks import vapid_keys_check

    settings.DEBUG = False
    settings.VAPID_PRIVATE_KEY = ""
    settings.VAPID_PUBLIC_KEY = ""
    [error] = vapid_keys_check()
    assert error.id == "notifications.E001"
    assert "VAPID_PRIVATE_KEY" in error.msg

    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = "private", "public"
    assert vapid_keys_check() == []
    settings.DEBUG = True
    settings.VAPID_PRIVATE_KEY = ""
    assert vapid_keys_check() == []


def test_the_run_command_writes_a_development_pair_once(settings, tmp_path):
    import json

    from django.core.management import call_command

    settings.VAPID_DEV_KEYS_FILE = tmp_path / "vapid.json"
    call_command("vapid_keys", "--dev-file")
    first = json.loads(settings.VAPID_DEV_KEYS_FILE.read_text())
    call_command("vapid_keys", "--dev-file")
    assert json.loads(settings.VAPID_DEV_KEYS_FILE.read_text()) == first
    # The two halves belong together.
    signer = Vapid02.from_string(private_key=first["private"])
    public = signer.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert public == b64decode(first["public"])


def test_a_retry_is_not_sent_before_its_time(world, vapid, push_service):
    subscribe(world.client, push_service, "busy")
    push_service.answers["busy"] = [500]
    notification = push_row(world.client)
    services.notifications_send(ids=[notification.pk])
    notification.refresh_from_db()
    assert notification.next_attempt_at > timezone.now() + timedelta(seconds=30)
