"""The password backend, loading the signed-in person with their clinic and, for a
client, their profile.

Every page shows the clinic's branding (accounts.context_processors.clinic_brand), and
the client's pages read their profile (the next session on Today, reminders, their
clinician): joins when the user is loaded save a query on each such request. The query
is compiled once per process (core.compiled), as it runs on every signed-in request.
"""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from core.compiled import CompiledModels

# Read on every signed-in request: compiled once per process (core.compiled).
_USER = CompiledModels(
    lambda user_id: User._default_manager.select_related("clinic", "client_profile").filter(
        pk=user_id
    ),
    int,
)


class ClinicModelBackend(ModelBackend):
    def get_user(self, user_id: int) -> User | None:
        try:
            found = _USER.all(int(user_id))
        except (TypeError, ValueError):
            return None  # a session naming no user id that can be: nobody
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None
