"""What a person does in the browser, in a few words: log in, open an email link, use Tab."""

import re

from django.core import mail

from tests.conftest import PASSWORD

_FOCUSED_TEXT = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
  return [el.textContent, el.value, el.name, label, el.getAttribute("aria-label")]
    .filter(Boolean).join(" | ").replace(/\\s+/g, " ").trim();
}"""


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
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
