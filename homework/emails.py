"""Kinds owned by homework: "a client asked you to look at a practice log" (email and push).

No clinical content: not the client's name, the exercise, the ratings or the words.
The clinician follows the link and logs in to see which log and why.
"""

from django.conf import settings
from django.urls import reverse

from notifications.models import Notification
from notifications.services import PermanentSendError, PushText, register_kind

PRACTICE_HARD_PUSH = PushText(
    title="A client asked you to look at a practice log",
    body="Log in to see it.",
    url_key="client_url",
)


def clinician_client_link_context(notification: Notification) -> dict:
    """The link of an email that tells a clinician to look at one client's page, and
    nothing else: the clinician must still be active; which client is in the context."""
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
    Notification.Kind.PRACTICE_HARD,
    template_prefix="emails/practice_hard",
    build_context=clinician_client_link_context,
    push=PRACTICE_HARD_PUSH,
)
