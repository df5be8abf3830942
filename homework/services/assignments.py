"""Writes for assignments: give a client an exercise with a schedule, then edit,
pause, resume or end it.

This module is the one place for the assignment rules; the clinician pages
and the API both call it. Every change writes an AssignmentEvent, so the
history of a plan can always be shown. Dates are the client's local dates:
"today" is today in the client's own time zone.
"""

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.access import (
    CLIENT_DEACTIVATED,
    CLIENT_DISCHARGED,
    client_closed_reason,
    clients_visible_to,
)
from accounts.models import Role, User
from core.bulk import insert_rows
from homework.events import event_fire
from homework.models import (
    Assignment,
    AssignmentEvent,
    AssignmentStatus,
    EventAction,
    Exercise,
    ScheduleKind,
)
from homework.schedule import weekdays_mask
from homework.selectors.practice import client_today

MAX_NOTE_LENGTH = 2000

# What a clinician can change on an assignment (the exercise is fixed: assign
# a new one instead, so completions never mix two exercises under one plan).
EDITABLE_FIELDS = (
    "note",
    "schedule_kind",
    "weekdays",
    "times_per_week",
    "start_date",
    "end_date",
    "reminder_time",
)


def _display_date(day: date) -> str:
    return date_format(day, "j F Y")


