"""Forms for the exercise library pages.

Steps and prompts are edited as plain text, one per line, so the page works
without JavaScript and a clinician can reorder by moving lines. The rules
themselves live in homework.services.exercises; the forms only turn text
into the shapes the services take.
"""

from django import forms
from django.core.exceptions import ValidationError

from core.forms import CheckedForm
from homework.models import Category, Exercise, Rating
from homework.services.exercises import (
    MAX_PROMPT_LENGTH,
    MAX_PROMPTS,
    MAX_STEP_LENGTH,
    MAX_STEPS,
    MAX_SUMMARY_LENGTH,
    MAX_TITLE_LENGTH,
    exercise_prompts_from_labels,
)

# A prompt line that starts with this asks for a personal phrase (the phrase bank).
PHRASE_MARKER = "*"


def apply_validation_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: by field where the form has it."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class LibraryFilterForm(CheckedForm):
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "All categories"), *Category.choices]
    )
    archived = forms.BooleanField(label="Show archived exercises instead", required=False)

    def __init__(self, *args, **kwargs) -> None:
        # The checkbox label follows its box, where a colon reads oddly.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ExerciseForm(CheckedForm):
    title = forms.CharField(
        label="Title",
        max_length=MAX_TITLE_LENGTH,
        error_messages={"required": "Give the exercise a title."},
    )
    category = forms.ChoiceField(
        label="Category",
        choices=Category.choices,
        error_messages={"invalid_choice": "Choose a category from the list."},
    )
    summary = forms.CharField(
        label="Summary",
        max_length=MAX_SUMMARY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or two sentences the client reads before starting.",
        error_messages={"required": "Write a short summary."},
    )
    steps = forms.CharField(
        label="Guided steps",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=f"One step per line, in order (at most {MAX_STEPS}).",
        error_messages={"required": "Add at least one step."},
    )
    prompts = forms.CharField(
        label="Reflection prompts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=(
            f"One question per line (at most {MAX_PROMPTS}). Start a line with "
            f"{PHRASE_MARKER} when the answer is a kind phrase the client may want to keep: "
            "it goes into their phrase bank."
        ),
    )
    ratings = forms.MultipleChoiceField(
        label="Ratings to ask (0 to 10)",
        required=False,
        choices=Rating.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose ratings from the list."},
    )
    typical_minutes = forms.IntegerField(
        label="Typical minutes",
        min_value=1,
        max_value=240,
        error_messages={
            "min_value": "Typical minutes must be a whole number from 1 to 240.",
            "max_value": "Typical minutes must be a whole number from 1 to 240.",
            "invalid": "Typical minutes must be a whole number from 1 to 240.",
        },
    )

    any_time = forms.BooleanField(
        label="Any time: clients may practise and log it whenever they need, as often as they like",
        required=False,
        help_text="Offered on the client's Today under “I need a moment”.",
    )

    def __init__(self, *args, exercise: Exercise | None = None, **kwargs) -> None:
        # `exercise` is the exercise being edited: its prompt keys are kept.
        self.exercise = exercise
        if exercise is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(exercise)
        super().__init__(*args, **kwargs)

    @staticmethod
    def initial_for(exercise: Exercise) -> dict:
        return {
            "title": exercise.title,
            "category": exercise.category,
            "summary": exercise.summary,
            "steps": "\n".join(exercise.steps),
            "prompts": "\n".join(
                f"{PHRASE_MARKER} {prompt['label']}" if prompt.get("phrase") else prompt["label"]
                for prompt in exercise.prompts
            ),
            "ratings": list(exercise.ratings),
            "typical_minutes": exercise.typical_minutes,
            "any_time": exercise.any_time,
        }

    def clean_steps(self) -> list[str]:
        steps = _lines(self.cleaned_data["steps"])
        if not steps:
            raise ValidationError("Add at least one step.")
        if len(steps) > MAX_STEPS:
            raise ValidationError(f"Use at most {MAX_STEPS} steps.")
        if any(len(step) > MAX_STEP_LENGTH for step in steps):
            raise ValidationError(f"Keep each step under {MAX_STEP_LENGTH} characters.")
        return steps

    def clean_prompts(self) -> list[dict]:
        labels: list[tuple[str, bool]] = []
        for line in _lines(self.cleaned_data["prompts"]):
            phrase = line.startswith(PHRASE_MARKER)
            label = line.removeprefix(PHRASE_MARKER).strip() if phrase else line
            if not label:
                raise ValidationError(
                    f"A line with only {PHRASE_MARKER} needs a question after it."
                )
            labels.append((label, phrase))
        if len(labels) > MAX_PROMPTS:
            raise ValidationError(f"Use at most {MAX_PROMPTS} prompts.")
        if any(len(label) > MAX_PROMPT_LENGTH for label, _ in labels):
            raise ValidationError(f"Keep each prompt under {MAX_PROMPT_LENGTH} characters.")
        previous = self.exercise.prompts if self.exercise is not None else []
        return exercise_prompts_from_labels(labels=labels, previous=previous)

    def clean_ratings(self) -> list[str]:
        # Always in the order of the list, whatever order the browser sent.
        chosen = set(self.cleaned_data["ratings"])
        return [rating for rating in Rating.values if rating in chosen]

    def service_arguments(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in (
                "title",
                "category",
                "summary",
                "steps",
                "prompts",
                "ratings",
                "typical_minutes",
                "any_time",
            )
        }
