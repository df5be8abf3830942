"""Writes for measures: a clinician schedules or ends one, a client records a response.

Every rule is checked here, whoever calls (portal form or API), and a refusal is a
ValidationError keyed by field so both can show it next to the input.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.access import client_closed_reason
from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from homework.models import AssignmentStatus
from homework.schedule import local_date
from measures.engine import Instrument, UnknownInstrument, instrument_get, response_clean
from measures.models import MeasureAssignment, MeasureResponse, RiskFlag
from measures.selectors import occurrence_on
from notifications.models import Notification
from notifications.services import notification_create_on_channels

MAX_EVERY_WEEKS = 52
# How far ahead a first occurrence may be planned.
MAX_START_AHEAD = timedelta(days=366)


def _on_caseload(clinician: User, client: User) -> None:
    profile = getattr(client, "client_profile", None)
    if not clinician.is_clinician or profile is None or profile.clinician_id != clinician.pk:
        raise PermissionDenied("This client is not on your caseload.")


def measure_assignment_create(
    *,
    clinician: User,
    client: User,
    instrument: str,
    every_weeks: int | None,
    start_date: date,
    now: datetime | None = None,
) -> MeasureAssignment:
    """Ask a client to answer a questionnaire once (every_weeks=None) or every N weeks."""
    _on_caseload(clinician, client)
    reason = client_closed_reason(client)
    if reason is not None:
        raise ValidationError(reason, code="client_closed")
    errors: dict[str, list[str]] = {}
    try:
        found = instrument_get(instrument)
    except UnknownInstrument:
        errors["instrument"] = ["Choose a questionnaire from the list."]
        found = None
    if every_weeks is not None and not 1 <= every_weeks <= MAX_EVERY_WEEKS:
        errors["every_weeks"] = [f"Choose every 1 to {MAX_EVERY_WEEKS} weeks."]
    today = local_date(now or timezone.now(), client.zone)
    if start_date < today:
        errors["start_date"] = ["The first date can't be in the past (in the client's time zone)."]
    elif start_date > today + MAX_START_AHEAD:
        errors["start_date"] = ["Choose a first date within the next year."]
    if found is not None and (
        MeasureAssignment.objects.filter(
            client_id=client.pk, instrument=found.code, status=AssignmentStatus.ACTIVE
        ).exists()
    ):
        errors["instrument"] = [
            f"The {found.code} is already scheduled for this client. End that schedule first "
            "to change it."
        ]
    if errors:
        raise ValidationError(errors)
    assert found is not None
    return MeasureAssignment.objects.create(
        client=client,
        clinician=clinician,
        instrument=found.code,
        every_weeks=every_weeks,
        start_date=start_date,
    )


def measure_assignment_end(*, clinician: User, measure: MeasureAssignment) -> MeasureAssignment:
    """Stop asking. Responses already given stay in the record."""
    _on_caseload(clinician, measure.client)
    MeasureAssignment.objects.filter(pk=measure.pk).update(
        status=AssignmentStatus.ENDED, updated_at=timezone.now()
    )
    measure.refresh_from_db()
    return measure


def measure_response_submit(
    *,
    client: User,
    measure: MeasureAssignment,
    answers: Mapping[object, object],
    now: datetime | None = None,
) -> MeasureResponse:
    """Record the client's answers to the occurrence open today; raw answers only."""
    if measure.client_id != client.pk:
        raise PermissionDenied("This questionnaire is not yours.")
    instrument = instrument_get(measure.instrument)
    now = now or timezone.now()
    day = local_date(now, client.zone)
    due = occurrence_on(measure, day) if measure.status == AssignmentStatus.ACTIVE else None
    if due is None:
        raise ValidationError({"__all__": ["This questionnaire isn't open for answers now."]})
    clean = response_clean(instrument, answers)
    already = ValidationError({"__all__": ["You've already answered this one. Thank you."]})
    if MeasureResponse.objects.filter(measure_assignment=measure, due_date=due).exists():
        raise already
    try:
        with transaction.atomic():
            response = MeasureResponse.objects.create(
                client=client,
                measure_assignment=measure,
                instrument=instrument.code,
                instrument_version=instrument.version,
                answers=clean,
                due_date=due,
                answered_at=now,
                local_date=day,
            )
            # In the same transaction: an answer is never saved without its flag.
            risk_flags_raise(response=response, instrument=instrument, now=now)
            return response
    except IntegrityError:
        # A second submit raced the first past the check above; the unique constraint held.
        raise already from None


