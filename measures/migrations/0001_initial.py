"""Questionnaire models, moved from homework with their tables (homework_measure*)."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("homework", "0004_completion_redundant_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table already exists under its homework name: state only.
            state_operations=[
                migrations.CreateModel(
                    name="MeasureAssignment",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("instrument", models.CharField(max_length=32)),
                        (
                            "every_weeks",
                            models.PositiveSmallIntegerField(
                                blank=True,
                                null=True,
                                validators=[
                                    django.core.validators.MinValueValidator(1),
                                    django.core.validators.MaxValueValidator(52),
                                ],
                            ),
                        ),
                        ("start_date", models.DateField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("active", "Active"),
                                    ("paused", "Paused"),
                                    ("ended", "Ended"),
                                ],
                                default="active",
                                max_length=16,
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "client",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="measure_assignments",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "clinician",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "homework_measureassignment",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="MeasureResponse",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("instrument", models.CharField(max_length=32)),
                        ("instrument_version", models.CharField(max_length=32)),
                        ("answers", models.JSONField(default=dict)),
                        ("due_date", models.DateField(blank=True, null=True)),
                        ("answered_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("local_date", models.DateField()),
                        (
                            "client",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="measure_responses",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "measure_assignment",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="responses",
                                to="measures.measureassignment",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "homework_measureresponse",
                        "ordering": ["-answered_at", "-id"],
                    },
                ),
                migrations.AddIndex(
                    model_name="measureassignment",
                    index=models.Index(
                        fields=["client", "status"], name="measure_assignment_client"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="measureassignment",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("every_weeks__isnull", True),
                            models.Q(("every_weeks__gte", 1), ("every_weeks__lte", 52)),
                            _connector="OR",
                        ),
                        name="measure_assignment_every_weeks_range",
                    ),
                ),
                migrations.AddIndex(
                    model_name="measureresponse",
                    index=models.Index(
                        fields=["client", "instrument", "local_date"],
                        name="measure_response_client",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="measureresponse",
                    constraint=models.UniqueConstraint(
                        fields=("measure_assignment", "due_date"),
                        name="measure_response_one_per_due",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