def _event_value(value: Any) -> Any:
    """A JSON-friendly form of a field value, for AssignmentEvent.changes."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def assignment_schedule_errors(
    *,
    schedule_kind: str,
    weekdays: Collection[int],
    times_per_week: int | None,
    start_date: date | None,
    end_date: date | None,
    note: str,
) -> dict[str, list[str]]:
    """Problems with a plan's schedule and note, by field (empty when sound).

    Public so forms can show these messages next to their other errors; the
    services below always check again.
    """
    errors: dict[str, list[str]] = {}
    if schedule_kind not in ScheduleKind.values:
        errors["schedule_kind"] = [
            "Choose how often: every day, chosen weekdays or N times a week."
        ]
    if schedule_kind == ScheduleKind.WEEKDAYS:
        if not weekdays:
            errors["weekdays"] = ["Choose at least one day of the week."]
        elif any(not isinstance(day, int) or not 0 <= day <= 6 for day in weekdays):
            errors["weekdays"] = ["Days of the week run from 0 (Monday) to 6 (Sunday)."]
    if schedule_kind == ScheduleKind.TIMES_PER_WEEK:
        if times_per_week is None:
            errors["times_per_week"] = ["Say how many times a week, from 1 to 7."]
        elif not isinstance(times_per_week, int) or not 1 <= times_per_week <= 7:
            errors["times_per_week"] = ["Choose between 1 and 7 times a week."]
    if start_date is None:
        errors["start_date"] = ["Choose a start date."]
    elif end_date is not None and end_date < start_date:
        errors["end_date"] = ["The end date must be on or after the start date."]
    if len(note) > MAX_NOTE_LENGTH:
        errors["note"] = [f"Keep the note under {MAX_NOTE_LENGTH} characters."]
    return errors


def _check_clinician_and_client(*, clinician: User, client: User) -> None:
    if clinician.role != Role.CLINICIAN:
        raise ValidationError("Only a clinician can assign or change homework.")
    if not clients_visible_to(clinician).filter(pk=client.pk).exists():
        raise ValidationError({"client": "This client is not on your caseload."})


def _check_client_open(client: User) -> None:
    # Pausing or ending an existing plan stays possible: it only takes away.
    reason = client_closed_reason(client)
    if reason is not None:
        raise ValidationError({"client": reason})


def _exercise_errors(*, exercise: Exercise | None, clinician: User) -> dict[str, list[str]]:
    # Another clinic's exercise gets the same answer as one that does not exist.
    if exercise is None or exercise.clinic_id not in (None, clinician.clinic_id):
        return {"exercise": ["Choose an exercise from your library."]}
    if exercise.is_archived:
        return {
            "exercise": [
                f"“{exercise.title}” is archived. Restore it in the library or choose another "
                "exercise."
            ]
        }
    return {}


def _full_clean(assignment: Assignment) -> None:
    # The people and the exercise were checked above; skip their lookups.
    assignment.full_clean(exclude=["client", "clinician", "exercise"])


@transaction.atomic
def assignment_create(
    *,
    clinician: User,
    client: User,
    exercise: Exercise | None,
    schedule_kind: str,
    start_date: date | None,
    note: str = "",
    weekdays: Collection[int] = (),
    times_per_week: int | None = None,
    end_date: date | None = None,
    reminder_time: time | None = None,
    now: datetime | None = None,
) -> Assignment:
    """Give a client an exercise. Raises ValidationError (field messages), writing nothing."""
    now = now or timezone.now()
    _check_clinician_and_client(clinician=clinician, client=client)
    _check_client_open(client)
    note = (note or "").strip()
    errors = _exercise_errors(exercise=exercise, clinician=clinician)
    errors.update(
        assignment_schedule_errors(
            schedule_kind=schedule_kind,
            weekdays=weekdays,
            times_per_week=times_per_week,
            start_date=start_date,
            end_date=end_date,
            note=note,
        )
    )
    today = client_today(client=client, now=now)
    if "start_date" not in errors and start_date < today:
        errors["start_date"] = [
            f"The start date cannot be in the past: today is {_display_date(today)} "
            "in the client's time zone."
        ]
    if errors:
        raise ValidationError(errors)

    assignment = Assignment(
        client=client,
        clinician=clinician,
        exercise=exercise,
        note=note,
        created_at=now,
        status=AssignmentStatus.ACTIVE,
        **_schedule_values(
            schedule_kind=schedule_kind,
            weekdays=weekdays,
            times_per_week=times_per_week,
            start_date=start_date,
            end_date=end_date,
            reminder_time=reminder_time,
        ),
    )
    _full_clean(assignment)
    assignment.save()
    AssignmentEvent.objects.create(
        assignment=assignment,
        actor=clinician,
        action=EventAction.CREATED,
        changes={
            name: {"from": None, "to": _event_value(getattr(assignment, name))}
            for name in EDITABLE_FIELDS
            if name != "note"
        },
        created_at=now,
    )
    event_fire(event="assignment_created", assignment_id=assignment.pk, client_id=client.pk)
    return assignment


def _schedule_values(
    *,
    schedule_kind: str,
    weekdays: Collection[int],
    times_per_week: int | None,
    start_date: date,
    end_date: date | None,
    reminder_time: time | None,
) -> dict[str, Any]:
    """Model values; fields that do not belong to the chosen kind are cleared."""
    return {
        "schedule_kind": schedule_kind,
        "weekdays": weekdays_mask(weekdays) if schedule_kind == ScheduleKind.WEEKDAYS else 0,
        "times_per_week": times_per_week if schedule_kind == ScheduleKind.TIMES_PER_WEEK else None,
        "start_date": start_date,
        "end_date": end_date,
        "reminder_time": reminder_time,
    }


def _locked(assignment: Assignment) -> Assignment:
    """The assignment re-read under a row lock, so two changes cannot interleave."""
    return Assignment.objects.select_for_update().select_related("client").get(pk=assignment.pk)


def _copy_back(source: Assignment, target: Assignment) -> None:
    for name in (*EDITABLE_FIELDS, "status", "updated_at"):
        setattr(target, name, getattr(source, name))


@transaction.atomic
def assignment_update(
    *,
    assignment: Assignment,
    actor: User,
    schedule_kind: str,
    start_date: date | None,
    note: str = "",
    weekdays: Collection[int] = (),
    times_per_week: int | None = None,
    end_date: date | None = None,
    reminder_time: time | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Change the note or schedule; returns the names of the fields that changed.

    Dates already in the past stay as they are; a date that is changed cannot
    be moved into the past (that would rewrite what the client was asked to do).
    """
    now = now or timezone.now()
    current = _locked(assignment)
    _check_clinician_and_client(clinician=actor, client=current.client)
    _check_client_open(current.client)
    if current.status == AssignmentStatus.ENDED:
        raise ValidationError(
            "This assignment has ended and cannot be changed. Assign the exercise again instead."
        )
    note = (note or "").strip()
    errors = assignment_schedule_errors(
        schedule_kind=schedule_kind,
        weekdays=weekdays,
        times_per_week=times_per_week,
        start_date=start_date,
        end_date=end_date,
        note=note,
    )
    today = client_today(client=current.client, now=now)
    if "start_date" not in errors and start_date != current.start_date and start_date < today:
        errors["start_date"] = [
            f"A new start date cannot be in the past: today is {_display_date(today)} "
            "in the client's time zone."
        ]
    if (
        "end_date" not in errors
        and end_date is not None
        and end_date != current.end_date
        and end_date < today
    ):
        errors["end_date"] = [
            "A new end date cannot be in the past. To stop the plan now, use End instead."
        ]
    if errors:
        raise ValidationError(errors)

    values = {
        "note": note,
        **_schedule_values(
            schedule_kind=schedule_kind,
            weekdays=weekdays,
            times_per_week=times_per_week,
            start_date=start_date,
            end_date=end_date,
            reminder_time=reminder_time,
        ),
    }
    changes = {
        name: {"from": _event_value(getattr(current, name)), "to": _event_value(value)}
        for name, value in values.items()
        if getattr(current, name) != value
    }
    if not changes:
        return []
    for name in changes:
        setattr(current, name, values[name])
    _full_clean(current)
    current.save(update_fields=[*changes, "updated_at"])
    AssignmentEvent.objects.create(
        assignment=current, actor=actor, action=EventAction.EDITED, changes=changes, created_at=now
    )
    _copy_back(current, assignment)
    return list(changes)


