"""The password backend, loading the signed-in person with their clinic and, for a
client, their profile.

Every page shows the clinic's branding (accounts.context_processors.clinic_brand), and
the client's pages read their profile (the next session on Today, reminders, their
clinician): joins when the user is loaded save a query on each such request.
"""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class ClinicModelBackend(ModelBackend):
    def get_user(self, user_id: int) -> User | None:
        user = (
            User._default_manager.select_related("clinic", "client_profile")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
