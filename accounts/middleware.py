"""Request-wide security rules: session timeouts, the second-factor gate, no caching.

Order in settings.MIDDLEWARE matters: NoStore wraps everything after WhiteNoise;
SessionTimeout and MFARequired run after authentication, OTP and messages.
"""

from collections.abc import Callable
from contextlib import suppress
from functools import cache, cached_property
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.middleware import get_user
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.models import Device

from accounts import mfa, sessions
from accounts.backends import session_being_read
from core.compiled import CompiledModels

API_PREFIX = "/api/"


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response to a logged-in person and on the whole API.

    Clinical pages must not linger in a shared computer's browser cache or in a
    proxy; the simplest rule that cannot miss a page is "anything personal".
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        personal = user is not None and user.is_authenticated
        if personal or request.path.startswith(API_PREFIX) or getattr(request, "_ended", False):
            add_never_cache_headers(response)
        return response


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, resolving the person with the session that names them in view: the
    backend then takes the person read with the session's row (accounts.session_store)
    instead of reading them again. Django's own `get_user` decides, session hash and all."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))


def _user_of(request: HttpRequest):
    """Django's lazy user (cached on the request), resolved with the session in view."""
    reading = session_being_read.set(request.session)
    try:
        return get_user(request)
    finally:
        session_being_read.reset(reading)


class SessionTimeoutMiddleware:
    """Log out after the idle time of the person's role and after the absolute lifetime."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def ended_path(self) -> str:
        return reverse("accounts:session-ended")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and hasattr(request, "session"):
            now = timezone.now()
            reason = sessions.session_expired(session=request.session, user=user, now=now)
            if reason is not None:
                return self._end(request, reason)
            sessions.session_touch(session=request.session, now=now)
        return self.get_response(request)

    def _end(self, request: HttpRequest, reason: str) -> HttpResponse:
        minutes = int(sessions.idle_limit_for(request.user).total_seconds() // 60)
        logout(request)
        request._ended = True
        if request.path.startswith(API_PREFIX) or request.path == self.ended_path:
            # The API answers as for anyone not logged in; the "ended" page explains itself.
            return self.get_response(request)
        if reason == "idle":
            text = f"You were logged out after {minutes} minutes without activity."
        else:
            text = "You were logged out because your session reached its maximum length."
        messages.info(request, f"{text} Log in again to continue.")
        return redirect_to_login(request.get_full_path())


class MFARequiredMiddleware:
    """Keep everyone who needs a second factor away from every page until they pass it.

    Clinicians and admins (and clients who opted in) must have enrolled and
    verified in this session; until then only the pages to enrol, verify or log
    out answer. This covers the portal, /admin/ and session calls to /api/.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def open_paths(self) -> tuple[str, ...]:
        names = ["logout", "mfa-setup", "mfa-verify", "session-ended", "session-keepalive"]
        return tuple(reverse(f"accounts:{name}") for name in names)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or self._is_open(request.path) or user.is_verified():
            return self.get_response(request)
        if mfa.mfa_role_requires(user):
            enrolled = mfa.mfa_enrolled(user)
        else:
            enrolled = request.session.get(sessions.MFA_ENROLLED_KEY)
            if enrolled is None:
                enrolled = mfa.mfa_enrolled(user)
                request.session[sessions.MFA_ENROLLED_KEY] = enrolled
            if not enrolled:
                return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return JsonResponse(
                {"detail": "Two-step verification is needed. Log in on the website first."},
                status=403,
            )
        target = "accounts:mfa-verify" if enrolled else "accounts:mfa-setup"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")

    def _is_open(self, path: str) -> bool:
        return path in self.open_paths or path.startswith(settings.STATIC_URL)


@cache
def _device_by_id(device_cls: type[Device]) -> CompiledModels:
    return CompiledModels(lambda device_id: device_cls.objects.filter(id=device_id), int)


class OTPMiddleware(DjangoOTPMiddleware):
    """django-otp's middleware, reading the session's second-factor device with SQL
    compiled once per process (core.compiled): every signed-in clinician request reads
    it. The lookup is django-otp's `Device.from_persistent_id`, which answers None for
    an id it cannot read."""

    def _device_from_persistent_id(self, persistent_id: str) -> Device | None:
        persistent_id = self._normalize_persistent_id(persistent_id)
        with suppress(ValueError, LookupError):
            model_label, device_id = persistent_id.rsplit("/", 1)
            app_label, model_name = model_label.split(".")
            device_cls = apps.get_model(app_label, model_name)
            if issubclass(device_cls, Device):
                found = _device_by_id(device_cls).all(int(device_id))
                return found[0] if found else None
        return None
