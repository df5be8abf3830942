"""What the process counts for Prometheus: requests by route, status and time, and the
background tasks' failures and last successful runs.

Labels name routes by their URL name (`homework:log`), never a path, an id or a person.
Task outcomes are written to the shared cache (Redis in production), because they happen
in the worker while /metrics is answered by the web processes.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "kindwork_http_requests",
    "HTTP requests answered, by route name, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "kindwork_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

TASK_SUCCESS_KEY = "kindwork:task:last-success:{name}"
TASK_FAILURES_KEY = "kindwork:task:failures:{name}"


def route_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or "unnamed"


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_name(request)
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
        LATENCY.labels(route=route).observe(time.perf_counter() - started)
        return response


# --- Tasks: outcomes kept in the shared cache, read by /metrics and /healthz/ready ---


def task_succeeded(sender: Any = None, **_kwargs: Any) -> None:
    name = getattr(sender, "name", None)
    if name:
        _safely(lambda: cache.set(TASK_SUCCESS_KEY.format(name=name), time.time(), None))


def task_failed(sender: Any = None, **_kwargs: Any) -> None:
    name = getattr(sender, "name", None)
    if name:
        key = TASK_FAILURES_KEY.format(name=name)

        def count() -> None:
            cache.add(key, 0, None)
            cache.incr(key)

        _safely(count)


def task_last_success(name: str) -> float | None:
    return _safely(lambda: cache.get(TASK_SUCCESS_KEY.format(name=name)))


def task_failures(name: str) -> int:
    return _safely(lambda: cache.get(TASK_FAILURES_KEY.format(name=name))) or 0


def _safely(action: Callable[[], Any]) -> Any:
    # Counting must never fail a task or a scrape: a cache outage only loses counts.
    try:
        return action()
    except Exception as error:
        logger.warning("Metrics cache unavailable: %s", type(error).__name__)
        return None
