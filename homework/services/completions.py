"""Logging practice: a client writes (and the same day corrects) one log per plan per day.

Rules:
- The log's date is the client's local date at `now`, in their own time zone.
- A new log needs a running plan: not paused, not ended, started and not past its
  end date. (Paused days ask for nothing, so they take no new logs either.)
- Logging the same plan again on the same local day corrects that day's log,
  whatever the plan's status is by then. A log from an earlier day cannot be
  changed, so the record stays as it was on the day.
- Only the ratings the exercise asks for (0..10, or left out), minutes 0..600,
  and answers to the exercise's own prompts. Anything else is refused whole:
  nothing is written.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from homework.models import Assignment, Completion, Exercise, Rating
from homework.schedule import local_date
from homework.selectors.practice import logging_closed_reason

MAX_MINUTES = 600
MAX_ANSWER_CHARS = 4000
MAX_REFLECTION_CHARS = 10000


class CompletionLocked(PermissionDenied):
    """A log from an earlier local day: it is kept as it was."""


def asked_ratings(exercise: Exercise) -> list[str]:
    """The exercise's rating keys that are real ratings, in its order."""
    return [key for key in exercise.ratings if key in Rating.values]


def prompt_keys(exercise: Exercise) -> list[str]:
    return [
        str(prompt["key"])
        for prompt in exercise.prompts
        if isinstance(prompt, dict) and "key" in prompt
    ]


