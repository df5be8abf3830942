"""Reminder and summary preferences: one service for the portal, the email link and the API.

The link in every reminder and summary email lets its recipient change these
preferences without logging in. It is a signed, expiring token naming the user
and the email it came from (`scope`), and it grants that one action only.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ClientProfile, Role, User
from notifications.models import Notification, PushSubscription
from notifications.services import recipient_channels

# The longest pause a client may choose at once; reminders resume on their own after it.
MAX_PAUSE = timedelta(days=90)
LINK_MAX_AGE = timedelta(days=30)
LINK_SALT = "homework.reminder-preferences"

SCOPE_REMINDERS = "reminders"
SCOPE_WEEKLY = "weekly"
SCOPES = (SCOPE_REMINDERS, SCOPE_WEEKLY)


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def client_preferences_update(
    *,
    profile: ClientProfile,
    reminder_time: time = UNCHANGED,
    quiet_hours_start: time | None = UNCHANGED,
    quiet_hours_end: time | None = UNCHANGED,
    paused_until: datetime | None = UNCHANGED,
    pause_days: int | None = None,
    weekly_summary: bool = UNCHANGED,
    email_reminders: bool = UNCHANGED,
    now: datetime | None = None,
) -> ClientProfile:
    """Change a client's reminder preferences; arguments left out stay as they are.

    `paused_until=None` resumes reminders; `pause_days=N` pauses them for N days from
    now. Raises ValidationError (by field) and writes nothing when anything is wrong.
    """
    now = now or timezone.now()
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}

    if reminder_time is not UNCHANGED:
        if not isinstance(reminder_time, time):
            errors["reminder_time"] = "Choose a time of day for your reminders."
        else:
            changes["reminder_time"] = reminder_time.replace(second=0, microsecond=0)

    if quiet_hours_start is not UNCHANGED or quiet_hours_end is not UNCHANGED:
        start = profile.quiet_hours_start if quiet_hours_start is UNCHANGED else quiet_hours_start
        end = profile.quiet_hours_end if quiet_hours_end is UNCHANGED else quiet_hours_end
        if any(value is not None and not isinstance(value, time) for value in (start, end)):
            errors["quiet_hours_start"] = "Quiet hours need valid times."
        elif (start is None) != (end is None):
            field = "quiet_hours_end" if end is None else "quiet_hours_start"
            errors[field] = "Quiet hours need both a start and an end (or neither)."
        elif start is not None and start == end:
            errors["quiet_hours_end"] = "Quiet hours must end at a different time than they start."
        else:
            changes["quiet_hours_start"] = start and start.replace(second=0, microsecond=0)
            changes["quiet_hours_end"] = end and end.replace(second=0, microsecond=0)

    if pause_days is not None:
        if paused_until is not UNCHANGED:
            errors["pause"] = "Choose either a pause length or an end date, not both."
        elif not isinstance(pause_days, int) or not 1 <= pause_days <= MAX_PAUSE.days:
            errors["pause"] = f"A pause lasts from 1 to {MAX_PAUSE.days} days."
        else:
            changes["reminders_paused_until"] = now + timedelta(days=pause_days)
    elif paused_until is not UNCHANGED:
        if paused_until is None:
            changes["reminders_paused_until"] = None
        elif not isinstance(paused_until, datetime) or timezone.is_naive(paused_until):
            errors["pause"] = "Choose when the pause ends."
        elif paused_until <= now:
            errors["pause"] = "A pause must end in the future."
        elif paused_until > now + MAX_PAUSE:
            errors["pause"] = f"A pause can last at most {MAX_PAUSE.days} days."
        else:
            changes["reminders_paused_until"] = paused_until

    if weekly_summary is not UNCHANGED:
        if not isinstance(weekly_summary, bool):
            errors["weekly_summary"] = "Choose whether to get a weekly summary."
        else:
            changes["weekly_summary"] = weekly_summary

    if email_reminders is not UNCHANGED:
        if not isinstance(email_reminders, bool):
            errors["email_reminders"] = "Choose whether to get reminders by email."
        else:
            changes["email_reminders"] = email_reminders

    if errors:
        raise ValidationError(errors)
    if changes:
        for name, value in changes.items():
            setattr(profile, name, value)
        profile.save(update_fields=list(changes))
    return profile


def channels_for(*, user_ids: list[int]) -> dict[int, list[str]]:
    """The channels each user is reminded on: email unless a client turned it off (and has a
    device), a notification on each subscribed device. Two queries for the lot; quiet
    hours and pause are applied before this, to every channel alike."""
    email_wanted = dict.fromkeys(user_ids, True)
    email_wanted.update(
        ClientProfile.objects.filter(user_id__in=user_ids).values_list("user_id", "email_reminders")
    )
    return recipient_channels(email_wanted=email_wanted)


def notifications_for_channels(
    *, rows: list[Notification], channels: dict[int, list[str]]
) -> list[Notification]:
    """Unsaved outbox rows, one per channel each recipient is reached on (same key)."""
    fanned: list[Notification] = []
    for row in rows:
        for channel in channels.get(row.recipient_id, [Notification.Channel.EMAIL]):
            fanned.append(
                Notification(
                    kind=row.kind,
                    channel=channel,
                    recipient_id=row.recipient_id,
                    to_email=row.to_email,
                    idempotency_key=row.idempotency_key,
                    context=dict(row.context),
                    created_at=row.created_at,
                    next_attempt_at=row.next_attempt_at,
                )
            )
    return fanned


# --- Channels: email, a notification on each subscribed device, or both ---

CHANNEL_EMAIL = "email"
CHANNEL_PUSH = "push"
CHANNEL_BOTH = "both"
CHANNEL_CHOICES = (
    (CHANNEL_EMAIL, "Email"),
    (CHANNEL_PUSH, "A notification on this device"),
    (CHANNEL_BOTH, "Both"),
)


def _b64url(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError, TypeError):
        return None


def _push_host_allowed(host: str) -> bool:
    """Only the browsers' push services: we POST to this URL, so a free choice of it
    would let anyone make the server call any address (SSRF)."""
    host = host.lower().rstrip(".")
    return any(
        host == allowed or host.endswith("." + allowed) for allowed in settings.PUSH_SERVICE_HOSTS
    )


def push_subscription_save(
    *,
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    label: str = "",
    now: datetime | None = None,
) -> PushSubscription:
    """Keep this browser's subscription for the client or clinician. A browser is one
    endpoint: if
    someone else had subscribed it (a shared phone), it now belongs to whoever
    subscribed last, so nobody's notifications reach a device they left.

    Raises ValidationError by field, writing nothing, when anything is unusable.
    """
    errors: dict[str, str] = {}
    if not (user.is_client or user.is_clinician):
        raise ValidationError("Only clients and clinicians get notifications.")
    endpoint = (endpoint or "").strip()
    parts = urlsplit(endpoint) if len(endpoint) <= 1000 else None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        errors["endpoint"] = "This browser gave a subscription address we cannot use."
    elif not _push_host_allowed(parts.hostname):
        errors["endpoint"] = "This browser's push service is not one we can send to."
    point = _b64url(p256dh or "")
    if point is None or len(point) != 65 or point[0] != 4:
        errors["p256dh"] = "This browser gave an encryption key we cannot use."
    secret = _b64url(auth or "")
    if secret is None or len(secret) != 16:
        errors["auth"] = "This browser gave an authentication secret we cannot use."
    label = " ".join((label or "").split())[:100]
    if errors:
        raise ValidationError(errors)
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"user": user, "p256dh": p256dh, "auth": auth, "label": label},
        create_defaults={
            "user": user,
            "p256dh": p256dh,
            "auth": auth,
            "label": label,
            "created_at": now or timezone.now(),
        },
    )
    return subscription


def push_subscriptions_delete(
    *, user: User, subscription_id: int | None = None, endpoint: str | None = None
) -> int:
    """Forget one of the user's own devices (by id or by endpoint); how many were removed."""
    devices = PushSubscription.objects.filter(user=user)
    if subscription_id is not None:
        devices = devices.filter(pk=subscription_id)
    elif endpoint:
        devices = devices.filter(endpoint=endpoint)
    else:
        return 0
    deleted, _ = devices.delete()
    return deleted


