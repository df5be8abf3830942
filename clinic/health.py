"""Health endpoint: reports whether the database and the broker answer.

For load balancers and monitoring: 200 when both answer, 503 when either does
not. It says only "ok" or "down", never why, since it is public.
"""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.celery import app

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
