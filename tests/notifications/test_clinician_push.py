"""A clinician's notices on a device: the push twin of the urgent flag, of "a client asked
you to look at a log" and of a client's message, through the outbox and the fake push
service; and the clinician's "Notifications on this device" page that subscribes a browser.
"""

from datetime import date, time

import pytest
from django.urls import reverse
from django.utils import timezone

from homework.services.completions import completion_clinician_tell
from homework.services.feedback import client_reply_create, feedback_create
from measures.services import measure_response_submit
from notifications import services
from notifications.models import Notification, PushSubscription
from notifications.services import notification_create_on_channels
from tests.api.conftest import client_with_token, token_for
from tests.factories import local_today, make_assignment, make_completion, make_measure
from tests.push_service import Browser, PushService

pytestmark = pytest.mark.django_db

SITE = "https://kindwork.example"
# What no notice may carry: the client's name, the instrument, the answer, the words.
CANARIES = ("Alex", "PHQ", "item", "dead", "Canary-Wren-Words", "distress", "Self-compassion")


def subscribe(user, service: PushService, name: str) -> tuple[PushSubscription, Browser]:
    browser = Browser()
    device = PushSubscription.objects.create(
        user=user, endpoint=service.endpoint(name), p256dh=browser.p256dh, auth=browser.auth
    )
    return device, browser


def phq(item_9: int) -> dict[str, int]:
    return {str(n): (item_9 if n == 9 else 1) for n in range(1, 10)}


def send_all(kind: str) -> list[Notification]:
    rows = list(Notification.objects.filter(kind=kind).order_by("channel"))
    services.notifications_send(ids=[row.pk for row in rows])
    return list(Notification.objects.filter(kind=kind).order_by("channel"))


def assert_content_free(payload: dict) -> None:
    text = " ".join(str(value) for value in payload.values())
    for canary in CANARIES:
        assert canary.lower() not in text.lower(), canary


def test_the_urgent_flag_pushes_once_to_the_clinicians_device_at_once(
    world, vapid, push_service, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = SITE
    _device, browser = subscribe(world.clinician, push_service, "desk")
    measure = make_measure(world.client, instrument="PHQ-9")
    with django_capture_on_commit_callbacks() as callbacks:
        response = measure_response_submit(client=world.client, measure=measure, answers=phq(2))
        # Told again under the same key (a retried request), no second row on any channel.
        notification_create_on_channels(
            kind=Notification.Kind.URGENT_ATTENTION,
            to_email=world.clinician.email,
            recipient_id=world.clinician.pk,
            idempotency_key=f"urgent_attention:response:{response.pk}",
            context={"client_id": world.client.pk},
        )

    rows = Notification.objects.filter(kind=Notification.Kind.URGENT_ATTENTION)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "push"]
    assert {row.idempotency_key for row in rows} == {f"urgent_attention:response:{response.pk}"}
    assert {row.recipient_id for row in rows} == {world.clinician.pk}
    # Immediate on both channels: published at commit, never held for later.
    assert all(row.next_attempt_at <= row.created_at for row in rows)
    assert len(callbacks) == 2

    sent = send_all(Notification.Kind.URGENT_ATTENTION)
    assert [row.status for row in sent] == ["sent", "sent"]
    # A second worker given the same ids (a duplicate publish) sends nothing more.
    assert services.notifications_send(ids=[row.pk for row in sent]).sent == []
    [received] = push_service.received
    payload = browser.decrypt(received.body)
    assert payload == {
        "title": "A client on your caseload needs your attention today",
        "body": "Log in to see who and why.",
        "url": SITE + reverse("homework:client-detail", args=[world.client.pk]),
    }
    assert_content_free(payload)


def test_the_urgent_flag_is_only_an_email_without_a_device(world):
    measure = make_measure(world.client, instrument="PHQ-9")
    measure_response_submit(client=world.client, measure=measure, answers=phq(1))
    rows = Notification.objects.filter(kind=Notification.Kind.URGENT_ATTENTION)
    assert list(rows.values_list("channel", flat=True)) == ["email"]


def test_the_urgent_push_goes_to_the_clients_clinician_only(world, vapid, push_service):
    subscribe(world.colleague, push_service, "colleague")
    subscribe(world.other_client, push_service, "client")
    measure = make_measure(world.client, instrument="PHQ-9")
    measure_response_submit(client=world.client, measure=measure, answers=phq(1))
    rows = Notification.objects.filter(kind=Notification.Kind.URGENT_ATTENTION)
    assert [(row.channel, row.recipient_id) for row in rows] == [("email", world.clinician.pk)]


def test_let_my_clinician_know_pushes_once(world, vapid, push_service, settings):
    settings.SITE_URL = SITE
    _device, browser = subscribe(world.clinician, push_service, "phone")
    assignment = make_assignment(world.client, start_date=local_today(world.client))
    completion = make_completion(
        assignment, local_today(world.client), reflection="Canary-Wren-Words"
    )
    completion_clinician_tell(client=world.client, completion=completion)
    completion_clinician_tell(client=world.client, completion=completion)

    sent = send_all(Notification.Kind.PRACTICE_HARD)
    assert [(row.channel, row.status) for row in sent] == [("email", "sent"), ("push", "sent")]
    [received] = push_service.received
    payload = browser.decrypt(received.body)
    assert payload == {
        "title": "A client asked you to look at a practice log",
        "body": "Log in to see it.",
        "url": SITE + reverse("homework:client-detail", args=[world.client.pk]),
    }
    assert_content_free(payload)


