"""Email kinds owned by outreach: practice and questionnaire reminders, the weekly summaries.

Imported from OutreachConfig.ready(). The outbox row holds ids and dates only;
the builders below run in the worker at send time, read the figures, and make
the signed preferences link. No email carries clinical content: no exercise
names, ratings, reflections, notes or names, only counts and links.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClientProfile, Role, User
from homework.models import Feedback
from notifications.models import Notification
from notifications.services import PermanentSendError, PushText, register_kind
from outreach.questionnaire_reminders import (
    is_measure_reminder,
    measure_reminder_item,
    measure_reminders_still_wanted,
)
from outreach.reminders import (
    in_quiet_hours,
    local_instant,
    reminder_item,
    reminders_still_wanted,
    zone_for,
)
from outreach.services import (
    SCOPE_REMINDERS,
    SCOPE_WEEKLY,
    client_reminders_are_paused,
    clinician_weekly_summary_wanted,
    preferences_token_make,
)
from outreach.summaries import caseload_week, client_weeks
from programs.selectors import course_weeks_for_clients


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


@dataclass(frozen=True)
class StillWanted:
    """How the send path asks whether the written reminders of one kind should still go out."""

    # A row's context to what `check` needs, or None if the row cannot be read.
    read: Callable[[dict | None], tuple | None]
    # check(items=..., now=...): for each item, why it is no longer wanted, or "" if it is.
    # One query for the whole batch, whatever its size.
    check: Callable[..., list[str]]
    # The error of a row whose context cannot be read.
    unreadable: str


STILL_WANTED: dict[str, StillWanted] = {
    Notification.Kind.REMINDER: StillWanted(
        read=reminder_item,
        check=reminders_still_wanted,
        unreadable="The reminder names no practice.",
    ),
    Notification.Kind.QUESTIONNAIRE_REMINDER: StillWanted(
        read=measure_reminder_item,
        check=measure_reminders_still_wanted,
        # Worded as it was when questionnaire reminders shared the practice kind.
        unreadable="Reminder no longer needed: the reminder names no questionnaire.",
    ),
}


def _checked_as(notification: Notification) -> str:
    """The kind whose rules decide whether a reminder row is still wanted.

    Rows written before questionnaire reminders had a kind of their own carry the
    practice kind; their context names a measure schedule, so they are checked as
    questionnaire reminders. They still render with the practice email, as they
    would have when written: acceptable for the few rows pending at an upgrade.
    """
    if notification.kind == Notification.Kind.REMINDER and is_measure_reminder(
        notification.context
    ):
        return Notification.Kind.QUESTIONNAIRE_REMINDER
    return notification.kind


def reminders_still_wanted_at_send(
    *, notifications: list[Notification], now: datetime
) -> dict[int, str | PermanentSendError]:
    """For each reminder row of any reminder kind: why it is no longer wanted, "" if it is,
    or the error of a row that cannot be read. One query per kind present in the batch.

    The outbox may send late (after a broker outage), so each reminder is checked again
    at send time by the rules of what it names (a plan or a questionnaire schedule).
    """
    reasons: dict[int, str | PermanentSendError] = {}
    readable: dict[str, list[tuple[Notification, tuple]]] = defaultdict(list)
    for notification in notifications:
        kind = _checked_as(notification)
        item = STILL_WANTED[kind].read(notification.context)
        if item is None:
            reasons[notification.pk] = PermanentSendError(STILL_WANTED[kind].unreadable)
            continue
        readable[kind].append((notification, item))
    for kind, rows in readable.items():
        checked = STILL_WANTED[kind].check(items=[item for _, item in rows], now=now)
        for (notification, _), reason in zip(rows, checked, strict=True):
            reasons[notification.pk] = reason
    return reasons


def _reminder_contexts(notifications: list[Notification]) -> dict[int, dict | Exception]:
    """A claim's reminders of one kind: each still wanted? One query for the lot (two if
    the claim holds questionnaire rows written under the practice kind).

    Practice and questionnaire reminders say the same things apart from their text,
    which lives in each kind's templates.
    """
    reasons = reminders_still_wanted_at_send(notifications=notifications, now=timezone.now())
    today_url = settings.SITE_URL + reverse("homework:today")
    built: dict[int, dict | Exception] = {}
    for notification in notifications:
        reason = reasons[notification.pk]
        if isinstance(reason, Exception):
            built[notification.pk] = reason
        elif reason:
            built[notification.pk] = PermanentSendError(f"Reminder no longer needed: {reason}.")
        else:
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
    # The course week, never its theme or practices: the email carries no clinical content.
    courses = course_weeks_for_clients(
        client_ids=[client.pk for rows in by_week.values() for _, client in rows]
    )
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
                "course_week": courses.get(client.pk),
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
        "urgent_flags": week.urgent_flags,
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


def _news_context(notification: Notification) -> dict:
    """A reply or a new plan: the recipient must still be an active client. The email and
    the notification say only that something is waiting, and link to where it is."""
    client = _recipient(notification, Role.CLIENT)
    url = reverse("homework:today")
    if notification.kind == Notification.Kind.FEEDBACK_REPLY:
        # Still wanted when it is sent? Not once the client paused reminders or read it.
        if client_reminders_are_paused(profile=client.client_profile):
            raise PermanentSendError("Not sent: the client paused reminders.")
        reply = (
            Feedback.objects.filter(pk=(notification.context or {}).get("feedback_id"))
            .values("completion_id", "read_at")
            .first()
        )
        if reply is None:
            raise PermanentSendError("The reply no longer exists.")
        if reply["read_at"] is not None:
            raise PermanentSendError("Not sent: the client already read the reply.")
        url = reverse("homework:thread", args=[reply["completion_id"]])
    return {
        "open_url": settings.SITE_URL + url,
        "preferences_url": preferences_url(user_id=client.pk, scope=SCOPE_REMINDERS),
    }


# What every notification says: the same words for everyone, nothing of theirs.
PRACTICE_PUSH = PushText(
    title="Time for your practice",
    body="Open it when you have a quiet moment.",
    url_key="today_url",
)
QUESTIONNAIRE_PUSH = PushText(
    title="A short questionnaire is waiting",
    body="Open it when you have a few minutes.",
    url_key="today_url",
)
WEEKLY_PUSH = PushText(
    title="Your week in practice", body="Your weekly summary is ready.", url_key="week_url"
)
FEEDBACK_PUSH = PushText(
    title="Your clinician left you a reply", body="Open it when you are ready.", url_key="open_url"
)
NEW_PRACTICE_PUSH = PushText(
    title="You have a new practice", body="Have a look when you have a moment.", url_key="open_url"
)

register_kind(
    Notification.Kind.FEEDBACK_REPLY,
    template_prefix="emails/feedback_reply",
    build_context=_news_context,
    headers=unsubscribe_headers,
    push=FEEDBACK_PUSH,
)
register_kind(
    Notification.Kind.NEW_PRACTICE,
    template_prefix="emails/new_practice",
    build_context=_news_context,
    headers=unsubscribe_headers,
    push=NEW_PRACTICE_PUSH,
)

# The practice kind keeps its name and email: rows already in the outbox send as before.
register_kind(
    Notification.Kind.REMINDER,
    template_prefix="emails/reminder",
    build_contexts=_reminder_contexts,
    headers=unsubscribe_headers,
    push=PRACTICE_PUSH,
)
register_kind(
    Notification.Kind.QUESTIONNAIRE_REMINDER,
    template_prefix="emails/questionnaire_reminder",
    build_contexts=_reminder_contexts,
    headers=unsubscribe_headers,
    push=QUESTIONNAIRE_PUSH,
)
register_kind(
    Notification.Kind.WEEKLY_CLIENT,
    template_prefix="emails/weekly_client",
    build_contexts=_weekly_client_contexts,
    headers=unsubscribe_headers,
    push=WEEKLY_PUSH,
)
register_kind(
    Notification.Kind.WEEKLY_CLINICIAN,
    template_prefix="emails/weekly_clinician",
    build_context=_weekly_clinician_context,
    headers=unsubscribe_headers,
)


# --- "You have a new message": content-free, to the other person in a log's thread ---


def message_deliver_at(recipient_id: int | None, now: datetime) -> datetime:
    """A client's message email waits for the end of their quiet hours; others go now."""
    profile = ClientProfile.objects.filter(user_id=recipient_id).select_related("user").first()
    if profile is None or profile.quiet_hours_start is None or profile.quiet_hours_end is None:
        return now
    zone = zone_for(profile.user.timezone)
    if zone is None:
        return now
    local = now.astimezone(zone)
    if not in_quiet_hours(
        local.time().replace(tzinfo=None), profile.quiet_hours_start, profile.quiet_hours_end
    ):
        return now
    day = local.date()
    if profile.quiet_hours_end <= local.time().replace(tzinfo=None):
        day = date.fromordinal(day.toordinal() + 1)  # quiet hours end tomorrow morning
    return local_instant(day, profile.quiet_hours_end, zone)


