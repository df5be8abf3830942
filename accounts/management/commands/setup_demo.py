"""Create a demo clinic with one clinician and two clients, the first time only."""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import ClientProfile, Clinic, Role, User

DEMO_CLINIC = "Demo Clinic"


class Command(BaseCommand):
    help = "Load demo accounts once (a clinic, a clinician, two clients) and print their passwords."

    def handle(self, *args, **options) -> None:
        if Clinic.objects.filter(name=DEMO_CLINIC).exists():
            self.stdout.write("Demo data already loaded (passwords were printed the first time).")
            return
        passwords: dict[str, str] = {}

        def person(email: str, **fields) -> User:
            password = secrets.token_urlsafe(12)
            passwords[email] = password
            return User.objects.create_user(email=email, password=password, **fields)

        with transaction.atomic():
            clinic = Clinic.objects.create(name=DEMO_CLINIC, timezone="Europe/London")
            clinician = person(
                "clinician@demo.kindwork",
                full_name="Robin Demo",
                role=Role.CLINICIAN,
                clinic=clinic,
                timezone="Europe/London",
            )
            for email, name, zone in [
                ("client1@demo.kindwork", "Jamie Demo", "Europe/London"),
                ("client2@demo.kindwork", "Morgan Demo", "America/New_York"),
            ]:
                client = person(
                    email, full_name=name, role=Role.CLIENT, clinic=clinic, timezone=zone
                )
                ClientProfile.objects.create(user=client, clinician=clinician)
            person(
                "admin@demo.kindwork",
                full_name="Demo Admin",
                role=Role.ADMIN,
                clinic=clinic,
                is_staff=True,
                is_superuser=True,
            )

        self.stdout.write(self.style.SUCCESS("Demo data loaded. These passwords are shown once:"))
        for email, password in passwords.items():
            self.stdout.write(f"  {email:28} {password}")
