"""Two-step verification: who must enrol, the second step at login, recovery codes, opt-in."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa, sessions
from tests.security.conftest import code_for, enrol, password_login

SETUP = reverse("accounts:mfa-setup")
VERIFY = reverse("accounts:mfa-verify")
DASHBOARD = reverse("homework:dashboard")
TODAY = reverse("homework:today")


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("clinician", DASHBOARD),
        ("clinician", "/clinician/exercises/"),
        ("clinician", "/admin/"),
        ("admin", "/admin/"),
        ("admin", "/admin/accounts/user/"),
        ("clinician", reverse("accounts:settings")),
    ],
)
def test_it_sends_staff_without_an_authenticator_to_enrol_first(world, who, page):
    browser = password_login(getattr(world, who))
    response = browser.get(page)
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next={page.replace('/', '%2F')}"


@pytest.mark.parametrize("who", ["clinician", "admin"])
def test_it_asks_enrolled_staff_for_a_code_in_every_new_session(world, who):
    user = getattr(world, who)
    enrol(user)
    browser = password_login(user)
    for page in (DASHBOARD, "/admin/"):
        response = browser.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{VERIFY}?next=")


def test_it_refuses_unverified_staff_sessions_on_the_api_too(world):
    browser = password_login(world.clinician)
    response = browser.get("/api/v1/clients/")
    assert response.status_code == 403
    assert "Two-step verification" in response.json()["detail"]


def test_it_lets_a_client_without_an_authenticator_straight_in(world):
    browser = password_login(world.client)
    assert browser.get(TODAY).status_code == 200


def test_it_asks_a_client_who_opted_in_for_the_code(world):
    enrol(world.client)
    browser = password_login(world.client)
    response = browser.get(TODAY)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


def test_it_enrols_with_a_server_drawn_qr_code_and_a_confirming_code(world):
    browser = password_login(world.clinician)
    page = browser.get(f"{SETUP}?next={DASHBOARD}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and 'aria-label="QR code' in html
    assert "otpauth://" not in html  # the secret travels only inside the picture and the key
    device = TOTPDevice.objects.get(user=world.clinician, confirmed=False)

    wrong = browser.post(SETUP, {"code": "000000", "next": DASHBOARD})
    assert wrong.status_code == 200
    assert "did not match" in wrong.content.decode()
    assert not mfa.mfa_enrolled(world.clinician)

    done = browser.post(SETUP, {"code": code_for(device), "next": DASHBOARD})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done.content.decode())
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    assert mfa.mfa_enrolled(world.clinician)
    # The session that enrolled is verified: the clinical pages open.
    assert browser.get(DASHBOARD).status_code == 200


def test_it_verifies_the_second_step_with_the_authenticator_code(world, monkeypatch):
    device, _codes = enrol(world.clinician)
    browser = password_login(world.clinician)
    wrong = browser.post(VERIFY, {"code": "123456", "next": DASHBOARD})
    assert wrong.status_code == 200
    assert "did not work" in wrong.content.decode()
    assert browser.get(DASHBOARD).status_code == 302
    # Each wrong code makes the next attempt wait (django-otp throttling), even a right one.
    assert browser.post(VERIFY, {"code": code_for(device)}).status_code == 200

    later = timezone.now() + timedelta(seconds=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    right = browser.post(VERIFY, {"code": code_for(device), "next": DASHBOARD})
    assert right["Location"] == DASHBOARD
    assert browser.get(DASHBOARD).status_code == 200


def test_it_accepts_each_recovery_code_once(world):
    _device, codes = enrol(world.clinician)
    first = password_login(world.clinician)
    assert first.post(VERIFY, {"code": codes[0].upper(), "next": DASHBOARD}).status_code == 302
    assert first.get(DASHBOARD).status_code == 200
    assert mfa.recovery_codes_left(world.clinician) == mfa.RECOVERY_CODE_COUNT - 1

    second = password_login(world.clinician)
    again = second.post(VERIFY, {"code": codes[0], "next": DASHBOARD})
    assert again.status_code == 200
    assert second.get(DASHBOARD).status_code == 302


def test_it_does_not_follow_an_outside_next_link_after_verifying(world):
    device, _codes = enrol(world.client)
    browser = password_login(world.client)
    response = browser.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == TODAY


def test_it_will_not_replace_an_authenticator_with_the_password_alone(world):
    enrol(world.clinician)
    browser = password_login(world.clinician)
    response = browser.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=world.clinician).count() == 1


def test_it_lets_a_client_turn_it_off_but_not_a_clinician(world):
    device, _codes = enrol(world.client)
    client_browser = password_login(world.client)
    client_browser.post(VERIFY, {"code": code_for(device)})
    off = reverse("accounts:mfa-turn-off")
    assert client_browser.post(off)["Location"] == reverse("accounts:mfa")
    assert not mfa.mfa_enrolled(world.client)
    assert not StaticToken.objects.filter(device__user=world.client).exists()
    assert client_browser.get(TODAY).status_code == 200

    clinician_browser = world.login(world.clinician)
    assert clinician_browser.post(off).status_code == 403


def test_it_makes_new_recovery_codes_and_retires_the_old(world):
    browser = world.login(world.clinician)
    _device, old = enrol(world.clinician)
    session = browser.session
    # The password was given within the last minutes, as right after logging in.
    sessions.reauth_mark(session=session, now=timezone.now())
    session.save()
    response = browser.post(reverse("accounts:mfa-recovery-codes"))
    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(new) == mfa.RECOVERY_CODE_COUNT
    assert not set(new) & set(old)
    assert mfa.mfa_verify(user=world.clinician, code=new[0]) == StaticDevice.objects.get(
        user=world.clinician
    )
    assert mfa.mfa_verify(user=world.clinician, code=old[0]) is None


@pytest.mark.parametrize(
    "name", ["mfa", "mfa-setup", "mfa-verify", "mfa-recovery-codes", "mfa-turn-off", "reauth"]
)
def test_it_sends_anonymous_visitors_to_log_in(world, name):
    response = world.login(None).get(reverse(f"accounts:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_never_shows_a_second_factor_secret_in_the_admin(world):
    device, codes = enrol(world.clinician)
    browser = world.login(world.admin)
    for url in (
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:otp_totp_totpdevice_change", args=[device.pk]),
        reverse("admin:otp_static_staticdevice_changelist"),
    ):
        page = browser.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert device.key not in html
        assert "qrcode" not in html.lower()
        assert not any(code in html for code in codes)
    # A superuser may delete a lost device, so its owner can enrol again.
    delete = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    assert browser.post(delete, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_it_keeps_second_factor_devices_from_clinic_admins(world):
    from accounts.models import User

    office = User.objects.create_user(
        email="office@harbour.test", password="x", role="admin", clinic=world.clinic, is_staff=True
    )
    response = world.login(office).get(reverse("admin:otp_totp_totpdevice_changelist"))
    assert response.status_code == 403


def test_it_lets_a_client_in_whose_authenticator_was_removed_meanwhile(world):
    device, _codes = enrol(world.client)
    browser = password_login(world.client)
    device.delete()
    response = browser.get(TODAY)
    assert response["Location"].startswith(VERIFY)
    assert browser.get(response["Location"])["Location"] == TODAY
    assert browser.get(TODAY).status_code == 200
