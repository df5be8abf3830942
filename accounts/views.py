"""Login, password reset, invitations and account settings: the pages of the accounts app."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.access import (
    account_required,
    clinician_required,
    invitation_for_user_or_404,
    invitations_visible_to,
)
from accounts.forms import (
    AccountSettingsForm,
    EmailAuthenticationForm,
    InvitationAcceptForm,
    InviteClientForm,
    PasswordResetRequestForm,
    form_data,
)
from accounts.models import Role, User
from accounts.offline import offline_cacheable
from accounts.selectors import crisis_resources_for_user

HOME_BY_ROLE = {
    Role.CLINICIAN: "homework:dashboard",
    Role.SUPERVISOR: "homework:dashboard",
    Role.CLIENT: "homework:today",
    Role.ADMIN: "admin:index",
}

# The clinician's invitations page lists this many, newest first.
INVITATIONS_SHOWN = 200


def home_url_for(user: User) -> str:
    return reverse(HOME_BY_ROLE[user.role])


def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own home."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect(home_url_for(request.user))


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return home_url_for(self.request.user)

    def get_context_data(self, **kwargs) -> dict:
        # Django's LoginView names the site after the request's host; we are Kindwork.
        return {**super().get_context_data(**kwargs), "site_name": settings.SITE_NAME}


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("accounts:login")

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # Stored after logout flushed the session, so it shows on the login page.
        messages.info(request, "You are logged out.")
        return response


@sensitive_post_parameters()
def password_reset_request(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The same answer whether or not the address has an account."""
    form = PasswordResetRequestForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return redirect("accounts:password-reset-done")
    return render(request, "accounts/password_reset_form.html", {"form": form})


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _invitation_refused(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    return render(request, "accounts/invitation_invalid.html", {"reason": reason}, status=status)


@sensitive_post_parameters("password1", "password2")
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_for_token(token=token)
    except services.InvitationError as error:
        return _invitation_refused(request, str(error), status=404)

    form = InvitationAcceptForm(form_data(request), invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                timezone_name=form.cleaned_data["timezone"],
                full_name=form.cleaned_data["full_name"],
            )
        except services.InvitationError as error:
            # Someone (perhaps this person in another tab) got there first.
            return _invitation_refused(request, str(error), status=409)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, user, backend="accounts.backends.ClinicModelBackend")
            messages.success(request, "Welcome to Kindwork. Your account is ready.")
            return redirect(home_url_for(user))
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation}
    )


@clinician_required
def invitation_list(request: HttpRequest) -> HttpResponse:
    """Invite a client to the caseload, and see, resend or withdraw earlier invitations."""
    form = InviteClientForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                clinic=request.user.clinic,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=Role.CLIENT,
                clinician=request.user,
                invited_by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Invitation on its way to {form.cleaned_data['email']}.")
            return redirect("accounts:invitations")
    invitations = invitations_visible_to(request.user).order_by("-created_at", "-id")
    return render(
        request,
        "accounts/invitations.html",
        {
            "form": form,
            "invitations": invitations[:INVITATIONS_SHOWN],
            "invitation_valid_days": settings.INVITATION_VALID_DAYS,
        },
    )


@require_POST
@clinician_required
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_for_user_or_404(request.user, invitation_id)
    try:
        services.invitation_resend(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"A new link is on its way to {invitation.email}; the old one stopped working."
        )
    return redirect("accounts:invitations")


@require_POST
@clinician_required
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_for_user_or_404(request.user, invitation_id)
    if services.invitation_revoke(invitation=invitation):
        messages.success(request, f"The invitation for {invitation.email} was withdrawn.")
    else:
        messages.error(request, "That invitation is no longer open.")
    return redirect("accounts:invitations")


@account_required
def account_settings(request: HttpRequest) -> HttpResponse:
    """A person's own name and time zone; the password has its own page."""
    user = request.user
    form = AccountSettingsForm(
        form_data(request), initial={"full_name": user.full_name, "timezone": user.timezone}
    )
    form.fields["timezone"].suggest(user.timezone, user.clinic.timezone if user.clinic else "")
    if request.method == "POST" and form.is_valid():
        services.user_update_settings(
            user=user,
            full_name=form.cleaned_data["full_name"],
            timezone_name=form.cleaned_data["timezone"],
        )
        messages.success(request, "Your settings are saved.")
        return redirect("accounts:settings")
    return render(
        request,
        "accounts/settings.html",
        {"form": form},
    )


@method_decorator(account_required, name="dispatch")
class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    """Change the password; this session stays logged in, other sessions end."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")
    success_message = "Your password is changed."


@account_required
@require_http_methods(["GET", "HEAD"])
@offline_cacheable  # a client's phone keeps it: help must open with no connection too
def crisis_help(request: HttpRequest) -> HttpResponse:
    """The clinic's crisis resources: one tap from every portal page."""
    return render(
        request,
        "accounts/crisis_help.html",
        {"crisis": crisis_resources_for_user(user=request.user)},
    )
