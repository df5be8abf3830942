"""Writes for clinics and accounts: invite, accept, resend, revoke, deactivate, reassign."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.branding import logo_normalised
from accounts.events import client_reassigned
from accounts.models import (
    ClientProfile,
    Clinic,
    Handover,
    Invitation,
    Role,
    User,
    UserSession,
    validate_timezone,
)
from accounts.session_store import session_user_id
from core.storage import StorageUnavailableError, storage_save
from notifications.models import Notification
from notifications.services import notification_create

# One reset email per account per window: asking again within it sends nothing
# new, so a stranger cannot flood someone's inbox. The first link still arrives.
PASSWORD_RESET_WINDOW = timedelta(minutes=5)


class InvitationError(Exception):
    """The invitation cannot be used: unknown, expired, revoked or already accepted."""


# A link that matches no invitation was most often cut short (copied in part, or wrapped
# by a mail program) or replaced by a newer email: say so, never "already used".
UNKNOWN_INVITATION_LINK = (
    "This invitation link is not valid. It may be incomplete (if you copied it from the "
    "email, check you copied all of it) or a newer email may have replaced it. If the "
    "latest email's link does not work either, ask your clinic for a new one."
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_invitations() -> QuerySet[Invitation]:
    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True)


def invitation_issue_token(*, invitation: Invitation, now: datetime | None = None) -> str:
    """Create a fresh token, store its hash, and return the token (called at send time).

    Each send invalidates the previous link, so only the newest email works. The
    conditional UPDATE refuses an invitation that was accepted or withdrawn meanwhile.
    """
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    updated = (
        _open_invitations()
        .filter(pk=invitation.pk, expires_at__gt=now)
        .update(token_hash=token_hash(token))
    )
    if not updated:
        raise InvitationError("The invitation is no longer open.")
    return token


def clinician_check(*, clinician: User | None, clinic_id: int | None) -> None:
    """The one rule for who may hold a client: an active clinician of the client's clinic."""
    if (
        clinician is None
        or not clinician.is_clinician
        or not clinician.is_active
        or clinician.clinic_id != clinic_id
    ):
        raise ValidationError({"clinician": "Choose an active clinician of the client's clinic."})


