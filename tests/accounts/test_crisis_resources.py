"""Crisis resources: the admin sets them per clinic; every portal page links to them."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import DEFAULT_CRISIS_TEXT, CrisisContact
from tests.accounts.helpers import admin_change_data

HELP = reverse("accounts:crisis-help")


def clinic_change(clinic) -> str:
    return reverse("admin:accounts_clinic_change", args=[clinic.pk])


@pytest.fixture
def harbour_resources(world):
    world.clinic.crisis_text = "Harbour crisis team: call us on weekdays."
    world.clinic.save()
    CrisisContact.objects.create(
        clinic=world.clinic, label="Samaritans (24 hours)", phone="+44 116 123", position=1
    )
    CrisisContact.objects.create(
        clinic=world.clinic, label="Shout text line", url="https://giveusashout.org/", position=2
    )


def test_it_shows_the_default_text_when_the_clinic_has_set_nothing(world):
    page = world.login(world.client).get(HELP)
    assert page.status_code == 200
    assert DEFAULT_CRISIS_TEXT in page.content.decode()


def test_it_shows_the_clinics_own_text_numbers_and_links(world, harbour_resources):
    page = world.login(world.client).get(HELP).content.decode()
    assert "Harbour crisis team: call us on weekdays." in page
    assert DEFAULT_CRISIS_TEXT not in page
    assert '<a href="tel:+44116123">call +44 116 123</a>' in page
    assert 'href="https://giveusashout.org/"' in page
    assert page.index("Samaritans") < page.index("Shout text line")


def test_it_never_shows_another_clinics_resources(world, harbour_resources):
    page = world.login(world.stranger_client).get(HELP).content.decode()
    assert "Harbour crisis team" not in page and "Samaritans" not in page
    assert DEFAULT_CRISIS_TEXT in page


def test_it_sends_an_anonymous_visitor_to_log_in(world):
    response = world.login(None).get(HELP)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_refuses_a_post(world):
    assert world.login(world.client).post(HELP).status_code == 405


@pytest.mark.parametrize(
    "page", ["homework:today", "homework:history", "homework:progress", "measures:measures"]
)
def test_it_links_every_portal_page_to_help_now(world, page):
    content = world.login(world.client).get(reverse(page)).content.decode()
    assert f'href="{HELP}"' in content and "Help now" in content


def test_it_lets_the_admin_set_the_text_and_a_contact(world):
    browser = world.login(world.admin)
    data = admin_change_data(browser.get(clinic_change(world.clinic)))
    data["crisis_text"] = "Call the duty line."
    data["crisis_contacts-0-label"] = "Duty line"
    data["crisis_contacts-0-phone"] = "020 7946 0000"
    response = browser.post(clinic_change(world.clinic), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.clinic.refresh_from_db()
    assert world.clinic.crisis_text == "Call the duty line."
    assert list(world.clinic.crisis_contacts.values_list("label", "phone")) == [
        ("Duty line", "020 7946 0000")
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"crisis_contacts-0-label": "Nothing to call"}, "Give a phone number, a link, or both."),
        (
            {"crisis_contacts-0-label": "Odd", "crisis_contacts-0-phone": "call me"},
            "Enter digits, spaces, brackets or dashes",
        ),
        (
            {"crisis_contacts-0-label": "Script", "crisis_contacts-0-url": "javascript:alert(1)"},
            "Enter a valid URL.",
        ),
    ],
)
def test_it_refuses_a_contact_that_cannot_be_used_and_writes_nothing(world, fields, message):
    browser = world.login(world.admin)
    data = admin_change_data(browser.get(clinic_change(world.clinic))) | fields
    response = browser.post(clinic_change(world.clinic), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CrisisContact.objects.exists()


def test_it_answers_the_api_with_the_callers_own_clinic(world, harbour_resources):
    api = APIClient()
    api.force_authenticate(world.client)
    body = api.get("/api/v1/me/crisis-resources/").json()
    assert body["text"] == "Harbour crisis team: call us on weekdays."
    assert body["is_default_text"] is False
    assert [c["label"] for c in body["contacts"]] == ["Samaritans (24 hours)", "Shout text line"]
    api.force_authenticate(world.stranger_client)
    body = api.get("/api/v1/me/crisis-resources/").json()
    assert body == {"text": DEFAULT_CRISIS_TEXT, "contacts": [], "is_default_text": True}
    assert APIClient().get("/api/v1/me/crisis-resources/").status_code == 401