def _change_status(
    *,
    assignment: Assignment,
    actor: User,
    allowed_from: Collection[str],
    to: str,
    action: str,
    refusal: str,
    now: datetime | None,
) -> Assignment:
    now = now or timezone.now()
    current = _locked(assignment)
    _check_clinician_and_client(clinician=actor, client=current.client)
    if to == AssignmentStatus.ACTIVE:
        _check_client_open(current.client)
    if current.status not in allowed_from:
        raise ValidationError({"status": refusal})
    changes: dict[str, dict[str, Any]] = {"status": {"from": current.status, "to": to}}
    current.status = to
    current.save(update_fields=[*changes, "updated_at"])
    AssignmentEvent.objects.create(
        assignment=current, actor=actor, action=action, changes=changes, created_at=now
    )
    _copy_back(current, assignment)
    return assignment


@transaction.atomic
def assignment_pause(
    *, assignment: Assignment, actor: User, now: datetime | None = None
) -> Assignment:
    """Stop reminders and due practice for a while; the plan keeps its dates."""
    return _change_status(
        assignment=assignment,
        actor=actor,
        allowed_from=[AssignmentStatus.ACTIVE],
        to=AssignmentStatus.PAUSED,
        action=EventAction.PAUSED,
        refusal="Only an active assignment can be paused.",
        now=now,
    )


@transaction.atomic
def assignment_resume(
    *, assignment: Assignment, actor: User, now: datetime | None = None
) -> Assignment:
    return _change_status(
        assignment=assignment,
        actor=actor,
        allowed_from=[AssignmentStatus.PAUSED],
        to=AssignmentStatus.ACTIVE,
        action=EventAction.RESUMED,
        refusal="Only a paused assignment can be resumed.",
        now=now,
    )


