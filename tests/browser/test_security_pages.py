"""The security pieces in a real browser under the enforced Content Security Policy:
the API docs (Swagger UI from the sidecar), the QR enrolment page, the session warning."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_runs_the_api_docs_under_the_policy(world, new_context):
    page = new_context().new_page()
    log_in(page, world.clinician)
    page.goto("/api/docs/")
    # Swagger UI is drawn by its (nonce-free, same-origin) scripts: a CSP refusal would
    # leave the page empty and report a console error (the fixture fails on it).
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kindwork API")
    expect(page.locator(".opblock").first).to_be_visible()


def test_it_draws_the_enrolment_qr_code_without_script(world, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(world.clinician.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # No authenticator yet: the clinician lands on the set-up page, not the caseload.
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step verification")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()


def test_it_warns_a_minute_before_the_idle_logout(world, new_context, settings):
    settings.SESSION_IDLE_MINUTES_CLIENT = 1  # the warning shows at once, the end in a minute
    page = new_context().new_page()
    log_in(page, world.client)
    expect(page.get_by_role("alert")).to_contain_text("logged out in a minute")
    expect(page.get_by_role("button", name="Stay logged in")).to_be_visible()
