"""Pages for two-step verification, re-authentication, sessions and "log out everywhere"."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import mfa, services, sessions
from accounts.access import account_required
from accounts.forms import EmailChangeForm, MFACodeForm, MFAEnrolForm, ReauthForm, form_data
from accounts.models import User
from accounts.views import home_url_for


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _home(user: User) -> str:
    return home_url_for(user)


def reauth_required(view: Callable) -> Callable:
    """Sensitive changes need the password (or a fresh code) within the last REAUTH_MINUTES."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not sessions.reauth_is_recent(session=request.session, now=timezone.now()):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:reauth')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


# --- Re-authentication ---


@sensitive_post_parameters("password", "code")
@account_required
def reauth(request: HttpRequest) -> HttpResponse:
    """Confirm it is you before changing email, password or two-step verification."""
    form = ReauthForm(form_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        sessions.reauth_mark(session=request.session, now=timezone.now())
        return redirect(_next_url(request, reverse("accounts:settings")))
    return render(
        request,
        "accounts/reauth.html",
        {
            "form": form,
            "next": _next_url(request, ""),
            "has_authenticator": mfa.mfa_enrolled(request.user),
        },
    )


# --- Two-step verification ---


@account_required
def mfa_overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/mfa_overview.html",
        {
            "enrolled": mfa.mfa_enrolled(user),
            "required": mfa.mfa_role_requires(user),
            "codes_left": mfa.recovery_codes_left(user),
        },
    )


@sensitive_post_parameters("code")
@account_required
@reauth_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the QR code, confirm with a code, keep the recovery codes."""
    user = request.user
    enrolled = mfa.mfa_enrolled(user)
    if enrolled and not user.is_verified():
        # Replacing the authenticator needs the current one first, not only the password.
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:mfa-verify')}?{query}")
    device = mfa.mfa_pending_device(user=user)
    form = MFAEnrolForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.mfa_enrol_confirm(user=user, device=device, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            device.refresh_from_db()
            mfa.mfa_session_verify(request, device)
            request.session[sessions.MFA_ENROLLED_KEY] = True
            # A new second factor ends every other session: they never passed it.
            services.sessions_end_for_user(user=user, keep_session_key=request.session.session_key)
            return _recovery_codes_page(request, codes, first_time=not enrolled)
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr_svg": mfa.mfa_qr_svg(device),
            "secret": mfa.mfa_secret(device),
            "replacing": enrolled,
            "next": _next_url(request, ""),
        },
    )


def _recovery_codes_page(request: HttpRequest, codes: list[str], first_time: bool) -> HttpResponse:
    return render(
        request,
        "accounts/mfa_recovery_codes.html",
        {"codes": codes, "first_time": first_time, "next": _next_url(request, _home(request.user))},
    )


@sensitive_post_parameters("code")
@account_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step of logging in."""
    user = request.user
    if not mfa.mfa_enrolled(user):
        if mfa.mfa_role_requires(user):
            query = urlencode({"next": _next_url(request, "")})
            return redirect(f"{reverse('accounts:mfa-setup')}?{query}")
        # A client whose devices were removed meanwhile has nothing to verify.
        request.session[sessions.MFA_ENROLLED_KEY] = False
        return redirect(_next_url(request, _home(user)))
    form = MFACodeForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        device = mfa.mfa_verify(user=user, code=form.cleaned_data["code"])
        if device is None:
            form.add_error(
                "code",
                "That code did not work. Codes change every 30 seconds; after several "
                "wrong tries you have to wait a little before the next one.",
            )
        else:
            mfa.mfa_session_verify(request, device)
            sessions.reauth_mark(session=request.session, now=timezone.now())
            if device.persistent_id.startswith("otp_static"):
                left = mfa.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Make new ones in your settings "
                    "if you are running low.",
                )
            return redirect(_next_url(request, _home(user)))
    return render(
        request, "accounts/mfa_verify.html", {"form": form, "next": _next_url(request, "")}
    )


@account_required
@reauth_required
def mfa_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Make new recovery codes (the old ones stop working)."""
    if not mfa.mfa_enrolled(request.user):
        return redirect("accounts:mfa")
    if request.method == "POST":
        codes = mfa.recovery_codes_regenerate(user=request.user)
        return _recovery_codes_page(request, codes, first_time=False)
    return render(request, "accounts/mfa_recovery_confirm.html")


@account_required
@reauth_required
def mfa_turn_off(request: HttpRequest) -> HttpResponse:
    """Clients who opted in may opt out again; staff cannot."""
    user = request.user
    if mfa.mfa_role_requires(user):
        raise PermissionDenied("Your role needs two-step verification.")
    if request.method == "POST":
        mfa.mfa_disable(user=user)
        request.session[sessions.MFA_ENROLLED_KEY] = False
        messages.success(request, "Two-step verification is off.")
        return redirect("accounts:mfa")
    return render(request, "accounts/mfa_turn_off.html", {"enrolled": mfa.mfa_enrolled(user)})


# --- Email address ---


@account_required
@reauth_required
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(form_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_email(user=request.user, email=form.cleaned_data["email"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            services.sessions_end_for_user(
                user=request.user, keep_session_key=request.session.session_key
            )
            messages.success(request, "Your email address is changed.")
            return redirect("accounts:settings")
    return render(request, "accounts/email_change.html", {"form": form})


# --- Sessions ---


@require_POST
@account_required
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session (this one too) and revoke every API token of the account."""
    services.user_logout_everywhere(user=request.user)
    logout(request)
    messages.info(request, "You are logged out on every device, and all API tokens are revoked.")
    return redirect("accounts:login")


@require_POST
@account_required
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """ "Stay logged in": counts as activity (the session timeout middleware sees it)."""
    request.session[sessions.LAST_ACTIVITY_KEY] = int(timezone.now().timestamp())
    return redirect(_next_url(request, _home(request.user)))


def session_ended(request: HttpRequest) -> HttpResponse:
    """Where the page's timer sends the browser when the session has run out."""
    return render(request, "accounts/session_ended.html")