def test_a_clients_message_pushes_to_the_clinician(world, vapid, push_service, settings):
    settings.SITE_URL = SITE
    _device, browser = subscribe(world.clinician, push_service, "laptop")
    completion = make_completion(
        make_assignment(world.client, start_date=date(2026, 1, 5)), date(2026, 2, 3)
    )
    feedback_create(clinician=world.clinician, completion=completion, text="How was it?")
    client_reply_create(client=world.client, completion=completion, text="Canary-Wren-Words")

    sent = send_all(Notification.Kind.MESSAGE)
    assert [(row.channel, row.status) for row in sent] == [("email", "sent"), ("push", "sent")]
    assert len({row.idempotency_key for row in sent}) == 1
    [received] = push_service.received
    payload = browser.decrypt(received.body)
    assert payload == {
        "title": "You have a new message",
        "body": "Log in to read it.",
        "url": SITE + reverse("homework:inbox"),
    }
    assert_content_free(payload)


def test_a_clients_quiet_hours_never_hold_the_clinicians_notices(world, vapid, push_service):
    """Quiet hours are the client's: the clinician's message notice goes at once."""
    subscribe(world.clinician, push_service, "laptop")
    profile = world.client.client_profile
    profile.quiet_hours_start, profile.quiet_hours_end = time(0, 0), time(23, 59)
    profile.save()
    completion = make_completion(
        make_assignment(world.client, start_date=date(2026, 1, 5)), date(2026, 2, 3)
    )
    feedback_create(clinician=world.clinician, completion=completion, text="How was it?")
    now = timezone.now()
    client_reply_create(client=world.client, completion=completion, text="Thanks", now=now)
    rows = Notification.objects.filter(kind=Notification.Kind.MESSAGE)
    assert {(row.channel, row.next_attempt_at) for row in rows} == {
        ("email", now),
        ("push", now),
    }


# --- The clinician's "Notifications on this device" page ---

PAGE = "/clinician/notifications/"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/clinician-desk"


def subscription_post(channel: str = "both", endpoint: str = ENDPOINT) -> dict:
    browser = Browser()
    return {
        "channel": channel,
        "endpoint": endpoint,
        "p256dh": browser.p256dh,
        "auth": browser.auth,
        "label": "Chrome on Linux",
    }


def test_the_page_offers_the_choice_and_is_never_kept_offline(world, settings):
    settings.VAPID_PUBLIC_KEY = "BPublicKeyForThePage"
    assert reverse("outreach:clinician-notifications") == PAGE
    response = world.login(world.clinician).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Notifications on this device" in page
    assert 'data-vapid-public-key="BPublicKeyForThePage"' in page
    assert "js/push.js" in page and "js/push-sw.js" in page
    assert "no-store" in response["Cache-Control"]
    assert "X-Offline-Cache-Key" not in response
    settings_page = world.login(world.clinician).get(reverse("accounts:settings"))
    assert PAGE in settings_page.content.decode()


def test_the_page_subscribes_this_browser_and_stops_it(world):
    browser = world.login(world.clinician)
    response = browser.post(PAGE, subscription_post())
    assert response.status_code == 302
    device = PushSubscription.objects.get()
    assert (device.user, device.endpoint, device.label) == (
        world.clinician,
        ENDPOINT,
        "Chrome on Linux",
    )
    assert "Chrome on Linux" in browser.get(PAGE).content.decode()

    response = browser.post(PAGE, {"channel": "email", "endpoint": ENDPOINT})
    assert response.status_code == 302
    assert not PushSubscription.objects.exists()


def test_the_page_refuses_a_choice_it_cannot_keep_and_writes_nothing(world):
    browser = world.login(world.clinician)
    no_subscription = browser.post(PAGE, {"channel": "both"})
    assert no_subscription.status_code == 400
    assert "could not turn notifications on" in no_subscription.content.decode()
    for bad in (
        {"channel": "push"},  # email always comes for a clinician
        {},
        subscription_post(endpoint="https://evil.example/push"),
        {**subscription_post(), "p256dh": "short"},
    ):
        assert browser.post(PAGE, bad).status_code == 400
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("who", ["client", "admin", "supervisor"])
def test_the_page_is_only_for_clinicians(world, supervisor, who):
    browser = world.login(getattr(world, who))
    assert browser.get(PAGE).status_code == 403
    assert browser.post(PAGE, subscription_post()).status_code == 403
    assert not PushSubscription.objects.exists()


def test_the_page_sends_an_anonymous_visitor_to_log_in(world):
    response = world.login(None).get(PAGE)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize("who", ["colleague", "stranger_clinician", "client"])
def test_nobody_stops_another_clinicians_device(world, who):
    device = PushSubscription.objects.create(
        user=world.clinician, endpoint=ENDPOINT, p256dh="B" + "A" * 86, auth="A" * 22
    )
    url = reverse("outreach:clinician-device-remove", args=[device.pk])
    assert world.login(getattr(world, who)).post(url).status_code in (403, 404)
    assert PushSubscription.objects.filter(pk=device.pk).exists()
    assert world.login(world.clinician).post(url).status_code == 302
    assert not PushSubscription.objects.filter(pk=device.pk).exists()


def test_a_clinician_subscribes_through_the_api(world):
    api = client_with_token(token_for(world.clinician))
    data = subscription_post()
    response = api.post(
        "/api/v1/push-subscriptions/",
        {"endpoint": data["endpoint"], "keys": {"p256dh": data["p256dh"], "auth": data["auth"]}},
        format="json",
    )
    assert response.status_code == 201
    assert PushSubscription.objects.get().user == world.clinician
    assert [row["id"] for row in api.get("/api/v1/push-subscriptions/").json()["results"]] == [
        response.json()["id"]
    ]
