"""Issue 17 in a real browser: an admin brands the clinic and a client sees it on a phone;
the first run's demo shows full charts on the clinician's client page."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from PIL import Image
from playwright.sync_api import expect

from accounts.models import Role, User
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_admin_brands_the_clinic_and_a_client_sees_it_on_a_phone(
    live_server, world, new_context, audit, tmp_path
):
    office = make_user(
        "office@harbour.test", Role.ADMIN, world.clinic, is_staff=True, is_superuser=True
    )
    two_step_enrolled(office)
    logo = tmp_path / "logo.png"
    Image.new("RGB", (400, 400), (250, 200, 60)).save(logo)

    admin = new_context().new_page()
    log_in(admin, office)
    admin.goto(f"/admin/accounts/clinic/{world.clinic.pk}/change/")
    # A colour white text cannot be read on is refused with the reason.
    admin.get_by_label("Accent colour").fill("#f0e68c")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".errorlist")).to_contain_text("This colour is too light")
    admin.get_by_label("Shown to clients as").fill("Harbour Wellbeing")
    admin.get_by_label("Accent colour").fill("#5b2a86")
    admin.locator("input[name=logo_upload]").set_input_files(str(logo))
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")

    phone = new_context(PHONE).new_page()
    log_in(phone, world.client)
    phone.wait_for_url("**/portal/")
    brand = phone.locator(".brand")
    expect(brand).to_contain_text("Harbour Wellbeing")
    logo_image = brand.locator("img.brand-logo")
    expect(logo_image).to_be_visible()
    assert logo_image.evaluate("img => img.complete && img.naturalWidth") == 256
    header = phone.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header == "rgb(91, 42, 134)"
    assert "Harbour Wellbeing" in phone.title()
    audit(phone)


def test_the_first_runs_demo_shows_full_charts_on_the_clinicians_client_page(
    live_server, new_context, audit, settings
):
    settings.DEMO_MODE = settings.DEBUG = True
    out = StringIO()
    call_command("setup_demo", stdout=out)
    call_command("demo_history", stdout=StringIO())
    passwords = dict(re.findall(r"^\s+(\S+@demo\.kindwork)\s+(\S+)$", out.getvalue(), re.M))
    robin = User.objects.get(email="clinician@demo.kindwork")

    page = new_context().new_page()
    log_in(page, robin, passwords[robin.email])
    # No authenticator app asked for: the demo's clinicians try the product first.
    page.wait_for_url("**/clinician/")
    expect(page.locator(".demo-banner")).to_contain_text("Demo")
    expect(page.locator("main")).to_contain_text("Needs attention: no practice logged")
    audit(page)

    page.get_by_role("link", name="Jamie Demo").click()
    charts = page.locator("figure.chart")
    assert charts.count() >= 3  # adherence by week, ratings, the questionnaire's trend
    for index in range(charts.count()):
        svg = charts.nth(index).locator("svg")
        # Drawn data: bars, lines or points, not only the frame and the grid.
        assert svg.locator("rect[height]:not([height='0.0']), polyline, circle").count() > 2
    expect(page.locator("main")).to_contain_text("Reflection")
    audit(page)


def test_an_admin_reads_the_clinic_overview_on_a_phone(live_server, world, new_context, audit):
    from datetime import timedelta

    from tests.factories import local_today, make_assignment, make_completion

    office = make_user("office@harbour.test", Role.ADMIN, world.clinic, is_staff=True)
    two_step_enrolled(office)
    plan = make_assignment(world.client, start_date=local_today(world.client) - timedelta(days=27))
    for offset in range(0, 27, 2):
        make_completion(plan, plan.start_date + timedelta(days=offset))

    page = new_context(PHONE).new_page()
    log_in(page, office)
    page.goto("/admin/clinic-overview/")
    expect(page.locator("h1")).to_contain_text("Clinic overview: Harbour Clinic")
    chart = page.locator("figure.chart")
    expect(chart.locator("svg title")).to_have_text(
        "Clients by practice done as planned, last 28 days"
    )
    page.get_by_text("Show the numbers").click()
    expect(chart.locator("table")).to_contain_text("50 to 74%")
    delivery = page.locator("table.overview-delivery")
    expect(delivery.locator("thead")).to_contain_text("Notification on a device")
    expect(page.locator("#flags-heading")).to_have_text("Urgent flags")
    expect(page.locator("main")).not_to_contain_text("Alex Client")
    audit(page)
