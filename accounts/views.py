"""Login, password reset, invitations: the pages of the accounts app."""

import uuid

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST

from accounts import services
from accounts.access import clinician_required, invitation_for_user_or_404, invitations_visible_to
from accounts.forms import (
    EmailAuthenticationForm,
    InvitationAcceptForm,
    InviteClientForm,
    PasswordResetRequestForm,
)
from accounts.models import Role, User
from notifications.models import Notification
from notifications.services import notification_create

HOME_BY_ROLE = {
    Role.CLINICIAN: "homework:dashboard",
    Role.CLIENT: "homework:today",
}


def home_url_for(user: User) -> str:
    if user.role == Role.ADMIN:
        return reverse("admin:index")
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


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"
    next_page = reverse_lazy("accounts:login")


def password_reset_request(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The same answer whether or not the address has an account."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(email__iexact=form.cleaned_data["email"], is_active=True).first()
        if user is not None:
            notification_create(
                kind=Notification.Kind.PASSWORD_RESET,
                to_email=user.email,
                recipient_id=user.pk,
                # Every request is its own email; the token inside is made at send time.
                idempotency_key=f"password_reset:{user.pk}:{uuid.uuid4().hex}",
            )
        return redirect("accounts:password-reset-done")
    return render(request, "accounts/password_reset_form.html", {"form": form})


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_for_token(token=token)
    except services.InvitationError as error:
        return render(
            request, "accounts/invitation_invalid.html", {"reason": str(error)}, status=404
        )

    form = InvitationAcceptForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                timezone_name=form.cleaned_data["timezone"],
                full_name=form.cleaned_data["full_name"],
            )
        except services.InvitationError as error:
            return render(
                request, "accounts/invitation_invalid.html", {"reason": str(error)}, status=409
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Kindwork. Your account is ready.")
            return redirect(home_url_for(user))
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation}
    )


@clinician_required
def invitation_list(request: HttpRequest) -> HttpResponse:
    form = InviteClientForm(request.POST or None)
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
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:invitations")
    invitations = invitations_visible_to(request.user).order_by("-created_at", "-id")[:200]
    return render(request, "accounts/invitations.html", {"form": form, "invitations": invitations})


@require_POST
@clinician_required
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_for_user_or_404(request.user, invitation_id)
    try:
        services.invitation_resend(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"A new link was sent to {invitation.email}.")
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
