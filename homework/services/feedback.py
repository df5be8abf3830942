"""A clinician's reply on a client's practice log, which the client sees in their history."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.access import client_closed_reason, clients_visible_to
from accounts.models import Role, User
from homework.models import Completion, Feedback

MAX_FEEDBACK_CHARS = 4000


def feedback_create(
    *, clinician: User, completion: Completion, text: str, now: datetime | None = None
) -> Feedback:
    """Only the client's own clinician may reply; the text is required and bounded."""
    if clinician.role != Role.CLINICIAN or not (
        clients_visible_to(clinician).filter(pk=completion.client_id).exists()
    ):
        raise PermissionDenied("Only the client's clinician can reply to this log.")
    reason = client_closed_reason(completion.client)
    if reason is not None:
        raise ValidationError({"text": reason})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write a few words before sending."})
    if len(text) > MAX_FEEDBACK_CHARS:
        raise ValidationError({"text": f"Feedback can be at most {MAX_FEEDBACK_CHARS} characters."})
    return Feedback.objects.create(
        completion=completion, clinician=clinician, text=text, created_at=now or timezone.now()
    )


def feedback_mark_read(
    *, client: User, completion_ids: list[int], now: datetime | None = None
) -> int:
    """Mark the client's unread feedback on these logs as read; returns how many."""
    return Feedback.objects.filter(
        completion__client_id=client.pk, completion_id__in=completion_ids, read_at__isnull=True
    ).update(read_at=now or timezone.now())
