"""Helpers for the security tests: authenticator codes, enrolled people, a clean lockout."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import User
from tests.conftest import PASSWORD


def code_for(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows right now."""
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return str(value).zfill(device.digits)


def enrol(user: User) -> tuple[TOTPDevice, list[str]]:
    """Give a person a confirmed authenticator and recovery codes, as the setup page does."""
    device = mfa.mfa_pending_device(user=user)
    device.confirmed = True
    device.save()
    return device, mfa.recovery_codes_regenerate(user=user)


def password_login(user: User, **extra) -> Client:
    """A browser that logged in through the login page with the password only."""
    browser = Client(**extra)
    response = browser.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return browser


@pytest.fixture(autouse=True)
def _fresh_cache(settings) -> None:
    # Throttle counters of the API login live in the cache; each test starts from zero.
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"security-{uuid.uuid4().hex}",
        }
    }
