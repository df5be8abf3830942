"""A bench-only Celery task: the weekly summaries tick at a chosen instant.

Loaded into the bench's worker with `celery worker -I bench.tasks`; never part of the
app. The real tick (outreach.tasks.weekly_summaries_tick) reads the clock, and the
bench needs "Monday 08:00" in every zone without waiting for a Monday.
"""

from datetime import datetime

from celery import shared_task

from outreach.summaries import weekly_summaries_create_due


@shared_task
def bench_weekly_summaries_tick(now: str) -> int:
    return len(weekly_summaries_create_due(now=datetime.fromisoformat(now)))


@shared_task
def bench_weekly_summaries_shard(now: str, index: int, count: int) -> int:
    """One shard of that tick, as outreach.tasks.weekly_summaries_shard runs it."""
    from outreach.reminders import Shard

    return len(
        weekly_summaries_create_due(
            now=datetime.fromisoformat(now), shard=Shard(index=index, count=count)
        )
    )
