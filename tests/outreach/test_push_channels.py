"""Choosing how reminders come (email, a notification on this device, or both), the
devices' subscriptions in the portal and the API, and which rows the outbox gets."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ClientProfile
from homework.services.assignments import assignment_create
from homework.services.feedback import feedback_create
from notifications.models import Notification, PushSubscription
from outreach import news
from outreach.reminders import reminders_create_due
from outreach.services import channels_for
from tests.api.conftest import client_with_token, token_for
from tests.factories import make_assignment, make_completion, make_exercise
from tests.push_service import Browser

pytestmark = pytest.mark.django_db

PUSH_ENDPOINT = "https://fcm.googleapis.com/fcm/send/device-one"


def subscription_data(endpoint: str = PUSH_ENDPOINT) -> dict:
    browser = Browser()
    return {"endpoint": endpoint, "p256dh": browser.p256dh, "auth": browser.auth}


def device_for(user, endpoint: str = PUSH_ENDPOINT) -> PushSubscription:
    data = subscription_data(endpoint)
    return PushSubscription.objects.create(user=user, **data)


def set_email(user, wanted: bool) -> None:
    ClientProfile.objects.filter(user=user).update(email_reminders=wanted)


# --- Which channels ---


def test_it_reaches_each_client_on_the_channels_they_chose(world):
    set_email(world.other_client, False)
    set_email(world.stranger_client, False)
    device_for(world.client, PUSH_ENDPOINT + "a")
    device_for(world.other_client, PUSH_ENDPOINT + "b")
    # stranger_client turned email off but has no device: email still comes.

    channels = channels_for(
        user_ids=[world.client.pk, world.other_client.pk, world.stranger_client.pk]
    )

    assert channels == {
        world.client.pk: ["email", "push"],
        world.other_client.pk: ["push"],
        world.stranger_client.pk: ["email"],
    }


def test_a_practice_reminder_is_one_email_and_one_push_for_both(world, monkeypatch):
    from outreach import reminders

    monkeypatch.setattr(reminders, "notifications_enqueue", lambda *, ids: None)
    device_for(world.client)
    ClientProfile.objects.filter(user=world.client).update(reminder_time=time(9, 0))
    world.client.timezone = "UTC"
    world.client.save(update_fields=["timezone"])
    make_assignment(
        world.client,
        make_exercise(world.clinic),
        start_date=datetime(2026, 3, 1).date(),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    now = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)

    first = reminders_create_due(now=now)
    again = reminders_create_due(now=now)

    rows = Notification.objects.filter(recipient=world.client, kind=Notification.Kind.REMINDER)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "push"]
    assert len({row.idempotency_key for row in rows}) == 1
    assert len(first) == 2
    assert again == []


def test_quiet_hours_and_pause_hold_news_on_every_channel(world):
    device_for(world.client)
    world.client.timezone = "UTC"
    world.client.save(update_fields=["timezone"])
    profile = world.client.client_profile
    profile.quiet_hours_start, profile.quiet_hours_end = time(22, 0), time(7, 0)
    profile.save()
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)

    ids = news.news_create(
        kind=Notification.Kind.NEW_PRACTICE,
        client_id=world.client.pk,
        key="new_practice:99",
        context={"assignment_id": 99},
        now=late,
    )

    rows = Notification.objects.filter(pk__in=ids)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "push"]
    assert {row.next_attempt_at for row in rows} == {datetime(2026, 3, 3, 7, 0, tzinfo=UTC)}

    profile.reminders_paused_until = late + timedelta(days=3)
    profile.save()
    assert (
        news.news_create(
            kind=Notification.Kind.NEW_PRACTICE,
            client_id=world.client.pk,
            key="new_practice:100",
            context={"assignment_id": 100},
            now=late,
        )
        == []
    )


def test_a_reply_and_a_new_plan_tell_the_client(world, django_capture_on_commit_callbacks):
    device_for(world.client)
    set_email(world.client, False)
    exercise = make_exercise(world.clinic)
    with django_capture_on_commit_callbacks() as callbacks:
        assignment = assignment_create(
            clinician=world.clinician,
            client=world.client,
            exercise=exercise,
            schedule_kind="daily",
            start_date=timezone.localdate(),
        )
        completion = make_completion(assignment, timezone.localdate())
        feedback = feedback_create(
            clinician=world.clinician, completion=completion, text="Well done"
        )

    rows = Notification.objects.filter(recipient=world.client).order_by("kind")
    assert [(row.kind, row.channel, row.idempotency_key) for row in rows] == [
        ("feedback_reply", "push", f"feedback_reply:{feedback.pk}"),
        ("new_practice", "push", f"new_practice:{assignment.pk}"),
    ]
    assert len(callbacks) == 2


def test_the_news_emails_link_to_the_page_and_offer_a_way_out(world):
    from homework.models import Feedback
    from notifications.services import notification_render
    from tests.factories import local_today, make_assignment, make_completion

    assignment = make_assignment(world.client)
    completion = make_completion(assignment, local_today(world.client))
    reply = Feedback.objects.create(completion=completion, clinician=world.clinician, text="Hi")
    for kind, context, path in (
        ("feedback_reply", {"feedback_id": reply.pk}, f"/portal/history/{completion.pk}/"),
        ("new_practice", {"assignment_id": assignment.pk}, "/portal/"),
    ):
        row = Notification.objects.create(
            kind=kind,
            recipient=world.client,
            to_email=world.client.email,
            idempotency_key=f"{kind}:1",
            context=context,
        )
        message = notification_render(row)
        assert path in message.body
        assert "List-Unsubscribe" in message.extra_headers


# --- The Reminders page ---


def test_the_page_says_notifications_need_javascript(world):
    response = world.login(world.client).get(reverse("outreach:reminder-preferences"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "need JavaScript and a browser that allows them" in html
    assert 'id="reminder-channel-form"' in html
    assert "js/push.js" in html


def test_it_saves_both_channels_with_this_browsers_subscription(world):
    browser = world.login(world.client)
    data = {"channel": "both", **subscription_data(), "label": "Firefox on Android"}

    response = browser.post(reverse("outreach:reminder-channels"), data)

    assert response.status_code == 302
    device = PushSubscription.objects.get(user=world.client)
    assert device.label == "Firefox on Android"
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.email_reminders is True
    page = browser.get(reverse("outreach:reminder-preferences")).content.decode()
    assert "Firefox on Android" in page


def test_notification_only_turns_email_off(world):
    browser = world.login(world.client)
    browser.post(reverse("outreach:reminder-channels"), {"channel": "push", **subscription_data()})
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.email_reminders is False


def test_without_a_subscription_a_notification_is_refused_with_a_message(world):
    browser = world.login(world.client)
    response = browser.post(reverse("outreach:reminder-channels"), {"channel": "push"})
    assert response.status_code == 400
    assert "email still works" in response.content.decode()
    assert not PushSubscription.objects.exists()
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.email_reminders is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("endpoint", "http://fcm.googleapis.com/fcm/send/x", "cannot use"),
        ("endpoint", "https://169.254.169.254/latest/meta-data", "not one we can send to"),
        ("endpoint", "https://evil.example/fcm.googleapis.com", "not one we can send to"),
        ("p256dh", "not-a-key", "encryption key"),
        ("auth", "AAAA", "authentication secret"),
    ],
)
def test_a_bad_subscription_is_refused_and_nothing_is_written(world, field, value, message):
    data = {"channel": "both", **subscription_data(), field: value}
    response = world.login(world.client).post(reverse("outreach:reminder-channels"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PushSubscription.objects.exists()


def test_choosing_email_forgets_this_device(world):
    device = device_for(world.client)
    set_email(world.client, False)
    response = world.login(world.client).post(
        reverse("outreach:reminder-channels"), {"channel": "email", "endpoint": device.endpoint}
    )
    assert response.status_code == 302
    assert not PushSubscription.objects.exists()
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.email_reminders is True


def test_a_shared_phone_belongs_to_whoever_subscribed_last(world):
    device_for(world.other_client)
    world.login(world.client).post(
        reverse("outreach:reminder-channels"), {"channel": "both", **subscription_data()}
    )
    assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [world.client.pk]


def test_a_client_removes_only_their_own_devices(world):
    mine = device_for(world.client, PUSH_ENDPOINT + "mine")
    theirs = device_for(world.stranger_client, PUSH_ENDPOINT + "theirs")
    colleague_of = device_for(world.other_client, PUSH_ENDPOINT + "other")
    browser = world.login(world.client)

    for device in (theirs, colleague_of):
        url = reverse("outreach:push-device-remove", args=[device.pk])
        assert browser.post(url).status_code == 404
    assert browser.post(reverse("outreach:push-device-remove", args=[mine.pk])).status_code == 302
    assert set(PushSubscription.objects.values_list("pk", flat=True)) == {
        theirs.pk,
        colleague_of.pk,
    }


@pytest.mark.parametrize("who", ["anonymous", "clinician", "colleague", "stranger_clinician"])
def test_the_channel_pages_refuse_anyone_but_a_client(world, who):
    device = device_for(world.client)
    user = None if who == "anonymous" else getattr(world, who)
    browser = world.login(user)
    for url in (
        reverse("outreach:reminder-channels"),
        reverse("outreach:push-device-remove", args=[device.pk]),
    ):
        response = browser.post(url, {"channel": "email", "endpoint": device.endpoint})
        assert response.status_code in (302, 403, 404)
        if response.status_code == 302:
            assert "login" in response["Location"]
    assert PushSubscription.objects.filter(pk=device.pk).exists()


# --- The API ---


def api_as(user) -> APIClient:
    return client_with_token(token_for(user) if user else None)


def api_subscription(endpoint: str = PUSH_ENDPOINT) -> dict:
    data = subscription_data(endpoint)
    return {
        "endpoint": data["endpoint"],
        "keys": {"p256dh": data["p256dh"], "auth": data["auth"]},
        "label": "Chrome on Android",
    }


def test_the_api_subscribes_lists_and_deletes_a_device(world):
    api = api_as(world.client)
    created = api.post("/api/v1/push-subscriptions/", api_subscription(), format="json")
    assert created.status_code == 201
    assert set(created.json()) == {"id", "label", "created_at", "last_success_at"}

    listed = api.get("/api/v1/push-subscriptions/").json()["results"]
    assert [row["id"] for row in listed] == [created.json()["id"]]
    assert api_as(world.other_client).get("/api/v1/push-subscriptions/").json()["count"] == 0
    assert (
        api_as(world.other_client)
        .delete(f"/api/v1/push-subscriptions/{created.json()['id']}/")
        .status_code
        == 404
    )

    preferences = api.get("/api/v1/me/preferences/").json()
    assert preferences["push_devices"] == 1
    assert preferences["email_reminders"] is True
    changed = api.patch("/api/v1/me/preferences/", {"email_reminders": False}, format="json")
    assert changed.json()["email_reminders"] is False

    assert api.delete(f"/api/v1/push-subscriptions/{created.json()['id']}/").status_code == 204
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"endpoint": "https://10.0.0.1/push", "keys": {"p256dh": "x", "auth": "y"}},
        {"endpoint": PUSH_ENDPOINT, "keys": "not an object"},
        {"endpoint": PUSH_ENDPOINT, "keys": {"p256dh": Browser().p256dh, "auth": "short"}},
        {"endpoint": ["a"], "keys": {"p256dh": 1, "auth": None}},
    ],
)
def test_the_api_refuses_bad_subscriptions_with_field_messages(world, body):
    response = api_as(world.client).post("/api/v1/push-subscriptions/", body, format="json")
    assert response.status_code == 400
    assert response.json()
    assert not PushSubscription.objects.exists()