def _message_context(notification: Notification) -> dict:
    """Only a link: the email says a message is waiting, never who wrote what."""
    message = (
        Feedback.objects.select_related("completion")
        .filter(pk=(notification.context or {}).get("message_id"))
        .only("id", "from_client", "read_at", "completion__client_id", "completion_id")
        .first()
    )
    if message is None:
        raise PermanentSendError("The message no longer exists.")
    if message.read_at is not None:
        raise PermanentSendError("No longer needed: the message was already read.")
    if message.from_client:
        _recipient(notification, Role.CLINICIAN)
        path = reverse("homework:inbox")
        return {"message_url": settings.SITE_URL + path, "to_client": False}
    client = _recipient(notification, Role.CLIENT)
    profile = getattr(client, "client_profile", None)
    if profile is not None and client_reminders_are_paused(profile=profile):
        raise PermanentSendError("The client paused emails.")
    path = reverse("homework:thread", args=[message.completion_id])
    return {
        "message_url": settings.SITE_URL + path,
        "to_client": True,
        "preferences_url": preferences_url(user_id=client.pk, scope=SCOPE_REMINDERS),
    }


MESSAGE_PUSH = PushText(
    title="You have a new message", body="Log in to read it.", url_key="message_url"
)

register_kind(
    Notification.Kind.MESSAGE,
    template_prefix="emails/message",
    build_context=_message_context,
    deliver_at=message_deliver_at,
    push=MESSAGE_PUSH,
)
