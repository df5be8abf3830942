from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and groups"

    def ready(self) -> None:
        from homework.triggers import record_source_register
        from programs import panels  # noqa: F401  (adds its panels to homework's pages)
        from programs.models import (
            Enrolment,
            Group,
            Program,
            ProgramVersion,
            ProgramWeek,
            ProgramWeekItem,
            WeekOpening,
        )

        record_source_register(Enrolment, "client")
        record_source_register(WeekOpening, "enrolment__client")
        record_source_register(WeekOpening.assignments.through, "weekopening__enrolment__client")
        record_source_register(Group.members.through, "user")
        for model in (Program, ProgramVersion, ProgramWeek, ProgramWeekItem, Group):
            record_source_register(model, None)

        # After homework's own loader (it is installed first): the built-in course
        # names built-in exercises.
        post_migrate.connect(load_programs_after_migrate, sender=self)


def load_programs_after_migrate(sender: AppConfig, using: str, **kwargs) -> None:
    from django.db import connections

    from programs.models import ProgramWeekItem
    from programs.services import program_library_load

    connection = connections[using]
    with connection.cursor() as cursor:
        if ProgramWeekItem._meta.db_table not in connection.introspection.table_names(cursor):
            return
    program_library_load(using=using)
