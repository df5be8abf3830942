"""Safety in a real browser on a phone: the Help now page, and the page a client sees
after a PHQ-9 answer that raises a risk flag. Both pass the accessibility audit."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import CrisisContact
from measures.models import RiskFlag
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in
from tests.factories import make_measure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crisis_contacts(world):
    world.clinic.crisis_text = "Our duty clinician answers on weekdays from 9 to 5."
    world.clinic.save()
    CrisisContact.objects.create(clinic=world.clinic, label="Samaritans", phone="116 123")
    CrisisContact.objects.create(
        clinic=world.clinic, label="Text line", url="https://giveusashout.org/", position=1
    )


def test_it_reaches_help_now_in_one_tap_on_a_phone(
    live_server, world, crisis_contacts, new_context, audit
):
    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.get_by_role("link", name="Help now").click()
    expect(page).to_have_url(f"{live_server.url}{reverse('accounts:crisis-help')}")
    expect(page.get_by_role("heading", name="If you need help now")).to_be_visible()
    expect(page.get_by_role("link", name="call 116 123")).to_have_attribute("href", "tel:116123")
    audit(page)


def test_it_shows_the_crisis_resources_after_a_risk_answer_on_a_phone(
    live_server, world, crisis_contacts, new_context, audit
):
    measure = make_measure(world.client, instrument="PHQ-9")
    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.goto(reverse("measures:measure-answer", args=[measure.pk]))
    expect(page.locator(".step-counter")).to_have_text("Question 1 of 10")
    audit(page)
    for n in range(1, 10):
        choice = "1: Several days" if n == 9 else "0: Not at all"
        page.get_by_role("group", name=f"{n}.").get_by_label(choice).check()
        page.get_by_role("button", name="Next question").click()
    # The difficulty question is optional: the form saves without it.
    page.get_by_role("button", name="Save my answers").click()
    expect(
        page.get_by_role("heading", name="Thank you for telling us how things are")
    ).to_be_visible()
    expect(page.get_by_text("Our duty clinician answers on weekdays from 9 to 5.")).to_be_visible()
    expect(page.get_by_role("link", name="call 116 123")).to_be_visible()
    assert RiskFlag.objects.filter(client=world.client, item=9).count() == 1
    audit(page)


def test_it_grounds_a_client_after_a_hard_practice_on_a_phone(
    live_server, world, crisis_contacts, new_context, audit
):
    from homework.models import Completion
    from tests.factories import local_today, make_assignment, make_completion

    assignment = make_assignment(world.client, start_date=local_today(world.client))
    completion = make_completion(
        assignment, local_today(world.client), distress_before=3, distress_after=6
    )
    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.goto(reverse("homework:grounding", args=[completion.pk]))
    expect(
        page.get_by_role("heading", name="When practice stirs up something hard")
    ).to_be_visible()
    expect(page.get_by_role("link", name="call 116 123")).to_be_visible()
    audit(page)
    page.get_by_role("button", name="Let my clinician know").click()
    expect(
        page.get_by_text("Your clinician will see that this practice was hard.").first
    ).to_be_visible()
    assert Completion.objects.get(pk=completion.pk).clinician_told_at is not None
    audit(page)
