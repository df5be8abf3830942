"""Forms for programs, groups, enrolling and giving one exercise to several clients.

The forms only parse input; programs.services holds every rule, so the pages and the
API refuse exactly the same things.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django import forms
from django.forms import BoundField
from django.forms.utils import ErrorDict

from homework.forms.assignments import exercise_choices
from homework.models import Exercise, ScheduleKind
from homework.schedule import WEEKDAY_NAMES
from measures.engine import instruments
from programs.models import MAX_WEEKS, Delivery, ProgramVersion
from programs.services import ItemInput, WeekInput

MAX_ITEMS = 8
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _int(value: object, default: int, top: int) -> int:
    try:
        return max(1, min(top, int(str(value))))
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class WeekFields:
    number: int
    fields: list[BoundField]
    items: list[list[BoundField]]


class ProgramForm(forms.Form):
    """The program builder: weeks in order, each with its exercises. Without JavaScript,
    "Add a week" and "Add an exercise" are submit buttons that show one more row."""

    title = forms.CharField(label="Title", max_length=200)
    summary = forms.CharField(
        label="Summary for clinicians (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    delivery = forms.ChoiceField(
        label="When does each week open?",
        choices=Delivery.choices,
        initial=Delivery.ON_DATE,
        widget=forms.RadioSelect,
    )
    practices_to_advance = forms.IntegerField(
        label="Practices that open the next week",
        required=False,
        min_value=1,
        help_text="Only when a week opens after enough practice.",
        error_messages={"invalid": "Enter a whole number."},
    )

    def __init__(
        self,
        *args,
        exercises: Iterable[Exercise],
        version: ProgramVersion | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else {}
        weeks = version.weeks if version is not None else []
        self.week_count = _int(data.get("week_count"), max(1, len(weeks)), MAX_WEEKS)
        if self.is_bound and "add_week" in data:
            self.week_count = min(MAX_WEEKS, self.week_count + 1)
        self.item_counts = []
        for number in range(1, self.week_count + 1):
            saved = weeks[number - 1]["items"] if number <= len(weeks) else []
            count = _int(data.get(f"week{number}_items"), max(1, len(saved)), MAX_ITEMS)
            if self.is_bound and f"add_item_{number}" in data:
                count = min(MAX_ITEMS, count + 1)
            self.item_counts.append(count)
        choices = exercise_choices(exercises)
        questionnaires = [("", "None"), *((i.code, i.name) for i in instruments().values())]
        for number, count in enumerate(self.item_counts, start=1):
            saved_week = weeks[number - 1] if number <= len(weeks) else {}
            self.fields[f"week{number}_theme"] = forms.CharField(
                label=f"Week {number}: theme", required=False, max_length=200
            )
            self.fields[f"week{number}_intro"] = forms.CharField(
                label="Introduction for the client",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            self.fields[f"week{number}_rationale"] = forms.CharField(
                label="Why this week (for clinicians, optional)",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"week{number}_instrument"] = forms.ChoiceField(
                label="Questionnaire when the week opens", required=False, choices=questionnaires
            )
            self.fields[f"week{number}_from_what_helps"] = forms.BooleanField(
                label="Build this week from what helped each client most (their own “what "
                "helps”), on these exercises' schedules; these exercises when there is not "
                "enough data yet",
                required=False,
            )
            for name in ("theme", "intro", "rationale", "instrument"):
                self.initial.setdefault(f"week{number}_{name}", saved_week.get(name, ""))
            self.initial.setdefault(
                f"week{number}_from_what_helps", saved_week.get("from_what_helps", False)
            )
            saved_items = saved_week.get("items", [])
            for position in range(1, count + 1):
                prefix = f"week{number}_item{position}"
                self.fields[f"{prefix}_exercise"] = forms.TypedChoiceField(
                    label=f"Exercise {position}", required=False, coerce=int, choices=choices
                )
                self.fields[f"{prefix}_schedule_kind"] = forms.ChoiceField(
                    label="How often", choices=ScheduleKind.choices, initial=ScheduleKind.DAILY
                )
                self.fields[f"{prefix}_weekdays"] = forms.TypedMultipleChoiceField(
                    label="Which days",
                    required=False,
                    coerce=int,
                    choices=list(enumerate(WEEKDAY_NAMES)),
                    widget=forms.CheckboxSelectMultiple,
                )
                self.fields[f"{prefix}_times_per_week"] = forms.IntegerField(
                    label="Times a week",
                    required=False,
                    widget=forms.NumberInput(attrs={"min": 1, "max": 7}),
                    error_messages={"invalid": "Choose between 1 and 7 times a week."},
                )
                if position <= len(saved_items):
                    item = saved_items[position - 1]
                    self.initial.setdefault(f"{prefix}_exercise", item["exercise_id"])
                    self.initial.setdefault(f"{prefix}_schedule_kind", item["schedule_kind"])
                    self.initial.setdefault(f"{prefix}_weekdays", item["weekdays"])
                    self.initial.setdefault(f"{prefix}_times_per_week", item["times_per_week"])

    @property
    def is_adding(self) -> bool:
        """A press of "Add a week" or "Add an exercise": show the form again, save nothing."""
        return "add_week" in self.data or any(k.startswith("add_item_") for k in self.data)

    def full_clean(self) -> None:
        if self.is_bound and self.is_adding:
            # Growing the form is not a submission: show no errors yet.
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def week_groups(self) -> list[WeekFields]:
        return [
            WeekFields(
                number=number,
                fields=[
                    self[f"week{number}_{name}"]
                    for name in ("theme", "intro", "rationale", "instrument", "from_what_helps")
                ],
                items=[
                    [
                        self[f"week{number}_item{position}_{name}"]
                        for name in ("exercise", "schedule_kind", "weekdays", "times_per_week")
                    ]
                    for position in range(1, count + 1)
                ],
            )
            for number, count in enumerate(self.item_counts, start=1)
        ]

    def weeks(self) -> list[WeekInput]:
        data = self.cleaned_data
        weeks = []
        for number, count in enumerate(self.item_counts, start=1):
            items = [
                ItemInput(
                    exercise_id=data[f"week{number}_item{p}_exercise"],
                    schedule_kind=data[f"week{number}_item{p}_schedule_kind"],
                    weekdays=data[f"week{number}_item{p}_weekdays"],
                    times_per_week=data[f"week{number}_item{p}_times_per_week"],
                )
                for p in range(1, count + 1)
                if data.get(f"week{number}_item{p}_exercise") not in (None, "")
            ]
            theme = data[f"week{number}_theme"]
            if not theme and not items and number == self.week_count and number > 1:
                continue  # an empty last slot, left by "Add a week"
            weeks.append(
                WeekInput(
                    theme=theme,
                    intro=data[f"week{number}_intro"],
                    rationale=data[f"week{number}_rationale"],
                    instrument=data[f"week{number}_instrument"],
                    from_what_helps=data[f"week{number}_from_what_helps"],
                    items=items,
                )
            )
        return weeks

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each service message next to its field (weeks.<n>.items.<m>.<field>)."""
        for key, messages in errors.items():
            parts = key.split(".")
            name: str | None = key if key in self.fields else None
            if parts[0] == "weeks" and len(parts) >= 3:
                week = parts[1]
                if parts[2] == "items" and len(parts) == 5:
                    name = f"week{week}_item{parts[3]}_{parts[4]}"
                elif parts[2] == "items":
                    name = f"week{week}_item1_exercise"
                else:
                    name = f"week{week}_{parts[2]}"
            if name not in self.fields:
                name = None
            for message in messages:
                self.add_error(name, message)


