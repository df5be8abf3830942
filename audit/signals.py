"""Automatic records for every create, change and delete of a clinical record.

One place for all writes, whichever path made them (portal, API, admin, tasks):
post_save and post_delete of the clinical models. The models are found by label
so this app does not import homework (homework imports audit for its views).
"""

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save

from accounts.client_ip import client_ip
from accounts.models import Role, User
from audit.context import automatic_records_suppressed, current_request
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record, user_agent_of

# Labels of the clinical models; one missing from the installed apps is skipped.
CLINICAL_MODELS = [
    "homework.Exercise",
    "homework.Assignment",
    "homework.Completion",
    "homework.Feedback",
    "homework.MeasureAssignment",
    "homework.MeasureResponse",
]


# Every export leaves one of these rows (homework.exports); each becomes an "export" event.
EXPORT_MODEL = "homework.ExportRecord"


def connect_clinical_models() -> None:
    for label in CLINICAL_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        post_save.connect(_saved, sender=model, dispatch_uid=f"audit-save-{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"audit-delete-{label}")
    try:
        export_model = apps.get_model(EXPORT_MODEL)
    except LookupError:
        return
    post_save.connect(_exported, sender=export_model, dispatch_uid="audit-export")


def client_id_of(instance: models.Model) -> int | None:
    """Whose record this is. The built-in exercise library belongs to nobody."""
    if hasattr(instance, "client_id"):
        return instance.client_id
    completion = getattr(instance, "completion", None)
    if completion is not None:
        return completion.client_id
    return None


def _is_clinical(instance: models.Model) -> bool:
    # Exercises of the built-in library are shipped data, not a clinic's record.
    if instance._meta.label == "homework.Exercise":
        return instance.clinic_id is not None
    return True


def _record(instance: models.Model, action: str) -> None:
    if automatic_records_suppressed() or not _is_clinical(instance):
        return
    request = current_request()
    actor = getattr(request, "user", None) if request is not None else None
    audit_record(
        actor=actor, action=action, target=instance, client=client_id_of(instance), request=request
    )


def _saved(sender: type, instance: models.Model, created: bool, raw: bool = False, **kwargs):
    if raw:  # loading fixtures
        return
    _record(instance, AuditAction.CREATE if created else AuditAction.CHANGE)


def _deleted(sender: type, instance: models.Model, **kwargs) -> None:
    _record(instance, AuditAction.DELETE)


def _exported(sender: type, instance: models.Model, created: bool, raw: bool = False, **kwargs):
    """An export of one client's record, or of a whole clinic (then every client's)."""
    if raw or not created or automatic_records_suppressed():
        return
    request = current_request()
    actor = User.objects.filter(pk=instance.actor_id).first() if instance.actor_id else None
    if instance.subject_id is not None:
        client_ids = [instance.subject_id]
    elif instance.clinic_id is not None:
        client_ids = User.objects.filter(
            clinic_id=instance.clinic_id, role=Role.CLIENT
        ).values_list("pk", flat=True)
    else:
        client_ids = []
    shared = {
        "actor_id": actor.pk if actor else None,
        "actor_role": actor.role if actor else "",
        "action": AuditAction.EXPORT,
        "object_type": instance._meta.label_lower,
        "object_id": str(instance.pk),
        "ip_address": client_ip(request) if request is not None else None,
        "user_agent": user_agent_of(request),
    }
    AuditEvent.objects.bulk_create(
        [AuditEvent(client_id=client_id, **shared) for client_id in client_ids]
    )
