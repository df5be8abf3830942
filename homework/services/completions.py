"""Logging practice: a client writes (and the same day corrects) one log per plan per day,
or as many as they need for an "any time" practice.

Rules:
- The log's date is the day it was practised on: the client's local date at `now`, in
  their own time zone, or an earlier day still inside the grace window
  (settings.LOG_GRACE_HOURS): a log for an earlier day is marked "logged later" and
  cannot correct a log already written for that day.
- A log may carry an id made on the client's device (`client_uuid`): sending it again
  (a replay after being offline, a double tap, two tabs) answers with the log already
  written and changes nothing.
- A new log needs a running plan: not paused, not ended, started and not past its
  end date. (Paused days ask for nothing, so they take no new logs either.)
- Logging the same plan again on the same local day corrects that day's log,
  whatever the plan's status is by then. A log from an earlier day cannot be
  changed, so the record stays as it was on the day.
- Only the ratings the exercise asks for (0..10, or left out), minutes 0..600,
  and answers to the exercise's own prompts. Anything else is refused whole:
  nothing is written.
"""

import enum
from datetime import date, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import clinical_record_create
from homework.models import Assignment, Completion, Exercise, Rating
from homework.schedule import local_date
from homework.selectors.practice import logging_closed_reason
from notifications.models import Notification
from notifications.services import notification_create_on_channels

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


def earliest_loggable_day(*, client: User, now: datetime) -> date:
    """The earliest local day a practice may still be logged for (the grace window)."""
    return local_date(now - timedelta(hours=settings.LOG_GRACE_HOURS), client.zone)


def practised_on_refusal(*, client: User, practised_on: date, now: datetime) -> str | None:
    """Why a log for that day cannot be written now, in the client's words; None if it can."""
    today = local_date(now, client.zone)
    if practised_on > today:
        return "That day hasn't come yet. Choose today or an earlier day."
    if practised_on < earliest_loggable_day(client=client, now=now):
        hours = settings.LOG_GRACE_HOURS
        return (
            f"Practice can be logged up to {hours} hours afterwards, and that day is "
            "further back. Thank you for practising all the same."
        )
    return None


def completion_for_client_uuid(*, client: User, client_uuid: UUID | None) -> Completion | None:
    """The log this client's device already sent with that id, if any."""
    if client_uuid is None:
        return None
    return (
        Completion.objects.select_related("assignment__exercise")
        .filter(client_id=client.pk, client_uuid=client_uuid)
        .first()
    )


class Logged(enum.Enum):
    """What a log request did: wrote a new log, corrected the day's log, or answered
    with the log its client_uuid already wrote (the phone's queue sending again)."""

    CREATED = "created"
    CORRECTED = "corrected"
    REPLAYED = "replayed"


def completion_log(**arguments) -> Completion:
    """`completion_log_outcome`'s log, for callers that need not tell the cases apart."""
    completion, _outcome = completion_log_outcome(**arguments)
    return completion


def completion_log_outcome(
    *,
    client: User,
    assignment: Assignment,
    minutes: int,
    ratings: dict[str, int | None] | None = None,
    answers: dict[str, str] | None = None,
    reflection: str = "",
    reflection_shared: bool = False,
    practised_on: date | None = None,
    client_uuid: UUID | None = None,
    stirred_up: bool = False,
    now: datetime | None = None,
) -> tuple[Completion, Logged]:
    """Log a practice (today's unless practised_on says an earlier day), or correct today's
    log of a plan that takes one a day. A client_uuid already used answers with its log,
    whatever has changed since (the plan ended, the day left the grace window).

    A new log, nearly every request, costs one statement: the replay is looked for only
    when the log cannot be written as asked (refused, or a constraint says it exists).
    """
    if assignment.client_id != client.pk:
        raise PermissionDenied("This practice belongs to someone else.")
    now = now or timezone.now()
    try:
        return _logged(
            client=client,
            assignment=assignment,
            client_uuid=client_uuid,
            now=now,
            practised_on=practised_on,
            minutes=minutes,
            ratings=ratings or {},
            answers=answers or {},
            reflection=reflection,
            reflection_shared=reflection_shared,
            stirred_up=stirred_up,
        )
    except ValidationError:
        replayed = _replayed(client=client, client_uuid=client_uuid, assignment=assignment)
        if replayed is None:
            raise
        return replayed, Logged.REPLAYED


