"""Celery tasks for reminders and weekly summaries: beat triggers them, services do the work.

They take no arguments: the database is the schedule, so a tick only needs the clock.
"""

from celery import shared_task

from outreach.questionnaire_reminders import measure_reminders_create_due
from outreach.reminders import reminders_create_due
from outreach.summaries import weekly_summaries_create_due


@shared_task
def reminders_tick() -> int:
    """Write (and enqueue) every reminder that has fallen due since the last tick."""
    # Practice reminders, then questionnaire reminders: one tick writes both kinds.
    return len(reminders_create_due()) + len(measure_reminders_create_due())


@shared_task
def weekly_summaries_tick() -> int:
    """Write (and enqueue) the weekly summaries that are due at Monday 08:00 local time."""
    return len(weekly_summaries_create_due())
