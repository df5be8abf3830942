"""Celery tasks for reminders and weekly summaries: beat triggers them, services do the work.

The database is the schedule, so a tick only needs the clock. With
OUTREACH_SHARDS = 1 (the default, a small clinic) the tick does the work itself.
With more, the tick only enqueues one task per shard (its arguments are the shard's
number and the count, never a person or their data), and any worker takes them:
several worker machines then share one tick. Each shard is idempotent, so a shard
run twice, or a tick whose shards overlap with the next tick's, writes nothing twice.
"""

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction

from outreach.questionnaire_reminders import measure_reminders_create_due
from outreach.reminders import Shard, reminders_create_due
from outreach.summaries import weekly_summaries_create_due


def _shards_enqueue(task: Task, count: int, *, expires: int) -> None:
    """One task per shard, published after commit; its arguments are two numbers."""
    for index in range(count):
        transaction.on_commit(
            lambda index=index: task.apply_async((index, count), expires=expires), robust=True
        )


@shared_task
def reminders_tick() -> int:
    """Write (and enqueue) every reminder that has fallen due since the last tick.

    Questionnaire reminders are few (one per scheduled questionnaire and occurrence)
    and stay in the tick; practice reminders are split into shards.
    """
    written = len(measure_reminders_create_due())
    count = settings.OUTREACH_SHARDS
    if count == 1:
        return written + len(reminders_create_due())
    _shards_enqueue(reminders_shard, count, expires=55)
    return written


@shared_task
def reminders_shard(index: int, count: int) -> int:
    """One shard of the practice reminders that have fallen due."""
    return len(reminders_create_due(shard=Shard(index=index, count=count)))


@shared_task
def weekly_summaries_tick() -> int:
    """Write (and enqueue) the weekly summaries that are due at Monday 08:00 local time."""
    count = settings.OUTREACH_SHARDS
    if count == 1:
        return len(weekly_summaries_create_due())
    _shards_enqueue(weekly_summaries_shard, count, expires=840)
    return 0


@shared_task
def weekly_summaries_shard(index: int, count: int) -> int:
    """One shard of the weekly summaries that are due."""
    return len(weekly_summaries_create_due(shard=Shard(index=index, count=count)))
