"""Who is acting right now, for records made far from the view (model signals).

The audit middleware puts the request here for the length of each request;
Celery tasks and management commands have none, so their records name no actor.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.http import HttpRequest

_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_suppressed: ContextVar[bool] = ContextVar("audit_suppressed", default=False)


def current_request() -> HttpRequest | None:
    return _current_request.get()


@contextmanager
def request_context(request: HttpRequest) -> Iterator[None]:
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def automatic_records_suppressed() -> bool:
    return _suppressed.get()


@contextmanager
def suppress_automatic_records() -> Iterator[None]:
    """Inside, model signals record nothing: an erasure records itself once, not row by row."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)
