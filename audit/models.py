"""The audit trail: who did what to which clinical record, when and from where.

Rows are append-only: the model refuses updates and deletes, its queryset
refuses bulk updates and deletes, and the admin is read-only. A row names
records by type and id and never holds their content (no reflection text,
no ratings, no names), so it can be kept as long as the law asks.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    CHANGE = "change", "Changed"
    DELETE = "delete", "Deleted"
    VIEW = "view", "Viewed"
    EXPORT = "export", "Exported"
    ERASE = "erase", "Erased (right to erasure)"
    DISCHARGE = "discharge", "Discharged"
    REOPEN = "reopen", "Reopened"
    HANDOVER = "handover", "Handed over"
    REASSIGN = "reassign", "Moved to another clinician by an admin"


class AppendOnlyError(Exception):
    """An audit event cannot be changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Ids without database constraints: the trail outlives the people and records it
    # names, and a delete elsewhere must never need to touch (or be blocked by) it.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Empty for background work (reminders, summaries, commands).",
    )
    actor_role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    # "app_label.model", e.g. "homework.completion"; object_id is its primary key.
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The client whose record this concerns.",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "action", "created_at"], name="audit_client_action"),
            models.Index(fields=["actor", "created_at"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_id}".strip()

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
