"""Email kinds owned by homework: practice reminders and the weekly summaries.

Imported from HomeworkConfig.ready(). The outbox row holds ids and dates only;
the builders below run in the worker at send time, read the figures, and make
the signed preferences link. No email carries clinical content: no exercise
names, ratings, reflections, notes or names, only counts and links.
"""

from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from homework.measures.reminders import is_measure_reminder, measure_reminder_still_wanted
from homework.reminders import reminder_still_wanted
from homework.services.preferences import (
    SCOPE_REMINDERS,
    SCOPE_WEEKLY,
    clinician_weekly_summary_wanted,
    preferences_token_make,
)
from homework.summaries import caseload_week, client_week
from notifications.models import Notification
from notifications.services import PermanentSendError, register_kind

SCOPE_OF_KIND = {
    Notification.Kind.REMINDER: SCOPE_REMINDERS,
    Notification.Kind.WEEKLY_CLIENT: SCOPE_WEEKLY,
    Notification.Kind.WEEKLY_CLINICIAN: SCOPE_WEEKLY,
}


def preferences_url(*, user_id: int, scope: str) -> str:
    """The absolute signed link that changes this user's preferences without logging in."""
    token = preferences_token_make(user_id=user_id, scope=scope)
    return settings.SITE_URL + reverse("homework:reminder-preferences-signed", args=[token])


def _recipient(notification: Notification, role: str) -> User:
    user = (
        User.objects.select_related("client_profile")
        .filter(pk=notification.recipient_id, is_active=True, role=role)
        .first()
    )
    if user is None:
        raise PermanentSendError("The account is not active.")
    return user


def _week(notification: Notification) -> date:
    try:
        return date.fromisoformat(notification.context["week"])
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentSendError("The summary names no week.") from error


def _reminder_context(notification: Notification) -> dict:
    # Questionnaire reminders (issue 6) share this kind and email; their row names a
    # measure schedule instead of an assignment (homework.measures.reminders).
    if is_measure_reminder(notification.context):
        reason = measure_reminder_still_wanted(context=notification.context)
        if reason:
            raise PermanentSendError(f"Reminder no longer needed: {reason}.")
        return {
            "today_url": settings.SITE_URL + reverse("homework:today"),
            "preferences_url": preferences_url(
                user_id=notification.recipient_id, scope=SCOPE_REMINDERS
            ),
        }
    try:
        day = date.fromisoformat(notification.context["local_date"])
        assignment_id = int(notification.context["assignment_id"])
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentSendError("The reminder names no practice.") from error
    # The outbox may send late (after a broker outage); check it still makes sense.
    reason = reminder_still_wanted(assignment_id=assignment_id, day=day)
    if reason:
        raise PermanentSendError(f"Reminder no longer needed: {reason}.")
    return {
        "today_url": settings.SITE_URL + reverse("homework:today"),
        "preferences_url": preferences_url(
            user_id=notification.recipient_id, scope=SCOPE_REMINDERS
        ),
    }


def _weekly_client_context(notification: Notification) -> dict:
    client = _recipient(notification, Role.CLIENT)
    if not client.client_profile.weekly_summary:
        raise PermanentSendError("The client turned weekly summaries off.")
    monday = _week(notification)
    week = client_week(client=client, monday=monday, now=timezone.now())
    return {
        "week_start": week.monday,
        "week_end": week.sunday,
        "practice_days": week.practice_days,
        "planned": week.planned,
        "done": week.done,
        "minutes": week.minutes,
        "kind_word": week.kind_word,
        "week_url": settings.SITE_URL + reverse("homework:client-week", args=[monday]),
        "preferences_url": preferences_url(user_id=client.pk, scope=SCOPE_WEEKLY),
    }


def _weekly_clinician_context(notification: Notification) -> dict:
    clinician = _recipient(notification, Role.CLINICIAN)
    if not clinician_weekly_summary_wanted(user=clinician):
        raise PermanentSendError("The clinician turned weekly summaries off.")
    monday = _week(notification)
    week = caseload_week(clinician=clinician, monday=monday, now=timezone.now())
    return {
        "week_start": week.monday,
        "week_end": week.sunday,
        "clients": week.clients,
        "practised": week.practised,
        "needing_attention": week.needing_attention,
        "week_url": settings.SITE_URL + reverse("homework:clinician-week", args=[monday]),
        "preferences_url": preferences_url(user_id=clinician.pk, scope=SCOPE_WEEKLY),
    }


def unsubscribe_headers(notification: Notification) -> dict:
    """RFC 2369 / RFC 8058: a one-click way out that needs no login, on every such email."""
    url = preferences_url(user_id=notification.recipient_id, scope=SCOPE_OF_KIND[notification.kind])
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # Tells vacation responders not to answer an automatic email.
        "Auto-Submitted": "auto-generated",
    }


register_kind(
    Notification.Kind.REMINDER,
    template_prefix="emails/reminder",
    build_context=_reminder_context,
    headers=unsubscribe_headers,
)
register_kind(
    Notification.Kind.WEEKLY_CLIENT,
    template_prefix="emails/weekly_client",
    build_context=_weekly_client_context,
    headers=unsubscribe_headers,
)
register_kind(
    Notification.Kind.WEEKLY_CLINICIAN,
    template_prefix="emails/weekly_clinician",
    build_context=_weekly_clinician_context,
    headers=unsubscribe_headers,
)
