"""A clinician on a phone searches the caseload, discharges a client and reopens them;
a client on a phone finds everything through the compact menu. Every page audited."""

import pytest
from playwright.sync_api import expect

from accounts.models import ClientProfile
from audit.models import AuditEvent
from homework.models import Assignment
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.factories import local_today, make_assignment, make_clients

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_clinician_on_a_phone_searches_discharges_and_reopens(
    live_server, world, new_context, audit
):
    make_clients(world.clinician, 60)  # more than a page
    plan = make_assignment(world.client, start_date=local_today(world.client))
    two_step_enrolled(world.clinician)
    page = new_context(PHONE).new_page()
    log_in(page, world.clinician)
    page.wait_for_url("**/clinician/")
    assert "Page 1 of 2" in page.inner_text("main")
    # On a phone each client is a card: no column is scrolled out of sight.
    card = page.locator("table.caseload tbody tr").first
    box = card.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    # "Last practice", the column a phone used to hide past its edge, is on the card.
    last = card.locator('td[data-label="Last practice"]')
    expect(last).to_be_in_viewport()
    cell = last.bounding_box()
    assert cell is not None and cell["x"] + cell["width"] <= PHONE["width"]
    audit(page)

    page.get_by_label("Search by name or email").fill("alex")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/clinician/?q=alex*")
    rows = page.locator("table.caseload tbody tr")
    assert rows.count() == 1
    audit(page)

    rows.get_by_role("link", name="Alex Client").click()
    page.wait_for_url(f"**/clinician/clients/{world.client.pk}/")
    page.get_by_role("link", name="Discharge").click()
    assert "cannot log new practice" in page.inner_text("main")
    audit(page)
    page.get_by_role("button", name="Yes, discharge").click()
    page.wait_for_url(f"**/clinician/clients/{world.client.pk}/")
    assert "is discharged. 1 plan ended" in page.inner_text("main")
    plan.refresh_from_db()
    assert plan.status == "ended"
    audit(page)

    page.get_by_role("button", name="Reopen Alex Client's record").click()
    page.wait_for_url(f"**/clinician/clients/{world.client.pk}/")
    assert "open again" in page.inner_text("main")
    assert ClientProfile.objects.get(user=world.client).discharged_at is None
    assert list(
        AuditEvent.objects.filter(client_id=world.client.pk, action__in=["discharge", "reopen"])
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["discharge", "reopen"]
    assert Assignment.objects.filter(client=world.client, status="active").count() == 0
    audit(page)


def test_a_client_on_a_phone_has_a_compact_menu_that_opens(live_server, world, new_context, audit):
    make_assignment(world.client, start_date=local_today(world.client))
    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.wait_for_url("**/portal/")
    header = page.locator("header.site-header").bounding_box()
    # A sixth of the first screen at most (it was a quarter): the daily links and "Help
    # now", which stays one tap away on every page, wrap to two short lines at 390 px.
    assert header is not None and header["height"] < PHONE["height"] / 6
    assert page.get_by_role("link", name="Today").is_visible()
    assert page.get_by_role("link", name="Help now").is_visible()
    assert not page.get_by_role("link", name="Reminders").is_visible()
    audit(page)
    page.locator(".nav-more summary").click()
    page.get_by_role("link", name="Reminders").click()
    page.wait_for_url("**/portal/reminders/")
    audit(page)


def test_the_time_zone_picker_offers_the_devices_zone_first(live_server, world, new_context, audit):
    page = new_context(PHONE, timezone_id="Asia/Tokyo").new_page()
    log_in(page, world.client)
    page.goto("/accounts/settings/")
    detected = page.locator('optgroup[label="Detected on this device"] option')
    assert detected.count() == 1
    assert detected.get_attribute("value") == "Asia/Tokyo"
    # Offered, not chosen: the person's own zone stays selected until they pick.
    assert page.get_by_label("Your time zone").input_value() == "Europe/London"
    audit(page)
