"""/healthz: 200 when the database and the broker answer, 503 when either does not."""

import time

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

from clinic.celery import app
from tests.integration.conftest import free_port

URL = reverse("healthz")

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_at():
    saved = app.conf.broker_url

    def point(url: str) -> None:
        app.conf.broker_url = url

    yield point
    app.conf.broker_url = saved


def test_it_answers_ok_when_database_and_broker_answer(client):
    # The configured broker: Redis when REDIS_URL is set (CI), the filesystem otherwise.
    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_quickly_when_the_broker_is_down(client, broker_at):
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there

    started = time.monotonic()
    response = client.get(URL)

    assert time.monotonic() - started < 3.0
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down"}


def test_it_answers_503_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)

    response = client.get(URL)

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "broker": "ok"}


def test_it_says_down_without_saying_why(client, broker_at):
    broker_at("redis://user:secret-password@127.0.0.1:1/0")

    response = client.get(URL)

    assert response.status_code == 503
    assert b"secret-password" not in response.content
    assert b"127.0.0.1" not in response.content


def test_it_only_answers_get(client):
    assert client.post(URL).status_code == 405
