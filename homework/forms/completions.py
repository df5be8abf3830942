"""The practice log form (client) and the feedback form (clinician).

The log form is built from the exercise: only the ratings it asks for, one text
box per prompt. The service re-checks everything; the form gives field-level
messages and refuses fields the exercise does not have instead of ignoring them.
"""

import uuid
from datetime import date

from django import forms
from django.core.exceptions import ValidationError

from core.forms import CheckedForm
from homework.models import Completion, Exercise, Rating
from homework.services.completions import (
    MAX_ANSWER_CHARS,
    MAX_MINUTES,
    MAX_REFLECTION_CHARS,
    asked_ratings,
)
from homework.services.feedback import MAX_FEEDBACK_CHARS, message_text_clean

RATING_HELP = {
    Rating.DISTRESS_BEFORE: "How upset or stressed you felt just before.",
    Rating.DISTRESS_AFTER: "How upset or stressed you feel now.",
    Rating.BELIEF_BEFORE: "How much you believed the critical thought before.",
    Rating.BELIEF_AFTER: "How much you believe the critical thought now.",
    Rating.SELF_CRITICISM_BEFORE: "How harsh you were being with yourself before.",
    Rating.SELF_CRITICISM_AFTER: "How harsh you are being with yourself now.",
    Rating.SELF_KINDNESS_AFTER: "How kindly you feel towards yourself now.",
}
SCALE = [(str(n), str(n)) for n in range(11)]
SKIP = ("", "Skip")


