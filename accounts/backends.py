"""The password backend, loading the signed-in person with their clinic.

Every page shows the clinic's branding (accounts.context_processors.clinic_brand); one
join when the user is loaded saves a query on every request.
"""

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class ClinicModelBackend(ModelBackend):
    def get_user(self, user_id: int) -> User | None:
        user = User._default_manager.select_related("clinic").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