def reminder_channels_set(
    *,
    profile: ClientProfile,
    channel: str,
    subscription: dict[str, str] | None = None,
    endpoint: str = "",
) -> None:
    """Choose how this device reminds the client: by email, a notification, or both.

    A notification needs this browser's subscription (made by the page's script). Email
    is one address for all devices: "notification only" turns it off, but it comes
    back on its own while no device is subscribed (see `channels_for`).
    """
    if channel not in {value for value, _ in CHANNEL_CHOICES}:
        raise ValidationError({"channel": "Choose email, a notification, or both."})
    with transaction.atomic():
        if channel == CHANNEL_EMAIL:
            if endpoint:
                push_subscriptions_delete(user=profile.user, endpoint=endpoint)
        else:
            if not subscription:
                raise ValidationError(
                    {
                        "channel": "This browser could not turn notifications on. They need "
                        "JavaScript and a browser that allows them; email still works."
                    }
                )
            push_subscription_save(user=profile.user, **subscription)
        profile.email_reminders = channel != CHANNEL_PUSH
        profile.save(update_fields=["email_reminders"])


# A clinician is always emailed (an urgent flag must never depend on one browser); a
# device of theirs may show the same notices as well.
CLINICIAN_CHANNEL_CHOICES = (
    (CHANNEL_EMAIL, "Email only"),
    (CHANNEL_BOTH, "Email, and a notification on this device"),
)