@transaction.atomic
def invitation_create(
    *,
    clinic: Clinic,
    email: str,
    role: str,
    invited_by: User | None,
    clinician: User | None = None,
    full_name: str = "",
    now: datetime | None = None,
) -> Invitation:
    """Record an invitation and queue its email. The token is made when the email is sent."""
    now = now or timezone.now()
    email = User.objects.normalize_email(email.strip()).lower()
    if role not in (Role.CLINICIAN, Role.CLIENT):
        raise ValidationError({"role": "Invite a clinician or a client."})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this email address already exists."})
    if role == Role.CLIENT:
        clinician_check(clinician=clinician, clinic_id=clinic.pk)
    # Any earlier open invitation for the same address in this clinic is superseded.
    _open_invitations().filter(clinic=clinic, email__iexact=email).update(revoked_at=now)
    invitation = Invitation.objects.create(
        clinic=clinic,
        email=email,
        full_name=full_name.strip(),
        role=role,
        clinician=clinician if role == Role.CLIENT else None,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    _invitation_send(invitation=invitation)
    return invitation


def _invitation_send(*, invitation: Invitation) -> None:
    # Callers hold the row (fresh, or locked with select_for_update), so the count is safe.
    invitation.send_count += 1
    Invitation.objects.filter(pk=invitation.pk).update(send_count=invitation.send_count)
    notification_create(
        kind=Notification.Kind.INVITATION,
        to_email=invitation.email,
        idempotency_key=f"invitation:{invitation.pk}:{invitation.send_count}",
        # "send" lets the worker drop an older email that is retried after a newer one.
        context={"invitation_id": invitation.pk, "send": invitation.send_count},
    )


@transaction.atomic
def invitation_resend(*, invitation: Invitation, now: datetime | None = None) -> Invitation:
    """Send a new link (the old one stops working) and extend the expiry."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError("Only an open invitation can be resent.")
    # The old link dies now, not only when the new email leaves the worker.
    invitation.token_hash = None
    invitation.expires_at = now + timedelta(days=settings.INVITATION_VALID_DAYS)
    invitation.save(update_fields=["expires_at", "token_hash"])
    _invitation_send(invitation=invitation)
    return invitation


def invitation_revoke(*, invitation: Invitation, now: datetime | None = None) -> bool:
    """Withdraw an open invitation. False when it was already accepted or withdrawn."""
    now = now or timezone.now()
    # The hash stays so a withdrawn link can say so instead of "not valid".
    updated = _open_invitations().filter(pk=invitation.pk).update(revoked_at=now)
    return bool(updated)


def invitation_for_token(*, token: str, now: datetime | None = None) -> Invitation:
    """The open invitation matching a token, or InvitationError saying why not."""
    now = now or timezone.now()
    if not token or len(token) > 200:
        raise InvitationError(UNKNOWN_INVITATION_LINK)
    invitation = (
        Invitation.objects.select_related("clinic", "clinician")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        raise InvitationError(UNKNOWN_INVITATION_LINK)
    _invitation_check_open(invitation, now)
    return invitation


def _invitation_check_open(invitation: Invitation, now: datetime) -> None:
    if invitation.accepted_at:
        raise InvitationError("This invitation has already been used. Log in instead.")
    if invitation.revoked_at:
        raise InvitationError("This invitation was withdrawn. Ask your clinic for a new one.")
    if invitation.expires_at <= now:
        raise InvitationError("This invitation has expired. Ask your clinic for a new one.")


def invitation_accept(
    *,
    token: str,
    password: str,
    timezone_name: str,
    full_name: str = "",
    now: datetime | None = None,
) -> User:
    """Create the account for an open invitation. Safe against two accepts at once.

    Raises InvitationError when the link cannot be used, ValidationError for a
    weak password or an unknown time zone; nothing is written in either case.
    """
    now = now or timezone.now()
    validate_timezone(timezone_name)
    try:
        with transaction.atomic():
            found = invitation_for_token(token=token, now=now)
            # Lock the row: a second accept waits here, then finds it accepted.
            invitation = (
                Invitation.objects.select_for_update(of=("self",))
                .select_related("clinic", "clinician")
                .get(pk=found.pk)
            )
            if invitation.token_hash != token_hash(token):
                raise InvitationError(
                    "This invitation link was replaced by a newer one. Use the latest email."
                )
            _invitation_check_open(invitation, now)
            user = User(
                email=invitation.email,
                full_name=(full_name or invitation.full_name).strip(),
                role=invitation.role,
                clinic=invitation.clinic,
                timezone=timezone_name,
            )
            validate_password(password, user)
            user.set_password(password)
            user.save()
            if invitation.role == Role.CLIENT:
                ClientProfile.objects.create(user=user, clinician=invitation.clinician)
            invitation.accepted_at = now
            invitation.accepted_user = user
            invitation.save(update_fields=["accepted_at", "accepted_user"])
    except IntegrityError as error:
        # The unique email constraint caught a parallel accept or an existing account.
        raise InvitationError(
            "An account with this email address already exists. Log in instead."
        ) from error
    return user


def password_reset_request(*, email: str, now: datetime | None = None) -> bool:
    """Queue a reset email for an active account. True when an email was queued.

    The caller shows the same page either way, so the answer reveals nothing.
    The secret link is made by the worker at send time (accounts.emails).
    """
    now = now or timezone.now()
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return False
    window = int(now.timestamp() // PASSWORD_RESET_WINDOW.total_seconds())
    _, created = notification_create(
        kind=Notification.Kind.PASSWORD_RESET,
        to_email=user.email,
        recipient_id=user.pk,
        idempotency_key=f"password_reset:{user.pk}:{window}",
    )
    return created


def user_deactivate(*, user: User, now: datetime | None = None) -> None:
    """Deactivate an account and end its sessions and API tokens at once."""
    now = now or timezone.now()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        # A deactivated clinician's pending client invitations would otherwise
        # create clients on a caseload nobody looks after.
        _open_invitations().filter(clinician=user).update(revoked_at=now)
    sessions_end_for_user(user=user)
    tokens_end_for_user(user=user)


def user_reactivate(*, user: User) -> None:
    """Undo a deactivation: the person can log in again (no session comes back)."""
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True


def clinic_close(*, clinic: Clinic, now: datetime | None = None) -> int:
    """Close a clinic: every account deactivated, open invitations revoked, data kept.

    Returns how many accounts were deactivated. Deleting a clinic would delete (or be
    blocked by) the clinical records a clinic must keep, so it is never offered.
    """
    now = now or timezone.now()
    with transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk, closed_at__isnull=True).update(closed_at=now)
        clinic.closed_at = clinic.closed_at or now
        _open_invitations().filter(clinic=clinic).update(revoked_at=now)
        users = list(User.objects.filter(clinic=clinic, is_active=True))
    for user in users:
        user_deactivate(user=user, now=now)
    return len(users)


def user_logout_everywhere(*, user: User) -> tuple[int, int]:
    """End every session and API token of the account: (sessions, tokens) ended."""
    return sessions_end_for_user(user=user), tokens_end_for_user(user=user)


def sessions_end_for_user(*, user: User, keep_session_key: str | None = None) -> int:
    """Delete every database session that belongs to the user (but `keep_session_key`).

    Sessions are found by their user column (accounts.models.UserSession). A live
    session whose column names nobody (one an older release wrote, had it escaped the
    migration that fills the column) is decoded as before, so none is missed. Runs on
    deactivation, "log out everywhere" and changes of password, email or second factor.
    The authentication backend refuses inactive users on every request regardless.
    """
    live = UserSession.objects.filter(expire_date__gt=timezone.now())
    if keep_session_key is not None:
        live = live.exclude(session_key=keep_session_key)
    ended, _ = live.filter(user_id=user.pk).delete()
    unnamed = [
        session.session_key
        for session in live.filter(user__isnull=True).iterator()
        if session_user_id(session.get_decoded()) == user.pk
    ]
    if unnamed:
        UserSession.objects.filter(session_key__in=unnamed).delete()
    return ended + len(unnamed)


# Expired sessions are deleted this many at a time: short statements, whatever the backlog.
SESSIONS_CLEAR_BATCH = 5000


def sessions_clear_expired(*, now: datetime | None = None) -> int:
    """Delete every session whose expiry has passed (Django's `clearsessions`, in
    batches): the number deleted."""
    now = now or timezone.now()
    deleted = 0
    while True:
        keys = list(
            UserSession.objects.filter(expire_date__lte=now).values_list("session_key", flat=True)[
                :SESSIONS_CLEAR_BATCH
            ]
        )
        if not keys:
            return deleted
        count, _ = UserSession.objects.filter(session_key__in=keys).delete()
        deleted += count


def tokens_end_for_user(*, user: User) -> int:
    """Revoke every API token of the user (when the token app is installed)."""
    if not apps.is_installed("knox"):
        return 0
    from knox.models import AuthToken

    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
@transaction.atomic
def client_reassign(
    *, client: User, clinician: User, actor: User | None = None, now: datetime | None = None
) -> ClientProfile:
    """Move a client to another clinician of the same clinic, directly (an admin).

    Treated as a handover accepted at once: the move is kept as one (from, to, when), a
    handover still waiting is cancelled (its offer no longer holds), the client is told
    who their clinician is now by the handover's own content-free email, and the audit
    trail records who moved them (`client_reassigned`, recorded by the audit app).
    Choosing the clinician they already have changes nothing and tells no one.
    """
    if not client.is_client:
        raise ValidationError("Only a client can be moved to another clinician.")
    clinician_check(clinician=clinician, clinic_id=client.clinic_id)
    now = now or timezone.now()
    profile = ClientProfile.objects.select_for_update().get(user=client)
    previous_id = profile.clinician_id
    if previous_id == clinician.pk:
        return profile
    profile.clinician = clinician
    profile.save(update_fields=["clinician"])
    Handover.objects.filter(
        client=client, accepted_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now)
    handover = Handover.objects.create(
        client=client,
        from_clinician_id=previous_id,
        to_clinician=clinician,
        created_at=now,
        accepted_at=now,
    )
    client_reassigned.send(sender=Handover, actor=actor, client=client, handover=handover)
    client_clinician_changed_notify(client=client, handover=handover, now=now)
    return profile


def client_clinician_changed_notify(*, client: User, handover: Handover, now: datetime) -> None:
    """Tell an active client who their clinician is now (a handover accepted or an admin's
    move): once per handover, with no content but the handover's id."""
    if client.is_active:
        notification_create(
            kind=Notification.Kind.CLINICIAN_CHANGED,
            to_email=client.email,
            recipient_id=client.pk,
            idempotency_key=f"clinician_changed:{handover.pk}",
            context={"handover_id": handover.pk},
            now=now,
        )


def user_update_settings(*, user: User, full_name: str, timezone_name: str) -> User:
    """A person's own name and time zone, from the settings page."""
    validate_timezone(timezone_name)
    user.full_name = full_name.strip()
    user.timezone = timezone_name
    user.save(update_fields=["full_name", "timezone"])
    return user


def user_update_timezone(*, user: User, timezone_name: str) -> None:
    validate_timezone(timezone_name)
    user.timezone = timezone_name
    user.save(update_fields=["timezone"])


def user_change_email(*, user: User, email: str) -> User:
    """A new login address. The caller has just asked for the password again."""
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": "An account with this email address already exists."})
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError as error:
        raise ValidationError(
            {"email": "An account with this email address already exists."}
        ) from error
    return user


LOGO_STORAGE_MESSAGE = (
    "The logo could not be saved: our storage is unavailable just now. "
    "Nothing was changed. Please try again later."
)


def clinic_branding_update(
    *,
    clinic: Clinic,
    display_name: str,
    accent_colour: str,
    logo_data: bytes | None = None,
    remove_logo: bool = False,
) -> Clinic:
    """Set a clinic's display name, accent colour and logo, all or nothing.

    The colour and the logo are checked first (accounts.branding), so a bad one writes
    nothing. The new logo file is written before the row points at it and removed again
    if the row's update fails; the old file goes only once the new row is committed. A
    request that fails half-way leaves at worst an unreferenced file, never a row that
    points at a missing one.
    """
    display_name = display_name.strip()
    accent_colour = accent_colour.strip().lower()
    errors = {}
    try:
        Clinic._meta.get_field("accent_colour").run_validators(accent_colour)
    except ValidationError as error:
        errors["accent_colour"] = error.messages
    png = None
    if logo_data is not None:
        try:
            png = logo_normalised(logo_data)
        except ValidationError as error:
            errors["logo"] = error.messages
    if len(display_name) > Clinic._meta.get_field("display_name").max_length:
        errors["display_name"] = ["The display name is too long."]
    if errors:
        raise ValidationError(errors)

    old_logo = clinic.logo.name
    new_logo = old_logo
    if png is not None:
        # A new name each time, so a cached old logo is never shown for the new one.
        try:
            new_logo = storage_save(
                default_storage,
                f"clinic-logos/{clinic.pk}/{secrets.token_hex(8)}.png",
                ContentFile(png),
            )
        except StorageUnavailableError:
            raise ValidationError({"logo": [LOGO_STORAGE_MESSAGE]}) from None
    elif remove_logo:
        new_logo = ""
    try:
        with transaction.atomic():
            Clinic.objects.filter(pk=clinic.pk).update(
                display_name=display_name, accent_colour=accent_colour, logo=new_logo
            )
    except Exception:
        if new_logo and new_logo != old_logo:
            default_storage.delete(new_logo)
        raise
    if old_logo and old_logo != new_logo:
        transaction.on_commit(lambda: default_storage.delete(old_logo))
    clinic.display_name, clinic.accent_colour = display_name, accent_colour
    clinic.logo.name = new_logo
    return clinic
