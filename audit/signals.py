"""Automatic records for every create, change and delete of a clinical record.

One place for all writes, whichever path made them (portal, API, admin, tasks):
post_save and post_delete of the clinical models. The models are found by label
so this app does not import homework (homework imports audit for its views).
"""

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save

from audit.context import automatic_records_suppressed, current_request
from audit.models import AuditAction
from audit.services import audit_record, client_id_of, is_clinical

# Labels of the clinical models; one missing from the installed apps is skipped.
CLINICAL_MODELS = [
    "homework.Exercise",
    "homework.Assignment",
    "homework.Completion",
    "homework.Feedback",
    "homework.ClientNote",
    "measures.MeasureAssignment",
    "measures.MeasureResponse",
]


def connect_clinical_models() -> None:
    for label in CLINICAL_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        post_save.connect(_saved, sender=model, dispatch_uid=f"audit-save-{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"audit-delete-{label}")


def _record(instance: models.Model, action: str) -> None:
    if automatic_records_suppressed() or not is_clinical(instance):
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


def _reassigned(sender: type, *, actor, client, handover, **kwargs) -> None:
    """An admin moved a client directly: who (the actor), from and to (the handover row)."""
    audit_record(actor=actor, action=AuditAction.REASSIGN, target=handover, client=client)


def connect_account_events() -> None:
    from accounts.events import client_reassigned

    client_reassigned.connect(_reassigned, dispatch_uid="audit-client-reassigned")
