"""Telling a client that something new is waiting: a reply from their clinician, a new plan.

Written when it happens (homework fires the event inside its transaction), on the
channels the client chose. Pause and quiet hours apply as to reminders: a paused
client is not told (they see it when they next open the portal), and news that comes
in quiet hours waits in the outbox until they end (the database is the schedule:
the sweep publishes the row once it is due). Rows carry ids only.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import ClientProfile
from homework.events import event_listen
from notifications.models import Notification
from notifications.services import notifications_enqueue
from outreach.reminders import in_quiet_hours, local_instant, zone_for
from outreach.services import channels_for, client_reminders_are_paused, notifications_for_channels

NEWS_FIELDS = ("kind", "recipient_id", "to_email", "context", "created_at", "next_attempt_at")


def news_send_at(*, profile: ClientProfile, now: datetime) -> datetime | None:
    """When news for this client may go out: now, the end of quiet hours, or None if paused."""
    if client_reminders_are_paused(profile=profile, now=now):
        return None
    zone = zone_for(profile.user.timezone)
    start, end = profile.quiet_hours_start, profile.quiet_hours_end
    if zone is None or start is None or end is None:
        return now
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time().replace(tzinfo=None), start, end):
        return now
    ends = local_instant(local.date(), end, zone)
    if ends <= local:
        ends = local_instant(local.date() + timedelta(days=1), end, zone)
    return ends


def news_create(
    *, kind: str, client_id: int, key: str, context: dict, now: datetime | None = None
) -> list[int]:
    """Write the rows of one piece of news, one per channel; enqueue those due now."""
    now = now or timezone.now()
    profile = (
        ClientProfile.objects.select_related("user")
        .filter(user_id=client_id, user__is_active=True)
        .first()
    )
    if profile is None:
        return []
    send_at = news_send_at(profile=profile, now=now)
    if send_at is None:
        return []
    rows = notifications_for_channels(
        channels=channels_for(user_ids=[client_id]),
        rows=[
            Notification(
                kind=kind,
                recipient_id=client_id,
                to_email=profile.user.email,
                idempotency_key=key,
                context=context,
                created_at=now,
                next_attempt_at=send_at,
            )
        ],
    )
    ids: list[int] = []
    with transaction.atomic():
        for row in rows:
            notification, created = Notification.objects.get_or_create(
                idempotency_key=row.idempotency_key,
                channel=row.channel,
                defaults={name: getattr(row, name) for name in NEWS_FIELDS},
            )
            if created:
                ids.append(notification.pk)
        if send_at <= now:
            notifications_enqueue(ids=ids)
    return ids


def _feedback_created(*, feedback_id: int, client_id: int, now: datetime | None = None) -> None:
    news_create(
        kind=Notification.Kind.FEEDBACK_REPLY,
        client_id=client_id,
        key=f"feedback_reply:{feedback_id}",
        context={"feedback_id": feedback_id},
        now=now,
    )


def _assignment_created(*, assignment_id: int, client_id: int, now: datetime | None = None) -> None:
    news_create(
        kind=Notification.Kind.NEW_PRACTICE,
        client_id=client_id,
        key=f"new_practice:{assignment_id}",
        context={"assignment_id": assignment_id},
        now=now,
    )


def news_listen() -> None:
    event_listen(event="feedback_created", listener=_feedback_created)
    event_listen(event="assignment_created", listener=_assignment_created)
