"""Reads about who holds which client: handovers waiting for an answer."""

from django.db.models import Q

from accounts.models import Handover, User


def handovers_open_for(*, clinician: User) -> tuple[list[Handover], list[Handover]]:
    """(offered to the clinician, offered by the clinician), both still open (one query)."""
    open_ones = list(
        Handover.objects.filter(
            Q(to_clinician=clinician) | Q(from_clinician=clinician),
            accepted_at__isnull=True,
            cancelled_at__isnull=True,
        ).select_related("client", "from_clinician", "to_clinician")
    )
    return (
        [h for h in open_ones if h.to_clinician_id == clinician.pk],
        [h for h in open_ones if h.from_clinician_id == clinician.pk],
    )
