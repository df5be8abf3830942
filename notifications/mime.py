"""The outbox's email message, and the bytes the outbox sends over SMTP.

`OutboxMessage` is Django's EmailMultiAlternatives with inline pictures beside the HTML,
built with header classes made once per process: the standard library's
`email.headerregistry.HeaderRegistry` creates a new class with `type()` for every header
of every message (about 30 per multipart email); the classes depend only on the header's
name, so one made earlier serves as well and the bytes are identical
(tests/notifications/test_mime.py). Console, file and test backends use `message()`.

`outbox_bytes` writes the same message for the SMTP backend (`notifications.smtp`)
without the standard library's header parser and folder: see below.
"""

import base64
import binascii
import email.policy
import re
import secrets
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from email.utils import format_datetime, make_msgid
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.utils.timezone import get_current_timezone


class _ReusingHeaderRegistry(HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


@lru_cache(maxsize=16)
def reusing_header_classes(policy: email.policy.Policy) -> email.policy.Policy:
    """`policy` with a header factory that reuses its header classes (one per policy)."""
    return policy.clone(header_factory=_ReusingHeaderRegistry())


class OutboxMessage(EmailMultiAlternatives):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (Content-ID without brackets, PNG bytes): pictures the HTML part shows as
        # <img src="cid:...">. They go beside the HTML in a multipart/related part, as
        # RFC 2387 has it, so mail apps show them in place rather than as attachments.
        self.inline_images: list[tuple[str, bytes]] = []

    def message(self, *, policy: email.policy.Policy = email.policy.default):
        if isinstance(policy, email.policy.EmailPolicy):
            policy = reusing_header_classes(policy)
        msg = super().message(policy=policy)
        if self.inline_images:
            html = msg.get_body(preferencelist=("html",))
            for content_id, png in self.inline_images:
                html.add_related(
                    png,
                    maintype="image",
                    subtype="png",
                    cid=f"<{content_id}>",
                    disposition="inline",
                )
        return msg


# --- The bytes sent over SMTP, written directly --------------------------------------
#
# Even with the classes reused, the standard library's modern email API spent about 2 ms
# per reminder parsing and re-folding headers it had just been given (two thirds of a
# worker's CPU per email, docs/benchmarks.md), and it folded a long List-Unsubscribe
# link into RFC 2047 encoded words ("=?utf-8?q?=3Chttps=3A//..."), which mail apps do
# not decode in that header, so their one-click unsubscribe could not read it.
#
# The outbox's emails have one shape: a plain-text body, an HTML alternative and maybe
# inline pictures beside the HTML, headers of plain ASCII. `outbox_bytes` writes that
# shape in one pass. A header it cannot write as it stands (non-ASCII, an address with a
# display name that needs quoting, "=?") sends the whole message down the standard
# library's path instead, so nothing is written by a second, rarer rule of ours.

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_ADDR_SPEC = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
_SIMPLE_ADDRESS = re.compile(
    rf"(?:[{_ATEXT}]+(?: [{_ATEXT}]+)* <(?P<named>{_ADDR_SPEC})>|(?P<bare>{_ADDR_SPEC}))"
)
# Printable ASCII and single spaces inside; the line may be long (RFC 5322 allows 998).
_SIMPLE_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")
_MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
_FOLD_AT = 78  # the standard library's SMTP policy: body lines longer than this are encoded
_CRLF = b"\r\n"


def simple_envelope_address(address: str) -> str | None:
    """The addr-spec SMTP's MAIL FROM and RCPT TO take, when the address is plain ASCII
    ("a@b.example" or "Display Name <a@b.example>"); else None, for the full parser."""
    match = _SIMPLE_ADDRESS.fullmatch(address)
    return (match["named"] or match["bare"]) if match else None


def _header_line(name: str, value: str, *, address: bool) -> bytes | None:
    line = f"{name}: {value}"
    if len(line) > _MAX_LINE or "=?" in value:
        return None
    pattern = _SIMPLE_ADDRESS if address else _SIMPLE_TEXT
    if not pattern.fullmatch(value):
        return None
    return line.encode("ascii")


def _text_part(content: str, subtype: str) -> list[bytes]:
    """A text part's headers and body, as `email.contentmanager` chooses its transfer
    encoding under the SMTP policy: 7bit or 8bit when every line fits in 78 characters,
    quoted-printable otherwise."""
    lines = content.encode("utf-8").splitlines()
    body = _CRLF.join(lines) + _CRLF
    if all(len(line) <= _FOLD_AT for line in lines):
        encoding = "7bit" if body.isascii() else "8bit"
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(body, istext=True)
        if not body.endswith(_CRLF):
            body += _CRLF
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"'.encode(),
        f"Content-Transfer-Encoding: {encoding}".encode(),
        b"",
        body,
    ]