def client_choices(clients: Iterable) -> list[tuple[int, str]]:
    return [(c.pk, c.full_name or c.email) for c in clients]


class GroupForm(forms.Form):
    name = forms.CharField(label="Group name", max_length=120)
    members = forms.TypedMultipleChoiceField(
        label="Clients in the group",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, clients: Sequence, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = client_choices(clients)


class ClientsOrGroupForm(forms.Form):
    """Choose a group, or clients one by one (the group wins when both are given)."""

    group = forms.TypedChoiceField(label="A group", required=False, coerce=int, empty_value=None)
    clients = forms.TypedMultipleChoiceField(
        label="Or clients",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, clients: Sequence, groups: Sequence, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "No group")] + [(g.pk, g.name) for g in groups]
        self.fields["clients"].choices = client_choices(clients)

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("group") and not data.get("clients"):
            raise forms.ValidationError("Choose a group or at least one client.")
        return data


class EnrolForm(ClientsOrGroupForm):
    start_date = forms.DateField(
        label="Start date (week 1 opens on this date in each client's time zone)",
        widget=DATE_INPUT,
        error_messages={"required": "Choose a start date.", "invalid": "Enter a date."},
    )


class BulkAssignForm(ClientsOrGroupForm):
    exercise = forms.TypedChoiceField(label="Exercise", coerce=int)
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
        widget=forms.NumberInput(attrs={"min": 1, "max": 7}),
        help_text="Only for “N times a week”.",
        error_messages={"invalid": "Choose between 1 and 7 times a week."},
    )
    start_date = forms.DateField(
        label="Start date",
        widget=DATE_INPUT,
        error_messages={"required": "Choose a start date.", "invalid": "Enter a date."},
    )
    end_date = forms.DateField(label="End date (optional)", required=False, widget=DATE_INPUT)

    def __init__(self, *args, exercises: Iterable[Exercise], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["exercise"].choices = exercise_choices(exercises)
