"""Operations: /metrics (protected, no personal data in labels), the split health checks,
request ids in logs and task headers, and refusals logged as one short line."""

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from clinic.celery import app
from clinic.metrics import periodic_task_names
from core.metrics import TASK_FAILURES_KEY, TASK_SUCCESS_KEY, task_failed, task_succeeded
from core.request_id import HEADER, TASK_HEADER, current_request_id
from notifications.models import Notification

pytestmark = pytest.mark.django_db

SWEEP = "notifications.tasks.sweep_pending"


@dataclass
class Task:
    """What Celery's signals pass as the sender: only its name is read."""

    name: str


TOKEN = "metrics-token-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ops-{uuid.uuid4().hex}",
        }
    }
    settings.METRICS_TOKEN = TOKEN


def scrape(browser: Client | None = None, **headers) -> tuple[int, str]:
    response = (browser or Client()).get(reverse("metrics"), **headers)
    return response.status_code, response.content.decode()


def test_metrics_need_the_token_or_a_staff_login(world):
    assert scrape()[0] == 401
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong-token-wrong-token-wrong")[0] == 401
    for user in (world.client, world.clinician, world.colleague, world.stranger_clinician):
        assert scrape(world.login(user))[0] == 401, user
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200
    assert scrape(world.login(world.admin))[0] == 200


def test_metrics_count_requests_by_route_name_and_status(world):
    browser = world.login(world.client)
    browser.get(reverse("homework:today"))
    browser.get(f"/portal/practice/{987654}/")
    status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 200
    assert re.search(
        r'kindwork_http_requests_total\{method="GET",route="homework:today",status="200"\} [1-9]',
        text,
    )
    assert 'route="homework:practice",status="404"' in text
    assert "kindwork_http_request_duration_seconds_bucket" in text


def test_metrics_show_the_outbox_and_the_periodic_tasks(world):
    Notification.objects.create(
        kind=Notification.Kind.values[0],
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="ops-test-1",
    )
    task_succeeded(sender=Task("notifications.tasks.sweep_pending"))
    task_failed(sender=Task("notifications.tasks.sweep_pending"))
    task_failed(sender=Task("notifications.tasks.sweep_pending"))
    _status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    kind = Notification.Kind.values[0]
    assert f'kindwork_outbox_notifications{{kind="{kind}",status="pending"}} 1.0' in text
    assert "kindwork_outbox_oldest_pending_age_seconds" in text
    last_success = "kindwork_periodic_task_last_success_timestamp_seconds"
    assert re.search(rf'{last_success}\{{task="{SWEEP}"\}} \d', text)
    assert 'kindwork_task_failures_total{task="notifications.tasks.sweep_pending"} 2.0' in text


def test_no_label_carries_personal_data_or_ids(world):
    browser = world.login(world.client)
    browser.get(f"/portal/practice/{world.client.pk}/")
    browser.get("/portal/weeks/2026-01-05/")
    Notification.objects.create(
        kind=Notification.Kind.values[0],
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="ops-test-2",
    )
    _status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    ours = "\n".join(line for line in text.splitlines() if line.startswith("kindwork_"))
    labels = " ".join(re.findall(r"\{([^}]*)\}", ours))
    assert world.client.email not in text and "Alex" not in text
    assert "2026-01-05" not in labels and "/portal/" not in labels
    assert not re.search(
        r'="\d+"', labels.replace('status="', 'status=X"').replace('le="', 'le=X"')
    )


