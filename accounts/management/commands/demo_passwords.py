"""Print new passwords for the demo accounts, for whoever lost the ones shown at first run."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_DOMAIN
from accounts.management.commands.setup_demo import demo_password
from accounts.models import User
from accounts.services import sessions_end_for_user


class Command(BaseCommand):
    help = "Give every demo account (…@demo.kindwork) a new password and print them."

    def handle(self, *args, **options) -> None:
        # Only a demo installation: a real one has no business resetting passwords in bulk.
        if not settings.DEMO_MODE:
            raise CommandError("Demo passwords can be reset only with DEMO_MODE=1 (bin/run).")
        people = list(User.objects.filter(email__endswith=DEMO_DOMAIN).order_by("id"))
        if not people:
            raise CommandError("No demo accounts. Run: .venv/bin/python manage.py setup_demo")
        self.stdout.write(self.style.SUCCESS("New demo passwords:"))
        for user in people:
            password = demo_password()
            user.set_password(password)
            user.save(update_fields=["password"])
            sessions_end_for_user(user=user)
            self.stdout.write(f"  {user.email:28} {password}")