class CompletionForm(CheckedForm):
    minutes = forms.IntegerField(
        label="Minutes practised",
        min_value=0,
        max_value=MAX_MINUTES,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "min_value": "Minutes can't be negative.",
            "max_value": f"Minutes can be at most {MAX_MINUTES}.",
            "invalid": "Minutes must be a whole number.",
            "required": "How many minutes did you practise? Zero is fine.",
        },
    )
    reflection = forms.CharField(
        label="Your reflection (optional)",
        required=False,
        max_length=MAX_REFLECTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Anything you noticed. There is no right answer.",
    )
    reflection_shared = forms.BooleanField(
        label="Share my reflection and answers with my clinician",
        required=False,
        # Unticked: what a client writes is private until they choose to share it. A
        # reflection can hold things not yet ready to say; sharing by default would make
        # a moment's inattention a disclosure, and that cannot be undone once read.
        initial=False,
        help_text=(
            "Your clinician always sees that you practised, the minutes and your ratings. "
            "What you write stays private unless you tick this."
        ),
    )
    # The log being corrected, so a form opened yesterday cannot rewrite yesterday's log.
    stirred_up = forms.BooleanField(
        label="This stirred up something hard",
        required=False,
        help_text="Tick this if the practice brought up painful feelings. That can happen, "
        "and it is not a failure.",
    )
    completion_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # Made when the form is shown (or by the offline queue): sending the same form twice
    # writes one log.
    client_uuid = forms.UUIDField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": "Please reload the page and try again."},
    )
    practised_on = forms.TypedChoiceField(
        label="When did you practise?",
        coerce=date.fromisoformat,
        required=False,
        empty_value=None,
        error_messages={
            "invalid_choice": "Choose today or one of the days shown; older days can't be logged."
        },
    )

    def __init__(self, *args, exercise: Exercise, days: list[date] | None = None, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.exercise = exercise
        # The days a log may be for, today first (the grace window).
        days = days or []
        self.fields["practised_on"].choices = [
            (day.isoformat(), _day_label(day, index)) for index, day in enumerate(days)
        ]
        if len(days) <= 1:
            self.fields["practised_on"].widget = forms.HiddenInput()
        self.rating_keys = asked_ratings(exercise)
        self.prompts = [p for p in exercise.prompts if isinstance(p, dict) and "key" in p]
        for key in self.rating_keys:
            self.fields[f"rating_{key}"] = forms.TypedChoiceField(
                label=Rating(key).label,
                choices=[*SCALE, SKIP],
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                help_text=RATING_HELP.get(key, "") + " 0 means not at all, 10 the most.",
                error_messages={"invalid_choice": "Choose a number from 0 to 10."},
            )
        for index, prompt in enumerate(self.prompts):
            self.fields[f"answer_{index}"] = forms.CharField(
                label=prompt.get("label") or prompt["key"],
                required=False,
                max_length=MAX_ANSWER_CHARS,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        # Keep the reflection and its sharing choice last, after the exercise's own fields.
        for name in ("reflection", "reflection_shared", "completion_id", "client_uuid"):
            self.fields[name] = self.fields.pop(name)

    @property
    def rating_fields(self) -> list:
        return [self[f"rating_{key}"] for key in self.rating_keys]

    @property
    def answer_fields(self) -> list:
        return [self[f"answer_{index}"] for index in range(len(self.prompts))]

    def clean(self) -> dict:
        cleaned = super().clean()
        # A rating or answer this practice does not ask for is a mistake, not something to drop.
        unknown = [
            name
            for name in self.data
            if name.startswith(("rating_", "answer_")) and name not in self.fields
        ]
        if unknown:
            raise forms.ValidationError(
                "This form had a rating or answer that this practice does not ask for. "
                "Please reload the page and try again.",
                code="unknown_field",
            )
        return cleaned

    @classmethod
    def initial_for(cls, exercise: Exercise, completion: Completion | None, minutes: int | None):
        """Prefill from today's log when correcting, else from a timer or the typical minutes."""
        if completion is None:
            return {
                "minutes": exercise.typical_minutes if minutes is None else minutes,
                "client_uuid": uuid.uuid4(),
            }
        initial = {
            "minutes": completion.minutes,
            "reflection": completion.reflection,
            "reflection_shared": completion.reflection_shared,
            "completion_id": completion.pk,
        }
        for key in asked_ratings(exercise):
            value = getattr(completion, key)
            initial[f"rating_{key}"] = "" if value is None else str(value)
        prompts = [p for p in exercise.prompts if isinstance(p, dict) and "key" in p]
        for index, prompt in enumerate(prompts):
            initial[f"answer_{index}"] = (completion.answers or {}).get(prompt["key"], "")
        return initial

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "minutes": data["minutes"],
            "ratings": {key: data.get(f"rating_{key}") for key in self.rating_keys},
            "answers": {
                prompt["key"]: data.get(f"answer_{index}", "")
                for index, prompt in enumerate(self.prompts)
            },
            "reflection": data.get("reflection", ""),
            "reflection_shared": bool(data.get("reflection_shared")),
            "practised_on": data.get("practised_on"),
            "client_uuid": data.get("client_uuid"),
            "stirred_up": bool(data.get("stirred_up")),
        }


def _day_label(day: date, index: int) -> str:
    if index == 0:
        return f"Today, {day:%A} {day.day} {day:%B}"
    if index == 1:
        return f"Yesterday, {day:%A} {day.day} {day:%B}"
    return f"{day:%A} {day.day} {day:%B}"


class FeedbackForm(CheckedForm):
    text = forms.CharField(
        label="Your feedback",
        max_length=MAX_FEEDBACK_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your client sees this with their practice log.",
        error_messages={"required": "Write a few words before sending."},
    )


class ReplyForm(CheckedForm):
    """The client's answer in the conversation on one of their logs."""

    text = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"Only your clinician sees this. Up to {MAX_FEEDBACK_CHARS:,} characters.",
        error_messages={"required": "Write a few words before sending."},
    )

    def clean_text(self) -> str:
        # Length is the service's rule, so the page and the API say the same thing.
        try:
            return message_text_clean(self.cleaned_data.get("text"))
        except ValidationError as error:
            raise ValidationError(error.message_dict["text"]) from error