def risk_flags_raise(
    *, response: MeasureResponse, instrument: Instrument, now: datetime | None = None
) -> list[RiskFlag]:
    """Flag each risk item the response passes, and tell the client's clinician at once:
    an email, and a push to each device they subscribed (never held by quiet hours).

    The email and the push say only that a client needs attention today, with a link;
    which client and why are behind the login. One email (and one push) per response,
    however many items it flags.
    """
    raised = instrument.alerts_raised(response.answers)
    if not raised:
        return []
    now = now or timezone.now()
    flags = RiskFlag.objects.bulk_create(
        [
            RiskFlag(client_id=response.client_id, response=response, item=a.item, created_at=now)
            for a in raised
        ]
    )
    profile = getattr(response.client, "client_profile", None)
    clinician = profile.clinician if profile is not None else None
    if clinician is not None and clinician.is_active:
        # Email and a push to each subscribed device, both at once: no quiet hours.
        notification_create_on_channels(
            kind=Notification.Kind.URGENT_ATTENTION,
            to_email=clinician.email,
            recipient_id=clinician.pk,
            idempotency_key=f"urgent_attention:response:{response.pk}",
            context={"client_id": response.client_id},
            now=now,
        )
    return flags


def risk_flag_acknowledge(
    *, clinician: User, flag: RiskFlag, now: datetime | None = None
) -> RiskFlag:
    """The clinician has seen the flag and is acting on it: it leaves the caseload.

    Recorded in the audit trail. Acknowledging twice changes nothing the second time.
    """
    _on_caseload(clinician, flag.client)
    now = now or timezone.now()
    # A conditional update: two clicks (or two clinicians) record one acknowledgement.
    updated = RiskFlag.objects.filter(pk=flag.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=clinician
    )
    if updated:
        audit_record(actor=clinician, action=AuditAction.CHANGE, target=flag, client=flag.client_id)
    flag.refresh_from_db()
    return flag


def measure_assignments_end_for_client(*, client: User, clinician: User, now: datetime) -> None:
    """On discharge: stop every questionnaire schedule of the client; answers stay."""
    MeasureAssignment.objects.filter(client_id=client.pk, status=AssignmentStatus.ACTIVE).update(
        status=AssignmentStatus.ENDED, updated_at=now
    )


def measure_assignments_create_once(
    *, requests: Sequence[tuple[User, User, str, date]]
) -> list[MeasureAssignment]:
    """Ask each (clinician, client, instrument code, date) once, in bulk, skipping a client
    the clinician may not ask or who already has that questionnaire scheduled (their own
    schedule stands). Two queries however many."""
    wanted = [
        (clinician, client, instrument_get(code).code, day)
        for clinician, client, code, day in requests
        if clinician.is_clinician
        and getattr(client, "client_profile", None) is not None
        and client.client_profile.clinician_id == clinician.pk
    ]
    if not wanted:
        return []
    taken = set(
        MeasureAssignment.objects.filter(
            client_id__in={client.pk for _, client, _, _ in wanted},
            status=AssignmentStatus.ACTIVE,
        ).values_list("client_id", "instrument")
    )
    rows = []
    for clinician, client, code, day in wanted:
        if (client.pk, code) in taken:
            continue
        taken.add((client.pk, code))
        rows.append(
            MeasureAssignment(
                client=client,
                clinician=clinician,
                instrument=code,
                every_weeks=None,
                start_date=day,
            )
        )
    return MeasureAssignment.objects.bulk_create(rows)
