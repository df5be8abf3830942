"""The outbox's messages are Django's, byte for byte, built with reused header classes."""

import email.policy
import re

from django.core.mail import EmailMultiAlternatives

from notifications.mime import OutboxMessage, reusing_header_classes


def _message(cls: type) -> EmailMultiAlternatives:
    message = cls(
        subject="Ihre Übung für heute: ein langer Betreff, der gefaltet werden muss",
        body="Grüße ✓\nA second line.",
        from_email="Kindwork Ünïcode <no-reply@kindwork.localhost>",
        to=["Zoë Ångström <zoe@exämple.org>", "plain@example.org"],
        headers={
            "Message-ID": "<fixed@kindwork.localhost>",
            "Date": "Sun, 22 Nov 2026 08:00:00 -0000",
            "List-Unsubscribe": "<https://kindwork.example/" + "a" * 150 + ">",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative("<p>Grüße</p>", "text/html")
    return message


def _without_boundary(raw: bytes) -> bytes:
    # The multipart boundary is random on every build.
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)
    return raw.replace(boundary, b"BOUNDARY")


def test_it_builds_the_same_bytes_as_djangos_message():
    for policy in (email.policy.SMTP, email.policy.default):
        ours = _message(OutboxMessage).message(policy=policy).as_bytes()
        django = _message(EmailMultiAlternatives).message(policy=policy).as_bytes()
        assert _without_boundary(ours) == _without_boundary(django)
        assert "Zoë".encode() not in ours  # headers still encoded for 7-bit transport


def test_it_makes_each_header_class_once_per_policy():
    policy = reusing_header_classes(email.policy.SMTP)
    assert reusing_header_classes(email.policy.SMTP) is policy
    registry = policy.header_factory
    assert registry["Subject"] is registry["subject"]
    assert (
        email.policy.SMTP.header_factory["Subject"]
        is not (email.policy.SMTP.header_factory["Subject"])
    )  # what the standard library does on every header
