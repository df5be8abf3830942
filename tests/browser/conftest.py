"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

- One Chromium for the whole session (`browser`), a fresh context per person per test
  (`new_context()` for a clinic PC's window, `new_context(PHONE)` for a 390 x 844 phone),
  so no cookie leaks between people or tests. A script error or Content Security Policy
  violation in any page fails the test (`audit` reports it; see audit.py).
- The app is served on 127.0.0.1 by pytest-django's `live_server`, a thread of this
  process: Celery runs eager (tests/conftest.py), so an invitation or reminder the app
  sends in the server thread lands in this process's `mail.outbox`.
- Nothing downloads a browser: Chromium is Debian's package (/usr/bin/chromium, installed
  by .ci/run), axe-core is the npm package in node_modules (bin/setup runs `npm ci`).
  Without either, the tests skip with the reason, or fail when REQUIRE_SERVICES=1.
  KINDWORK_CHROMIUM points at another Chromium binary.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import sync_playwright

from tests.browser.audit import Auditor
from tests.conftest import skip_or_fail

# Playwright's sync API drives its pipe to the browser with an asyncio loop that stays
# "running" in the main thread from start() to stop(), between calls too. Django's
# async-safety guard sees that loop and would refuse every ORM call the tests make
# themselves (building data, reading rows back) with SynchronousOnlyOperation, though
# those calls are plain synchronous code and never run inside the loop. So the guard is
# off in this process. The server thread has no loop and is unaffected.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# pytest-django's live server listens on "localhost" unless told; serve on 127.0.0.1.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path(os.getenv("KINDWORK_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(django_settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    The session's Chromium keeps Playwright's event loop running in the main thread
    until the session ends (see above); other tests should never run under it.
    """
    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    if browser_tests:
        others = [item for item in items if not item.get_closest_marker("browser")]
        items[:] = others + browser_tests


def _missing() -> str | None:
    if not (CHROMIUM.exists() or shutil.which(str(CHROMIUM))):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if not AXE.exists():
        return f"no axe-core at {AXE.relative_to(django_settings.BASE_DIR)} (run npm ci)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    reason = _missing()
    if reason:
        skip_or_fail(f"browser tests need Chromium and axe-core: {reason}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _links_to_the_live_server(request: pytest.FixtureRequest, settings) -> None:
    """Emails link to SITE_URL; in these tests that is the live server."""
    if "live_server" in request.fixturenames:
        settings.SITE_URL = request.getfixturevalue("live_server").url


@pytest.fixture
def new_context(browser, live_server, audit) -> Iterator[Callable]:
    """`new_context(PHONE)`: a fresh browser profile (cookies, storage) per person.

    The page's Content Security Policy is enforced (no bypass_csp): the audit injects
    axe-core through the DevTools protocol, which the policy does not govern, so the
    journeys also prove the pages work under the app's real policy.
    """
    contexts = []

    def make(viewport: dict | None = None, **options):
        phone = viewport == PHONE
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or DESKTOP,
            is_mobile=phone,
            has_touch=phone,
            locale="en-GB",
            **options,
        )
        context.set_default_timeout(5_000)
        # Script errors and CSP violations fail the next audit (see audit.py).
        context.on("console", audit.console_message)
        context.on(
            "weberror",
            lambda error: audit.browser_error(
                error.page.url if error.page else "?", str(error.error)
            ),
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not audit.browser_errors, "\n".join(audit.browser_errors)


@pytest.fixture(scope="session")
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def audit(_axe_source) -> Auditor:
    """`audit(page)`: accessibility checks on the page as it is now (see audit.py)."""
    return Auditor(axe_source=_axe_source)
