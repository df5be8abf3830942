"""A console email backend for development that a person can read and click.

Django's console backend prints the message as sent, quoted-printable encoded: a long
link wraps with "=" at the line end, and opened as printed it is broken (a password
reset link then says it is invalid). This prints the headers and every text part
decoded, as plain 8-bit text, so links stay whole.
"""

from email.message import Message

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend

SHOWN_HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")


def _text_parts(message: Message) -> list[tuple[str, str]]:
    parts = []
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        parts.append((part.get_content_type(), payload.decode(charset, errors="replace")))
    return parts


class DecodedConsoleBackend(EmailBackend):
    def write_message(self, message: EmailMessage) -> None:
        mime = message.message()
        lines = [f"{name}: {mime[name]}" for name in SHOWN_HEADERS if mime[name] is not None]
        for content_type, text in _text_parts(mime):
            lines += ["", f"--- {content_type} ---", text.rstrip("\n")]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.write("-" * 79 + "\n")
