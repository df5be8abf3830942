"""Reading the audit trail."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Max, Min, QuerySet
from django.db.models.functions import TruncDate

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent

# A client's "who viewed my record" page lists this many, newest first.
RECORD_VIEWS_SHOWN = 200


def record_views_for_client(*, client: User) -> QuerySet[AuditEvent]:
    """Clinicians' and admins' looks at (and exports of) a client's record, newest first."""
    return (
        AuditEvent.objects.filter(
            client_id=client.pk,
            action__in=[AuditAction.VIEW, AuditAction.EXPORT],
            actor_role__in=[Role.CLINICIAN, Role.SUPERVISOR, Role.ADMIN],
        )
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


# Groups (one viewer, one day) shown on the client's page.
RECORD_VIEW_DAYS_SHOWN = 100


@dataclass
class RecordViewDay:
    """One person's looks at a client's record on one of the client's days."""

    day: date
    actor_id: int | None
    actor_role: str
    first: datetime
    last: datetime
    count: int = 0
    # (object_type, action) -> how many times, e.g. ("homework.completion", "view") -> 3
    kinds: dict[tuple[str, str], int] = field(default_factory=dict)


def record_view_days_for_client(
    *, client: User, limit: int = RECORD_VIEW_DAYS_SHOWN
) -> list[RecordViewDay]:
    """Who viewed the record, grouped by viewer and by day in the client's time zone.

    Five minutes of review is a dozen page loads; the client wants to know who looked
    and when, not each request. The audit trail keeps every event; this only groups
    them, in one query whatever their number.
    """
    rows = (
        record_views_for_client(client=client)
        .annotate(day=TruncDate("created_at", tzinfo=client.zone))
        .order_by()
        .values("day", "actor_id", "actor_role", "object_type", "action")
        .annotate(count=Count("id"), first=Min("created_at"), last=Max("created_at"))
    )
    groups: dict[tuple[date, int | None, str], RecordViewDay] = {}
    for row in rows:
        key = (row["day"], row["actor_id"], row["actor_role"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = RecordViewDay(
                day=row["day"],
                actor_id=row["actor_id"],
                actor_role=row["actor_role"],
                first=row["first"],
                last=row["last"],
            )
        group.first = min(group.first, row["first"])
        group.last = max(group.last, row["last"])
        group.count += row["count"]
        kind = (row["object_type"], row["action"])
        group.kinds[kind] = group.kinds.get(kind, 0) + row["count"]
    return sorted(groups.values(), key=lambda group: group.last, reverse=True)[:limit]
