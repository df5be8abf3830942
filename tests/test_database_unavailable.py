"""A database that cannot be reached mid-request (restart, failover) is a quick 503 with
Retry-After, JSON under /api/, from whichever layer met it; not a 500."""

import pytest
from django.db import InterfaceError, OperationalError
from django.urls import reverse

from tests.api.conftest import client_with_token, token_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_json(world, monkeypatch, error):
    from homework.api import practice

    def down(*args, **kwargs):
        raise error("connection refused")

    monkeypatch.setattr(practice, "today_for_client", down)
    browser = client_with_token(token_for(world.client))
    browser.raise_request_exception = False
    response = browser.get(reverse("api:v1:today"))
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert "connection refused" not in response.content.decode()


def test_a_page_answers_503_html_even_from_the_session_layer(world, monkeypatch):
    from django.contrib.sessions.backends import db

    def down(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    browser = world.login(world.client)
    browser.raise_request_exception = False
    monkeypatch.setattr(db.SessionStore, "load", down)
    response = browser.get(reverse("homework:today"))
    assert response.status_code == 503
    assert "Briefly unavailable" in response.content.decode()
    assert "server closed" not in response.content.decode()


def test_other_errors_stay_500(world, monkeypatch):
    from homework.api import practice

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(practice, "today_for_client", broken)
    browser = client_with_token(token_for(world.client))
    browser.raise_request_exception = False
    assert browser.get(reverse("api:v1:today")).status_code == 500
