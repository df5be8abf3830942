"""Who exported whose data: one row per download. The table keeps its homework name."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportKind(models.TextChoices):
    CLIENT_OWN = "client_own", "Client's own data"
    CLIENT_RECORD = "client_record", "Client record (clinician)"
    CLIENT_FHIR = "client_fhir", "Measure answers as FHIR (clinician)"
    CLINIC = "clinic", "Whole clinic (admin)"


class ExportRecord(models.Model):
    """Who downloaded whose data, what and when: every export leaves one row."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose data: one client, or (for a clinic export) no single client.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    clinic = models.ForeignKey(
        "accounts.Clinic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=ExportKind.choices)
    format = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "homework_exportrecord"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk}"
