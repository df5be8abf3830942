"""Issue 17 in a real browser: a supervisor reads the caseload of the clinician they
supervise (the dashboard, a client's page, the pre-session report), finds nothing to
change and is refused when they try; the client then sees the supervisor's views under
"Who viewed my record". Every page passes the accessibility audit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from homework.models import Assignment, AssignmentStatus, Feedback
from homework.schedule import local_date
from measures.models import MeasureAssignment
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.factories import make_assignment, make_completion, make_exercise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHARED = "Noticing the critic sooner."
PRIVATE = "Private-Canary-Wren"


def _practice(world):
    today = local_date(timezone.now(), world.client.zone)
    exercise = make_exercise(
        world.clinic, title="Self-compassion break", ratings=["distress_before", "distress_after"]
    )
    plan = make_assignment(world.client, exercise, start_date=today - timedelta(days=20))
    logs = [
        make_completion(
            plan,
            today - timedelta(days=day),
            minutes=10,
            distress_before=7,
            distress_after=4,
            reflection={1: SHARED, 2: PRIVATE}.get(day, ""),
            reflection_shared=day != 2,
        )
        for day in range(6)
    ]
    return plan, logs


def _csrf_token(page) -> str:
    """The token of the page's own forms (the header's Log out has one)."""
    return page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")


def test_a_supervisor_reads_a_caseload_cannot_write_and_the_client_sees_it(
    live_server, world, supervisor, new_context, audit
):
    plan, logs = _practice(world)
    two_step_enrolled(supervisor)

    page = new_context().new_page()
    log_in(page, supervisor)
    page.goto(reverse("homework:dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Caseloads you supervise")
    row = page.locator("main tr", has_text="Alex Client")
    expect(row).to_contain_text("Dana Clinician")
    expect(page.locator("main")).not_to_contain_text("Invite a client")
    audit(page)

    row.get_by_role("link", name="Alex Client").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alex Client")
    main = page.locator("main")
    expect(main).to_contain_text("Self-compassion break")
    expect(main).to_contain_text(SHARED)
    expect(main).not_to_contain_text(PRIVATE)
    # Nothing on the page changes the record: no form posts anywhere but "Stay logged in"
    # (the session's keep-alive, every signed-in page has it), and no write button.
    keep_alive = reverse("accounts:session-keepalive")
    posting = main.locator(f"form[method=post]:not([action='{keep_alive}'])")
    expect(posting).to_have_count(0)
    for control in ["Assign", "Pause", "End", "Send feedback", "Discharge", "Hand over"]:
        expect(main.get_by_role("button", name=control, exact=True)).to_have_count(0)
    audit(page)

    page.get_by_role("link", name="Pre-session report").click()
    expect(page.get_by_role("heading", name="Before the session: Alex Client")).to_be_visible()
    expect(page.locator("main")).to_contain_text(SHARED)
    expect(page.locator("main")).not_to_contain_text(PRIVATE)
    audit(page)

    # Writes the pages do not offer are refused when sent anyway, with a valid CSRF
    # token, so the refusal is the role's and not the forgery check's.
    token = _csrf_token(page)
    writes = {
        reverse("homework:assignment-pause", args=[plan.pk]): {},
        reverse("homework:assignment-end", args=[plan.pk]): {},
        reverse("homework:feedback-create", args=[logs[1].pk]): {"text": "Well done"},
        reverse("homework:assignment-create", args=[world.client.pk]): {},
        reverse("measures:clinician-measures", args=[world.client.pk]): {"instrument": "SCS-SF"},
        reverse("homework:client-discharge", args=[world.client.pk]): {},
        reverse("records:pre-session-report", args=[world.client.pk]): {},
    }
    for url, data in writes.items():
        answer = page.request.post(
            live_server.url + url,
            form={**data, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token, "Referer": live_server.url + url},
        )
        assert answer.status == 403, url
        assert "CSRF" not in answer.text(), url
    assert Assignment.objects.get(pk=plan.pk).status == AssignmentStatus.ACTIVE
    assert not Feedback.objects.exists()
    assert not MeasureAssignment.objects.exists()
    assert Assignment.objects.filter(client=world.client).count() == 1
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.discharged_at is None

    # The client, on their phone, sees who looked.
    phone = new_context(PHONE).new_page()
    log_in(phone, world.client)
    phone.goto(reverse("audit:record-views"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Who viewed my record")
    looked = phone.locator("main tr", has_text="Rio Supervisor")
    expect(looked).to_contain_text("(supervisor)")
    expect(phone.locator("main")).to_contain_text("their supervisor")
    audit(phone)
