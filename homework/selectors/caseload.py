"""Reads about who holds which client: handovers waiting for an answer."""

from django.db.models import Q, QuerySet

from accounts.models import Handover, User
from core.compiled import CompiledModels


def _open_handovers(clinician_id: int) -> QuerySet[Handover]:
    return Handover.objects.filter(
        Q(to_clinician_id=clinician_id) | Q(from_clinician_id=clinician_id),
        accepted_at__isnull=True,
        cancelled_at__isnull=True,
    ).select_related("client", "from_clinician", "to_clinician")


# Every dashboard reads this: compiled once per process (core.compiled).
_OPEN_HANDOVERS = CompiledModels(_open_handovers, int)


def handovers_open_for(*, clinician: User) -> tuple[list[Handover], list[Handover]]:
    """(offered to the clinician, offered by the clinician), both still open (one query)."""
    open_ones = _OPEN_HANDOVERS.all(clinician.pk)
    return (
        [h for h in open_ones if h.to_clinician_id == clinician.pk],
        [h for h in open_ones if h.from_clinician_id == clinician.pk],
    )
