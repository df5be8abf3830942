"""Third-party apps under names an admin understands (the admin index shows these, not
the raw labels AXES, OTP_TOTP and OTP_STATIC). Listed in INSTALLED_APPS by these paths.
"""

from axes.apps import AppConfig as AxesAppConfig
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticAppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPAppConfig


class LoginLockoutsConfig(AxesAppConfig):
    verbose_name = "Login lockouts"


class AuthenticatorAppsConfig(TOTPAppConfig):
    verbose_name = "Two-step verification: authenticator apps"


class RecoveryCodesConfig(StaticAppConfig):
    verbose_name = "Two-step verification: recovery codes"
