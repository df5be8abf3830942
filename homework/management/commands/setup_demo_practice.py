"""Give the demo clients some homework, so a fresh `bin/run` shows a working portal.

Runs after accounts' `setup_demo`; does nothing for a client who already has an
assignment, so it is safe to run on every start.
"""

from django.core.management.base import BaseCommand

from accounts.models import Role, User
from homework.models import Exercise
from homework.services.assignments import assignment_create, client_today

DEMO_PLANS = {
    "client1@demo.kindwork": {
        "slug": "self-compassion-break",
        "schedule_kind": "daily",
        "note": "Try it whenever the day feels heavy; a few minutes is plenty.",
    },
    "client2@demo.kindwork": {
        "slug": "my-compassionate-phrase",
        "schedule_kind": "times_per_week",
        "times_per_week": 3,
        "note": "Find one phrase that feels like yours and use it this week.",
    },
}


class Command(BaseCommand):
    help = "Assign a practice to each demo client that has none yet."

    def handle(self, *args, **options) -> None:
        clients = User.objects.filter(
            role=Role.CLIENT, email__in=DEMO_PLANS, assignments__isnull=True
        ).select_related("client_profile__clinician")
        created = 0
        for client in clients:
            plan = dict(DEMO_PLANS[client.email])
            exercise = Exercise.objects.filter(clinic__isnull=True, slug=plan.pop("slug")).first()
            if exercise is None:
                continue
            assignment_create(
                clinician=client.client_profile.clinician,
                client=client,
                exercise=exercise,
                start_date=client_today(client=client),
                **plan,
            )
            created += 1
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo practice assigned to {created} client(s)."))
