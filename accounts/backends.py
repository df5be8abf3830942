"""The password backend, loading the signed-in person with their clinic and, for a
client, their profile.

Every page shows the clinic's branding (accounts.context_processors.clinic_brand), and
the client's pages read their profile (the next session on Today, reminders, their
clinician): joins when the user is loaded save a query on each such request. The query
is compiled once per process (core.compiled), as it runs on every signed-in request.

A signed-in page has usually read its person already, with the session
(accounts.session_store): while the authentication middleware resolves the person
(accounts.middleware.AuthenticationMiddleware), `session_being_read` holds the session,
and the backend takes the person read with it when they are the one asked for.
"""

from contextvars import ContextVar

from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.base import SessionBase

from accounts.models import User
from core.compiled import CompiledModels

# Read on every signed-in request: compiled once per process (core.compiled).
_USER = CompiledModels(
    lambda user_id: User._default_manager.select_related("clinic", "client_profile").filter(
        pk=user_id
    ),
    int,
)


# Set only for the duration of one lookup (accounts.middleware), never left behind.
session_being_read: ContextVar[SessionBase | None] = ContextVar("session_being_read", default=None)


class ClinicModelBackend(ModelBackend):
    def get_user(self, user_id: int) -> User | None:
        user = _read_with_session(user_id)
        if user is None:
            try:
                found = _USER.all(int(user_id))
            except (TypeError, ValueError):
                return None  # a session naming no user id that can be: nobody
            user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None


def _read_with_session(user_id: object) -> User | None:
    """The person read with the session being resolved, if that is who is asked for."""
    session = session_being_read.get()
    user = getattr(session, "prefetched_user", None)
    if user is None or type(user_id) is not int or user.pk != user_id:
        return None
    return user
