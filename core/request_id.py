"""One id per web request, carried into the log lines of the tasks it enqueues.

The id comes from the proxy's X-Request-ID header when it looks like one (so nginx's
$request_id ties its access log to ours), otherwise it is made here. It is in every log
line (plain and JSON formats), in the response's X-Request-ID header, and in the
headers of every task message published while the request runs; the worker puts it
back for the task's own log lines. It is random: no person, record or path is in it.
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
TASK_HEADER = "kindwork_request_id"
_ACCEPTABLE = re.compile(r"[A-Za-z0-9-]{8,64}")

current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def request_id_from(value: str | None) -> str:
    if value and _ACCEPTABLE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Not reset on the way out: Django logs the response's status after every
        # middleware has returned. It is cleared when the request has finished.
        current_request_id.set(request_id_from(request.headers.get(HEADER)))
        response = self.get_response(request)
        response[HEADER] = current_request_id.get()
        return response


def _request_finished(**_kwargs: Any) -> None:
    current_request_id.set("-")


request_finished.connect(_request_finished, dispatch_uid="kindwork-request-id-finished")


class RequestIdFilter(logging.Filter):
    """Puts the current request (or task) id on every record, as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class ShortRefusalFilter(logging.Filter):
    """A refused request (4xx) is one short line: its traceback says nothing new.

    Django logs a 403 from PermissionDenied, and a 400 from a suspicious request, with the
    exception attached; thousands of probes would bury real errors under tracebacks.
    Server errors (5xx) keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        # The request object itself stays out of structured output (it holds the body).
        if hasattr(record, "request"):
            record.request = None
        return True


# --- Celery: the id travels in the message headers, never in the task's arguments ---


def add_request_id_to_message(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    request_id = current_request_id.get()
    if headers is not None and request_id != "-":
        headers[TASK_HEADER] = request_id


def _eager(task: Any) -> bool:
    # An eager task runs inside the caller (tests): it already has the caller's id.
    return bool(getattr(getattr(task, "request", None), "is_eager", False))


def take_request_id_from_task(task: Any = None, **_kwargs: Any) -> None:
    if _eager(task):
        return
    value = getattr(getattr(task, "request", None), TASK_HEADER, None)
    if value is None:
        headers = getattr(getattr(task, "request", None), "headers", None) or {}
        value = headers.get(TASK_HEADER)
    current_request_id.set(value if isinstance(value, str) and value else "-")


def forget_request_id(task: Any = None, **_kwargs: Any) -> None:
    if not _eager(task):
        current_request_id.set("-")
