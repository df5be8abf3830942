"""/metrics: Prometheus text for the operator, behind a bearer token or a staff login.

Besides the request metrics each process counts (core/metrics.py), each scrape reads the
outbox (rows by kind and status, the oldest pending row's age) and the periodic tasks'
last successful runs and failures from the shared cache. Labels are kinds, statuses,
task and route names only: never a person, an address or an id.

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR (deploy/ does) so the request
counts of all of them are added up.
"""

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from core.metrics import task_failures, task_last_success
from notifications.models import Notification


def periodic_task_names() -> list[str]:
    return sorted({entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()})


class OperationsCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        rows = GaugeMetricFamily(
            "kindwork_outbox_notifications",
            "Outbox rows by kind and status.",
            labels=["kind", "status"],
        )
        for row in Notification.objects.values("kind", "status").annotate(count=Count("id")):
            rows.add_metric([row["kind"], row["status"]], row["count"])
        yield rows
        oldest = Notification.objects.filter(status=Notification.Status.PENDING).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        age = GaugeMetricFamily(
            "kindwork_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 when none is pending).",
        )
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield age
        last = GaugeMetricFamily(
            "kindwork_periodic_task_last_success_timestamp_seconds",
            "When each periodic task last succeeded (Unix time; absent if never).",
            labels=["task"],
        )
        failures = CounterMetricFamily(
            "kindwork_task_failures",
            "Task runs that raised, by task.",
            labels=["task"],
        )
        for name in periodic_task_names():
            when = task_last_success(name)
            if when is not None:
                last.add_metric([name], when)
        for name in sorted({*periodic_task_names(), "notifications.tasks.send_notifications"}):
            failures.add_metric([name], task_failures(name))
        yield last
        yield failures


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff and user.is_active)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        response = HttpResponse("Not allowed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_operations_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _operations_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OperationsCollector())
    return registry
