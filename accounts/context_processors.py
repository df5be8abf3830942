import hashlib

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts import sessions


def session_timeout(request: HttpRequest) -> dict:
    """When the session ends without activity, for the notice on every page
    (accounts/_session_timeout.jinja)."""
    notice = session_notice(request)
    return {"session_notice": notice} if notice else {}


def session_notice(request: HttpRequest) -> dict | None:
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return None
    ends_at = sessions.session_ends_at(session=session, user=user, now=timezone.now())
    return {
        "ends_at": ends_at,
        "ends_at_epoch": int(ends_at.timestamp()),
        "ends_at_local": ends_at.astimezone(user.zone),
        "idle_minutes": int(sessions.idle_limit_for(user).total_seconds() // 60),
    }


def clinic_brand(request: HttpRequest) -> dict:
    """The signed-in person's clinic's name, logo and accent, for the page header.

    Reads the clinic through request.user (one query, cached on the user for the
    request); nothing for visitors who are not signed in or belong to no clinic.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.clinic_id is None:
        return {}
    clinic = user.clinic
    version = hashlib.sha256(clinic.accent_colour.encode()).hexdigest()[:8]
    return {
        "brand": {
            "name": clinic.brand_name,
            "logo_url": (
                reverse("accounts:clinic-logo", args=[clinic.pk]) if clinic.logo.name else ""
            ),
            "css_url": (
                f"{reverse('accounts:clinic-brand-css')}?v={version}"
                if clinic.accent_colour
                else ""
            ),
        }
    }
