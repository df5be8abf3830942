"""The conversation on a practice log: the clinician's feedback, the client's replies.

Every message is a Feedback row (`from_client` says who wrote it); each one queues a
content-free "you have a new message" email to the other person through the outbox
(kind `message`, rendered by outreach/emails.py, which also applies quiet hours and
pauses). The outbox row holds the message's id only, never its text.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.access import client_closed_reason, clients_visible_to
from accounts.models import ClientProfile, Role, User
from homework.events import event_fire
from homework.models import Completion, Feedback
from notifications.models import Notification
from notifications.services import notification_create_on_channels

MAX_FEEDBACK_CHARS = 4000


def message_text_clean(text: str | None) -> str:
    """The one rule for a message's text: required and bounded, for pages and API alike."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write a few words before sending."})
    if len(text) > MAX_FEEDBACK_CHARS:
        raise ValidationError(
            {"text": f"A message can be at most {MAX_FEEDBACK_CHARS:,} characters."}
        )
    return text


def message_key(message_id: int) -> str:
    return f"message:{message_id}"


def _notify(message: Feedback, *, recipient: User, now: datetime) -> None:
    notification_create_on_channels(
        kind=Notification.Kind.MESSAGE,
        to_email=recipient.email,
        recipient_id=recipient.pk,
        idempotency_key=message_key(message.pk),
        context={"message_id": message.pk},
        now=now,
    )


def feedback_create(
    *, clinician: User, completion: Completion, text: str, now: datetime | None = None
) -> Feedback:
    """Only the client's own clinician may write on a log; the text is required and bounded."""
    if clinician.role != Role.CLINICIAN or not (
        clients_visible_to(clinician).filter(pk=completion.client_id).exists()
    ):
        raise PermissionDenied("Only the client's clinician can reply to this log.")
    reason = client_closed_reason(completion.client)
    if reason is not None:
        raise ValidationError({"text": reason})
    text = message_text_clean(text)
    now = now or timezone.now()
    with transaction.atomic():
        message = Feedback.objects.create(
            completion=completion, clinician=clinician, text=text, created_at=now
        )
        # The client hears of it on the channels they chose (outreach's news).
        event_fire(
            event="feedback_created",
            now=now,
            feedback_id=message.pk,
            client_id=completion.client_id,
        )
    return message


def client_reply_create(
    *, client: User, completion: Completion, text: str, now: datetime | None = None
) -> Feedback:
    """The client answers on their own log once their clinician has written on it.

    The reply is addressed to the client's clinician today (a client moved to another
    clinician writes to the new one)."""
    if client.role != Role.CLIENT or completion.client_id != client.pk:
        raise PermissionDenied("You can only reply on your own practice logs.")
    if not Feedback.objects.filter(completion_id=completion.pk, from_client=False).exists():
        raise ValidationError(
            {"text": "You can reply here once your clinician has written on this practice."}
        )
    text = message_text_clean(text)
    profile = ClientProfile.objects.select_related("clinician").filter(user_id=client.pk).first()
    if profile is None:
        raise ValidationError({"text": "You have no clinician to write to yet."})
    now = now or timezone.now()
    with transaction.atomic():
        message = Feedback.objects.create(
            completion=completion,
            clinician=profile.clinician,
            from_client=True,
            text=text,
            created_at=now,
        )
        _notify(message, recipient=profile.clinician, now=now)
    return message


def feedback_mark_read(
    *, client: User, completion_ids: list[int], now: datetime | None = None
) -> int:
    """Mark the clinician's unread messages on these logs of the client as read."""
    return Feedback.objects.filter(
        completion__client_id=client.pk,
        completion_id__in=completion_ids,
        from_client=False,
        read_at__isnull=True,
    ).update(read_at=now or timezone.now())


def client_replies_mark_read(
    *, clinician: User, completion_ids: list[int], now: datetime | None = None
) -> int:
    """Mark clients' unread replies on these logs as read by a clinician who may see them."""
    return Feedback.objects.filter(
        completion_id__in=completion_ids,
        completion__client__in=clients_visible_to(clinician),
        from_client=True,
        read_at__isnull=True,
    ).update(read_at=now or timezone.now())
