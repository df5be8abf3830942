"""Brute force: lockout by account and by address with a cool-off, on the login page and
the API token endpoint alike, and a forged X-Forwarded-For that changes nothing."""

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.client_ip import client_ip
from tests.conftest import PASSWORD

LOGIN = reverse("accounts:login")
TOKEN = reverse("api:v1:token")
LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


@pytest.fixture
def axes_clock(monkeypatch):
    """Pin the clock django-axes stamps attempts with."""
    import axes.handlers.proxy

    class Clock:
        now = timezone.now()

    clock = Clock()
    monkeypatch.setattr(axes.handlers.proxy, "now", lambda: clock.now)
    return clock


def web_login(email: str, password: str, **meta):
    return Client().post(LOGIN, {"username": email, "password": password}, **meta)


def token_login(email: str, password: str, **meta):
    return APIClient().post(TOKEN, {"email": email, "password": password}, format="json", **meta)


def test_it_locks_an_account_after_the_failure_limit_even_for_the_right_password(world):
    statuses = [web_login(world.client.email, "wrong").status_code for _ in range(LIMIT)]
    assert statuses == [200] * LIMIT  # each a normal "does not match" form
    locked = web_login(world.client.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in locked.wsgi_request.session


def test_it_locks_an_account_guessed_from_many_addresses(world):
    for n in range(LIMIT):
        web_login(world.client.email.upper(), "wrong", REMOTE_ADDR=f"203.0.113.{n}")
    assert web_login(world.client.email, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 429
    # Other accounts are not affected.
    assert (
        web_login(world.other_client.email, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 302
    )


def test_it_locks_an_address_that_guesses_at_many_accounts(world):
    for n in range(LIMIT):
        web_login(f"guess{n}@client.test", "wrong", REMOTE_ADDR="203.0.113.9")
    assert web_login(world.client.email, PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert web_login(world.client.email, PASSWORD, REMOTE_ADDR="203.0.113.10").status_code == 302


def test_it_unlocks_after_the_cool_off(world, settings, axes_clock):
    for _ in range(LIMIT):
        web_login(world.client.email, "wrong")
    axes_clock.now += settings.AXES_COOLOFF_TIME - timedelta(seconds=5)
    assert web_login(world.client.email, PASSWORD).status_code == 429
    axes_clock.now += timedelta(seconds=10)
    assert web_login(world.client.email, PASSWORD).status_code == 302
    # And a success wipes the slate: the next typo starts counting from one again.
    assert not AccessAttempt.objects.filter(username=world.client.email).exists()


def test_it_does_not_let_a_forged_forwarded_for_reset_the_address_counter(world):
    for n in range(LIMIT):
        web_login(f"guess{n}@client.test", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = web_login(world.client.email, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


def test_it_trusts_only_our_proxys_hop_behind_the_proxy(world, settings):
    settings.BEHIND_TLS_PROXY = True
    # The proxy appends the real peer (203.0.113.5); whatever the client put first is noise.
    for n in range(LIMIT):
        web_login(
            f"guess{n}@client.test",
            "wrong",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.5",
        )
    locked = web_login(
        world.client.email, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5"
    )
    assert locked.status_code == 429
    elsewhere = web_login(
        world.client.email, PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6"
    )
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("behind_proxy", "meta", "expected"),
    [
        (False, {"REMOTE_ADDR": "203.0.113.1", "HTTP_X_FORWARDED_FOR": "192.0.2.1"}, "203.0.113.1"),
        (
            True,
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 192.0.2.1"},
            "192.0.2.1",
        ),
        (
            True,
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.1, not-an-ip"},
            "10.0.0.1",
        ),
        (True, {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
    ],
)
def test_it_reads_the_client_address_from_one_trusted_hop_only(
    settings, behind_proxy, meta, expected
):
    settings.BEHIND_TLS_PROXY = behind_proxy
    assert client_ip(RequestFactory().get("/", **meta)) == expected


def test_it_locks_the_api_token_endpoint_through_the_same_counter(world):
    # Two failures on the web page and one on the API add up.
    web_login(world.clinician.email, "wrong")
    web_login(world.clinician.email, "wrong")
    assert token_login(world.clinician.email, "wrong").status_code == 400
    locked = token_login(world.clinician.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["detail"]
    assert locked["Retry-After"] == "900"  # the 15 minutes' cool-off, in seconds


def test_it_logs_a_lockout_by_account_id_without_the_address_typed(world, caplog):
    with caplog.at_level(logging.WARNING, logger="accounts.lockout"):
        for _ in range(LIMIT):
            web_login(world.client.email, "wrong")
    lines = [r.getMessage() for r in caplog.records if r.name == "accounts.lockout"]
    assert lines == [f"login locked out: account={world.client.pk} address=127.0.0.1 path={LOGIN}"]
    assert world.client.email not in caplog.text
