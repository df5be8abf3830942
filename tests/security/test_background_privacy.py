"""Privacy of background work: a canary reflection written through the portal and the API
must not appear in any log line, broker message (body or headers), task argument or email
while the completion is logged and while reminders are made and sent."""

import json
import logging
from datetime import UTC, datetime, time, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.messaging import Producer
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from accounts.models import ClientProfile
from clinic.celery import app
from homework import schedule
from notifications.models import Notification
from notifications.tasks import send_notifications
from outreach.reminders import reminders_create_due
from outreach.tasks import reminders_tick
from tests.factories import make_assignment, make_exercise

JSON_LINES = JsonFormatter(
    **{key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
)
CANARY = "canary-bg-8c41 my inner critic said I am worthless"
ANSWER = "canary-bg-answer-6d20 shouting at my son"
EXERCISE_TITLE = "Canary exercise title 3f9b"


@pytest.fixture
def broker_messages(monkeypatch) -> list[dict]:
    """Every message Celery hands to the broker, captured instead of sent."""
    captured: list[dict] = []

    def publish(self, body, routing_key=None, **kwargs):
        captured.append({"body": body, "routing_key": routing_key, **kwargs})

    monkeypatch.setattr(Producer, "publish", publish)
    app.conf.task_always_eager = False  # really serialise and publish (the capture keeps it)
    yield captured
    app.conf.task_always_eager = True


def everything_said(captured: list[dict], caplog) -> str:
    """Message bodies, headers and all other publish arguments, log lines, emails: one text."""
    parts = [json.dumps(message, default=repr) for message in captured]
    parts += [record.getMessage() for record in caplog.records]
    parts += [repr(record.args) for record in caplog.records]
    # The same records as LOG_FORMAT=json writes them, extra fields included.
    parts += [JSON_LINES.format(record) for record in caplog.records]
    for email in mail.outbox:
        parts += [email.subject, email.body, *[alt[0] for alt in email.alternatives]]
    return "\n".join(parts)


def test_it_keeps_the_canary_out_of_logs_messages_and_emails(
    world, broker_messages, caplog, django_capture_on_commit_callbacks, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    zone = world.client.zone
    today = schedule.local_date(datetime.now(UTC), zone)
    exercise = make_exercise(
        clinic=world.clinic,
        title=EXERCISE_TITLE,
        prompts=[{"key": "moment", "label": "What was the moment?", "phrase": False}],
        ratings=["distress_before"],
    )
    assignment = make_assignment(
        world.client,
        exercise,
        start_date=today - timedelta(days=3),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    other = make_assignment(
        world.client,
        make_exercise(clinic=world.clinic, title=EXERCISE_TITLE + " two"),
        start_date=today - timedelta(days=3),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    # 1. The client logs practice with the canary, in the portal and through the API.
    with django_capture_on_commit_callbacks(execute=True):
        page = world.login(world.client).post(
            reverse("homework:log", args=[assignment.pk]),
            {
                "minutes": "5",
                "rating_distress_before": "8",
                "answer_0": ANSWER,
                "reflection": CANARY,
                "reflection_shared": "on",
            },
        )
        assert page.status_code == 302, page.content[:500]
        api = APIClient()
        api.force_authenticate(world.client)
        logged = api.post(
            "/api/v1/completions/",
            {"assignment": other.pk, "minutes": 5, "reflection": CANARY},
            format="json",
        )
        assert logged.status_code == 201, logged.content[:500]

    # 2. Reminders fall due tomorrow evening: the beat's tick and the sending task.
    ClientProfile.objects.filter(user=world.client).update(reminder_time=time(18, 0))
    tomorrow_evening = datetime.combine(today + timedelta(days=1), time(18, 5), tzinfo=zone)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow_evening.astimezone(UTC))
    reminders_tick.delay()
    with django_capture_on_commit_callbacks(execute=True):
        ids = reminders_create_due(now=tomorrow_evening.astimezone(UTC))
    assert len(ids) == 2
    sends = [m for m in broker_messages if "send_notifications" in json.dumps(m, default=repr)]
    assert sends, "the reminders were not published"
    app.conf.task_always_eager = True
    send_notifications(ids)
    assert Notification.objects.filter(pk__in=ids, status="sent").count() == 2
    assert len(mail.outbox) == 2

    said = everything_said(broker_messages, caplog)
    assert len(broker_messages) == 2
    for secret in (CANARY, "worthless", ANSWER, "shouting", EXERCISE_TITLE):
        assert secret not in said
