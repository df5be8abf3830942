"""Kinds owned by measures: the urgent "a client needs your attention" email and push.

It carries no clinical content: not the client's name, not the questionnaire, not the
answer. The clinician follows the link and logs in to see why.
"""

from homework.emails import clinician_client_link_context
from notifications.models import Notification
from notifications.services import PushText, register_kind

URGENT_PUSH = PushText(
    title="A client on your caseload needs your attention today",
    body="Log in to see who and why.",
    url_key="client_url",
)

register_kind(
    Notification.Kind.URGENT_ATTENTION,
    template_prefix="emails/urgent_attention",
    build_context=clinician_client_link_context,
    push=URGENT_PUSH,
)
