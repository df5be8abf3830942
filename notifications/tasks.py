"""Celery tasks for the outbox: thin wrappers that take ids and call services.

Retries are not Celery retries: a transient failure writes the row's next attempt
time, and `sweep_pending` publishes rows whose time has come. So nothing waits in
the broker for minutes (where a visibility timeout could run it twice) and a lost
message costs a delay, never an email.
"""

from celery import shared_task
from django.conf import settings

from notifications import services


@shared_task
def send_notifications(ids: list[int]) -> None:
    # Stop claiming new rows well before the soft time limit; the rest go back to the queue.
    budget = (settings.CELERY_TASK_SOFT_TIME_LIMIT or 240) / 2
    report = services.notifications_send(ids=ids, budget_seconds=budget)
    if report.unattempted:
        services.notifications_publish(ids=report.unattempted)


@shared_task
def sweep_pending() -> int:
    """Release dead workers' claims; publish rows left pending (broker down, retry due)."""
    return services.notifications_sweep()


def send_notifications_publish(*, ids: list[int], batch_size: int) -> None:
    """Publish `send_notifications` tasks over a connection that fails fast.

    Called from web requests (after commit): with the broker away it raises within
    about a second instead of retrying, and the caller leaves the rows to the sweep.
    """
    app = send_notifications.app
    with app.connection_for_write(
        transport_options=settings.BROKER_FAIL_FAST_TRANSPORT_OPTIONS
    ) as connection:
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            # What monitoring shows of the ids, given, so Celery does not build its safe
            # repr of them: about 0.5 of 1.5 ms of CPU per publish (bench, 100 ids).
            send_notifications.apply_async(
                args=[batch],
                argsrepr=f"[{len(batch)} ids from {batch[0]}]",
                connection=connection,
                retry=False,
            )
