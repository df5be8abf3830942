"""Login, logout, password reset through the outbox, and each role's home."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from notifications.models import Notification
from tests.accounts.helpers import NEW_PASSWORD, assert_not_stored, link_in
from tests.conftest import PASSWORD

LOGIN = reverse("accounts:login")
RESET = reverse("accounts:password-reset")


@pytest.mark.parametrize(
    ("who", "home"),
    [("clinician", "homework:dashboard"), ("client", "homework:today"), ("admin", "admin:index")],
)
def test_it_logs_each_role_in_to_its_own_home(world, who, home):
    user = getattr(world, who)
    browser = world.login(None)
    response = browser.post(LOGIN, {"username": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse(home)
    landing = browser.get(response["Location"])
    if user.is_client:
        assert landing.status_code == 200
    else:
        # Clinicians and admins set up two-step verification before their home opens.
        assert landing.status_code == 302
        assert landing["Location"].startswith(reverse("accounts:mfa-setup"))


def test_it_follows_a_safe_next_link_after_login(world):
    browser = world.login(None)
    next_url = reverse("accounts:invitations")
    response = browser.post(
        f"{LOGIN}?next={next_url}",
        {"username": world.clinician.email, "password": PASSWORD, "next": next_url},
    )
    assert response["Location"] == next_url


def test_it_ignores_a_next_link_to_another_site(world):
    browser = world.login(None)
    response = browser.post(
        LOGIN,
        {"username": world.client.email, "password": PASSWORD, "next": "https://evil.test/"},
    )
    assert response["Location"] == reverse("homework:today")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "alex@client.test", "password": "wrong-password-123"}, "do not match"),
        ({"username": "nobody@example.test", "password": PASSWORD}, "do not match"),
        ({"username": "not-an-address", "password": PASSWORD}, "Enter a valid email address."),
        ({"username": "", "password": ""}, "This field is required."),
        ({}, "This field is required."),
    ],
)
def test_it_refuses_a_bad_login_with_a_clear_message(world, data, message):
    browser = world.login(None)
    response = browser.post(LOGIN, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "_auth_user_id" not in browser.session


def test_it_refuses_login_to_a_deactivated_account(world):
    services.user_deactivate(user=world.client)
    response = world.login(None).post(LOGIN, {"username": world.client.email, "password": PASSWORD})
    assert response.status_code == 200
    assert b"do not match an active account" in response.content


def test_it_shows_the_login_page_to_visitors_and_sends_members_home(world):
    assert world.login(None).get(LOGIN).status_code == 200
    response = world.login(world.client).get(LOGIN)
    assert response["Location"] == reverse("homework:today")


def test_it_logs_out_on_post_only(world):
    browser = world.login(world.client)
    assert browser.get(reverse("accounts:logout")).status_code == 405
    response = browser.post(reverse("accounts:logout"), follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert b"You are logged out." in response.content
    assert browser.get(reverse("homework:today"))["Location"].startswith(LOGIN)


def test_it_sends_a_visitor_from_home_to_login(world):
    assert world.login(None).get("/")["Location"] == LOGIN


# --- password reset ---------------------------------------------------------------


def test_it_resets_a_password_through_the_outbox(world, send_outbox):
    browser = world.login(None)
    with send_outbox():
        response = browser.post(RESET, {"email": "Alex@Client.test"})
    assert response["Location"] == reverse("accounts:password-reset-done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.client.email]
    path = link_in(message, "/accounts/reset/")
    token = path.rstrip("/").rsplit("/", 1)[-1]
    assert_not_stored(token)
    assert Notification.objects.get().status == Notification.Status.SENT

    # Django swaps the token for a session key so it does not linger in the address bar.
    form_page = browser.get(path, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    response = browser.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response["Location"] == reverse("accounts:password-reset-complete")

    world.client.refresh_from_db()
    assert world.client.check_password(NEW_PASSWORD)
    login = world.login(None).post(LOGIN, {"username": world.client.email, "password": PASSWORD})
    assert login.status_code == 200  # the old password no longer works
    login = world.login(None).post(
        LOGIN, {"username": world.client.email, "password": NEW_PASSWORD}
    )
    assert login["Location"] == reverse("homework:today")
    # The link is single use: the password it was made for has changed.
    again = world.login(None).get(path, follow=True)
    assert b"may be incomplete" in again.content


def test_it_gives_the_same_answer_for_an_unknown_address_and_sends_nothing(world, send_outbox):
    known = world.login(None)
    with send_outbox():
        unknown = world.login(None).post(RESET, {"email": "nobody@example.test"}, follow=True)
    assert unknown.status_code == 200
    assert mail.outbox == []
    assert Notification.objects.count() == 0
    with send_outbox():
        answered = known.post(RESET, {"email": world.client.email}, follow=True)
    assert answered.content == unknown.content
    assert len(mail.outbox) == 1


def test_it_sends_nothing_to_a_deactivated_account(world, send_outbox):
    services.user_deactivate(user=world.client)
    with send_outbox():
        world.login(None).post(RESET, {"email": world.client.email})
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "message"),
    [({"email": "not-an-address"}, b"Enter a valid email address."), ({}, b"required")],
)
def test_it_writes_nothing_for_a_bad_reset_request(world, data, message):
    response = world.login(None).post(RESET, data)
    assert response.status_code == 200
    assert message in response.content
    assert Notification.objects.count() == 0


def test_it_sends_one_reset_email_per_window(world):
    now = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    assert services.password_reset_request(email=world.client.email, now=now) is True
    assert services.password_reset_request(email=world.client.email, now=now) is False
    later = now + services.PASSWORD_RESET_WINDOW
    assert services.password_reset_request(email=world.client.email, now=later) is True
    assert Notification.objects.filter(recipient=world.client).count() == 2


@pytest.mark.parametrize(
    ("new_passwords", "message"),
    [
        (("short", "short"), "too short"),
        ((NEW_PASSWORD, NEW_PASSWORD + "x"), "didn’t match"),  # noqa: RUF001 Django's wording
        (("", ""), "This field is required."),
    ],
)
def test_it_keeps_the_old_password_for_a_bad_new_one(world, send_outbox, new_passwords, message):
    browser = world.login(None)
    with send_outbox():
        browser.post(RESET, {"email": world.client.email})
    form_page = browser.get(link_in(mail.outbox[0], "/accounts/reset/"), follow=True)
    first, second = new_passwords
    response = browser.post(
        form_page.redirect_chain[-1][0], {"new_password1": first, "new_password2": second}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    world.client.refresh_from_db()
    assert world.client.check_password(PASSWORD)


def test_it_refuses_an_expired_reset_link(world, send_outbox, settings):
    browser = world.login(None)
    with send_outbox():
        browser.post(RESET, {"email": world.client.email})
    path = link_in(mail.outbox[0], "/accounts/reset/")
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = browser.get(path, follow=True)
    assert b"may be incomplete" in response.content


@pytest.mark.parametrize(
    "url",
    [
        LOGIN,
        RESET,
        reverse("accounts:password-reset-done"),
        reverse("accounts:password-reset-complete"),
    ],
)
def test_it_shows_the_public_pages_to_anonymous_visitors(world, url):
    assert world.login(None).get(url).status_code == 200
