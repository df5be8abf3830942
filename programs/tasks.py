"""Celery task for program weeks: beat triggers it, the services do the work.

It takes no arguments: the database is the schedule (Enrolment.next_week_on), so a
tick only needs the clock, and a tick missed during an outage is caught up by the next.
"""

from celery import shared_task

from programs.services import enrolments_open_due


@shared_task
def program_weeks_tick() -> int:
    """Open every program week whose local date has come."""
    return enrolments_open_due()
