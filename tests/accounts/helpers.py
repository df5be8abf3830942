"""Plain helpers for the accounts tests: read links from email, look for stored secrets."""

import re
from urllib.parse import urlsplit

from django.core import mail

from accounts.models import Invitation
from notifications.models import Notification

NEW_PASSWORD = "quiet-harbour-lantern-42"

_URL = re.compile(r"https?://\S+")


def link_in(message: mail.EmailMessage, path_start: str) -> str:
    """The path of the one link in the plain-text body that starts with `path_start`."""
    paths = [urlsplit(url).path for url in _URL.findall(message.body)]
    matching = [path for path in paths if path.startswith(path_start)]
    assert len(matching) == 1, f"expected one {path_start} link in: {message.body}"
    return matching[0]


def token_from(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def assert_not_stored(secret: str) -> None:
    """The secret appears in no invitation or outbox row, in any column."""
    rows = [*Invitation.objects.values(), *Notification.objects.values()]
    assert rows
    for row in rows:
        assert secret not in repr(row)


def accept_data(**overrides: str) -> dict[str, str]:
    data = {
        "full_name": "Nico New",
        "timezone": "Europe/Berlin",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def form_post_data(form) -> dict:
    """What a browser would post back for a bound-or-initial Django form, unchanged."""
    data: dict = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        bound = form[name]
        value = bound.value()
        key = bound.html_name
        if value is None or value is False:
            continue
        if value is True:
            data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(getattr(item, "pk", item)) for item in value]
        else:
            data[key] = bound.field.widget.format_value(value) or ""
    return data


def admin_change_data(response) -> dict:
    """The POST data of an admin change page as shown: main form, inlines, management forms."""
    data = form_post_data(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update(form_post_data(formset.management_form))
        for form in formset.forms:
            data.update(form_post_data(form))
    return data