def _replayed(
    *, client: User, client_uuid: UUID | None, assignment: Assignment
) -> Completion | None:
    """The log this client_uuid already wrote for this plan; refused for another plan."""
    replayed = completion_for_client_uuid(client=client, client_uuid=client_uuid)
    if replayed is not None and replayed.assignment_id != assignment.pk:
        raise ValidationError({"client_uuid": "This id was already used for another practice log."})
    return replayed


def _logged(
    *,
    client: User,
    assignment: Assignment,
    client_uuid: UUID | None,
    now: datetime,
    practised_on: date | None,
    stirred_up: bool,
    **answered,
) -> tuple[Completion, Logged]:
    today = local_date(now, client.zone)
    day = today if practised_on is None else practised_on
    refusal = practised_on_refusal(client=client, practised_on=day, now=now)
    if refusal is not None:
        raise ValidationError({"practised_on": refusal}, code="outside_grace")
    fields = _cleaned_fields(assignment.exercise, **answered)
    fields["stirred_up"] = bool(stirred_up)
    repeatable = assignment.exercise.any_time
    # Insert first and let the constraints say whether this log exists: a new log (nearly
    # every submit) costs no extra read, and a second submit racing this one becomes a
    # correction (or the replayed log) either way.
    reason = logging_closed_reason(assignment, day)
    if reason is None:
        completion = Completion(
            assignment=assignment,
            client_id=client.pk,
            local_date=day,
            logged_later=day < today,
            repeatable=repeatable,
            client_uuid=client_uuid,
            created_at=now,
            **fields,
        )
        try:
            # With its audit event, in one statement where the database allows.
            clinical_record_create(completion)
            return completion, Logged.CREATED
        except IntegrityError:
            replayed = _replayed(client=client, client_uuid=client_uuid, assignment=assignment)
            if replayed is not None:
                return replayed, Logged.REPLAYED
            existing = _days_log(assignment, day)
            if existing is None:
                raise
            if day < today:
                raise ValidationError(
                    {"practised_on": "This practice is already logged for that day."},
                    code="already_logged",
                ) from None
            return _apply(existing, fields), Logged.CORRECTED
    # A closed plan takes no new log, but today's log (written before it closed) may be
    # corrected; a replay of that log is answered with it, unchanged.
    replayed = _replayed(client=client, client_uuid=client_uuid, assignment=assignment)
    if replayed is not None:
        return replayed, Logged.REPLAYED
    existing = None if day < today or repeatable else _days_log(assignment, day)
    if existing is None:
        raise ValidationError(reason, code="closed")
    return _apply(existing, fields), Logged.CORRECTED


def _days_log(assignment: Assignment, day: date) -> Completion | None:
    """The one log of a once-a-day plan on that day (any-time logs are never corrected this way)."""
    return Completion.objects.filter(
        assignment=assignment, local_date=day, repeatable=False
    ).first()


def completion_correct(
    *,
    client: User,
    completion: Completion,
    minutes: int | None = None,
    ratings: dict[str, int | None] | None = None,
    answers: dict[str, str] | None = None,
    reflection: str | None = None,
    reflection_shared: bool | None = None,
    stirred_up: bool | None = None,
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
    fields["stirred_up"] = completion.stirred_up if stirred_up is None else bool(stirred_up)
    return _apply(completion, fields)


def completion_clinician_tell(
    *, client: User, completion: Completion, now: datetime | None = None
) -> Completion:
    """The client asks their clinician to know that a practice was hard.

    The clinician gets one email (and one push, if they subscribed a device) that says
    only that a client asked them to look at a practice log; asking twice sends nothing
    more.
    """
    if completion.client_id != client.pk:
        raise PermissionDenied("This log belongs to someone else.")
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Completion.objects.filter(
            pk=completion.pk, clinician_told_at__isnull=True
        ).update(clinician_told_at=now)
        profile = getattr(client, "client_profile", None)
        clinician = profile.clinician if profile is not None else None
        if claimed and clinician is not None and clinician.is_active:
            notification_create_on_channels(
                kind=Notification.Kind.PRACTICE_HARD,
                to_email=clinician.email,
                recipient_id=clinician.pk,
                idempotency_key=f"practice_hard:{completion.pk}",
                context={"client_id": client.pk},
                now=now,
            )
    completion.refresh_from_db()
    return completion


def _apply(completion: Completion, fields: dict) -> Completion:
    for name, value in fields.items():
        setattr(completion, name, value)
    completion.save(update_fields=[*fields, "updated_at"])
    return completion
