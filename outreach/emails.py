"""Email kinds owned by homework: practice reminders and the weekly summaries.

Imported from HomeworkConfig.ready(). The outbox row holds ids and dates only;
the builders below run in the worker at send time, read the figures, and make
the signed preferences link. No email carries clinical content: no exercise
names, ratings, reflections, notes or names, only counts and links.
"""

from collections import defaultdict
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from notifications.models import Notification
from notifications.services import PermanentSendError, register_kind
from outreach.questionnaire_reminders import is_measure_reminder, measure_reminders_still_wanted
from outreach.reminders import reminders_still_wanted, zone_for
from outreach.services import (
    SCOPE_REMINDERS,
    SCOPE_WEEKLY,
    clinician_weekly_summary_wanted,
    preferences_token_make,
)
from outreach.summaries import caseload_week, client_weeks


def preferences_url(*, user_id: int, scope: str) -> str:
    """The absolute signed link that changes this user's preferences without logging in."""
    token = preferences_token_make(user_id=user_id, scope=scope)
    return settings.SITE_URL + reverse("outreach:reminder-preferences-signed", args=[token])


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


def _reminder_contexts(notifications: list[Notification]) -> dict[int, dict | Exception]:
    """A claim's reminders: each still wanted? One query for the lot (two with questionnaires).

    The outbox may send late (after a broker outage), so each is checked again here.
    Questionnaire reminders share this kind and email; their row names a
    measure schedule instead of an assignment (outreach.questionnaire_reminders).
    """
    now = timezone.now()
    built: dict[int, dict | Exception] = {}
    practices: list[tuple[Notification, tuple[int, date]]] = []
    questionnaires: list[Notification] = []
    for notification in notifications:
        if is_measure_reminder(notification.context):
            questionnaires.append(notification)
            continue
        try:
            day = date.fromisoformat(notification.context["local_date"])
            assignment_id = int(notification.context["assignment_id"])
        except (KeyError, TypeError, ValueError):
            built[notification.pk] = PermanentSendError("The reminder names no practice.")
            continue
        practices.append((notification, (assignment_id, day)))
    reasons = reminders_still_wanted(items=[item for _, item in practices], now=now)
    reasons += measure_reminders_still_wanted(
        contexts=[notification.context for notification in questionnaires], now=now
    )
    today_url = settings.SITE_URL + reverse("homework:today")
    checked = [notification for notification, _ in practices] + questionnaires
    for notification, reason in zip(checked, reasons, strict=True):
        if reason:
            built[notification.pk] = PermanentSendError(f"Reminder no longer needed: {reason}.")
            continue
        built[notification.pk] = {
            "today_url": today_url,
            "preferences_url": preferences_url(
                user_id=notification.recipient_id, scope=SCOPE_REMINDERS
            ),
        }
    return built


def _weekly_client_contexts(notifications: list[Notification]) -> dict[int, dict | Exception]:
    """A claim's weekly client summaries: the recipients in one query, their weeks in three."""
    now = timezone.now()
    clients = {
        client.pk: client
        for client in User.objects.select_related("client_profile")
        .filter(
            pk__in={notification.recipient_id for notification in notifications},
            is_active=True,
            role=Role.CLIENT,
        )
        .only("id", "timezone", "client_profile__weekly_summary")
    }
    built: dict[int, dict | Exception] = {}
    by_week: dict[date, list[tuple[Notification, User]]] = defaultdict(list)
    for notification in notifications:
        client = clients.get(notification.recipient_id)
        profile = getattr(client, "client_profile", None)
        try:
            if client is None:
                raise PermanentSendError("The account is not active.")
            if profile is None:
                raise PermanentSendError("The account has no client profile.")
            if not profile.weekly_summary:
                raise PermanentSendError("The client turned weekly summaries off.")
            # One bad zone must fail its own email, not the batch's weeks.
            if zone_for(client.timezone) is None:
                raise PermanentSendError("The account's time zone is unknown.")
            monday = _week(notification)
        except PermanentSendError as error:
            built[notification.pk] = error
            continue
        by_week[monday].append((notification, client))
    for monday, rows in by_week.items():
        weeks = client_weeks(clients=[client for _, client in rows], monday=monday, now=now)
        week_url = settings.SITE_URL + reverse("outreach:client-week", args=[monday])
        for notification, client in rows:
            week = weeks[client.pk]
            built[notification.pk] = {
                "week_start": week.monday,
                "week_end": week.sunday,
                "practice_days": week.practice_days,
                "planned": week.planned,
                "done": week.done,
                "minutes": week.minutes,
                "kind_word": week.kind_word,
                "week_url": week_url,
                "preferences_url": preferences_url(user_id=client.pk, scope=SCOPE_WEEKLY),
            }
    return built


def _weekly_clinician_context(notification: Notification) -> dict:
    # One at a time: caseload_week is the dashboard's own selector and costs the same
    # whether or not the recipients are loaded together.
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
        "week_url": settings.SITE_URL + reverse("outreach:clinician-week", args=[monday]),
        "preferences_url": preferences_url(user_id=clinician.pk, scope=SCOPE_WEEKLY),
    }


def unsubscribe_headers(notification: Notification, context: dict) -> dict:
    """RFC 2369 / RFC 8058: a one-click way out that needs no login, on every such email.

    The link is the one the builder put in the email's footer: signed once per email.
    """
    return {
        "List-Unsubscribe": f"<{context['preferences_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # Tells vacation responders not to answer an automatic email.
        "Auto-Submitted": "auto-generated",
    }


register_kind(
    Notification.Kind.REMINDER,
    template_prefix="emails/reminder",
    build_contexts=_reminder_contexts,
    headers=unsubscribe_headers,
)
register_kind(
    Notification.Kind.WEEKLY_CLIENT,
    template_prefix="emails/weekly_client",
    build_contexts=_weekly_client_contexts,
    headers=unsubscribe_headers,
)
register_kind(
    Notification.Kind.WEEKLY_CLINICIAN,
    template_prefix="emails/weekly_clinician",
    build_context=_weekly_clinician_context,
    headers=unsubscribe_headers,
)
