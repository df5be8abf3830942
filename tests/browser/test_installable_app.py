"""The installable app in Debian's Chromium: install criteria, the service worker under
the enforced CSP, practising and logging offline, exactly one log arriving once back
online with the day it was practised on, and logging out clearing the kept pages."""

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from homework.models import Completion, Exercise
from homework.schedule import local_date
from homework.services.exercises import exercise_library_load
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.browser.helpers import log_in, log_out
from tests.factories import make_assignment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEPT_PAGES = """async () => {
  const names = (await caches.keys()).filter(n => n.startsWith("kindwork-user-"));
  const urls = [];
  for (const name of names) {
    for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
  }
  return {names, urls};
}"""


def _wait_until(check, *, seconds: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def installed_phone(browser, live_server, audit, tmp_path) -> Iterator:
    """A phone-sized window with a profile on disk, as an installed app has: Chromium
    reports an incognito context (new_context) as "in-incognito", never installable."""
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=live_server.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )
    context.set_default_timeout(5_000)
    context.on("console", audit.console_message)
    context.on(
        "weberror",
        lambda error: audit.browser_error(error.page.url if error.page else "?", str(error.error)),
    )
    yield context
    context.close()
    assert not audit.browser_errors, "\n".join(audit.browser_errors)


def _controlled(page) -> None:
    """Wait for the worker; the page that registered it is controlled from its next load."""
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)


def _any_time_break() -> Exercise:
    exercise_library_load()
    return Exercise.objects.get(slug="self-compassion-break", clinic__isnull=True)


