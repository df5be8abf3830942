"""The Celery settings the outbox relies on: if one of these drifts, delivery gets unsafe."""

from django.conf import settings

from clinic.celery import app
from notifications import services


def test_it_speaks_json_only_and_keeps_no_results():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_ignore_result is True
    assert not app.conf.result_backend


def test_it_acknowledges_late_and_fetches_one_task_at_a_time():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_it_bounds_every_task_well_inside_the_stale_claim_window():
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.task_time_limit < services.STALE_CLAIM_AFTER.total_seconds()
    if settings.REDIS_URL:
        # Redis redelivers unacknowledged tasks after this; a task must be long done.
        visibility = app.conf.broker_transport_options["visibility_timeout"]
        assert app.conf.task_time_limit < visibility


def test_it_publishes_without_retrying_and_reuses_database_connections():
    assert app.conf.task_publish_retry is False
    assert settings.BROKER_FAIL_FAST_TRANSPORT_OPTIONS["max_retries"] == 0
    assert settings.BROKER_FAIL_FAST_TRANSPORT_OPTIONS["socket_timeout"] <= 1
    assert app.conf.get("db_reuse_max")


def test_it_sweeps_on_a_schedule():
    sweep = app.conf.beat_schedule["notifications-sweep"]
    assert sweep["task"] == "notifications.tasks.sweep_pending"
    assert sweep["schedule"] <= services.SWEEP_GRACE.total_seconds()
