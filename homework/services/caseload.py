"""Writes for a clinician's caseload: discharge and reopen a client, hand a client over
to a colleague.

Discharge ends every plan (through assignment_end, so each plan's history says so) and
whatever other apps scheduled for the client (questionnaires, registered below by
measures), and marks the profile: reminders and summaries stop because nothing runs,
the record stays readable and exportable, the client can still log in to read it.
Every change is one audit event with no content.
"""

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.access import clients_visible_to
from accounts.models import ClientProfile, Handover, Role, User
from accounts.services import client_clinician_changed_notify
from audit.models import AuditAction
from audit.services import audit_record
from homework.models import Assignment, AssignmentStatus
from homework.services.assignments import assignment_end

# Apps above homework end what they scheduled for a discharged client (measures ends its
# questionnaires); homework imports none of them, they register here from ready().
_DISCHARGE_HOOKS: list[Callable[..., None]] = []


def register_discharge_hook(hook: Callable[..., None]) -> None:
    """`hook(client=..., clinician=..., now=...)` runs inside the discharge transaction."""
    if hook not in _DISCHARGE_HOOKS:
        _DISCHARGE_HOOKS.append(hook)


def _own_client(*, clinician: User, client: User) -> ClientProfile:
    if clinician.role != Role.CLINICIAN or not (
        clients_visible_to(clinician).filter(pk=client.pk).exists()
    ):
        raise ValidationError({"client": "This client is not on your caseload."})
    return ClientProfile.objects.select_for_update().get(user_id=client.pk)


@transaction.atomic
def client_discharge(*, clinician: User, client: User, now: datetime | None = None) -> int:
    """End the work with a client. Returns how many plans were ended."""
    now = now or timezone.now()
    profile = _own_client(clinician=clinician, client=client)
    if profile.discharged_at is not None:
        raise ValidationError({"client": "This client is already discharged."})
    plans = list(
        Assignment.objects.filter(
            client_id=client.pk, status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED]
        )
    )
    for plan in plans:
        assignment_end(assignment=plan, actor=clinician, now=now)
    for hook in _DISCHARGE_HOOKS:
        hook(client=client, clinician=clinician, now=now)
    ClientProfile.objects.filter(pk=profile.pk).update(discharged_at=now)
    profile.discharged_at = now
    if hasattr(client, "client_profile"):
        client.client_profile.discharged_at = now
    Handover.objects.filter(
        client_id=client.pk, accepted_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now)
    audit_record(actor=clinician, action=AuditAction.DISCHARGE, target=profile, client=client)
    return len(plans)


@transaction.atomic
def client_reopen(*, clinician: User, client: User, now: datetime | None = None) -> None:
    """Take a discharged client back: new plans can be given again (old ones stay ended)."""
    profile = _own_client(clinician=clinician, client=client)
    if profile.discharged_at is None:
        raise ValidationError({"client": "This client is not discharged."})
    if not client.is_active:
        raise ValidationError(
            {"client": "This client's account is deactivated. An admin can reactivate it."}
        )
    ClientProfile.objects.filter(pk=profile.pk).update(discharged_at=None)
    if hasattr(client, "client_profile"):
        client.client_profile.discharged_at = None
    audit_record(actor=clinician, action=AuditAction.REOPEN, target=profile, client=client)


@transaction.atomic
def handover_offer(
    *, clinician: User, client: User, to_clinician: User | None, now: datetime | None = None
) -> Handover:
    """Offer a client on the caller's caseload to a colleague; nothing moves until they accept."""
    _own_client(clinician=clinician, client=client)
    if (
        to_clinician is None
        or to_clinician.role != Role.CLINICIAN
        or to_clinician.clinic_id != clinician.clinic_id
        or not to_clinician.is_active
    ):
        raise ValidationError({"to_clinician": "Choose a colleague in your clinic."})
    if to_clinician.pk == clinician.pk:
        raise ValidationError({"to_clinician": "Choose a colleague other than yourself."})
    try:
        with transaction.atomic():
            return Handover.objects.create(
                client=client,
                from_clinician=clinician,
                to_clinician=to_clinician,
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        raise ValidationError(
            {"to_clinician": "This client already has a handover waiting. Cancel it first."}
        ) from None


def _open_handover(handover_id: int) -> Handover:
    handover = (
        Handover.objects.select_for_update()
        .filter(pk=handover_id, accepted_at__isnull=True, cancelled_at__isnull=True)
        .first()
    )
    if handover is None:
        raise ValidationError("This handover is no longer waiting.")
    return handover


@transaction.atomic
def handover_accept(*, clinician: User, handover_id: int, now: datetime | None = None) -> Handover:
    """The colleague takes the client: the profile moves, the client is told (no content)."""
    now = now or timezone.now()
    handover = _open_handover(handover_id)
    if handover.to_clinician_id != clinician.pk:
        raise ValidationError("This handover is offered to someone else.")
    profile = ClientProfile.objects.select_for_update().get(user_id=handover.client_id)
    if profile.clinician_id != handover.from_clinician_id:
        # The client moved another way meanwhile (an admin reassigned them).
        Handover.objects.filter(pk=handover.pk).update(cancelled_at=now)
        raise ValidationError("This client has moved since the handover was offered.")
    ClientProfile.objects.filter(pk=profile.pk).update(clinician_id=clinician.pk)
    Handover.objects.filter(pk=handover.pk).update(accepted_at=now)
    handover.accepted_at = now
    audit_record(
        actor=clinician, action=AuditAction.HANDOVER, target=handover, client=handover.client_id
    )
    client_clinician_changed_notify(client=handover.client, handover=handover, now=now)
    return handover


@transaction.atomic
def handover_cancel(*, clinician: User, handover_id: int, now: datetime | None = None) -> Handover:
    """Either side may withdraw or decline a waiting handover."""
    handover = _open_handover(handover_id)
    if clinician.pk not in (handover.from_clinician_id, handover.to_clinician_id):
        raise ValidationError("This handover is not yours.")
    handover.cancelled_at = now or timezone.now()
    Handover.objects.filter(pk=handover.pk).update(cancelled_at=handover.cancelled_at)
    return handover
