"""Every person's own settings page: name, time zone, password."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.accounts.helpers import NEW_PASSWORD
from tests.conftest import PASSWORD

SETTINGS = reverse("accounts:settings")
PASSWORD_CHANGE = reverse("accounts:password-change")
ROLES = ["clinician", "client", "admin", "stranger_client"]


@pytest.mark.parametrize("who", ROLES)
def test_it_shows_the_settings_pages_to_every_role(world, who):
    browser = world.login(getattr(world, who))
    page = browser.get(SETTINGS)
    assert page.status_code == 200
    assert getattr(world, who).email.encode() in page.content
    assert browser.get(PASSWORD_CHANGE).status_code == 200


def test_it_links_settings_in_the_navigation(world):
    page = world.login(world.client).get(reverse("homework:today"))
    assert f'href="{SETTINGS}"'.encode() in page.content


@pytest.mark.parametrize("url", [SETTINGS, PASSWORD_CHANGE])
def test_it_sends_anonymous_visitors_of_settings_to_login(world, url):
    response = world.login(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


def test_it_saves_name_and_time_zone(world):
    browser = world.login(world.client)
    response = browser.post(SETTINGS, {"full_name": " Alex C. ", "timezone": "Asia/Tokyo"})
    assert response["Location"] == SETTINGS
    world.client.refresh_from_db()
    assert world.client.full_name == "Alex C."
    assert world.client.timezone == "Asia/Tokyo"
    assert str(world.client.zone) == "Asia/Tokyo"
    assert b"Your settings are saved." in browser.get(SETTINGS).content


def test_it_changes_only_the_own_account(world):
    world.login(world.client).post(SETTINGS, {"full_name": "Changed", "timezone": "Asia/Tokyo"})
    world.other_client.refresh_from_db()
    assert world.other_client.full_name == "Blair Client"
    assert world.other_client.timezone == "UTC"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"full_name": "Alex", "timezone": "Mars/Olympus_Mons"}, "is not a known time zone"),
        ({"full_name": "Alex", "timezone": ""}, "This field is required."),
        ({"full_name": "Alex"}, "This field is required."),
        ({"full_name": "x" * 201, "timezone": "Asia/Tokyo"}, "at most 200 characters"),
    ],
)
def test_it_writes_nothing_for_bad_settings(world, data, message):
    response = world.login(world.client).post(SETTINGS, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    world.client.refresh_from_db()
    assert world.client.full_name == "Alex Client"
    assert world.client.timezone == "Europe/London"


def test_it_changes_the_password_and_keeps_this_session(world):
    browser = world.login(world.client)
    elsewhere = world.login(None)
    elsewhere.force_login(world.client)
    response = browser.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == SETTINGS
    world.client.refresh_from_db()
    assert world.client.check_password(NEW_PASSWORD)
    assert browser.get(reverse("homework:today")).status_code == 200
    # The other device's session no longer matches the password.
    assert elsewhere.get(reverse("homework:today")).status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            "Your old password was entered incorrectly.",
        ),
        (
            {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
            "too short",
        ),
        (
            {
                "old_password": PASSWORD,
                "new_password1": "alex@client.test",
                "new_password2": "alex@client.test",
            },
            "too similar",
        ),
        (
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": "other"},
            "didn’t match",  # noqa: RUF001 Django's wording
        ),
        ({}, "This field is required."),
    ],
)
def test_it_keeps_the_password_for_a_bad_change(world, data, message):
    response = world.login(world.client).post(PASSWORD_CHANGE, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.get(pk=world.client.pk).check_password(PASSWORD)
