"""A fake Web Push service on loopback, and a browser's subscription keys.

It checks what a real push service checks (the VAPID JWT is signed by the key it
names, for this audience, not expired) and can decrypt the payload with the
browser's private key, as the browser would. It answers with scripted statuses.
"""

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Browser:
    """The keys a browser makes when it subscribes."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64encode(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64encode(self.auth_secret)

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class PushService:
    """Serves POST /push/<name>; `answers[name]` is a list of statuses to give in turn
    (the last one repeats; 201 when none)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                name = self.path.rsplit("/", 1)[-1]
                with service.lock:
                    headers = {key.lower(): value for key, value in self.headers.items()}
                    service.received.append(Received(self.path, headers, body))
                    queue = service.answers.get(name, [])
                    status = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else 201)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    def start(self) -> "PushService":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def verify_vapid(self, received: Received, *, public_key: str) -> dict:
        """The JWT's claims, after checking it is signed by `public_key` and names us."""
        scheme, _, credentials = received.headers["authorization"].partition(" ")
        assert scheme == "vapid"
        parts = dict(item.strip().split("=", 1) for item in credentials.split(","))
        assert parts["k"] == public_key
        header, claims, signature = parts["t"].split(".")
        raw = b64decode(signature)
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64decode(public_key))
        # Raises InvalidSignature when the token was not signed by that key.
        key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        decoded = json.loads(b64decode(claims))
        assert json.loads(b64decode(header))["alg"] == "ES256"
        assert decoded["aud"] == self.origin
        assert decoded["exp"] > time.time()
        return decoded
