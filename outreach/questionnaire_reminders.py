"""Questionnaire reminders: one email when a questionnaire falls due, like practice reminders.

Their own outbox kind and email ("you have a short questionnaire waiting", a link
to Today, no instrument name and no clinical content); the row's context names the
measure schedule. Policy, in words:
- One reminder per occurrence, not one a day: a questionnaire stays open for weeks
  and a daily nudge would nag. It goes out on the occurrence's first day at the
  client's reminder time (their preference, else the default: the same
  effective_reminder_time as practice reminders), with quiet hours and paused
  reminders honoured exactly as outreach.reminders does (the same reminder_due_at).
  A schedule made after that time today is reminded tomorrow at the same time instead.
- Idempotency key `measure-reminder:<schedule id>:<occurrence date>`: two beats or a
  retry cannot double it.
- At send time (measure_reminders_still_wanted, asked through the same send path as
  practice reminders in outreach.emails) nothing goes out if it has been answered or
  ended meanwhile, reminders were paused, or the client's reminder day is over.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Role
from homework.models import AssignmentStatus
from homework.schedule import local_date
from measures.models import MeasureAssignment
from measures.selectors import occurrence_on
from notifications.models import Notification
from notifications.services import notifications_enqueue
from outreach.reminders import effective_reminder_time, reminder_due_at, zone_for
from outreach.services import channels_for, notifications_for_channels

logger = logging.getLogger(__name__)

CONTEXT_KEY = "measure_assignment_id"


def measure_reminder_key(*, measure_id: int, due_date: date) -> str:
    return f"measure-reminder:{measure_id}:{due_date.isoformat()}"


@dataclass(frozen=True)
class DueMeasureReminder:
    measure_id: int
    client_id: int
    to_email: str
    due_date: date  # the occurrence
    day: date  # the local day the reminder is for

    @property
    def key(self) -> str:
        return measure_reminder_key(measure_id=self.measure_id, due_date=self.due_date)


def _reminder_day(measure: MeasureAssignment, occurrence: date, zone, profile) -> tuple:
    """(the local day, the instant) this occurrence's reminder is due, or (None, None)."""
    at = effective_reminder_time(
        assignment_time=None, preferred_time=profile.reminder_time if profile else None
    )
    for day in (occurrence, occurrence + timedelta(days=1)):
        due_at = reminder_due_at(
            day=day,
            reminder_time=at,
            zone=zone,
            quiet_hours_start=profile.quiet_hours_start if profile else None,
            quiet_hours_end=profile.quiet_hours_end if profile else None,
        )
        if due_at is not None and measure.created_at < due_at:
            return day, due_at
    return None, None


def measure_reminders_due(*, now: datetime) -> list[DueMeasureReminder]:
    """Reminders that have fallen due and are not yet written; two queries in all."""
    utc_today = now.astimezone(UTC).date()
    measures = (
        MeasureAssignment.objects.filter(
            status=AssignmentStatus.ACTIVE,
            client__is_active=True,
            client__role=Role.CLIENT,
            start_date__lte=utc_today + timedelta(days=1),
        )
        .filter(
            Q(client__client_profile__reminders_paused_until__isnull=True)
            | Q(client__client_profile__reminders_paused_until__lte=now)
        )
        .select_related("client__client_profile")
        .annotate(last_due_answered=Max("responses__due_date"))
    )
    due = []
    for measure in measures:
        zone = zone_for(measure.client.timezone)
        profile = getattr(measure.client, "client_profile", None)
        if zone is None:
            continue
        today = local_date(now, zone)
        occurrence = occurrence_on(measure, today)
        if occurrence is None:
            continue
        if measure.last_due_answered is not None and measure.last_due_answered >= occurrence:
            continue
        day, due_at = _reminder_day(measure, occurrence, zone, profile)
        if day != today or due_at > now:
            continue
        paused = profile.reminders_paused_until if profile else None
        if paused is not None and paused > due_at:
            continue
        due.append(
            DueMeasureReminder(measure.pk, measure.client_id, measure.client.email, occurrence, day)
        )
    if not due:
        return []
    existing = set(
        Notification.objects.filter(idempotency_key__in=[d.key for d in due]).values_list(
            "idempotency_key", flat=True
        )
    )
    return [d for d in due if d.key not in existing]


