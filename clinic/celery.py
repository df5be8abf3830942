"""Celery application, configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery, signals

from core import metrics, request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The web request's id rides in each task message's headers into the task's log lines.
signals.before_task_publish.connect(request_id.add_request_id_to_message, weak=False)
signals.task_prerun.connect(request_id.take_request_id_from_task, weak=False)
signals.task_postrun.connect(request_id.forget_request_id, weak=False)
# Last successful run and failures of each task, for /metrics and /healthz/ready.
signals.task_success.connect(metrics.task_succeeded, weak=False)
signals.task_failure.connect(metrics.task_failed, weak=False)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_database_connections(sender=None, **kwargs) -> None:
    """Treat each task like a request: drop connections past CONN_MAX_AGE or broken.

    CELERY_DB_REUSE_MAX keeps Celery from closing them around every task; this keeps
    a connection that broke (database restarted) from failing the next task too.
    Eager tasks run inside the caller's transaction (tests), where closing would break it.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _log_as_the_web_does(logger=None, **kwargs) -> None:
    """The worker and beat set up their own handlers, in Celery's format and without the
    request id. Give them the settings' format (LOG_FORMAT, so JSON lines under
    LOG_FORMAT=json) and the request id, so a task's lines carry the request that queued it.
    """
    import logging

    from django.conf import settings

    if logger is None:
        return
    spec = settings.LOGGING["formatters"][settings.LOG_FORMAT]
    if settings.LOG_FORMAT == "json":
        from pythonjsonlogger.json import JsonFormatter

        formatter: logging.Formatter = JsonFormatter(
            spec["fmt"], rename_fields=spec["rename_fields"]
        )
    else:
        formatter = logging.Formatter(spec["format"])
    for handler in logger.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, request_id.RequestIdFilter) for f in handler.filters):
            handler.addFilter(request_id.RequestIdFilter())
