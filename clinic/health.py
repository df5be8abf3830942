"""Health endpoints for load balancers, process supervisors and monitoring.

- /healthz/live: the process answers requests (nothing else is checked), for restarts;
- /healthz/ready: the database and the broker answer and the beat has ticked (a periodic
  task succeeded) within BEAT_SILENCE, for taking the site in or out of service;
- /healthz: the database and the broker, as before.

Each says only "ok" or "down", never why, since they are public.
"""

import logging
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.celery import app
from clinic.metrics import periodic_task_names
from core.metrics import task_last_success

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:
        logger.warning("Health check: database down (%s)", type(error).__name__)
        return False


def _broker_ok() -> bool:
    # The same fail-fast options as publishing, so a dead broker answers in about a second.
    try:
        with app.connection_for_write(
            transport_options=settings.BROKER_FAIL_FAST_TRANSPORT_OPTIONS
        ) as conn:
            conn.ensure_connection(max_retries=0)
            # Opening a channel talks to the server (Redis answers a PING).
            conn.default_channel  # noqa: B018
        return True
    except Exception as error:
        logger.warning("Health check: broker down (%s)", type(error).__name__)
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)


# The sweep runs every minute: five minutes without any periodic task succeeding means
# beat (or every worker) has stopped.
BEAT_SILENCE = 5 * 60


def _beat_ok() -> bool:
    runs = [task_last_success(name) for name in periodic_task_names()]
    latest = max((run for run in runs if run is not None), default=None)
    return latest is not None and time.time() - latest < BEAT_SILENCE


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok(), "beat": _beat_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "down" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)
