"""The figures version (homework.models.FiguresVersion) and the triggers that keep it
(homework.triggers says what they do). Installed here, before any later data migration,
so that those bump the versions of the clients they change."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from homework.triggers import figures_triggers_install, figures_triggers_remove


def triggers_install(apps, schema_editor):
    figures_triggers_install(schema_editor.connection)


def triggers_remove(apps, schema_editor):
    figures_triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_handover"),
        ("homework", "0009_exercise_audio_guide"),
    ]

    operations = [
        migrations.CreateModel(
            name="FiguresVersion",
            fields=[
                (
                    "client",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("version", models.UUIDField()),
            ],
        ),
        migrations.RunPython(triggers_install, triggers_remove, elidable=False),
    ]