def test_live_answers_without_checking_anything(client):
    response = client.get(reverse("healthz-live"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_needs_a_recent_beat(client):
    response = client.get(reverse("healthz-ready"))
    assert response.status_code == 503
    assert response.json()["beat"] == "down"
    task_succeeded(sender=Task(periodic_task_names()[0]))
    response = client.get(reverse("healthz-ready"))
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "beat": "ok"}


def test_ready_fails_when_the_beat_is_silent_for_five_minutes(client):
    for name in periodic_task_names():
        cache.set(TASK_SUCCESS_KEY.format(name=name), time.time() - 301, None)
    response = client.get(reverse("healthz-ready"))
    assert response.status_code == 503 and response.json()["beat"] == "down"


def test_the_old_healthz_still_answers(client):
    assert client.get(reverse("healthz")).status_code == 200


class BrokenCache:
    def __getattr__(self, name: str):
        def broken(*args, **kwargs):
            raise ConnectionError("cache down")

        return broken


def test_counting_never_fails_a_task_when_the_cache_is_down(monkeypatch):
    from core import metrics

    monkeypatch.setattr(metrics, "cache", BrokenCache())
    task_failed(sender=Task(SWEEP))  # no exception escapes
    task_succeeded(sender=Task(SWEEP))
    assert metrics.task_last_success(SWEEP) is None
    assert metrics.task_failures(SWEEP) == 0
    assert cache.get(TASK_FAILURES_KEY.format(name=SWEEP)) is None


# --- Logs ---


def test_a_request_carries_its_id_into_the_response_and_the_task_headers(world, monkeypatch):
    seen: list[dict] = []
    from celery import signals

    def capture(headers=None, **kwargs):
        seen.append(dict(headers or {}))

    signals.before_task_publish.connect(capture, weak=False)
    app.conf.task_always_eager = False
    from kombu.messaging import Producer

    monkeypatch.setattr(Producer, "publish", lambda self, body, **kwargs: None)
    try:
        token = current_request_id.set("abcdef0123456789")
        from notifications.tasks import sweep_pending

        sweep_pending.delay()
        current_request_id.reset(token)
    finally:
        app.conf.task_always_eager = True
        signals.before_task_publish.disconnect(capture)
    assert seen and seen[-1][TASK_HEADER] == "abcdef0123456789"
    response = world.login(world.client).get(
        reverse("homework:today"), HTTP_X_REQUEST_ID="given-id-1234"
    )
    assert response[HEADER] == "given-id-1234"
    response = world.login(world.client).get(
        reverse("homework:today"), HTTP_X_REQUEST_ID="bad id\n"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response[HEADER])


def test_a_refused_request_is_one_short_line(world, caplog):
    caplog.set_level(logging.INFO)
    world.login(world.clinician).get(reverse("homework:today"))  # a clinician on a client page
    world.login(world.client).get("/portal/practice/987654/")
    refusals = [
        record for record in caplog.records if getattr(record, "status_code", 0) in (403, 404)
    ]
    assert refusals
    for record in refusals:
        assert record.exc_info is None
        assert "\n" not in record.getMessage()


def test_json_lines_carry_the_request_id(world, capsys):
    from logging.config import dictConfig

    from django.conf import settings

    config = json.loads(json.dumps(settings.LOGGING))
    config["handlers"]["console"]["formatter"] = "json"
    dictConfig(config)
    try:
        world.login(world.client).get(
            "/portal/practice/987654/", HTTP_X_REQUEST_ID="json-req-12345"
        )
        lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        dictConfig(settings.LOGGING)
    records = [json.loads(line) for line in lines]
    assert any(
        r.get("request_id") == "json-req-12345" and r["level"] == "WARNING" for r in records
    ), lines


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_worker_and_beat_lines_take_the_settings_format_and_the_request_id(settings, log_format):
    """Celery sets up the worker's and beat's handlers itself; clinic.celery gives them the
    format of LOG_FORMAT and the request id (tests/integration/test_production_smoke.py
    checks a real worker's lines)."""
    import io

    from clinic.celery import _log_as_the_web_does

    settings.LOG_FORMAT = log_format
    stream = io.StringIO()
    logger = logging.getLogger(f"kindwork-test-celery-{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream))
    _log_as_the_web_does(logger=logger)
    token = current_request_id.set("task-req-1234")
    try:
        logger.warning("Task sweep_pending succeeded")
    finally:
        current_request_id.reset(token)
    line = stream.getvalue().strip()
    if log_format == "json":
        record = json.loads(line)
        assert record["request_id"] == "task-req-1234" and record["level"] == "WARNING"
        assert record["message"] == "Task sweep_pending succeeded"
    else:
        assert "[task-req-1234] Task sweep_pending succeeded" in line and "WARNING" in line


# --- readiness fails on each dependency, and the documented alerts read real metrics ---


@pytest.fixture
def beat_recent():
    task_succeeded(sender=Task(periodic_task_names()[0]))


def test_ready_fails_when_the_broker_is_unreachable(client, beat_recent):
    from tests.integration.conftest import free_port

    saved = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    try:
        response = client.get(reverse("healthz-ready"))
    finally:
        app.conf.broker_url = saved
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "down",
        "beat": "ok",
    }


def test_ready_fails_when_the_database_is_unreachable(client, beat_recent, monkeypatch):
    from django.db import OperationalError, connections

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get(reverse("healthz-ready"))
    assert response.status_code == 503
    assert response.json()["database"] == "down" and response.json()["beat"] == "ok"


def test_the_documented_alert_rules_read_metrics_that_are_exported(world):
    import yaml
    from django.conf import settings

    page = (settings.BASE_DIR / "docs" / "operations.md").read_text()
    block = re.search(r"### Example alert rules\n\n```yaml\n(.*?)```", page, re.DOTALL)
    assert block, "docs/operations.md has no example alert rules"
    rules = {
        rule["alert"]: rule["expr"]
        for group in yaml.safe_load(block.group(1))["groups"]
        for rule in group["rules"]
    }
    # The two alerts the operations list asks for, with their thresholds.
    assert "kindwork_outbox_oldest_pending_age_seconds > 15 * 60" in rules["KindworkOutboxStuck"]
    assert "kindwork_periodic_task_last_success_timestamp_seconds" in rules["KindworkBeatSilent"]
    assert "> 5 * 60" in rules["KindworkBeatSilent"]
    # Every kindwork_ series a rule reads is one /metrics exports.
    Notification.objects.create(
        kind=Notification.Kind.values[0],
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="ops-test-alerts",
        status=Notification.Status.FAILED,
    )
    world.login(world.client).get(reverse("homework:today"))
    task_succeeded(sender=Task(SWEEP))
    _status, text = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    exported = set(re.findall(r"^(kindwork_\w+?)(?:_bucket|_count|_sum)?[{ ]", text, re.MULTILINE))
    read = set(re.findall(r"\bkindwork_\w+", " ".join(rules.values())))
    assert read and read <= exported, read - exported