@transaction.atomic
def assignment_end(
    *, assignment: Assignment, actor: User, now: datetime | None = None
) -> Assignment:
    """End the plan for good; history and completions stay.

    The dates are left as planned: the "ended" event's date is when it stopped
    (homework.selectors.practice reads it), and the day it ends asks for nothing.
    """
    return _change_status(
        assignment=assignment,
        actor=actor,
        allowed_from=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED],
        to=AssignmentStatus.ENDED,
        action=EventAction.ENDED,
        refusal="This assignment has already ended.",
        now=now,
    )


# --- Many plans at once (a program week for many clients, one exercise for a group) ---


@dataclass(frozen=True)
class NewPlan:
    """One plan for assignments_create_many: the arguments of assignment_create."""

    clinician: User
    client: User
    exercise: Exercise | None
    schedule_kind: str
    start_date: date | None
    end_date: date | None = None
    weekdays: Collection[int] = ()
    times_per_week: int | None = None
    note: str = ""


def assignment_plans_errors(
    *, plans: Sequence[NewPlan], now: datetime | None = None
) -> dict[int, dict[str, list[str]]]:
    """The problems assignment_create would find with each plan, by index (only those
    with problems). One query, for the caseloads and whether each client is still open,
    however many plans."""
    now = now or timezone.now()
    clinicians = {plan.clinician.pk: plan.clinician for plan in plans}
    # (clinician, client) -> why the client is closed (None when open), read in the same
    # query: client_closed_reason's rule, from the rows as they are now.
    visible: dict[tuple[int, int], str | None] = {}
    parts = [
        clients_visible_to(clinician)
        .filter(pk__in={p.client.pk for p in plans if p.clinician.pk == clinician_id})
        .annotate(seen_by=Value(clinician_id))
        .order_by()
        .values_list("seen_by", "pk", "is_active", "client_profile__discharged_at")
        for clinician_id, clinician in clinicians.items()
        if clinician.role == Role.CLINICIAN
    ]
    if parts:
        combined = parts[0].union(*parts[1:], all=True).order_by() if len(parts) > 1 else parts[0]
        visible = {
            (seen_by, pk): (
                CLIENT_DEACTIVATED
                if not is_active
                else CLIENT_DISCHARGED
                if discharged_at is not None
                else None
            )
            for seen_by, pk, is_active, discharged_at in combined
        }
    found: dict[int, dict[str, list[str]]] = {}
    # Plans of a program week repeat a handful of schedules and exercises: each is
    # checked once.
    schedule_checked: dict[tuple, dict[str, list[str]]] = {}
    exercise_checked: dict[tuple[int | None, int], dict[str, list[str]]] = {}
    todays: dict[str, date] = {}
    for index, plan in enumerate(plans):
        if plan.clinician.role != Role.CLINICIAN:
            found[index] = {NON_FIELD_ERRORS: ["Only a clinician can assign or change homework."]}
            continue
        key = (plan.clinician.pk, plan.client.pk)
        if key not in visible:
            found[index] = {"client": ["This client is not on your caseload."]}
            continue
        if visible[key] is not None:
            found[index] = {"client": [visible[key]]}
            continue
        exercise_key = (plan.exercise.pk if plan.exercise else None, plan.clinician.clinic_id)
        if exercise_key not in exercise_checked:
            exercise_checked[exercise_key] = _exercise_errors(
                exercise=plan.exercise, clinician=plan.clinician
            )
        note = (plan.note or "").strip()
        schedule_key = (
            plan.schedule_kind,
            tuple(plan.weekdays),
            plan.times_per_week,
            plan.start_date,
            plan.end_date,
            note,
        )
        if schedule_key not in schedule_checked:
            schedule_checked[schedule_key] = assignment_schedule_errors(
                schedule_kind=plan.schedule_kind,
                weekdays=plan.weekdays,
                times_per_week=plan.times_per_week,
                start_date=plan.start_date,
                end_date=plan.end_date,
                note=note,
            )
        errors = {**exercise_checked[exercise_key], **schedule_checked[schedule_key]}
        zone = plan.client.timezone
        if zone not in todays:
            todays[zone] = client_today(client=plan.client, now=now)
        today = todays[zone]
        if "start_date" not in errors and plan.start_date < today:
            errors["start_date"] = [
                f"The start date cannot be in the past: today is {_display_date(today)} "
                "in the client's time zone."
            ]
        if errors:
            found[index] = errors
    return found


