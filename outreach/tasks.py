"""Celery tasks for reminders and weekly summaries: beat triggers them, services do the work.

The database is the schedule, so a tick only needs the clock. With
OUTREACH_SHARDS = 1 (the default, a small clinic) the tick does the work itself.
With more, the tick only enqueues one task per shard (its arguments are the shard's
number and the count, never a person or their data), and any worker takes them:
several worker machines then share one tick. Each shard is idempotent, so a shard
run twice, or a tick whose shards overlap with the next tick's, writes nothing twice.
"""

from celery import shared_task
from django.conf import settings
from django.db import transaction

from outreach.questionnaire_reminders import measure_reminders_create_due
from outreach.reminders import Shard, reminders_create_due
from outreach.summaries import weekly_summaries_create_due


def _shards() -> int:
    return settings.OUTREACH_SHARDS


@shared_task
def reminders_tick() -> int:
    """Write (and enqueue) every reminder that has fallen due since the last tick.

    Questionnaire reminders are few (one per scheduled questionnaire and occurrence)
    and stay in the tick; practice reminders are split into shards.
    """
    written = len(measure_reminders_create_due())
    count = _shards()
    if count == 1:
        return written + len(reminders_create_due())
    for index in range(count):
        transaction.on_commit(
            lambda index=index: reminders_shard.apply_async((index, count), expires=55),
            robust=True,
        )
    return written


@shared_task
def reminders_shard(index: int, count: int) -> int:
    """One shard of the practice reminders that have fallen due."""
    return len(reminders_create_due(shard=Shard(index=index, count=count)))


@shared_task
def weekly_summaries_tick() -> int:
    """Write (and enqueue) the weekly summaries that are due at Monday 08:00 local time."""
    count = _shards()
    if count == 1:
        return len(weekly_summaries_create_due())
    for index in range(count):
        transaction.on_commit(
            lambda index=index: weekly_summaries_shard.apply_async((index, count), expires=840),
            robust=True,
        )
    return 0


@shared_task
def weekly_summaries_shard(index: int, count: int) -> int:
    """One shard of the weekly summaries that are due."""
    return len(weekly_summaries_create_due(shard=Shard(index=index, count=count)))
