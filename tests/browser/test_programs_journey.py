"""Programs in a real browser: a clinician makes a group of three and enrols it in the
eight-week course; a client on a phone sees week 1 and practises; the clinician sees the
group page. Every page passes the accessibility audit.

With KINDWORK_SCREENSHOTS=1 it also saves the course, the group page and the client's
Today to docs/screenshots/ for the README.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from homework.models import Completion
from homework.schedule import local_date
from programs.models import Enrolment, Program
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.conftest import make_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _folder(tmp_path: Path) -> Path:
    if os.getenv("KINDWORK_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def _open_details(page) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def test_a_group_takes_the_eight_week_course(live_server, world, new_context, audit, tmp_path):
    folder = _folder(tmp_path)
    third = make_client(
        "robin@client.test", world.clinician, full_name="Robin Client", timezone="Europe/London"
    )
    two_step_enrolled(world.clinician)
    clinician = new_context().new_page()
    log_in(clinician, world.clinician)

    clinician.get_by_role("link", name="Programs").click()
    expect(clinician.get_by_role("heading", name="Programs", level=1)).to_be_visible()
    audit(clinician)
    clinician.get_by_role("link", name="Eight weeks of self-compassion").click()
    expect(
        clinician.get_by_role("heading", name="Week 1: Noticing the inner critic")
    ).to_be_visible()
    audit(clinician)
    clinician.screenshot(path=folder / "clinician-course.png")

    clinician.get_by_role("link", name="Groups").click()
    clinician.get_by_role("link", name="Make a group").click()
    clinician.get_by_label("Group name").fill("Thursday evening group")
    for name in ("Alex Client", "Blair Client", "Robin Client"):
        clinician.get_by_label(name).check()
    audit(clinician)
    clinician.get_by_role("button", name="Save the group").click()
    expect(clinician.get_by_role("heading", name="Thursday evening group")).to_be_visible()

    clinician.get_by_role("link", name="Enrol in “Eight weeks of self-compassion”").click()
    start = max(
        local_date(timezone.now(), c.zone) for c in (world.client, world.other_client, third)
    )
    clinician.get_by_label("Start date").fill(start.isoformat())
    audit(clinician)
    clinician.get_by_role("button", name="Enrol").click()
    expect(clinician.get_by_text("Enrolled 3 in “Eight weeks of self-compassion”.")).to_be_visible()
    assert Enrolment.objects.filter(group__name="Thursday evening group").count() == 3

    # The client, on a phone, sees week 1 and practises.
    phone = new_context(PHONE).new_page()
    log_in(phone, world.client)
    expect(
        phone.get_by_role("heading", name="Week 1 of 8: Noticing the inner critic")
    ).to_be_visible()
    expect(phone.get_by_text("Next week: A kind pause in hard moments.")).to_be_visible()
    audit(phone)
    phone.screenshot(path=folder / "client-course-today-phone.png", full_page=True)
    phone.get_by_role("link", name="Start practice").first.click()
    phone.get_by_role("link", name="I've practised: log it").click()
    audit(phone)
    phone.get_by_role("button", name="Save my log").click()
    expect(phone.get_by_text("Your practice is logged")).to_be_visible()
    assert Completion.objects.filter(client=world.client).count() == 1
    phone.goto(reverse("homework:progress"))
    expect(phone.get_by_role("heading", name="Your course, week by week")).to_be_visible()
    _open_details(phone)
    audit(phone)

    # The clinician sees the group page with each member's week and the chart.
    clinician.reload()
    expect(clinician.get_by_role("heading", name="Thursday evening group")).to_be_visible()
    members = clinician.get_by_role("table").first.inner_text()
    assert members.count("Week 1 of 8: Noticing the inner critic") == 3
    _open_details(clinician)
    audit(clinician)
    clinician.screenshot(path=folder / "clinician-group.png", full_page=True)
    assert Program.objects.filter(clinic__isnull=True).count() == 1
