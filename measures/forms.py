"""Forms for measures: a clinician's schedule, and a client's answers to an instrument.

They parse input only; measures.services and the engine hold every rule
(scale range, every item answered, first date not in the past), so the pages and
the API refuse exactly the same things with the same words.
"""

from django import forms
from django.core.exceptions import ValidationError

from core.forms import CheckedForm
from measures.engine import Instrument, instruments, response_clean
from measures.services import MAX_EVERY_WEEKS

ONCE = "once"
REPEAT = "repeat"


class MeasureAssignmentForm(CheckedForm):
    instrument = forms.ChoiceField(
        label="Questionnaire", error_messages={"required": "Choose a questionnaire."}
    )
    frequency = forms.ChoiceField(
        label="How often",
        choices=[(ONCE, "Once"), (REPEAT, "Every few weeks")],
        initial=ONCE,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose once or every few weeks."},
    )
    every_weeks = forms.IntegerField(
        label="Every how many weeks",
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_EVERY_WEEKS}),
        help_text=f"Only for “Every few weeks”: from 1 to {MAX_EVERY_WEEKS}.",
        error_messages={"invalid": f"Enter a whole number of weeks from 1 to {MAX_EVERY_WEEKS}."},
    )
    start_date = forms.DateField(
        label="First date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="In the client's time zone. The questionnaire shows on their Today page "
        "from this date.",
        error_messages={"required": "Choose a first date.", "invalid": "Enter a date."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = [
            (code, f"{instrument.name} ({code})") for code, instrument in instruments().items()
        ]

    def clean(self) -> dict:
        data = super().clean()
        repeat = data.get("frequency") == REPEAT
        if repeat and data.get("every_weeks") is None and "every_weeks" not in self.errors:
            self.add_error("every_weeks", "Say every how many weeks.")
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "instrument": data["instrument"],
            "every_weeks": data["every_weeks"] if data["frequency"] == REPEAT else None,
            "start_date": data["start_date"],
        }


def item_field_name(n: int) -> str:
    return f"item_{n}"


def choice_label(value: int, label: str) -> str:
    return f"{value}: {label}" if label else str(value)


class MeasureResponseForm(CheckedForm):
    """One radio group per item, built from the instrument's data file."""

    def __init__(self, *args, instrument: Instrument, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            low, high = instrument.item_range(item)
            self.fields[item_field_name(item.n)] = forms.TypedChoiceField(
                label=item.text,
                choices=[
                    (value, choice_label(value, label))
                    for value, label in instrument.item_choices(item)
                ],
                coerce=int,
                empty_value=None,
                required=not item.optional,
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Please answer question {item.n}.",
                    "invalid_choice": f"Question {item.n}: choose a number from {low} to {high}.",
                },
            )

    def clean(self) -> dict:
        data = super().clean()
        problems = [n.n for n in self.instrument.items if item_field_name(n.n) in self.errors]
        if problems:
            missing = [n for n in problems if not self.data.get(self.add_prefix(f"item_{n}"))]
            summary = []
            if missing:
                listed = ", ".join(str(n) for n in missing)
                summary.append(
                    f"Please answer every question: {listed} still "
                    f"need{'s' if len(missing) == 1 else ''} an answer."
                )
            if len(missing) < len(problems):
                listed = ", ".join(str(n) for n in problems if n not in missing)
                summary.append(f"Please check question {listed}: choose one of the answers.")
            raise ValidationError(summary)
        # The engine's check, so the form and the service cannot disagree.
        try:
            self.answers = response_clean(
                self.instrument,
                {item.n: data.get(item_field_name(item.n)) for item in self.instrument.items},
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return data

    def items(self) -> list[tuple]:
        """(item, bound field) pairs in the instrument's order, for the template."""
        return [(item, self[item_field_name(item.n)]) for item in self.instrument.items]
