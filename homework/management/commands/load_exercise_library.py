"""Load the built-in exercise library (homework/library/exercises.json).

Safe to run any number of times: built-ins are matched by slug, and only what
differs from the data file is written. It also runs after every migrate.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from homework.services.exercises import exercise_library_load


class Command(BaseCommand):
    help = "Load or update the built-in exercise library from homework/library/exercises.json."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default", help="Database alias to load into.")

    def handle(self, *args, **options) -> None:
        try:
            result = exercise_library_load(using=options["database"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Exercise library: {result.created} added, {result.updated} updated, "
                f"{result.archived} archived, {result.unchanged} unchanged."
            )
        )
