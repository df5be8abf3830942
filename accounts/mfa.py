"""Two-step verification with django-otp: an authenticator app (TOTP) plus recovery codes.

Clinicians and admins must enrol before they reach any clinical page
(accounts.middleware.MFARequiredMiddleware); clients may opt in. A session counts as
verified once django_otp.login() stored the device that accepted a code in it.
"""

import base64

import django_otp
import qrcode
import qrcode.image.svg
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import is_demo_account
from accounts.models import Role, User

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10

# Roles that may not reach clinical pages without a second factor.
MFA_REQUIRED_ROLES = frozenset({Role.CLINICIAN, Role.SUPERVISOR, Role.ADMIN})


def mfa_role_requires(user: User) -> bool:
    """Whether this person's role needs a second factor, enrolled or not.

    Staff always do, except the demo's own accounts while DEMO_MODE is on: a newcomer
    trying the product needs no authenticator app until they choose to enrol.
    """
    if is_demo_account(user):
        return False
    return user.role in MFA_REQUIRED_ROLES or user.is_superuser


def mfa_required(user: User) -> bool:
    """Whether this person must verify a second factor in every session."""
    return mfa_role_requires(user) or mfa_enrolled(user)


def mfa_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_pending_device(*, user: User) -> TOTPDevice:
    """The not yet confirmed authenticator being set up; the same one until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def mfa_secret(device: TOTPDevice) -> str:
    """The key in base32, for typing into an app by hand, grouped in fours."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def mfa_qr_svg(device: TOTPDevice) -> SafeString:
    """The enrolment QR code as inline SVG, drawn on the server (no script, no CDN)."""
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2
    )
    svg = image.to_string(encoding="unicode")
    # Our own markup from a fixed template around a URL we built; labelled for screen readers.
    return mark_safe(
        svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1)
    )


def _normalise(code: str) -> str:
    return "".join(code.split()).lower()


@transaction.atomic
def mfa_enrol_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm a new authenticator with a code from it; returns fresh recovery codes.

    Replaces any earlier authenticator and recovery codes of the person.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed or not device.verify_token(_normalise(code)):
        raise ValidationError(
            "That code did not match. Check the time on your phone is right and "
            "enter the 6 digits your app shows now."
        )
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_regenerate(user=user)


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """New one-time recovery codes; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def mfa_verify(*, user: User, code: str) -> Device | None:
    """The device that accepts the code (authenticator first, then a recovery code), or None.

    Each device throttles failed attempts itself (django-otp); a recovery code
    is deleted as it is used, so it works once.
    """
    code = _normalise(code)
    if not code or len(code) > 32:
        return None
    # Six digits are an authenticator code, anything else a recovery code: a guess is
    # counted (and throttled) only against the device it was meant for.
    model = TOTPDevice if code.isdigit() and len(code) <= 8 else StaticDevice
    for device in model.objects.filter(user=user, confirmed=True):
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    return None


def mfa_session_verify(request: HttpRequest, device: Device) -> None:
    """Mark this session as having passed the second step."""
    django_otp.login(request, device)


@transaction.atomic
def mfa_disable(*, user: User) -> None:
    """Turn two-step verification off (only people who may go without it)."""
    if mfa_role_requires(user):
        raise ValidationError("Your role needs two-step verification; it cannot be turned off.")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