def _image_part(content_id: str, png: bytes) -> list[bytes]:
    encoded = base64.encodebytes(png).replace(b"\n", _CRLF)
    return [
        b"Content-Type: image/png",
        b"Content-Transfer-Encoding: base64",
        b"Content-Disposition: inline",
        f"Content-ID: <{content_id}>".encode("ascii"),
        b"",
        encoded,
    ]


def _multipart(subtype: str, parts: list[list[bytes]]) -> list[bytes]:
    """A multipart entity: its Content-Type header, a blank line, then the parts."""
    while True:
        boundary = "=" * 15 + str(secrets.randbelow(10**19)).zfill(19) + "=="
        marker = boundary.encode("ascii")
        if not any(marker in chunk for part in parts for chunk in part):
            break
    out = [f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"'.encode(), b""]
    for part in parts:
        out.append(b"--" + marker)
        out.extend(part)
    out.append(b"--" + marker + b"--")
    out.append(b"")
    return out


def outbox_bytes(message: "OutboxMessage") -> bytes | None:
    """The message as sent over SMTP (CRLF line ends), or None if it is not of the one
    shape written here; the caller then uses `message.message()`.

    What this writes parses back to the same headers, parts and contents as the
    standard library's message (tests/notifications/test_outbox_bytes.py).
    """
    if message.attachments or message.cc or message.bcc or message.reply_to:
        return None
    alternatives = message.alternatives
    if len(alternatives) > 1 or (alternatives and alternatives[0][1] != "text/html"):
        return None
    if message.inline_images and not alternatives:
        return None
    if message.content_subtype != "plain" or (not message.body and alternatives):
        return None  # (Django leaves an empty text body out beside an alternative.)
    if (message.encoding or settings.DEFAULT_CHARSET).lower() != "utf-8":
        return None
    if not isinstance(message.body, str) or (
        alternatives and not isinstance(alternatives[0][0], str)
    ):
        return None
    extra = {name.lower(): (name, value) for name, value in message.extra_headers.items()}
    if {"from", "to", "cc", "reply-to", "bcc", "mime-version", "content-type"} & extra.keys():
        return None
    headers: list[bytes | None] = [
        _header_line("Subject", str(message.subject), address=False),
        _header_line("From", str(message.from_email), address=True),
    ]
    if message.to:
        headers.append(_header_line("To", ", ".join(message.to), address=True))
    if "date" not in extra:
        zone = get_current_timezone() if settings.EMAIL_USE_LOCALTIME else UTC
        headers.append(f"Date: {format_datetime(datetime.now(zone))}".encode("ascii"))
    if "message-id" not in extra:
        headers.append(f"Message-ID: {make_msgid(domain=DNS_NAME)}".encode("ascii"))
    for name, value in extra.values():
        headers.append(_header_line(name, str(value), address=False))
    if None in headers:
        return None

    text = _text_part(message.body, "plain")
    if alternatives:
        html = _text_part(alternatives[0][0], "html")
        if message.inline_images:
            pictures = [_image_part(cid, png) for cid, png in message.inline_images]
            html = _multipart("related", [html, *pictures])
        body = _multipart("alternative", [text, html])
    else:
        body = text
    return _CRLF.join([b"MIME-Version: 1.0", *body[:1], *headers, *body[1:]])
