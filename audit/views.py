"""The client's own window on the audit trail."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import client_required
from audit.selectors import RECORD_VIEWS_SHOWN, record_views_for_client

# What each kind of record is called on the client's page.
RECORD_NAMES = {
    "accounts.user": "Your record",
    "homework.completion": "A practice you logged",
    "homework.assignment": "Your homework",
    "measures.measureresponse": "A questionnaire you answered",
    "records.exportrecord": "An export of your data",
    # Events recorded before these models moved out of homework keep their old labels.
    "homework.measureresponse": "A questionnaire you answered",
    "homework.exportrecord": "An export of your data",
}


@client_required
def record_views(request: HttpRequest) -> HttpResponse:
    """Who viewed my record: every clinician's or admin's look, with when."""
    events = list(record_views_for_client(client=request.user)[:RECORD_VIEWS_SHOWN])
    zone = request.user.zone
    rows = [
        {
            "when": event.created_at.astimezone(zone),
            "who": event.actor.get_full_name() if event.actor else "Someone no longer here",
            "role": event.actor_role,
            "what": RECORD_NAMES.get(event.object_type, "Your record"),
            "action": event.get_action_display(),
        }
        for event in events
    ]
    return render(request, "audit/record_views.html", {"rows": rows, "shown": RECORD_VIEWS_SHOWN})
