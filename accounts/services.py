"""Writes for clinics and accounts: invite, accept, resend, revoke, deactivate, reassign."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ClientProfile, Clinic, Invitation, Role, User, validate_timezone
from notifications.models import Notification
from notifications.services import notification_create


class InvitationError(Exception):
    """The invitation cannot be used: unknown, expired, revoked or already accepted."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_issue_token(*, invitation: Invitation) -> str:
    """Create a fresh token, store its hash, and return the token (called at send time).

    Each send invalidates the previous link, so only the newest email works.
    """
    token = secrets.token_urlsafe(32)
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash(token))
    return token


def _email_in_use(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


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
    now = now or timezone.now()
    email = email.strip().lower()
    if role not in (Role.CLINICIAN, Role.CLIENT):
        raise ValidationError({"role": "Invite a clinician or a client."})
    if _email_in_use(email):
        raise ValidationError({"email": "An account with this email address already exists."})
    if role == Role.CLIENT and (
        clinician is None or not clinician.is_clinician or clinician.clinic_id != clinic.pk
    ):
        raise ValidationError({"clinician": "Choose a clinician of this clinic."})
    # Any earlier open invitation for the same address in this clinic is superseded.
    Invitation.objects.filter(
        clinic=clinic, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    invitation = Invitation.objects.create(
        clinic=clinic,
        email=email,
        full_name=full_name,
        role=role,
        clinician=clinician if role == Role.CLIENT else None,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    _invitation_send(invitation=invitation)
    return invitation


def _invitation_send(*, invitation: Invitation) -> None:
    invitation.send_count += 1
    Invitation.objects.filter(pk=invitation.pk).update(send_count=invitation.send_count)
    notification_create(
        kind=Notification.Kind.INVITATION,
        to_email=invitation.email,
        idempotency_key=f"invitation:{invitation.pk}:{invitation.send_count}",
        context={"invitation_id": invitation.pk},
    )


@transaction.atomic
def invitation_resend(*, invitation: Invitation, now: datetime | None = None) -> Invitation:
    """Send a new link (the old one stops working) and extend the expiry."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError("Only an open invitation can be resent.")
    invitation.expires_at = now + timedelta(days=settings.INVITATION_VALID_DAYS)
    invitation.save(update_fields=["expires_at"])
    _invitation_send(invitation=invitation)
    return invitation


def invitation_revoke(*, invitation: Invitation, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now, token_hash=None)
    return bool(updated)


def invitation_for_token(*, token: str, now: datetime | None = None) -> Invitation:
    """The open invitation matching a token, or InvitationError saying why not."""
    now = now or timezone.now()
    if not token or len(token) > 200:
        raise InvitationError("This invitation link is not valid.")
    invitation = (
        Invitation.objects.select_related("clinic", "clinician")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        raise InvitationError("This invitation link is not valid. Ask for a new one.")
    if invitation.accepted_at:
        raise InvitationError("This invitation has already been used. Log in instead.")
    if invitation.revoked_at:
        raise InvitationError("This invitation was withdrawn. Ask your clinic for a new one.")
    if invitation.expires_at <= now:
        raise InvitationError("This invitation has expired. Ask your clinic for a new one.")
    return invitation


def invitation_accept(
    *,
    token: str,
    password: str,
    timezone_name: str,
    full_name: str = "",
    now: datetime | None = None,
) -> User:
    """Create the account for an open invitation. Safe against two accepts at once."""
    now = now or timezone.now()
    validate_timezone(timezone_name)
    try:
        with transaction.atomic():
            invitation = invitation_for_token(token=token, now=now)
            # Lock the row: a second accept waits here, then finds it accepted.
            invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
            if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= now:
                raise InvitationError("This invitation has already been used. Log in instead.")
            user = User(
                email=invitation.email,
                full_name=full_name or invitation.full_name,
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
            invitation.token_hash = None
            invitation.save(update_fields=["accepted_at", "accepted_user", "token_hash"])
    except IntegrityError as error:
        # The unique email constraint caught a parallel accept or an existing account.
        raise InvitationError("An account with this email address already exists.") from error
    return user


def user_deactivate(*, user: User) -> None:
    """Deactivate an account and end its sessions at once."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        invitations = Invitation.objects.filter(
            clinician=user, accepted_at__isnull=True, revoked_at__isnull=True
        )
        invitations.update(revoked_at=timezone.now(), token_hash=None)
    sessions_end_for_user(user=user)


def sessions_end_for_user(*, user: User) -> int:
    """Delete every database session that belongs to the user.

    Django's session table has no user column, so this decodes each session;
    the authentication middleware refuses inactive users regardless.
    """
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def client_reassign(*, client: User, clinician: User) -> ClientProfile:
    """Move a client to another clinician of the same clinic."""
    if not clinician.is_clinician or not clinician.is_active:
        raise ValidationError({"clinician": "Choose an active clinician."})
    if clinician.clinic_id != client.clinic_id:
        raise ValidationError({"clinician": "The clinician must work in the client's clinic."})
    profile = ClientProfile.objects.select_for_update().get(user=client)
    profile.clinician = clinician
    profile.save(update_fields=["clinician"])
    return profile


def user_update_timezone(*, user: User, timezone_name: str) -> None:
    validate_timezone(timezone_name)
    user.timezone = timezone_name
    user.save(update_fields=["timezone"])
