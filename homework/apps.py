import sys

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HomeworkConfig(AppConfig):
    name = "homework"
    verbose_name = "Homework"

    def ready(self) -> None:
        # After every migrate (bin/run, deploys, a fresh test database) the
        # built-in exercise library is present and up to date.
        post_migrate.connect(load_library_after_migrate, sender=self)
        post_migrate.connect(install_triggers_after_migrate, sender=self)
        from homework import emails  # noqa: F401  (registers homework's email kinds)

        record_sources_register_homework()


def record_sources_register_homework() -> None:
    """The rows of homework and accounts a client's figures and pages are made from
    (homework.triggers; measures and programs register theirs)."""
    from accounts.models import ClientProfile, Clinic, CrisisContact, Handover, User
    from homework.models import (
        Assignment,
        AssignmentEvent,
        ClientNote,
        Completion,
        Exercise,
        Feedback,
    )
    from homework.triggers import record_source_register

    record_source_register(Assignment, "client")
    record_source_register(AssignmentEvent, "assignment__client")
    record_source_register(Completion, "client")
    record_source_register(Feedback, "completion__client")
    record_source_register(ClientNote, "client")
    record_source_register(Exercise, None)
    # A person's own row (zone, name, active) is their record; their name also shows on
    # the pages of clients they replied to or wrote about.
    record_source_register(User, "pk", library_when_changed=["full_name", "email"])
    record_source_register(ClientProfile, "user")
    record_source_register(Handover, "client")
    record_source_register(Clinic, None)
    record_source_register(CrisisContact, None)


def load_library_after_migrate(sender: AppConfig, using: str, verbosity: int = 1, **kwargs) -> None:
    """Load the built-in library once homework's tables are in step with the code.

    Cheap when nothing changed (introspection plus one SELECT) and silent unless
    rows changed. Skipped while the Exercise table is missing or lags behind the
    model, e.g. after `migrate homework zero` or migrating back to an older state.
    """
    from django.db import connections

    from homework.models import Exercise
    from homework.services.exercises import exercise_library_load

    connection = connections[using]
    table = Exercise._meta.db_table
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return
        columns = {
            column.name for column in connection.introspection.get_table_description(cursor, table)
        }
    if not {field.column for field in Exercise._meta.concrete_fields} <= columns:
        return
    result = exercise_library_load(using=using)
    if result.changed and verbosity >= 1:
        stdout = kwargs.get("stdout") or sys.stdout
        stdout.write(
            f"Exercise library: {result.created} added, {result.updated} updated, "
            f"{result.archived} archived.\n"
        )


def install_triggers_after_migrate(sender: AppConfig, using: str, **kwargs) -> None:
    """The figures-version triggers, on every database homework's tables are in, including
    a test database made without migrations, and a new version for every client
    (homework.triggers)."""
    from django.db import connections

    from homework.models import FiguresVersion
    from homework.triggers import figures_triggers_install, figures_versions_renew

    connection = connections[using]
    with connection.cursor() as cursor:
        if FiguresVersion._meta.db_table not in connection.introspection.table_names(cursor):
            return
    figures_triggers_install(connection)
    figures_versions_renew(connection)