def _clean_minutes(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ValidationError({"minutes": "Minutes must be a whole number."})
    if not 0 <= minutes <= MAX_MINUTES:
        raise ValidationError({"minutes": f"Minutes must be between 0 and {MAX_MINUTES}."})
    return minutes


def _clean_ratings(exercise: Exercise, ratings: dict) -> dict[str, int | None]:
    """Every asked rating as a value or None; refuses unknown keys and values outside 0..10."""
    asked = asked_ratings(exercise)
    errors = []
    for key in ratings:
        if key not in asked:
            label = Rating(key).label if key in Rating.values else str(key)
            errors.append(f"This practice does not ask for “{label}”.")
    cleaned: dict[str, int | None] = {}
    for key in asked:
        value = ratings.get(key)
        if value is None:
            cleaned[key] = None
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            errors.append(f"{Rating(key).label}: choose a number from 0 to 10.")
        else:
            cleaned[key] = value
    if errors:
        raise ValidationError({"ratings": errors})
    return cleaned


def _clean_answers(exercise: Exercise, answers: dict) -> dict[str, str]:
    keys = prompt_keys(exercise)
    errors = []
    cleaned = {}
    for key, value in answers.items():
        if key not in keys:
            errors.append("One of the answers is for a question this practice does not ask.")
            continue
        if not isinstance(value, str):
            errors.append("Answers must be text.")
            continue
        if len(value) > MAX_ANSWER_CHARS:
            errors.append(f"Each answer can be at most {MAX_ANSWER_CHARS} characters.")
            continue
        if value.strip():
            cleaned[key] = value.strip()
    if errors:
        raise ValidationError({"answers": errors})
    return cleaned


def _clean_reflection(reflection: object) -> str:
    if not isinstance(reflection, str):
        raise ValidationError({"reflection": "The reflection must be text."})
    if len(reflection) > MAX_REFLECTION_CHARS:
        raise ValidationError(
            {"reflection": f"The reflection can be at most {MAX_REFLECTION_CHARS} characters."}
        )
    return reflection.strip()


def _cleaned_fields(
    exercise: Exercise,
    *,
    minutes: object,
    ratings: dict,
    answers: dict,
    reflection: object,
    reflection_shared: object,
) -> dict:
    """Model field values from the client's input, or one ValidationError naming every problem."""
    fields: dict = {}
    errors: dict[str, list[str]] = {}
    for name, clean in (
        ("minutes", lambda: {"minutes": _clean_minutes(minutes)}),
        ("ratings", lambda: _clean_ratings(exercise, ratings or {})),
        ("answers", lambda: {"answers": _clean_answers(exercise, answers or {})}),
        ("reflection", lambda: {"reflection": _clean_reflection(reflection)}),
    ):
        try:
            fields.update(clean())
        except ValidationError as error:
            errors.setdefault(name, []).extend(error.message_dict.get(name, error.messages))
    if not isinstance(reflection_shared, bool):
        errors["reflection_shared"] = ["Choose whether to share the reflection."]
    if errors:
        raise ValidationError(errors)
    fields["reflection_shared"] = reflection_shared
    # Ratings the exercise does not ask for stay empty.
    for key in Rating.values:
        fields.setdefault(key, None)
    return fields


def completion_log(
    *,
    client: User,
    assignment: Assignment,
    minutes: int,
    ratings: dict[str, int | None] | None = None,
    answers: dict[str, str] | None = None,
    reflection: str = "",
    reflection_shared: bool = False,
    now: datetime | None = None,
) -> Completion:
    """Log today's practice of a plan, or correct today's log if there is one."""
    if assignment.client_id != client.pk:
        raise PermissionDenied("This practice belongs to someone else.")
    day = local_date(now or timezone.now(), client.zone)
    fields = _cleaned_fields(
        assignment.exercise,
        minutes=minutes,
        ratings=ratings or {},
        answers=answers or {},
        reflection=reflection,
        reflection_shared=reflection_shared,
    )
    # Insert first and let the one-log-per-plan-per-day constraint say whether today's log
    # exists: a new log (nearly every submit) costs no extra read, and a second submit
    # racing this one becomes a correction either way.
    reason = logging_closed_reason(assignment, day)
    if reason is None:
        try:
            with transaction.atomic():
                return Completion.objects.create(
                    assignment=assignment, client_id=client.pk, local_date=day, **fields
                )
        except IntegrityError:
            existing = Completion.objects.filter(assignment=assignment, local_date=day).first()
            if existing is None:
                raise
            return _apply(existing, fields)
    # A closed plan takes no new log, but today's log (written before it closed) may be corrected.
    existing = Completion.objects.filter(assignment=assignment, local_date=day).first()
    if existing is None:
        raise ValidationError(reason, code="closed")
    return _apply(existing, fields)


def completion_correct(
    *,
    client: User,
    completion: Completion,
    minutes: int | None = None,
    ratings: dict[str, int | None] | None = None,
    answers: dict[str, str] | None = None,
    reflection: str | None = None,
    reflection_shared: bool | None = None,
    now: datetime | None = None,
) -> Completion:
    """Correct a log written today (client's local date). Arguments left as None stay as they are.

    ratings and answers, when given, replace the whole set.
    """
    if completion.client_id != client.pk:
        raise PermissionDenied("This log belongs to someone else.")
    day = local_date(now or timezone.now(), client.zone)
    if completion.local_date != day:
        raise CompletionLocked(
            "Logs from earlier days can't be changed, so your record stays as it was on the day."
        )
    exercise = completion.assignment.exercise
    fields = _cleaned_fields(
        exercise,
        minutes=completion.minutes if minutes is None else minutes,
        ratings=(
            {key: getattr(completion, key) for key in asked_ratings(exercise)}
            if ratings is None
            else ratings
        ),
        answers=(
            # Keep only answers to prompts the exercise still asks.
            {k: v for k, v in (completion.answers or {}).items() if k in prompt_keys(exercise)}
            if answers is None
            else answers
        ),
        reflection=completion.reflection if reflection is None else reflection,
        reflection_shared=(
            completion.reflection_shared if reflection_shared is None else reflection_shared
        ),
    )
    return _apply(completion, fields)


def _apply(completion: Completion, fields: dict) -> Completion:
    for name, value in fields.items():
        setattr(completion, name, value)
    completion.save(update_fields=[*fields, "updated_at"])
    return completion
