"""The outbox's SMTP bytes, written directly, parse to what the standard library builds.

`notifications.mime.outbox_bytes` writes the outbox's one shape of email (text, an HTML
alternative, pictures beside the HTML) without the standard library's header parser;
anything else falls back to `message()`. Every message here is parsed back and compared
with the standard library's message of the same OutboxMessage, part by part.
"""

import email
import email.policy
import re

import pytest
from django.core.mail import mailers
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from notifications.mime import OutboxMessage, outbox_bytes, simple_envelope_address
from notifications.smtp import OutboxSmtpBackend

UNSUBSCRIBE = (
    "<https://kindwork.example/reminders/preferences/"
    "eyJ1IjoxMjM0NSwicyI6InJlbWluZGVycyJ9:1vRx3W:Zm9vYmFyYmF6cXV4cXV1eA-long-signature/>"
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


def _message(
    *,
    subject: str = "You have practice waiting",
    body: str = "Hello,\n\nYou have practice waiting today.\n",
    html: str | None = "<p>Hello,</p>\n<p>You have practice waiting today.</p>\n",
    from_email: str = "Kindwork <no-reply@kindwork.localhost>",
    to: str = "client@example.org",
    images: int = 0,
) -> OutboxMessage:
    message = OutboxMessage(
        subject=subject,
        body=body,
        from_email=from_email,
        to=[to],
        headers={
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
    for number in range(images):
        message.inline_images.append((f"logo{number}@kindwork", PNG))
    return message


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _shape(parsed: email.message.EmailMessage) -> list[tuple]:
    """Every part's type, disposition, Content-ID and decoded content, line ends unified."""
    shape = []
    for part in parsed.walk():
        assert not part.defects, part.defects
        if part.is_multipart():
            shape.append((part.get_content_type(),))
            continue
        content = part.get_content()
        if isinstance(content, str):
            content = content.replace("\r\n", "\n")
        shape.append(
            (
                part.get_content_type(),
                part.get_content_disposition(),
                part["Content-ID"],
                part.get_content_charset(),
                content,
            )
        )
    return shape


HEADERS = (
    "From",
    "To",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
)


def _assert_same_as_the_standard_library(message: OutboxMessage, raw: bytes) -> None:
    ours = _parse(raw)
    theirs = _parse(message.message(policy=email.policy.SMTP).as_bytes())
    assert not ours.defects
    for name in HEADERS:
        assert ours.get_all(name) == theirs.get_all(name), name
    # The subject as given. (The standard library's folding of a long one can come back
    # with a leading space, so it is compared with the input, not with that.)
    assert ours["Subject"] == message.subject
    assert ours["MIME-Version"] == "1.0"  # the standard library leaves it out of an empty text
    assert ours["List-Unsubscribe"] == UNSUBSCRIBE
    assert ours["Date"].datetime is not None
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", ours["Message-ID"])
    assert _shape(ours) == _shape(theirs)


@pytest.mark.parametrize("images", [0, 1, 2])
def test_it_writes_a_reminder_as_the_standard_library_would(images):
    message = _message(images=images)
    raw = outbox_bytes(message)
    assert raw is not None  # the outbox's shape takes the direct path
    _assert_same_as_the_standard_library(message, raw)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_a_plain_text_message_is_one_part():
    message = _message(html=None)
    raw = outbox_bytes(message)
    assert raw is not None
    assert _parse(raw).get_content_type() == "text/plain"
    _assert_same_as_the_standard_library(message, raw)


def test_the_unsubscribe_link_stays_one_readable_header():
    """RFC 2369 links in angle brackets; mail apps do not decode encoded words here."""
    raw = outbox_bytes(_message())
    (line,) = [line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:")]
    assert line == b"List-Unsubscribe: " + UNSUBSCRIBE.encode()
    # The standard library's path folds the same link into encoded words: the reason
    # this path exists besides speed.
    legacy = _message().message(policy=email.policy.SMTP).as_bytes()
    assert b"List-Unsubscribe: =?utf-8?" in legacy


def test_non_ascii_text_and_long_lines_are_encoded_and_decode_back():
    body = "Grüße, Zoë ✓\n" + "a long line " * 20 + "\n.a line that starts with a dot\n"
    html = "<p>" + "Grüße " * 40 + "</p>\n"
    message = _message(body=body, html=html, images=1)
    raw = outbox_bytes(message)
    assert raw is not None
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    _assert_same_as_the_standard_library(message, raw)


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Ihre Übung für heute"},  # non-ASCII header: encoded words
        {"subject": "=?utf-8?q?looks_encoded?="},
        {"subject": "two\nlines"},
        {"subject": ""},
        {"from_email": "Kindwork, the clinic <no-reply@kindwork.localhost>"},
        {"from_email": "Klinik Zoë <no-reply@kindwork.localhost>"},
        {"to": "Zoë Ångström <zoe@exämple.org>"},
        {"to": "client@exämple.org"},
    ],
)
def test_anything_else_takes_the_standard_librarys_path(changes):
    assert outbox_bytes(_message(**changes)) is None


def test_a_header_with_a_line_break_is_refused_as_before():
    message = _message(subject="Hello\nBcc: someone@example.org")
    assert outbox_bytes(message) is None
    with pytest.raises(ValueError):
        message.message(policy=email.policy.SMTP).as_bytes()


def test_other_message_shapes_take_the_standard_librarys_path():
    with_attachment = _message()
    with_attachment.attach("notes.txt", "a file", "text/plain")
    with_cc = _message()
    with_cc.cc = ["someone@example.org"]
    two_alternatives = _message()
    two_alternatives.attach_alternative("<p>again</p>", "text/html")
    images_without_html = _message(html=None, images=1)
    for message in (with_attachment, with_cc, two_alternatives, images_without_html):
        assert outbox_bytes(message) is None


def test_envelope_addresses(settings):
    assert simple_envelope_address("client@example.org") == "client@example.org"
    assert simple_envelope_address("Kindwork <no-reply@kindwork.localhost>") == (
        "no-reply@kindwork.localhost"
    )
    for unusual in ("Zoë <zoe@example.org>", "a@exämple.org", "a@b.org\nRCPT TO:<c@d.org>"):
        assert simple_envelope_address(unusual) is None
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.smtp.OutboxSmtpBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1},
        }
    }
    backend = mailers.default
    assert isinstance(backend, OutboxSmtpBackend)
    assert backend.prep_address("Kindwork <no-reply@kindwork.localhost>") == (
        "no-reply@kindwork.localhost"
    )
    assert backend.prep_address("a@exämple.org") == "a@xn--exmple-cua.org"  # Django's path
    with pytest.raises(ValueError):
        backend.prep_address("a@b.org\nRCPT TO:<c@d.org>")


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
_ascii_words = st.from_regex(
    r"[A-Za-z0-9!#$%&'*+/?^_`{|}~.,:;()-]+( [A-Za-z0-9.,:()-]+){0,20}", fullmatch=True
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.one_of(_ascii_words, _text),
    body=_text,
    html=st.one_of(st.none(), _text),
    images=st.integers(min_value=0, max_value=2),
)
@example(subject="Practice", body="--\r\n.\r\nFrom here\r", html="\r\n\n\r", images=1)
@example(subject="x" * 989, body="y" * 2000, html="z" * 5000, images=0)
def test_any_text_either_parses_back_the_same_or_takes_the_standard_librarys_path(
    subject, body, html, images
):
    if html is None:
        images = 0
    message = _message(subject=subject, body=body, html=html, images=images)
    raw = outbox_bytes(message)
    if raw is None:
        # Only a subject that needs encoding or folding, or Django's empty text beside HTML.
        plain_subject = (
            re.fullmatch(r"[!-~]+(?: [!-~]+)*", subject)
            and "=?" not in subject
            and len(f"Subject: {subject}") <= 998
        )
        assert not plain_subject or (not body and html is not None)
        return
    _assert_same_as_the_standard_library(message, raw)
