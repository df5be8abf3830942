"""Brute-force protection around django-axes: how an attempt is keyed, answered and logged.

Axes counts failed logins through the authentication backend, so the login page,
the admin login and the API token and session endpoints are all counted alike,
by account and by address (see AXES_* in settings).
"""

import logging

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.signals import user_locked_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.models import User

logger = logging.getLogger("accounts.lockout")

LOCKED_OUT_MESSAGE = (
    "Too many failed logins. For your safety, logging in is paused for a while; "
    "try again later or reset your password."
)


class LockoutBackend(AxesStandaloneBackend):
    """Axes' backend, noting on the request when it refused an attempt unheard.

    The failure that reaches the limit was still a real check of a wrong password
    and is answered like any other; only attempts made while locked are answered
    with the lockout page (see lockout_response).
    """

    def authenticate(self, request: HttpRequest, *args, **kwargs) -> None:
        try:
            return super().authenticate(request, *args, **kwargs)
        except AxesBackendPermissionDenied:
            request.login_refused_by_lockout = True
            raise


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account an attempt was aimed at, however the caller spelled the address."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        try:
            value = data.get("username") or data.get("email")
        except AttributeError:  # a JSON body that is a list, say
            value = None
    if not isinstance(value, str):
        return None
    return value.strip().lower()[:254] or None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    if original_response is not None and not getattr(request, "login_refused_by_lockout", False):
        return original_response
    cool_off_minutes = _cool_off_minutes()
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": LOCKED_OUT_MESSAGE}, status=429)
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {"message": LOCKED_OUT_MESSAGE, "cool_off_minutes": cool_off_minutes},
            status=429,
        )
    response["Retry-After"] = str(cool_off_minutes * 60)
    return response


def _cool_off_minutes() -> int:
    from axes.helpers import get_cool_off

    cool_off = get_cool_off()
    return int(cool_off.total_seconds() // 60) if cool_off else 0


@receiver(user_locked_out)
def log_lockout(sender, request: HttpRequest, username: str | None, ip_address: str, **kwargs):
    # The account by id, never the address typed (which may not be an account at all).
    user_id = (
        User.objects.filter(email__iexact=username).values_list("pk", flat=True).first()
        if username
        else None
    )
    logger.warning(
        "login locked out: account=%s address=%s path=%s",
        user_id if user_id is not None else "unknown",
        ip_address,
        getattr(request, "path", ""),
    )