def _plans_write(plans: Sequence[NewPlan], now: datetime) -> list[int]:
    """Write plans already checked, with their "created" events (two queries); returns
    the plans' ids in order."""
    # A program week gives thousands of clients the same few schedules: the model
    # values and the event's changes are worked out once per schedule.
    values: dict[tuple, tuple[dict[str, Any], dict[str, Any]]] = {}
    rows = []
    for plan in plans:
        key = (
            plan.schedule_kind,
            tuple(plan.weekdays),
            plan.times_per_week,
            plan.start_date,
            plan.end_date,
        )
        if key not in values:
            fields = _schedule_values(
                schedule_kind=plan.schedule_kind,
                weekdays=plan.weekdays,
                times_per_week=plan.times_per_week,
                start_date=plan.start_date,
                end_date=plan.end_date,
                reminder_time=None,
            )
            changes = {
                name: {"from": None, "to": _event_value(fields[name])}
                for name in EDITABLE_FIELDS
                if name != "note"
            }
            values[key] = (fields, changes)
        rows.append(values[key])
    note = [(plan.note or "").strip() for plan in plans]
    ids = insert_rows(
        Assignment,
        {
            "client": [plan.client.pk for plan in plans],
            "clinician": [plan.clinician.pk for plan in plans],
            "exercise": [plan.exercise.pk for plan in plans],  # type: ignore[union-attr]
            "note": note,
            **{
                name: [fields[name] for fields, _ in rows]
                for name in (
                    "schedule_kind",
                    "weekdays",
                    "times_per_week",
                    "start_date",
                    "end_date",
                )
            },
        },
        constants={
            "reminder_time": None,
            "status": AssignmentStatus.ACTIVE.value,
            "created_at": now,
            "updated_at": now,
        },
    )
    insert_rows(
        AssignmentEvent,
        {
            "assignment": ids,
            "actor": [plan.clinician.pk for plan in plans],
            "changes": [changes for _, changes in rows],
        },
        constants={"action": EventAction.CREATED, "created_at": now},
    )
    return ids


@transaction.atomic
def assignments_create_many(
    *, plans: Sequence[NewPlan], now: datetime | None = None
) -> list[Assignment]:
    """Every plan under assignment_create's rules, written in bulk: all of them, or a
    ValidationError (the first plan's problems) and nothing written. A fixed number of
    queries, so one exercise goes to a whole group in one go."""
    now = now or timezone.now()
    problems = assignment_plans_errors(plans=plans, now=now)
    if problems:
        raise ValidationError(problems[min(problems)])
    ids = _plans_write(plans, now)
    return list(Assignment.objects.filter(pk__in=ids).order_by("pk"))


@transaction.atomic
def assignments_create_allowed(
    *,
    plans: Sequence[NewPlan],
    together: Sequence[Hashable] | None = None,
    now: datetime | None = None,
) -> tuple[dict[int, int], dict[int, dict[str, list[str]]]]:
    """The ids of the plans assignment_create's rules allow, written in bulk, and the
    refused plans' problems, both by the plan's index; each plan is checked once. Plans
    with the same key in `together` (a program week's plans for one client) are written
    all or none.

    For a program week opening for thousands of clients, where one client's closed
    record must not hold back the rest. A fixed number of queries.
    """
    now = now or timezone.now()
    problems = assignment_plans_errors(plans=plans, now=now)
    held = {together[index] for index in problems} if together is not None else set()
    allowed = [
        index
        for index in range(len(plans))
        if index not in problems and (together is None or together[index] not in held)
    ]
    made = _plans_write([plans[index] for index in allowed], now)
    return dict(zip(allowed, made, strict=True)), problems
