"""Reading the audit trail."""

from django.db.models import QuerySet

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
