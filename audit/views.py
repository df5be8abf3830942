"""The client's own window on the audit trail."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import client_required
from accounts.models import User
from audit.models import AuditAction
from audit.selectors import RECORD_VIEW_DAYS_SHOWN, record_view_days_for_client

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
    """Who viewed my record: each person's looks on each day, with the times and what."""
    days = record_view_days_for_client(client=request.user)
    people = User.objects.in_bulk({day.actor_id for day in days if day.actor_id is not None})
    zone = request.user.zone
    labels = dict(AuditAction.choices)
    rows = []
    for day in days:
        actor = people.get(day.actor_id) if day.actor_id is not None else None
        what = [
            f"{RECORD_NAMES.get(object_type, 'Your record')} · {labels.get(action, action).lower()}"
            + (f" ({count} times)" if count > 1 else "")
            for (object_type, action), count in sorted(day.kinds.items())
        ]
        rows.append(
            {
                "day": day.day,
                "first": day.first.astimezone(zone),
                "last": day.last.astimezone(zone),
                "count": day.count,
                "who": actor.get_full_name() if actor else "Someone no longer here",
                "role": day.actor_role,
                "what": what,
            }
        )
    return render(
        request, "audit/record_views.html", {"rows": rows, "shown": RECORD_VIEW_DAYS_SHOWN}
    )