def test_it_installs_keeps_practice_offline_and_sends_one_log_when_back_online(
    live_server, world, installed_phone, audit
):
    exercise = _any_time_break()
    assert exercise.any_time
    today = local_date(timezone.now(), world.client.zone)
    assignment = make_assignment(world.client, exercise, start_date=today - timedelta(days=7))
    context = installed_phone
    page = context.pages[0] if context.pages else context.new_page()
    log_in(page, world.client)
    page.goto("/portal/")
    expect(page.get_by_role("heading", name="I need a moment")).to_be_visible()
    audit(page)

    # The worker registers under the enforced CSP and takes control of the page.
    _controlled(page)
    devtools = context.new_cdp_session(page)
    installability = devtools.send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == []
    # Chromium installs it (what "Install app" does), to open in its own window: desktop
    # Chromium asks "open as window" at install, a phone's installed app always does.
    manifest_id = live_server.url + "/portal/"
    devtools.send("PWA.install", {"manifestId": manifest_id})
    devtools.send(
        "PWA.changeAppUserSettings", {"manifestId": manifest_id, "displayMode": "standalone"}
    )
    log_url = f"/portal/practice/{assignment.pk}/log/"
    _wait_until(
        lambda: any(url.endswith(log_url) for url in page.evaluate(KEPT_PAGES)["urls"]),
        what="the log page to be kept for offline use",
    )

    # No connection: the practice and its log form still open, and the log is queued.
    context.set_offline(True)
    page.goto(f"/portal/practice/{assignment.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-compassion break")
    page.goto(log_url)
    page.get_by_label("Minutes practised").fill("4")
    yesterday = today - timedelta(days=1)
    page.get_by_label("When did you practise?").select_option(yesterday.isoformat())
    page.get_by_role("button", name="Save my log").click()
    saved = page.locator("[data-offline-saved]")
    expect(saved).to_contain_text("saved on this phone")
    expect(page.locator("[data-offline-queue]")).to_contain_text("will be sent when")
    audit(page, focus=False)
    assert not Completion.objects.exists()
    page.goto("/portal/")  # Today, from the phone, still offline
    expect(page.locator("[data-offline-queue]")).to_contain_text("1 practice log is saved")

    # The installed app, opened from its icon with no connection: its own window (no
    # browser interface: display-mode standalone), on Today, from the phone's copy. A
    # headless window can't be narrower than about 500 px: the page gets a phone's 390.
    with context.expect_page() as opened:
        devtools.send("PWA.launch", {"manifestId": manifest_id})
    app = opened.value
    app.set_viewport_size(PHONE)
    expect(app.get_by_role("heading", level=1)).to_have_text("Today")
    assert app.url == manifest_id
    assert app.evaluate("() => matchMedia('(display-mode: standalone)').matches")
    expect(app.get_by_role("banner")).to_contain_text(world.clinic.name)
    expect(app.locator("[data-offline-queue]")).to_contain_text("1 practice log is saved")
    if os.getenv("KINDWORK_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
        app.screenshot(path=folder / "installed-app-phone.png")
    app.close()

    # Back online (the next page load sends the queue; so do Background Sync and the
    # online event where the browser fires them): sent once, with the day it was
    # practised on.
    context.set_offline(False)
    page.goto("/portal/")
    _wait_until(lambda: Completion.objects.exists(), what="the queued log to arrive")
    page.reload()  # sends whatever is still queued: nothing, and the id makes a resend a replay
    page.wait_for_timeout(1000)
    completion = Completion.objects.get()
    assert completion.assignment_id == assignment.pk
    assert completion.local_date == yesterday
    assert completion.logged_later is True
    assert completion.minutes == 4
    expect(page.locator("[data-offline-queue]")).to_be_hidden()

    # Logging out clears every kept page.
    assert page.evaluate(KEPT_PAGES)["names"]
    log_out(page)
    _wait_until(lambda: page.evaluate(KEPT_PAGES)["names"] == [], what="the kept pages to go")


def test_a_log_that_can_no_longer_be_accepted_is_shown_with_its_reason_until_dismissed(
    live_server, world, new_context, audit
):
    exercise = _any_time_break()
    today = local_date(timezone.now(), world.client.zone)
    assignment = make_assignment(world.client, exercise, start_date=today - timedelta(days=7))
    context = new_context(PHONE)
    page = context.new_page()
    log_in(page, world.client)
    page.goto("/portal/")
    _controlled(page)
    log_url = f"/portal/practice/{assignment.pk}/log/"
    _wait_until(
        lambda: any(url.endswith(log_url) for url in page.evaluate(KEPT_PAGES)["urls"]),
        what="the log page to be kept",
    )
    context.set_offline(True)
    page.goto(log_url)
    page.get_by_role("button", name="Save my log").click()
    expect(page.locator("[data-offline-saved]")).to_be_visible()

    # Meanwhile the clinician ends the plan; back online the log is refused, not dropped.
    assignment.status = "ended"
    assignment.save()
    context.set_offline(False)
    page.goto("/portal/")
    queue = page.locator("[data-offline-queue]")
    expect(queue).to_contain_text("could not be added", timeout=10_000)
    expect(queue).to_contain_text("This practice has ended")
    audit(page, focus=False)
    page.reload()
    expect(queue).to_contain_text("could not be added")
    queue.get_by_role("button", name="Dismiss").click()
    expect(queue).to_be_hidden()
    page.reload()
    expect(page.locator("[data-offline-queue]")).to_be_hidden()
    assert not Completion.objects.exists()


def test_a_log_queued_before_the_session_ended_is_sent_after_logging_in_again(
    live_server, world, new_context, audit
):
    exercise = _any_time_break()
    today = local_date(timezone.now(), world.client.zone)
    assignment = make_assignment(world.client, exercise, start_date=today - timedelta(days=7))
    # The phone's clock in the client's zone: a log for "today" is the phone's today.
    context = new_context(PHONE, timezone_id=world.client.timezone)
    page = context.new_page()
    log_in(page, world.client)
    page.goto("/portal/")
    _controlled(page)
    log_url = f"/portal/practice/{assignment.pk}/log/"
    _wait_until(
        lambda: any(url.endswith(log_url) for url in page.evaluate(KEPT_PAGES)["urls"]),
        what="the log page to be kept",
    )
    context.set_offline(True)
    page.goto(log_url)
    page.get_by_label("Minutes practised").fill("3")
    page.get_by_role("button", name="Save my log").click()
    expect(page.locator("[data-offline-saved]")).to_be_visible()

    # The session ends while the phone is offline (its CSRF token with it).
    context.clear_cookies()
    context.set_offline(False)
    page.goto("/portal/")
    page.wait_for_url("**/accounts/login/**")
    page.wait_for_timeout(1000)
    assert not Completion.objects.exists()
    log_in(page, world.client)
    _wait_until(lambda: Completion.objects.exists(), what="the queued log after logging in")
    completion = Completion.objects.get()
    assert (completion.assignment_id, completion.local_date, completion.minutes) == (
        assignment.pk,
        today,
        3,
    )
