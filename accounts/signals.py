"""Receivers of the accounts app, connected in AccountsConfig.ready()."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from accounts import mfa, sessions
from accounts.models import User


@receiver(user_logged_in, dispatch_uid="accounts-session-start")
def start_session_clocks(sender: type, request: HttpRequest | None, user: User, **kwargs) -> None:
    session = getattr(request, "session", None)
    # API token logins send this signal too, without a session of their own.
    if session is None or session.get("_auth_user_id") != str(user.pk):
        return
    sessions.session_start(session=session, now=timezone.now(), mfa_enrolled=mfa.mfa_enrolled(user))
