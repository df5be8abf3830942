"""Celery tasks for the outbox: thin wrappers that take ids and call services."""

from celery import shared_task

from notifications import services


@shared_task(bind=True, max_retries=services.MAX_ATTEMPTS, acks_late=True)
def send_notifications(self, ids: list[int]) -> None:
    retry = services.notifications_send(ids=ids)
    if retry:
        # Rows went back to pending; back off exponentially (30 s, 60 s, 120 s...).
        # Short countdowns only: the database, not the broker, is the schedule.
        countdown = min(30 * 2**self.request.retries, 300)
        raise self.retry(args=[retry], countdown=countdown)


@shared_task
def sweep_pending() -> int:
    """Publish rows left pending (broker was down, or a retry was lost)."""
    ids = services.notifications_pending_ids()
    for start in range(0, len(ids), 500):
        send_notifications.delay(ids[start : start + 500])
    return len(ids)
