from django.urls import path

from accounts import branding_views, security_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/settings/", views.account_settings, name="settings"),
    path(
        "accounts/settings/password/",
        views.PasswordChangeView.as_view(),
        name="password-change",
    ),
    path("accounts/settings/email/", security_views.email_change, name="email-change"),
    path("accounts/settings/two-step/", security_views.mfa_overview, name="mfa"),
    path(
        "accounts/settings/two-step/recovery-codes/",
        security_views.mfa_recovery_codes,
        name="mfa-recovery-codes",
    ),
    path("accounts/settings/two-step/turn-off/", security_views.mfa_turn_off, name="mfa-turn-off"),
    path(
        "accounts/settings/logout-everywhere/",
        security_views.logout_everywhere,
        name="logout-everywhere",
    ),
    path("accounts/two-step/setup/", security_views.mfa_setup, name="mfa-setup"),
    path("accounts/two-step/verify/", security_views.mfa_verify, name="mfa-verify"),
    path("accounts/confirm-it-is-you/", security_views.reauth, name="reauth"),
    path(
        "accounts/session/keep-alive/", security_views.session_keepalive, name="session-keepalive"
    ),
    path("accounts/session/ended/", security_views.session_ended, name="session-ended"),
    path("accounts/password-reset/", views.password_reset_request, name="password-reset"),
    path(
        "accounts/password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "accounts/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("invite/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("clinician/invitations/", views.invitation_list, name="invitations"),
    path(
        "clinician/invitations/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "clinician/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    # A clinic's branding, for its members' pages.
    path("clinic/<int:clinic_id>/logo/", branding_views.clinic_logo, name="clinic-logo"),
    path("clinic/brand.css", branding_views.clinic_brand_css, name="clinic-brand-css"),
    path("portal/help/", views.crisis_help, name="crisis-help"),
]
