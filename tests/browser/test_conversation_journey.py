"""Issue 16 in a real browser: a client answers their clinician's feedback on a phone and
the clinician answers back; a clinician opens the pre-session report and downloads its PDF.
Every page passes the accessibility audit. With KINDWORK_SCREENSHOTS=1 the thread and the
report are pictured to docs/screenshots/ for the README."""

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from homework.models import Feedback
from homework.schedule import local_date
from homework.services.feedback import feedback_create
from measures.engine import instrument_get
from measures.services import measure_assignment_create, measure_response_submit
from records import reports
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.factories import make_assignment, make_completion, make_exercise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _folder(tmp_path: Path) -> Path:
    if os.getenv("KINDWORK_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def _practice(world, today, *, days: int = 12):
    exercise = make_exercise(
        world.clinic,
        title="Self-compassion break",
        ratings=["distress_before", "distress_after"],
    )
    assignment = make_assignment(world.client, exercise, start_date=today - timedelta(days=30))
    logs = [
        make_completion(
            assignment,
            today - timedelta(days=day),
            minutes=12,
            distress_before=7,
            distress_after=4,
            reflection="Noticing the critic sooner." if day == 1 else "",
        )
        for day in range(days)
    ]
    return logs


def test_a_client_replies_on_a_phone_and_the_clinician_answers(
    live_server, world, new_context, audit, tmp_path
):
    folder = _folder(tmp_path)
    today = local_date(timezone.now(), world.client.zone)
    log = _practice(world, today)[1]
    feedback_create(
        clinician=world.clinician,
        completion=log,
        text="You caught the critic early. What did you say to yourself then?",
    )

    phone = new_context(PHONE).new_page()
    log_in(phone, world.client)
    phone.goto(reverse("homework:history"))
    phone.get_by_role("link", name="Reply to your clinician").first.click()
    expect(phone.get_by_role("heading", name="Conversation with your clinician")).to_be_visible()
    audit(phone)
    # An empty reply is refused with a message tied to the field, and nothing is sent.
    phone.get_by_role("button", name="Send reply").click()
    expect(phone.get_by_text("Write a few words before sending.")).to_be_visible()
    audit(phone)
    phone.get_by_label("Your reply").fill("That it was a hard moment, and that it was okay.")
    phone.get_by_role("button", name="Send reply").click()
    expect(phone.get_by_text("Your reply is sent.")).to_be_visible()
    assert Feedback.objects.filter(from_client=True).count() == 1
    audit(phone)

    two_step_enrolled(world.clinician)
    desk = new_context().new_page()
    log_in(desk, world.clinician)
    desk.goto(reverse("homework:dashboard"))
    desk.get_by_role("link", name="Inbox: 1 unread reply").click()
    expect(desk.get_by_text("That it was a hard moment")).to_be_visible()
    audit(desk)
    desk.get_by_role("link", name="Alex Client").click()
    entry = desk.locator(f"#log-{log.pk}")
    entry.get_by_text("Write in this conversation").click()
    entry.get_by_label("Your feedback").fill("That is exactly the kind voice we talked about.")
    entry.get_by_role("button", name="Send feedback").click()
    expect(desk.get_by_text("Your feedback is sent.")).to_be_visible()
    audit(desk)

    phone.goto(reverse("homework:thread", args=[log.pk]))
    expect(phone.get_by_text("exactly the kind voice")).to_be_visible()
    phone.screenshot(path=folder / "client-thread-phone.png", full_page=True)
    assert [m.from_client for m in Feedback.objects.filter(completion=log)] == [
        False,
        True,
        False,
    ]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_a_clinician_opens_the_report_and_downloads_the_pdf(
    live_server, world, new_context, audit, tmp_path
):
    if not reports.pdf_available():
        pytest.fail("WeasyPrint or Pango is missing (.ci/run installs them)")
    folder = _folder(tmp_path)
    now = timezone.now()
    today = local_date(now, world.client.zone)
    _practice(world, today)
    measure = measure_assignment_create(
        clinician=world.clinician,
        client=world.client,
        instrument="SCS-SF",
        every_weeks=1,
        start_date=today - timedelta(days=14),
        now=now - timedelta(days=14),
    )
    instrument = instrument_get("SCS-SF")
    for days_ago, value in [(8, 2), (1, 3)]:
        answers = {item.n: 6 - value if item.reverse else value for item in instrument.items}
        measure_response_submit(
            client=world.client,
            measure=measure,
            answers=answers,
            now=now - timedelta(days=days_ago),
        )

    two_step_enrolled(world.clinician)
    page = new_context().new_page()
    log_in(page, world.clinician)
    page.goto(reverse("homework:client-detail", args=[world.client.pk]))
    page.get_by_role("link", name="Pre-session report").click()
    expect(page.get_by_role("heading", name="Before the session: Alex Client")).to_be_visible()
    audit(page)
    page.screenshot(path=folder / "clinician-report.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as PDF").click()
    pdf = Path(download_info.value.path()).read_bytes()
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Alex Client" in text
    assert "144" in text  # twelve practices of 12 minutes in the last 14 days
    assert "+1.00" in text  # the questionnaire's change since the time before
    assert "Noticing the critic sooner." in text
