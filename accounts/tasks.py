"""Celery task for sessions: beat triggers it hourly; it takes no arguments.

Django never deletes a session that simply expired (only `clearsessions`, which nothing
ran): without this, every login a clinic ever had would stay in the table.
"""

from celery import shared_task

from accounts.services import sessions_clear_expired


@shared_task
def sessions_clear_expired_tick() -> int:
    """Delete the sessions whose expiry has passed."""
    return sessions_clear_expired()