def clinician_device_set(
    *,
    user: User,
    channel: str,
    subscription: dict[str, str] | None = None,
    endpoint: str = "",
) -> None:
    """Whether this browser shows the clinician's notices (an urgent flag, a client's
    message, a client asking them to look at a log) as well as the email, which always
    comes. Writes nothing and raises ValidationError by field when it cannot be done."""
    if not user.is_clinician:
        raise ValidationError("Only clinicians choose this here.")
    if channel not in {value for value, _ in CLINICIAN_CHANNEL_CHOICES}:
        raise ValidationError({"channel": "Choose email only, or email and a notification."})
    if channel == CHANNEL_EMAIL:
        if endpoint:
            push_subscriptions_delete(user=user, endpoint=endpoint)
        return
    if not subscription:
        raise ValidationError(
            {
                "channel": "This browser could not turn notifications on. They need "
                "JavaScript and a browser that allows them; email still comes."
            }
        )
    push_subscription_save(user=user, **subscription)


def client_reminders_are_paused(*, profile: ClientProfile, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return profile.reminders_paused_until is not None and profile.reminders_paused_until > now


# --- Clinicians' weekly caseload summary ---


def clinician_weekly_summary_wanted(*, user: User) -> bool:
    return user.weekly_summary_email


def clinician_weekly_summary_set(*, user: User, enabled: bool) -> None:
    if not user.is_clinician:
        raise ValidationError("Only clinicians get a caseload summary.")
    user.weekly_summary_email = enabled
    user.save(update_fields=["weekly_summary_email"])


# --- The signed link in every email ---


class PreferencesLinkError(Exception):
    """The link is unknown, tampered with, expired, or its account is gone."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=LINK_SALT)


def preferences_token_make(*, user_id: int, scope: str) -> str:
    """A URL-safe token that lets its bearer change this user's preferences for 30 days."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return _signer().sign_object({"u": user_id, "s": scope}, compress=False)


@dataclass(frozen=True)
class PreferencesLink:
    user: User
    scope: str


def preferences_token_read(*, token: str) -> PreferencesLink:
    """The user and scope of a valid token, or PreferencesLinkError saying why not."""
    if not token or len(token) > 300:
        raise PreferencesLinkError("This link is not valid.")
    try:
        payload = _signer().unsign_object(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise PreferencesLinkError("This link has expired.", expired=True) from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise PreferencesLinkError("This link is not valid.") from error
    if not isinstance(payload, dict) or payload.get("s") not in SCOPES:
        raise PreferencesLinkError("This link is not valid.")
    user = (
        User.objects.select_related("client_profile")
        .filter(pk=payload.get("u"), is_active=True, role__in=[Role.CLIENT, Role.CLINICIAN])
        .first()
    )
    if user is None or (user.is_client and not hasattr(user, "client_profile")):
        raise PreferencesLinkError("This link is not valid.")
    return PreferencesLink(user=user, scope=payload["s"])


def preferences_one_click_unsubscribe(*, link: PreferencesLink, now: datetime | None = None) -> str:
    """RFC 8058 one-click unsubscribe from the email the link came in. Returns what changed.

    From a summary: no more weekly summaries. From a reminder: reminders pause for the
    longest allowed time (there is no "off for ever"; the client can resume any time).
    """
    user = link.user
    if link.scope == SCOPE_WEEKLY:
        if user.is_clinician:
            clinician_weekly_summary_set(user=user, enabled=False)
        else:
            client_preferences_update(profile=user.client_profile, weekly_summary=False, now=now)
        return "Weekly summaries are off."
    if not user.is_client:
        raise PreferencesLinkError("This link is not valid.")
    client_preferences_update(profile=user.client_profile, pause_days=MAX_PAUSE.days, now=now)
    return f"Reminders are paused for {MAX_PAUSE.days} days."