def measure_reminders_create_due(*, now: datetime | None = None) -> list[int]:
    """Write one outbox row per questionnaire reminder that has fallen due; enqueue after commit.

    Safe to run twice, or twice at once: the unique key keeps one row per occurrence.
    """
    now = now or timezone.now()
    due = measure_reminders_due(now=now)
    if not due:
        return []
    batch = uuid.uuid4().hex
    channels = channels_for(user_ids=list({reminder.client_id for reminder in due}))
    with transaction.atomic():
        rows = notifications_for_channels(
            channels=channels,
            rows=[
                Notification(
                    kind=Notification.Kind.QUESTIONNAIRE_REMINDER,
                    recipient_id=reminder.client_id,
                    to_email=reminder.to_email,
                    idempotency_key=reminder.key,
                    # Ids and dates only, never the instrument or a score.
                    context={
                        CONTEXT_KEY: reminder.measure_id,
                        "local_date": reminder.day.isoformat(),
                        "due_date": reminder.due_date.isoformat(),
                        "batch": batch,
                    },
                    created_at=now,
                    next_attempt_at=now,
                )
                for reminder in due
            ],
        )
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            Notification.objects.filter(
                idempotency_key__in=[r.key for r in due], context__batch=batch
            ).values_list("id", flat=True)
        )
        notifications_enqueue(ids=ids)
    logger.info("Questionnaire reminders: %d new notification(s)", len(ids))
    return ids


def is_measure_reminder(context: dict | None) -> bool:
    return bool(context) and CONTEXT_KEY in context


def measure_reminder_item(context: dict | None) -> tuple[int, date, date] | None:
    """(schedule id, local day, occurrence) named by a row's context, or None if unreadable."""
    try:
        return (
            int(context[CONTEXT_KEY]),
            date.fromisoformat(context["local_date"]),
            date.fromisoformat(context["due_date"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def measure_reminder_still_wanted(
    *, measure_id: int, day: date, due_date: date, now: datetime | None = None
) -> str:
    """Why a written questionnaire reminder should no longer go out, or "" if it should.

    The rules live in measure_reminders_still_wanted; this asks about a batch of one.
    """
    return measure_reminders_still_wanted(items=[(measure_id, day, due_date)], now=now)[0]


def measure_reminders_still_wanted(
    *, items: Sequence[tuple[int, date, date]], now: datetime | None = None
) -> list[str]:
    """For each written questionnaire reminder (schedule id, local day, occurrence): why it
    should no longer go out, or "" if it should; in the order given. One query for the batch."""
    now = now or timezone.now()
    items = list(items)
    if not items:
        return []
    measures = {
        measure.pk: measure
        for measure in MeasureAssignment.objects.select_related("client__client_profile")
        .annotate(last_due_answered=Max("responses__due_date"))
        .filter(pk__in={measure_id for measure_id, _, _ in items})
    }
    return [
        _measure_unwanted_reason(measures.get(measure_id), day, due_date, now)
        for measure_id, day, due_date in items
    ]


def _measure_unwanted_reason(
    measure: MeasureAssignment | None, day: date, due_date: date, now: datetime
) -> str:
    if measure is None or not measure.client.is_active:
        return "the questionnaire or the account no longer exists"
    if measure.status != AssignmentStatus.ACTIVE:
        return "the questionnaire was ended"
    if measure.last_due_answered is not None and measure.last_due_answered >= due_date:
        return "the questionnaire is already answered"
    zone = zone_for(measure.client.timezone)
    if zone is None or local_date(now, zone) != day:
        return "the client's day is over"
    profile = getattr(measure.client, "client_profile", None)
    if profile and profile.reminders_paused_until and profile.reminders_paused_until > now:
        return "reminders are paused"
    return ""
