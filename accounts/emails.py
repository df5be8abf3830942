"""Email kinds owned by accounts: invitations and password resets.

Their links carry secrets, so the builders create them in the worker at send
time; the outbox row holds only the invitation or user id.
"""

from functools import lru_cache

from django.contrib.auth.tokens import default_token_generator
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from notifications.models import Notification
from notifications.services import (
    DEFAULT_ACCENT,
    EmailBrand,
    PermanentSendError,
    register_branding,
    register_kind,
)


def _invitation_context(notification: Notification) -> dict:
    from accounts.models import Invitation
    from accounts.services import InvitationError, invitation_issue_token

    invitation = (
        Invitation.objects.select_related("clinic", "clinician", "invited_by")
        .filter(pk=notification.context.get("invitation_id"))
        .first()
    )
    if invitation is None or not invitation.is_open:
        raise PermanentSendError("The invitation is no longer open.")
    send = notification.context.get("send")
    if send is not None and send != invitation.send_count:
        # An older email retried after a resend must not steal the newer link.
        raise PermanentSendError("A newer email for this invitation replaced this one.")
    try:
        token = invitation_issue_token(invitation=invitation)
    except InvitationError as error:
        raise PermanentSendError(str(error)) from error
    # A client is invited to work with one clinician: name them, so the email is
    # recognisable as coming from someone they know. No clinical content: a name only.
    inviter = invitation.clinician or invitation.invited_by
    return {
        "clinic_name": invitation.clinic.brand_name,
        "invitee_name": invitation.full_name,
        "clinician_name": inviter.get_full_name() if inviter is not None else "",
        "is_client": invitation.role == "client",
        "role": invitation.get_role_display().lower(),
        "accept_path": reverse("accounts:invitation-accept", args=[token]),
        "expires_at": invitation.expires_at,
        # The invitee has no zone yet; the clinic's is the best guess for the date.
        "clinic_timezone": invitation.clinic.timezone,
    }


def _password_reset_context(notification: Notification) -> dict:
    from accounts.models import User

    user = User.objects.filter(pk=notification.recipient_id, is_active=True).first()
    if user is None:
        raise PermanentSendError("The account is not active.")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return {"reset_path": reverse("accounts:password-reset-confirm", args=[uid, token])}


register_kind(
    Notification.Kind.INVITATION,
    template_prefix="emails/invitation",
    build_context=_invitation_context,
)


def _clinician_changed_context(notification: Notification) -> dict:
    from accounts.models import Handover

    handover = (
        Handover.objects.select_related("client", "to_clinician", "client__clinic")
        .filter(pk=notification.context.get("handover_id"), accepted_at__isnull=False)
        .first()
    )
    if handover is None or not handover.client.is_active:
        raise PermanentSendError("The handover or the account is gone.")
    # Names only: who the client works with now. Nothing about their practice.
    return {
        "client_name": handover.client.full_name,
        "clinician_name": handover.to_clinician.get_full_name(),
        "clinic_name": handover.client.clinic.brand_name if handover.client.clinic else "",
        "home_path": reverse("accounts:home"),
    }


register_kind(
    Notification.Kind.CLINICIAN_CHANGED,
    template_prefix="emails/clinician_changed",
    build_context=_clinician_changed_context,
)
register_kind(
    Notification.Kind.PASSWORD_RESET,
    template_prefix="emails/password_reset",
    build_context=_password_reset_context,
)


# --- How an email looks: the recipient's clinic's name, accent colour and logo ---


@lru_cache(maxsize=64)
def _logo_png(name: str) -> bytes | None:
    """The stored logo made small for email (accounts.branding.email_logo). Each upload
    gets a new file name, so a name's picture never changes and a worker keeps it; a file
    gone missing or unreadable sends the email without it."""
    from accounts.branding import email_logo

    try:
        with default_storage.open(name, "rb") as stored:
            return email_logo(stored.read())
    except (OSError, ValueError):
        return None


def _brand_of(clinic) -> EmailBrand:
    from accounts.branding import HEX_COLOUR

    # The colour was checked when it was saved; checked again because it goes into CSS.
    accent = clinic.accent_colour if HEX_COLOUR.match(clinic.accent_colour or "") else ""
    return EmailBrand(
        name=clinic.brand_name,
        accent=accent or DEFAULT_ACCENT,
        logo_png=_logo_png(clinic.logo.name) if clinic.logo.name else None,
    )


def email_brands(notifications: list[Notification]) -> dict[int, EmailBrand]:
    """Each email wears its recipient's clinic's look, as the portal does: its display
    name (else its name), its accent colour (else Kindwork's) and its logo. An invitation
    has no recipient yet: it wears the inviting clinic's. Two queries at most per claim;
    someone of no clinic (a superuser) gets Kindwork's own look.

    The invitation and the password reset still name Kindwork in their words (site_name):
    they lead to pages seen before signing in, which say Kindwork, and an account email
    should name what the person will see when they follow its link."""
    from accounts.models import Invitation, User

    clinic_fields = (
        "clinic__name",
        "clinic__display_name",
        "clinic__accent_colour",
        "clinic__logo",
    )
    recipient_ids = {row.recipient_id for row in notifications if row.recipient_id}
    recipients = (
        {
            user.pk: user.clinic
            for user in User.objects.filter(pk__in=recipient_ids, clinic__isnull=False)
            .select_related("clinic")
            .only("id", "clinic_id", *clinic_fields)
        }
        if recipient_ids
        else {}
    )
    invitation_ids = {
        row.context.get("invitation_id")
        for row in notifications
        if row.recipient_id is None and isinstance(row.context.get("invitation_id"), int)
    }
    invitations = (
        {
            invitation.pk: invitation.clinic
            for invitation in Invitation.objects.filter(pk__in=invitation_ids)
            .select_related("clinic")
            .only("id", "clinic_id", *clinic_fields)
        }
        if invitation_ids
        else {}
    )
    brands: dict[int, EmailBrand] = {}
    for row in notifications:
        if row.recipient_id:
            clinic = recipients.get(row.recipient_id)
        else:
            clinic = invitations.get(row.context.get("invitation_id"))
        if clinic is not None:
            brands[row.pk] = _brand_of(clinic)
    return brands


register_branding(email_brands)
