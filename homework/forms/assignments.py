"""Forms for assigning homework and changing a plan.

The forms only parse input; homework.services.assignments holds every rule
(end before start, days chosen, 1 to 7 times a week, which exercises may be
assigned), so the pages and the API refuse exactly the same things.
"""

from collections.abc import Iterable

from django import forms

from core.forms import CheckedForm
from homework.models import Assignment, Category, Exercise, ScheduleKind
from homework.schedule import WEEKDAY_NAMES, weekdays_from_mask
from homework.services.assignments import MAX_NOTE_LENGTH, assignment_schedule_errors


def exercise_choices(exercises: Iterable[Exercise]) -> list:
    """Choices grouped by category, for a select with optgroups."""
    labels = dict(Category.choices)
    groups: dict[str, list[tuple[int, str]]] = {}
    for exercise in exercises:
        title = exercise.title if exercise.is_builtin else f"{exercise.title} (your clinic)"
        if exercise.any_time:
            # Whatever its schedule, the client may also practise it whenever they need.
            title = f"{title} · also any time"
        groups.setdefault(labels.get(exercise.category, exercise.category), []).append(
            (exercise.pk, title)
        )
    return [("", "Choose an exercise"), *groups.items()]


class AssignmentForm(CheckedForm):
    note = forms.CharField(
        label="Personal note for the client (optional)",
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The client sees this with the exercise.",
    )
    schedule_kind = forms.ChoiceField(
        label="How often",
        choices=ScheduleKind.choices,
        initial=ScheduleKind.DAILY,
        widget=forms.RadioSelect,
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Which days",
        required=False,
        coerce=int,
        choices=list(enumerate(WEEKDAY_NAMES)),
        widget=forms.CheckboxSelectMultiple,
        help_text="Only for “Chosen weekdays”.",
    )
    times_per_week = forms.IntegerField(
        label="Times a week",
        required=False,
        # The range is the service's rule; the browser hint only helps.
        widget=forms.NumberInput(attrs={"min": 1, "max": 7}),
        help_text="Only for “N times a week”: from 1 to 7, on any days the client likes.",
        error_messages={"invalid": "Choose between 1 and 7 times a week."},
    )
    start_date = forms.DateField(
        label="Start date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Choose a start date.", "invalid": "Enter a date."},
    )
    end_date = forms.DateField(
        label="End date (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty to keep going until you end it.",
        error_messages={"invalid": "Enter a date."},
    )
    reminder_time = forms.TimeField(
        label="Reminder time (optional)",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Enter a time such as 18:30."},
    )

    field_order = ["exercise", "note", "schedule_kind", "weekdays", "times_per_week"]

    def __init__(self, *args, client_zone: str, client_reminder: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start_date"].help_text = f"In the client's time zone ({client_zone})."
        self.fields["reminder_time"].help_text = (
            f"A time of day in the client's time zone ({client_zone}). Leave empty to use "
            f"the client's own reminder time ({client_reminder})."
        )

    def clean(self) -> dict:
        data = super().clean()
        # The service's own schedule rules, so every problem shows at once.
        problems = assignment_schedule_errors(
            schedule_kind=data.get("schedule_kind", ""),
            weekdays=data.get("weekdays") or [],
            times_per_week=data.get("times_per_week"),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            note=data.get("note", ""),
        )
        for field, messages in problems.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, messages)
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "note": data["note"],
            "schedule_kind": data["schedule_kind"],
            "weekdays": data["weekdays"],
            "times_per_week": data["times_per_week"],
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "reminder_time": data["reminder_time"],
        }

    @staticmethod
    def initial_for(assignment: Assignment) -> dict:
        return {
            "note": assignment.note,
            "schedule_kind": assignment.schedule_kind,
            "weekdays": weekdays_from_mask(assignment.weekdays),
            "times_per_week": assignment.times_per_week,
            "start_date": assignment.start_date,
            "end_date": assignment.end_date,
            "reminder_time": assignment.reminder_time,
        }


class AssignmentCreateForm(AssignmentForm):
    """Assigning also picks the exercise, which a plan keeps for life."""

    exercise = forms.IntegerField(
        label="Exercise",
        widget=forms.Select,
        error_messages={
            "required": "Choose an exercise.",
            "invalid": "Choose an exercise from your library.",
        },
    )

    def __init__(self, *args, exercises: Iterable[Exercise], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only active exercises are offered; the service refuses anything else
        # that is posted (another clinic's, archived, unknown) with a clear message.
        self.fields["exercise"].widget.choices = exercise_choices(exercises)

    def service_arguments(self) -> dict:
        return {**super().service_arguments(), "exercise_id": self.cleaned_data["exercise"]}
