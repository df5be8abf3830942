"""Reads for assignments: who may see which, and a plan's history in plain words."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import QuerySet
from django.http import Http404
from django.utils.dateformat import format as date_format

from accounts.access import clients_visible_to
from accounts.models import Role, User
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, EventAction, ScheduleKind
from homework.schedule import WEEKDAY_NAMES, Schedule, describe, weekdays_from_mask


def assignments_visible_to(user: User) -> QuerySet[Assignment]:
    """A clinician sees the assignments of their caseload (whoever assigned them),
    an admin their clinic's, a client their own."""
    if user.role == Role.CLIENT:
        return Assignment.objects.filter(client=user)
    return Assignment.objects.filter(client__in=clients_visible_to(user))


def assignment_for_clinician_or_404(user: User, assignment_id: int) -> Assignment:
    assignment = (
        assignments_visible_to(user)
        .filter(pk=assignment_id)
        .select_related("client__client_profile", "exercise", "clinician")
        .first()
    )
    if assignment is None or user.role != Role.CLINICIAN:
        raise Http404("No such assignment.")
    return assignment


def assignment_schedule_text(assignment: Assignment) -> str:
    """ "Every day", "Monday, Thursday" or "3 times a week", for any page."""
    return describe(Schedule.of(assignment))


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    details: list[str]


_ACTION_LABELS = {
    EventAction.CREATED: "Assigned",
    EventAction.EDITED: "Changed",
    EventAction.PAUSED: "Paused",
    EventAction.RESUMED: "Resumed",
    EventAction.ENDED: "Ended",
}

_FIELD_LABELS = {
    "note": "Note",
    "schedule_kind": "How often",
    "weekdays": "Days",
    "times_per_week": "Times a week",
    "start_date": "Start date",
    "end_date": "End date",
    "reminder_time": "Reminder time",
    "status": "Status",
}


def _show(field: str, value: object) -> str:
    """One stored value in the words a clinician would use."""
    if value in (None, ""):
        return {
            "end_date": "no end date",
            "reminder_time": "the client's own reminder time",
            "note": "no note",
        }.get(field, "none")
    if field == "schedule_kind":
        return str(ScheduleKind(value).label) if value in ScheduleKind.values else str(value)
    if field == "status":
        return (
            str(AssignmentStatus(value).label) if value in AssignmentStatus.values else str(value)
        )
    if field == "weekdays" and isinstance(value, int):
        return ", ".join(WEEKDAY_NAMES[day] for day in weekdays_from_mask(value)) or "none"
    if field in ("start_date", "end_date") and isinstance(value, str):
        return date_format(date.fromisoformat(value), "j M Y")
    if field == "reminder_time" and isinstance(value, str):
        return time.fromisoformat(value).strftime("%H:%M")
    return str(value)


def _event_details(event: AssignmentEvent) -> list[str]:
    changes = event.changes if isinstance(event.changes, dict) else {}
    if event.action == EventAction.CREATED:
        return [
            f"{_FIELD_LABELS[field]}: {_show(field, change.get('to'))}"
            for field, change in changes.items()
            if field in _FIELD_LABELS
            # Only what applies to the plan's kind, so "Days: none" does not confuse.
            and not (field == "weekdays" and not change.get("to"))
            and not (field == "times_per_week" and change.get("to") is None)
        ]
    details = []
    for field, change in changes.items():
        if field not in _FIELD_LABELS or not isinstance(change, dict):
            continue
        if field == "note":
            details.append("Note changed")
        else:
            before, after = _show(field, change.get("from")), _show(field, change.get("to"))
            details.append(f"{_FIELD_LABELS[field]}: {before} → {after}")
    return details


def assignment_history(assignment: Assignment) -> list[HistoryEntry]:
    """Every change to the plan, oldest first."""
    events = AssignmentEvent.objects.filter(assignment=assignment).select_related("actor")
    return [
        HistoryEntry(
            at=event.created_at,
            actor=str(event.actor) if event.actor else "Someone no longer here",
            action=_ACTION_LABELS.get(event.action, event.action.capitalize()),
            details=_event_details(event),
        )
        for event in events
    ]
