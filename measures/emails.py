"""Email kinds owned by measures: the urgent "a client needs your attention" email.

It carries no clinical content: not the client's name, not the questionnaire, not the
answer. The clinician follows the link and logs in to see why.
"""

from django.conf import settings
from django.urls import reverse

from notifications.models import Notification
from notifications.services import PermanentSendError, register_kind


def _urgent_attention_context(notification: Notification) -> dict:
    from accounts.models import Role, User

    clinician = User.objects.filter(
        pk=notification.recipient_id, is_active=True, role=Role.CLINICIAN
    ).first()
    if clinician is None:
        raise PermanentSendError("The clinician's account is not active.")
    client_id = notification.context.get("client_id")
    if not isinstance(client_id, int):
        raise PermanentSendError("The email names no client.")
    return {
        "client_url": settings.SITE_URL + reverse("homework:client-detail", args=[client_id]),
    }


register_kind(
    Notification.Kind.URGENT_ATTENTION,
    template_prefix="emails/urgent_attention",
    build_context=_urgent_attention_context,
)
