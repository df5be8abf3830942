"""Web Push transport: sign with our VAPID key, encrypt (aes128gcm), POST to the push service.

The payload is encrypted for one browser with the keys it gave when it subscribed
(RFC 8291), and the request is signed with our VAPID key (RFC 8292) so the push
service knows it is us. What we send is content-free: a title, a line and a URL to
open, never an exercise name, a rating or text.
"""

import base64
import json
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02
from pywebpush import WebPusher

# How long the push service keeps a message for a phone that is off: a reminder older
# than a day is no use.
PUSH_TTL_SECONDS = 24 * 60 * 60
PUSH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    url: str

    def payload(self) -> bytes:
        return json.dumps({"title": self.title, "body": self.body, "url": self.url}).encode()


@dataclass(frozen=True)
class PushOutcome:
    """What the push service said: delivered, gone (unsubscribe), transient, or refused."""

    status: int | None
    reason: str
    bad_keys: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.bad_keys or self.status in (404, 410)

    @property
    def transient(self) -> bool:
        if self.bad_keys:
            return False
        return self.status is None or self.status == 429 or self.status >= 500


@cache
def _vapid(private_key: str) -> Vapid02:
    return Vapid02.from_string(private_key=private_key)


def vapid_public_key() -> str:
    """The application server key browsers subscribe with (base64url, uncompressed point)."""
    return settings.VAPID_PUBLIC_KEY


def vapid_keys_generate() -> tuple[str, str]:
    """A new (private, public) pair as base64url strings, in the forms the settings take."""
    vapid = Vapid02()
    vapid.generate_keys()
    private_der = vapid.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64(private_der), _b64(public_point)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def push_send(
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    message: PushMessage,
    session: requests.Session | None = None,
) -> PushOutcome:
    """Encrypt and deliver one message to one browser. Never raises for a delivery problem."""
    parts = urlsplit(endpoint)
    claims = {
        "sub": settings.VAPID_SUBJECT,
        "aud": f"{parts.scheme}://{parts.netloc}",
    }
    try:
        headers = _vapid(settings.VAPID_PRIVATE_KEY).sign(claims)
        pusher = WebPusher(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            requests_session=session,
        )
        response = pusher.send(
            message.payload(),
            headers=dict(headers),
            ttl=PUSH_TTL_SECONDS,
            content_encoding="aes128gcm",
            timeout=PUSH_TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        # The push service could not be reached: try again later.
        return PushOutcome(status=None, reason=type(error).__name__)
    except (ValueError, TypeError) as error:
        # The browser's keys cannot be used (not base64, not a P-256 point): no retry helps.
        return PushOutcome(
            status=None, reason=f"unusable keys ({type(error).__name__})", bad_keys=True
        )
    return PushOutcome(status=response.status_code, reason=response.reason or "")
