"""Sessions: idle timeout by role on a pinned clock, absolute lifetime, re-authentication,
"log out everywhere", and deactivation ending sessions and API tokens at once."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from accounts import services, sessions
from accounts.models import UserSession
from tests.conftest import PASSWORD
from tests.security.conftest import code_for, enrol

DASHBOARD = reverse("homework:dashboard")
TODAY = reverse("homework:today")
LOGIN = reverse("accounts:login")


@pytest.fixture
def clock(monkeypatch):
    """Move the server's clock: clock.advance(minutes=...)."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta) -> None:
            self.now = self.now + timedelta(**delta)

    pinned = Clock()
    monkeypatch.setattr(timezone, "now", lambda: pinned.now)
    return pinned


def test_it_logs_a_clinician_out_after_fifteen_idle_minutes(world, clock, settings):
    assert settings.SESSION_IDLE_MINUTES_STAFF == 15
    browser = world.login(world.clinician)
    clock.advance(minutes=14)
    assert browser.get(DASHBOARD).status_code == 200  # activity: the timer starts again
    clock.advance(minutes=14)
    assert browser.get(DASHBOARD).status_code == 200
    clock.advance(minutes=15, seconds=1)
    response = browser.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={DASHBOARD}"
    assert "without activity" in browser.get(response["Location"]).content.decode()
    assert browser.get(DASHBOARD)["Location"].startswith(LOGIN)  # really logged out
    assert not UserSession.objects.filter(session_key=browser.session.session_key).exists()


def test_it_gives_clients_a_longer_idle_time(world, clock, settings):
    assert settings.SESSION_IDLE_MINUTES_CLIENT == 60
    browser = world.login(world.client)
    clock.advance(minutes=45)
    assert browser.get(TODAY).status_code == 200
    clock.advance(minutes=61)
    assert browser.get(TODAY)["Location"].startswith(LOGIN)


def test_it_reads_the_idle_time_from_settings(world, clock, settings):
    settings.SESSION_IDLE_MINUTES_STAFF = 5
    browser = world.login(world.clinician)
    clock.advance(minutes=6)
    assert browser.get(DASHBOARD)["Location"].startswith(LOGIN)


def test_it_ends_even_a_busy_session_at_the_absolute_lifetime(world, clock, settings):
    settings.SESSION_ABSOLUTE_MINUTES = 60
    browser = world.login(world.client)
    for _ in range(5):
        clock.advance(minutes=11)
        assert browser.get(TODAY).status_code == 200
    clock.advance(minutes=6)
    response = browser.get(TODAY)
    assert response["Location"].startswith(LOGIN)
    assert "maximum length" in browser.get(response["Location"]).content.decode()


def test_it_answers_the_api_as_logged_out_when_the_session_expired(world, clock):
    browser = world.login(world.clinician)
    assert browser.get("/api/v1/me/").status_code == 200
    clock.advance(minutes=16)
    response = browser.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


def test_it_shows_when_the_session_ends_and_stays_alive_on_request(world, clock):
    browser = world.login(world.clinician)
    page = browser.get(DASHBOARD).content.decode()
    ends = (clock.now + timedelta(minutes=15)).astimezone(world.clinician.zone)
    assert "15 minutes without activity" in page
    assert ends.strftime("%H:%M") in page
    assert 'action="/accounts/session/keep-alive/"' in page

    clock.advance(minutes=14, seconds=50)
    keep = browser.post(reverse("accounts:session-keepalive"), {"next": DASHBOARD})
    assert keep["Location"] == DASHBOARD
    clock.advance(minutes=10)
    assert browser.get(DASHBOARD).status_code == 200


def test_it_shows_the_ended_page_when_the_timer_runs_out(world, clock):
    browser = world.login(world.clinician)
    clock.advance(minutes=20)
    page = browser.get(reverse("accounts:session-ended"))
    assert page.status_code == 200
    assert "You were logged out" in page.content.decode()
    assert browser.get(DASHBOARD)["Location"].startswith(LOGIN)


def test_it_asks_for_the_password_again_before_changing_the_email(world, clock):
    browser = world.login(world.client)
    email_change = reverse("accounts:email-change")
    clock.advance(minutes=11)  # the login's password is no longer recent
    response = browser.get(email_change)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:reauth"))

    wrong = browser.post(response["Location"], {"password": "not-it"})
    assert wrong.status_code == 200
    assert "did not match" in wrong.content.decode()
    right = browser.post(response["Location"], {"password": PASSWORD})
    assert right["Location"] == email_change

    changed = browser.post(email_change, {"email": "Alex.New@Client.test"})
    assert changed["Location"] == reverse("accounts:settings")
    world.client.refresh_from_db()
    assert world.client.email == "alex.new@client.test"


def test_it_accepts_a_fresh_authenticator_code_as_reauthentication(world, clock):
    device, _codes = enrol(world.clinician)
    browser = world.login(world.clinician)
    clock.advance(minutes=11)
    reauth = reverse("accounts:reauth")
    response = browser.post(f"{reauth}?next=/accounts/settings/email/", {"code": code_for(device)})
    assert response["Location"] == "/accounts/settings/email/"
    assert browser.get("/accounts/settings/email/").status_code == 200


def test_it_refuses_a_taken_email_and_changes_nothing(world):
    browser = world.login(world.client)
    response = browser.post(reverse("accounts:email-change"), {"email": world.other_client.email})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    world.client.refresh_from_db()
    assert world.client.email == "alex@client.test"


def test_it_logs_out_everywhere_and_revokes_every_token(world):
    here = world.login(world.client)
    there = world.login(world.client)
    AuthToken.objects.create(user=world.client)
    other_person = world.login(world.other_client)
    AuthToken.objects.create(user=world.other_client)

    response = here.post(reverse("accounts:logout-everywhere"))
    assert response["Location"] == LOGIN
    for browser in (here, there):
        assert browser.get(TODAY)["Location"].startswith(LOGIN)
    assert not AuthToken.objects.filter(user=world.client).exists()
    assert other_person.get(TODAY).status_code == 200
    assert AuthToken.objects.filter(user=world.other_client).exists()


def test_it_needs_a_post_to_log_out_everywhere(world):
    assert world.login(world.client).get(reverse("accounts:logout-everywhere")).status_code == 405


def test_it_ends_sessions_and_tokens_when_a_user_is_deactivated(world):
    browser = world.login(world.clinician)
    AuthToken.objects.create(user=world.clinician)
    services.user_deactivate(user=world.clinician)
    assert browser.get(DASHBOARD)["Location"].startswith(LOGIN)
    assert not AuthToken.objects.filter(user=world.clinician).exists()


def test_it_keeps_session_writes_rare_while_browsing(world, clock):
    browser = world.login(world.client)
    session_key = browser.session.session_key
    before = UserSession.objects.get(session_key=session_key).session_data
    clock.advance(seconds=20)
    browser.get(TODAY)
    assert UserSession.objects.get(session_key=session_key).session_data == before
    clock.advance(seconds=60)
    browser.get(TODAY)
    stored = UserSession.objects.get(session_key=session_key).get_decoded()
    assert stored[sessions.LAST_ACTIVITY_KEY] == int(clock.now.timestamp())
