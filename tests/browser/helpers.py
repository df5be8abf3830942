"""What a person does in the browser, in a few words: log in, open an email link, use Tab."""

import base64
import re

from django.apps import apps
from django.core import mail
from playwright.sync_api import expect

from accounts.models import User
from tests.conftest import PASSWORD

_FOCUSED_TEXT = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
  return [el.textContent, el.value, el.name, label, el.getAttribute("aria-label")]
    .filter(Boolean).join(" | ").replace(/\\s+/g, " ").trim();
}"""


def two_step_built() -> bool:
    """Whether this build has two-step verification (django-otp) to pass after the password."""
    return apps.is_installed("django_otp")


def two_step_code(key: bytes) -> str:
    """The code an authenticator app shows now for this key (RFC 6238, as django-otp checks)."""
    from django_otp.oath import totp

    return f"{totp(key, step=30, t0=0, digits=6):06d}"


def two_step_enrolled(user: User) -> None:
    """Give `user` an authenticator, as if set up earlier (nothing to do without django-otp)."""
    if two_step_built():
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def two_step_enrol_on_page(page, audit=None) -> str:
    """On the set-up page: type the key shown into "the app", confirm with its code.

    Returns the first recovery code shown, after continuing past that page. With
    `audit`, both pages are audited on the way.
    """
    if audit:
        audit(page)
    secret = "".join(page.locator("code.secret").inner_text().split())
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code from your app").fill(two_step_code(key))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    first_code = page.locator(".recovery-codes code").first.inner_text()
    if audit:
        audit(page)
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_load_state()
    return first_code


def two_step_verify_on_page(page, user: User, audit=None) -> None:
    """On the "Enter your code" page: the code of the user's authenticator (from the database)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if audit:
        audit(page)
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    page.get_by_label("Code").fill(two_step_code(device.bin_key))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def pass_two_step(page, user: User, audit=None) -> None:
    """After the password: enter the authenticator's code, or set one up, if asked."""
    if "/two-step/verify/" in page.url:
        two_step_verify_on_page(page, user, audit)
    elif "/two-step/setup/" in page.url:
        two_step_enrol_on_page(page, audit)


def log_in(page, user: User, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    pass_two_step(page, user)


def log_out(page) -> None:
    logout = page.get_by_role("button", name="Log out")
    if not logout.is_visible():
        # A client's Log out sits in the "More" menu.
        page.locator(".nav-more summary").click()
    logout.click()
    page.wait_for_url("**/accounts/login/")


def emails_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def link_in_email(address: str, path_start: str) -> str:
    """The one link in the latest email to `address` whose path starts with `path_start`."""
    messages = emails_to(address)
    assert messages, f"no email to {address}; outbox: {[m.to for m in mail.outbox]}"
    body = messages[-1].body
    links = [
        url
        for url in re.findall(r"https?://\S+", body)
        if re.match(r"https?://[^/]+" + re.escape(path_start), url)
    ]
    assert len(set(links)) == 1, f"expected one {path_start} link in:\n{body}"
    return links[0]


def focused(page) -> str:
    """What a screen reader would roughly name the focused element: its text, value, label."""
    return page.evaluate(_FOCUSED_TEXT)


def tab_to(page, text: str, *, limit: int = 60, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element's text or label contains `text`."""
    key = "Shift+Tab" if backwards else "Tab"
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        if text.lower() in now.lower():
            return
        seen.append(now)
    raise AssertionError(f"Tab never reached {text!r}; focus went through: {seen}")


def choose_on_scale(page, name: str, value: str) -> None:
    """Pick `value` in the radio group `name` as a keyboard user does: Tab in, then arrows.

    Tab lands on the group's checked option ("Skip" until something is chosen) and each
    arrow key moves the choice along, wrapping round at the end.
    """
    tab_to(page, name)
    checked = f"() => document.querySelector('input[name={name}]:checked')?.value"
    for _ in range(13):
        if page.evaluate(checked) == value:
            return
        page.keyboard.press("ArrowRight")
    raise AssertionError(f"the arrow keys never chose {value} in {name}")
