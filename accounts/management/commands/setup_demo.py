"""Create the demo clinic's people the first time only: two clinicians, a supervisor,
an admin and ten clients across time zones. `demo_history` (the demo app) then gives
them eight weeks of practice; `demo_passwords` prints new passwords when they are lost.
"""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import ClientProfile, Clinic, Role, User

DEMO_CLINIC = "Demo Clinic"

# (email, name, zone, clinician's email). The first two keep their addresses from the
# first demo, so an older install finds them.
DEMO_CLINICIANS = [
    ("clinician@demo.kindwork", "Robin Demo", "Europe/London"),
    ("clinician2@demo.kindwork", "Sasha Demo", "Europe/Dublin"),
]
DEMO_CLIENTS = [
    ("client1@demo.kindwork", "Jamie Demo", "Europe/London", "clinician@demo.kindwork"),
    ("client2@demo.kindwork", "Morgan Demo", "America/New_York", "clinician@demo.kindwork"),
    ("client3@demo.kindwork", "Priya Demo", "Asia/Kolkata", "clinician@demo.kindwork"),
    ("client4@demo.kindwork", "Tomás Demo", "Europe/Madrid", "clinician@demo.kindwork"),
    ("client5@demo.kindwork", "Aiko Demo", "Asia/Tokyo", "clinician@demo.kindwork"),
    ("client6@demo.kindwork", "Noah Demo", "Australia/Sydney", "clinician@demo.kindwork"),
    ("client7@demo.kindwork", "Lena Demo", "Europe/Berlin", "clinician2@demo.kindwork"),
    ("client8@demo.kindwork", "Sam Demo", "America/Los_Angeles", "clinician2@demo.kindwork"),
    ("client9@demo.kindwork", "Ade Demo", "Africa/Lagos", "clinician2@demo.kindwork"),
    ("client10@demo.kindwork", "Rosa Demo", "America/Sao_Paulo", "clinician2@demo.kindwork"),
]


def demo_password() -> str:
    return secrets.token_urlsafe(12)


class Command(BaseCommand):
    help = "Load the demo clinic's people once and print their passwords."

    def handle(self, *args, **options) -> None:
        if Clinic.objects.filter(name=DEMO_CLINIC).exists():
            self.stdout.write(
                "Demo data already loaded. Lost the passwords? "
                "Run: .venv/bin/python manage.py demo_passwords"
            )
            return
        passwords: dict[str, str] = {}

        def person(email: str, **fields) -> User:
            password = demo_password()
            passwords[email] = password
            return User.objects.create_user(email=email, password=password, **fields)

        with transaction.atomic():
            clinic = Clinic.objects.create(name=DEMO_CLINIC, timezone="Europe/London")
            clinicians = {
                email: person(
                    email, full_name=name, role=Role.CLINICIAN, clinic=clinic, timezone=zone
                )
                for email, name, zone in DEMO_CLINICIANS
            }
            for email, name, zone, clinician in DEMO_CLIENTS:
                client = person(
                    email, full_name=name, role=Role.CLIENT, clinic=clinic, timezone=zone
                )
                ClientProfile.objects.create(user=client, clinician=clinicians[clinician])
            supervisor = person(
                "supervisor@demo.kindwork",
                full_name="Jordan Demo",
                role=Role.SUPERVISOR,
                clinic=clinic,
                timezone="Europe/London",
            )
            supervisor.supervises.set(clinicians.values())
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
        self.stdout.write(
            "Lost them? Run: .venv/bin/python manage.py demo_passwords (prints new ones)."
        )
