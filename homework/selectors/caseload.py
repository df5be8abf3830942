"""Reads about who holds which client: handovers waiting for an answer."""

from accounts.models import Handover, User


def handovers_open_for(*, clinician: User) -> tuple[list[Handover], list[Handover]]:
    """(offered to the clinician, offered by the clinician), both still open."""
    open_ones = Handover.objects.filter(
        accepted_at__isnull=True, cancelled_at__isnull=True
    ).select_related("client", "from_clinician", "to_clinician")
    return (
        list(open_ones.filter(to_clinician=clinician)),
        list(open_ones.filter(from_clinician=clinician)),
    )
