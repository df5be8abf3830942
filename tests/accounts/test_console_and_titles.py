"""Development emails printed readable, the invalid-link page's wording, and the
product's name on the login page."""

import io
import os
import subprocess
import sys

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from django.urls import reverse

from core.mail import DecodedConsoleBackend

LINK = "http://localhost:8000/accounts/reset/MTIz/" + "c" * 60 + "-" + "d" * 40 + "/"


def test_it_prints_a_long_link_whole_and_text_decoded() -> None:
    message = EmailMultiAlternatives(
        subject="Choose a new password · Kindwork",
        body=f"Hello Zoë,\n\nOpen this link to choose a new password:\n{LINK}\n",
        to=["zoe@client.test"],
    )
    message.attach_alternative(
        f'<p>Hello Zoë, <a href="{LINK}">choose a password</a></p>', "text/html"
    )
    stream = io.StringIO()
    DecodedConsoleBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert LINK in printed.splitlines()
    assert "Hello Zoë," in printed
    assert "Subject: Choose a new password · Kindwork" in printed
    assert "=\n" not in printed and "=C3" not in printed


def test_the_development_default_prints_decoded() -> None:
    # The test run swaps in locmem, so read the settings as a fresh process sees them.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EMAIL_")}
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.MAILERS['default']['BACKEND'])",
        ],
        env={**environment, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed.strip() == "core.mail.DecodedConsoleBackend"


@pytest.mark.django_db
def test_a_broken_reset_link_says_it_may_be_incomplete_or_expired(client) -> None:
    response = client.get(
        reverse("accounts:password-reset-confirm", kwargs={"uidb64": "MTIz", "token": "abc-def"}),
        follow=True,
    )
    text = response.content.decode()
    assert "incomplete" in text and "expired" in text
    assert "already used" not in text


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["clinic.example.org", "testserver"])
def test_the_login_page_says_kindwork_not_the_servers_address(client) -> None:
    text = client.get(reverse("accounts:login"), HTTP_HOST="clinic.example.org").content.decode()
    assert "<title>Log in · Kindwork</title>" in text
    assert "clinic.example.org" not in text.split("<body")[1].split("</header>")[0]
    assert "clinic.example.org" not in text.split("<title>")[1].split("</title>")[0]


def test_a_branded_email_prints_its_text_not_its_logo() -> None:
    """An email with the clinic's logo inline (multipart/related) still prints readable."""
    from notifications.mime import OutboxMessage
    from tests.accounts.test_branding import picture

    message = OutboxMessage(
        subject="You have practice waiting",
        body=f"Hello,\n\nOpen it here:\n{LINK}\n",
        to=["zoe@client.test"],
    )
    message.attach_alternative('<p><img src="cid:logo@test" alt=""> Hello</p>', "text/html")
    message.inline_images.append(("logo@test", picture()))
    assert "multipart/related" in message.message().as_string()
    stream = io.StringIO()
    DecodedConsoleBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert LINK in printed.splitlines()
    assert "--- text/html ---" in printed
    assert "image/png" not in printed and "iVBOR" not in printed  # no base64 PNG
