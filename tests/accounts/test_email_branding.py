"""Emails wear the recipient's clinic's look: its display name, accent colour and logo.

Sent through the real outbox (claim, batch builders, branding lookup, SMTP backend in
memory), so what is checked is the message a mail app receives.
"""

import io
from datetime import time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image

from accounts.branding import EMAIL_LOGO_SIDE
from accounts.models import ClientProfile, Clinic, Role
from accounts.services import clinic_branding_update, invitation_create
from homework.schedule import week_start
from notifications.models import Notification
from notifications.services import DEFAULT_ACCENT, LOGO_CID, notifications_send
from outreach.reminders import reminders_create_due
from tests.accounts.test_branding import picture
from tests.conftest import make_client
from tests.factories import make_assignment, make_exercise

ACCENT = "#5b2a86"


@pytest.fixture(autouse=True)
def _mail_and_media(settings, tmp_path):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.MEDIA_ROOT = tmp_path / "media"


def _brand(clinic: Clinic, *, logo: bool = True) -> None:
    clinic_branding_update(
        clinic=clinic,
        display_name="Harbour Wellbeing",
        accent_colour=ACCENT,
        logo_data=picture() if logo else None,
    )
    clinic.refresh_from_db()


def _due_client(clinician, name: str):
    """A UTC client whose reminder (00:00) has fallen due today, with a plan for a week."""
    client = make_client(f"{name}@client.test", clinician, timezone="UTC")
    ClientProfile.objects.filter(user=client).update(reminder_time=time(0, 0))
    start = timezone.now().date() - timedelta(days=7)
    long_ago = timezone.now() - timedelta(days=30)
    make_assignment(client, make_exercise(client.clinic), start_date=start, created_at=long_ago)
    return client


def _weekly_summary(client) -> int:
    monday = week_start(timezone.now().date()) - timedelta(days=7)
    return Notification.objects.create(
        kind=Notification.Kind.WEEKLY_CLIENT,
        recipient=client,
        to_email=client.email,
        idempotency_key=f"weekly_client:{client.pk}:{monday}",
        context={"week": monday.isoformat()},
    ).pk


def _sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def _html(message) -> str:
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return html


def _inline_pictures(message) -> list:
    """The picture parts of the message as a mail app parses it."""
    mime = message.message()
    return [part for part in mime.walk() if part.get_content_maintype() == "image"]


def test_a_branded_clinics_client_gets_its_name_colour_and_logo(world):
    _brand(world.clinic)
    branded = _due_client(world.clinician, "branded")
    ids = [*reminders_create_due(now=timezone.now()), _weekly_summary(branded)]
    assert len(ids) == 2
    assert sorted(notifications_send(ids=ids).sent) == sorted(ids)

    reminder, summary = sorted(_sent_to(branded.email), key=lambda m: "week" in m.subject)
    assert summary.subject == "Your week with Harbour Wellbeing"
    for message in (reminder, summary):
        html = _html(message)
        assert "Harbour Wellbeing" in html and "Harbour Clinic" not in html
        assert f"background: {ACCENT}" in html and DEFAULT_ACCENT not in html
        assert f'src="cid:{LOGO_CID}"' in html
        # The plain text keeps the name; it has no colour or picture to carry.
        assert "Harbour Wellbeing" in message.body
        # The logo travels in the message, beside the HTML (multipart/related).
        (logo,) = _inline_pictures(message)
        assert logo["Content-ID"] == f"<{LOGO_CID}>"
        assert logo.get_content_type() == "image/png"
        assert logo.get_content().startswith(b"\x89PNG")
        # Made small for email: shown at 32 px, carried at twice that at most.
        with Image.open(io.BytesIO(logo.get_content())) as carried:
            assert max(carried.size) <= EMAIL_LOGO_SIDE
        html_part = message.message().get_body(preferencelist=("html",))
        assert html_part.get_content_type() == "text/html"
        related = [
            p for p in message.message().walk() if p.get_content_type() == "multipart/related"
        ]
        assert len(related) == 1
    assert "practice waiting in Harbour Wellbeing today" in reminder.body


def test_an_unbranded_clinics_client_gets_kindworks_colour_and_no_logo(world):
    _brand(world.clinic)  # the other clinic's look must not leak across
    plain = _due_client(world.stranger_clinician, "plain")
    ids = [*reminders_create_due(now=timezone.now()), _weekly_summary(plain)]
    notifications_send(ids=ids)

    messages = _sent_to(plain.email)
    assert len(messages) == 2
    for message in messages:
        html = _html(message)
        assert f"background: {DEFAULT_ACCENT}" in html and ACCENT not in html
        assert "cid:" not in html and _inline_pictures(message) == []
        # No display name: the clinic's own name, as on its portal pages (the field's
        # help text: "Empty: the clinic's name").
        assert "Hillside Practice" in html and "Harbour Wellbeing" not in html
        assert "Hillside Practice" in message.body or "Hillside Practice" in message.subject


def test_someone_of_no_clinic_gets_kindwork(world):
    notification = Notification.objects.create(
        kind=Notification.Kind.PASSWORD_RESET,
        recipient=world.admin,
        to_email=world.admin.email,
        idempotency_key="password_reset:admin",
    )
    notifications_send(ids=[notification.pk])
    (message,) = mail.outbox
    assert message.subject == "Reset your Kindwork password"
    assert f"background: {DEFAULT_ACCENT}" in _html(message)


def test_an_invitation_wears_the_inviting_clinics_look(world):
    _brand(world.clinic, logo=False)
    with_clinic = invitation_create(
        clinic=world.clinic,
        email="new@client.test",
        role=Role.CLIENT,
        invited_by=world.clinician,
        clinician=world.clinician,
    )
    row = Notification.objects.get(kind=Notification.Kind.INVITATION, to_email=with_clinic.email)
    notifications_send(ids=[row.pk])
    (message,) = mail.outbox
    html = _html(message)
    assert f"background: {ACCENT}" in html
    assert "Dana Clinician at Harbour Wellbeing has invited you to Kindwork" in message.body
    assert "cid:" not in html


def test_a_logo_file_gone_missing_sends_the_email_without_it(world, settings):
    _brand(world.clinic)
    (settings.MEDIA_ROOT / world.clinic.logo.name).unlink()
    client = _due_client(world.clinician, "nologo")
    ids = [_weekly_summary(client)]
    assert notifications_send(ids=ids).sent == ids
    (message,) = mail.outbox
    assert "cid:" not in _html(message) and _inline_pictures(message) == []
    assert f"background: {ACCENT}" in _html(message)
