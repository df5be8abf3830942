"""Logging in to the API: tokens (issue, use, expire, revoke) and sessions, throttled."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework.request import Request
from rest_framework.test import APIClient

from accounts.authentication import TokenAuthentication
from accounts.services import user_deactivate
from tests.api.conftest import client_with_token
from tests.conftest import PASSWORD

TOKEN_URL = reverse("api:v1:token")
ME_URL = reverse("api:v1:me")


def issue(email: str, password: str = PASSWORD, code: str | None = None, **extra):
    data = {"email": email, "password": password}
    if code is not None:
        data["code"] = code
    response = APIClient().post(TOKEN_URL, data, **extra)
    return response.status_code, response.json()


def authenticator(user) -> TOTPDevice:
    """A confirmed authenticator app for the user, as after enrolling on the website."""
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def test_it_issues_a_token_that_authenticates(world) -> None:
    status, body = issue(world.client.email)
    assert status == 201
    assert set(body) == {"token", "expiry"}

    me = client_with_token(body["token"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["email"] == world.client.email
    assert me.json()["role"] == "client"


def test_it_stores_only_a_digest_of_the_token(world) -> None:
    _status, body = issue(world.client.email)
    stored = AuthToken.objects.get(user=world.client)
    assert body["token"] not in (stored.digest, stored.token_key)
    assert len(stored.token_key) < len(body["token"])  # only a prefix, for lookup


def test_it_refuses_wrong_credentials_with_one_message_and_issues_nothing(world) -> None:
    wrong_password = issue(world.client.email, "not-the-password")
    unknown = issue("nobody@client.test")
    assert wrong_password[0] == unknown[0] == 400
    assert wrong_password[1] == unknown[1]
    assert "non_field_errors" in wrong_password[1]
    assert not AuthToken.objects.exists()


def test_it_refuses_a_request_without_fields_with_field_messages(world) -> None:
    response = APIClient().post(TOKEN_URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_it_expires_tokens_after_their_ttl(world, monkeypatch) -> None:
    _status, body = issue(world.client.email)
    browser = client_with_token(body["token"])
    assert browser.get(ME_URL).status_code == 200

    later = timezone.now() + knox_settings.TOKEN_TTL + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = browser.get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not AuthToken.objects.filter(user=world.client).exists()  # cleaned up


def test_it_authenticates_a_token_in_one_query_however_many_tokens_the_user_has(
    world, django_assert_num_queries
) -> None:
    _status, body = issue(world.client.email)
    for _ in range(3):
        AuthToken.objects.create(user=world.client, expiry=timedelta(seconds=-1))
    request = RequestFactory().get(ME_URL, HTTP_AUTHORIZATION=f"Token {body['token']}")
    # knox's own class also reads every other token of the user on each request.
    with django_assert_num_queries(1):
        user, _token = TokenAuthentication().authenticate(Request(request))
    assert user == world.client


def test_it_keeps_a_token_working_until_just_before_expiry(world, monkeypatch) -> None:
    _status, body = issue(world.client.email)
    almost = timezone.now() + knox_settings.TOKEN_TTL - timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: almost)
    assert client_with_token(body["token"]).get(ME_URL).status_code == 200


def test_it_revokes_the_token_used_to_log_out_only(world) -> None:
    first = issue(world.client.email)[1]["token"]
    second = issue(world.client.email)[1]["token"]

    response = client_with_token(first).post(reverse("api:v1:token-logout"))
    assert response.status_code == 204
    assert client_with_token(first).get(ME_URL).status_code == 401
    assert client_with_token(second).get(ME_URL).status_code == 200


def test_it_revokes_every_token_of_the_account_on_logoutall(world) -> None:
    first = issue(world.client.email)[1]["token"]
    second = issue(world.client.email)[1]["token"]
    others = issue(world.other_client.email)[1]["token"]

    assert client_with_token(first).post(reverse("api:v1:token-logoutall")).status_code == 204
    assert client_with_token(first).get(ME_URL).status_code == 401
    assert client_with_token(second).get(ME_URL).status_code == 401
    assert client_with_token(others).get(ME_URL).status_code == 200


def test_it_stops_a_deactivated_users_tokens(world) -> None:
    device = authenticator(world.clinician)
    token = issue(world.clinician.email, code=current_code(device))[1]["token"]
    user_deactivate(user=world.clinician)

    response = client_with_token(token).get(ME_URL)
    assert response.status_code == 401
    assert issue(world.clinician.email, code=current_code(device))[0] == 400  # and no new one


def test_it_refuses_a_made_up_token(world) -> None:
    response = client_with_token("f" * 64).get(ME_URL)
    assert response.status_code == 401


@override_settings(REST_KNOX={**django_settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2})
def test_it_refuses_more_tokens_than_the_limit(world) -> None:
    from knox.settings import knox_settings as live_settings

    assert live_settings.TOKEN_LIMIT_PER_USER == 2
    assert issue(world.client.email)[0] == 201
    assert issue(world.client.email)[0] == 201
    status, body = issue(world.client.email)
    assert status == 400
    assert "logoutall" in body["non_field_errors"][0]
    assert AuthToken.objects.filter(user=world.client).count() == 2


@override_settings(REST_KNOX={**django_settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 1})
def test_it_does_not_count_expired_tokens_against_the_limit(world) -> None:
    AuthToken.objects.create(user=world.client, expiry=timedelta(seconds=-1))
    assert issue(world.client.email)[0] == 201
    assert AuthToken.objects.filter(user=world.client).count() == 1


# --- Two-step verification ---


def test_it_refuses_a_token_to_a_clinician_without_two_step_verification(world) -> None:
    status, body = issue(world.clinician.email)
    assert status == 400
    assert "Set it up on the website" in body["code"][0]
    assert not AuthToken.objects.exists()


def test_it_asks_an_enrolled_clinician_for_a_current_code(world, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no back-off between the wrong and the right code
    device = authenticator(world.clinician)
    assert issue(world.clinician.email)[0] == 400
    status, body = issue(
        world.clinician.email, code="000000" if current_code(device) != "000000" else "111111"
    )
    assert status == 400
    assert body["code"]
    assert not AuthToken.objects.exists()

    status, body = issue(world.clinician.email, code=current_code(device))
    assert status == 201
    assert client_with_token(body["token"]).get(ME_URL).json()["role"] == "clinician"


def test_it_takes_a_recovery_code_once(world) -> None:
    from accounts.mfa import recovery_codes_regenerate

    authenticator(world.clinician)
    code = recovery_codes_regenerate(user=world.clinician)[0]
    assert issue(world.clinician.email, code=code)[0] == 201
    assert issue(world.clinician.email, code=code)[0] == 400


def test_it_asks_a_client_who_opted_in_for_a_code_too(world) -> None:
    device = authenticator(world.client)
    assert issue(world.client.email)[0] == 400
    assert issue(world.client.email, code=current_code(device))[0] == 201


def test_it_verifies_the_session_of_a_clinician_who_logs_in_with_a_code(world) -> None:
    device = authenticator(world.clinician)
    browser = APIClient()
    url = reverse("api:v1:session-login")
    credentials = {"email": world.clinician.email, "password": PASSWORD}
    assert browser.post(url, credentials, format="json").status_code == 400
    response = browser.post(url, {**credentials, "code": current_code(device)}, format="json")
    assert response.status_code == 200
    assert browser.get(reverse("api:v1:client-list")).status_code == 200


# --- Throttling ---


@pytest.fixture
def real_cache(settings):
    """The configured cache backend (Redis under CI) instead of the per-test one, under a
    key prefix of this test's own, and a client address of its own."""
    from clinic import settings as project_settings

    configured = project_settings.CACHES["default"]
    settings.CACHES = {"default": {**configured, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def test_it_throttles_token_requests_from_one_address(world, real_cache) -> None:
    limit = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    statuses = [
        issue(f"guess-{uuid.uuid4().hex}@client.test", "wrong", REMOTE_ADDR=real_cache)[0]
        for _ in range(limit)
    ]
    assert statuses == [400] * limit

    status, body = issue(world.client.email, REMOTE_ADDR=real_cache)
    assert status == 429  # even with the right password, until the window passes
    assert "detail" in body
    assert not AuthToken.objects.exists()

    elsewhere = issue(world.client.email, REMOTE_ADDR="192.0.2.1")
    assert elsewhere[0] == 201


def test_it_ignores_a_forged_forwarded_address(world, real_cache) -> None:
    limit = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    for n in range(limit):
        issue(
            "x@client.test", "wrong", REMOTE_ADDR=real_cache, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        )
    assert issue(world.client.email, REMOTE_ADDR=real_cache)[0] == 429


def test_it_throttles_guesses_at_one_account_from_many_addresses(world, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login": "1000/min", "login_email": "3/hour"},
    }
    statuses = [
        issue(world.client.email.upper(), "wrong", REMOTE_ADDR=f"203.0.113.{n}")[0]
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_it_throttles_the_session_login_too(world, real_cache) -> None:
    limit = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    url = reverse("api:v1:session-login")
    statuses = [
        APIClient()
        .post(
            url,
            {"email": f"{uuid.uuid4().hex}@client.test", "password": "x"},
            REMOTE_ADDR=real_cache,
        )
        .status_code
        for _ in range(limit + 1)
    ]
    assert statuses == [400] * limit + [429]


def test_it_lets_logins_through_when_the_throttle_cache_is_down(world, monkeypatch, caplog) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core.api import LOGIN_THROTTLES

    class Unreachable:
        def get(self, *args, **kwargs):
            raise RedisConnectionError("Connection refused")

    for throttle in LOGIN_THROTTLES:
        monkeypatch.setattr(throttle, "cache", Unreachable())
    status, _body = issue(world.client.email)
    assert status == 201
    assert "throttle cache unavailable" in caplog.text


# --- Sessions, for the portal's own scripts ---


def test_it_logs_in_with_a_session_and_enforces_csrf_afterwards(world) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.get("/accounts/login/")  # the portal's page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value

    response = browser.post(
        reverse("api:v1:session-login"),
        {"email": world.client.email, "password": PASSWORD},
        format="json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 200
    assert response.json()["email"] == world.client.email
    csrf = browser.cookies["csrftoken"].value  # rotated on login

    assert browser.get(ME_URL).status_code == 200
    refused = browser.patch(ME_URL, {"full_name": "Forged"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    allowed = browser.patch(ME_URL, {"full_name": "Alex C."}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert allowed.status_code == 200

    assert browser.post(reverse("api:v1:session-logout"), HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert browser.get(ME_URL).status_code == 401


def test_it_refuses_a_session_login_without_csrf(world) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    response = browser.post(
        reverse("api:v1:session-login"),
        {"email": world.client.email, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 403
    assert "sessionid" not in browser.cookies
