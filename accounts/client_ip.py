"""The address a request came from, the one way every part of the app reads it.

Used by the login lockout (django-axes), the audit trail and anything else that
keys on an address. X-Forwarded-For is whatever the client chose to send unless
our own TLS proxy sits in front: only then (BEHIND_TLS_PROXY) is its last entry,
the one the proxy appended itself, trusted. One hop, never more.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = _valid(request.META.get("REMOTE_ADDR", ""))
    if not getattr(settings, "BEHIND_TLS_PROXY", False):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if forwarded:
        return _valid(forwarded[-1]) or remote
    return remote


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
