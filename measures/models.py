"""Questionnaires a client is asked to answer, and their answers.

Instruments are data files (measures/instruments/), so adding one needs no migration.
The tables keep the names they had when these models lived in homework.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from homework.models import AssignmentStatus


class MeasureAssignment(models.Model):
    """A questionnaire a clinician asks a client to answer: once, or every N weeks.

    The instrument is named by its code (e.g. "SCS-SF"); instruments are data files
    (measures/instruments/), so adding one needs no migration.
    """

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="measure_assignments"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.CharField(max_length=32)
    # None = answer once; otherwise a new occurrence falls due every N weeks from start_date.
    every_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    start_date = models.DateField()
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "homework_measureassignment"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "status"], name="measure_assignment_client"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(every_weeks__isnull=True)
                | models.Q(every_weeks__gte=1, every_weeks__lte=52),
                name="measure_assignment_every_weeks_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Measure assignment {self.pk}"


class MeasureResponse(models.Model):
    """One completed questionnaire. Only the raw answers are stored; scores are derived
    in code (measures.engine) so a scoring fix applies to past answers too."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="measure_responses"
    )
    measure_assignment = models.ForeignKey(
        MeasureAssignment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    instrument = models.CharField(max_length=32)
    instrument_version = models.CharField(max_length=32)
    # {item number as a string: chosen value}, exactly as the client answered.
    answers = models.JSONField(default=dict)
    # The occurrence this response answers (None for an unscheduled response).
    due_date = models.DateField(null=True, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    local_date = models.DateField()

    class Meta:
        db_table = "homework_measureresponse"
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(
                fields=["client", "instrument", "local_date"], name="measure_response_client"
            ),
        ]
        constraints = [
            # A double-submitted form cannot answer the same occurrence twice.
            models.UniqueConstraint(
                fields=["measure_assignment", "due_date"], name="measure_response_one_per_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Measure response {self.pk}"


class RiskFlag(models.Model):
    """An urgent flag: an answer passed a risk item's threshold (PHQ-9 item 9 above 0).

    Created in the same transaction as the answer; it stays on the caseload and the
    client page until a clinician acknowledges it. Holds no answer itself: the
    response and item number point at it, for those allowed to see the response.
    """

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_flags"
    )
    response = models.ForeignKey(MeasureResponse, on_delete=models.CASCADE, related_name="flags")
    item = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["client"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="risk_flag_open",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["response", "item"], name="risk_flag_one_per_item"),
        ]

    def __str__(self) -> str:
        return f"Risk flag {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
