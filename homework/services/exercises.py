"""Writes for exercises: the built-in library loader and a clinic's own exercises.

Built-ins (clinic=None) come only from homework/library/exercises.json and are
read-only everywhere else; a clinic adapts one by copying it. Exercises are
archived, never deleted: completions and assignments point at them, and an
archived exercise can be restored.
"""

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Clinic, User
from core.storage import StorageUnavailableError, storage_save
from homework.audio import audio_kind
from homework.models import Exercise, Rating

LIBRARY_PATH = Path(__file__).resolve().parent.parent / "library" / "exercises.json"

# The fields a built-in takes from the data file; the rest belong to the database.
LIBRARY_FIELDS = ("title", "category", "summary", "steps", "prompts", "ratings", "typical_minutes")

MAX_TITLE_LENGTH = 200
MAX_SUMMARY_LENGTH = 2000
MAX_STEPS = 20
MAX_STEP_LENGTH = 500
MAX_PROMPTS = 10
MAX_PROMPT_LENGTH = 300
PROMPT_KEY_LENGTH = 40
PROMPT_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class BuiltinExerciseError(ValidationError):
    """A write that would change the read-only built-in library."""

    def __init__(self) -> None:
        super().__init__(
            "Built-in exercises cannot be changed. Copy it into your clinic to adapt it.",
            code="builtin",
        )


# --- Validation shared by the library loader, the pages and (later) the API ---


def exercise_validate(*, exercise: Exercise) -> None:
    """Raise ValidationError with field messages unless the exercise is sound.

    The JSON fields are checked here rather than by full_clean, whose "blank"
    rule would refuse an exercise without prompts or ratings (both may be empty).
    """
    errors: dict[str, list[str]] = {}
    try:
        exercise.full_clean(
            exclude=["title", "summary", "steps", "prompts", "ratings", "copied_from", "created_by"]
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    # Plainer words than the model's generic messages.
    if "category" in errors:
        errors["category"] = ["Choose a category from the list."]
    if "typical_minutes" in errors:
        errors["typical_minutes"] = ["Typical minutes must be a whole number from 1 to 240."]
    title = exercise.title if isinstance(exercise.title, str) else ""
    if not title.strip():
        errors["title"] = ["Give the exercise a title."]
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = [f"Keep the title under {MAX_TITLE_LENGTH} characters."]
    summary = exercise.summary if isinstance(exercise.summary, str) else ""
    if not summary.strip():
        errors["summary"] = ["Write a short summary."]
    elif len(summary) > MAX_SUMMARY_LENGTH:
        errors["summary"] = [f"Keep the summary under {MAX_SUMMARY_LENGTH} characters."]
    for field, messages in (
        ("steps", _steps_problems(exercise.steps)),
        ("prompts", _prompts_problems(exercise.prompts)),
        ("ratings", _ratings_problems(exercise.ratings)),
    ):
        if messages:
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _steps_problems(steps: Any) -> list[str]:
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        return ["Steps must be a list of text."]
    if not any(step.strip() for step in steps):
        return ["Add at least one step."]
    problems = []
    if any(not step.strip() for step in steps):
        problems.append("A step cannot be empty.")
    if len(steps) > MAX_STEPS:
        problems.append(f"Use at most {MAX_STEPS} steps.")
    if any(len(step) > MAX_STEP_LENGTH for step in steps):
        problems.append(f"Keep each step under {MAX_STEP_LENGTH} characters.")
    return problems


def _prompts_problems(prompts: Any) -> list[str]:
    if not isinstance(prompts, list) or not all(isinstance(p, dict) for p in prompts):
        return ["Prompts must be a list."]
    problems = []
    if len(prompts) > MAX_PROMPTS:
        problems.append(f"Use at most {MAX_PROMPTS} prompts.")
    keys = [prompt.get("key") for prompt in prompts]
    if any(
        not isinstance(key, str)
        or len(key) > PROMPT_KEY_LENGTH
        or not PROMPT_KEY_PATTERN.match(key)
        for key in keys
    ):
        problems.append("Each prompt needs a short key of lowercase letters, digits and _.")
    elif len(set(keys)) != len(keys):
        problems.append("Two prompts have the same key.")
    labels = [prompt.get("label") for prompt in prompts]
    if any(not isinstance(label, str) or not label.strip() for label in labels):
        problems.append("A prompt cannot be empty.")
    elif any(len(label) > MAX_PROMPT_LENGTH for label in labels):
        problems.append(f"Keep each prompt under {MAX_PROMPT_LENGTH} characters.")
    if any(not isinstance(prompt.get("phrase", False), bool) for prompt in prompts):
        problems.append("A prompt's phrase marker must be true or false.")
    if any(set(prompt) - {"key", "label", "phrase"} for prompt in prompts):
        problems.append("A prompt has only a key, a label and a phrase marker.")
    return problems


def _ratings_problems(ratings: Any) -> list[str]:
    if not isinstance(ratings, list):
        return ["Ratings must be a list."]
    if any(rating not in Rating.values for rating in ratings):
        return ["Choose ratings from the list."]
    if len(set(ratings)) != len(ratings):
        return ["Each rating can be asked only once."]
    return []


def exercise_prompts_from_labels(
    *, labels: Sequence[tuple[str, bool]], previous: Sequence[dict] = ()
) -> list[dict]:
    """Prompts from (label, is_phrase) pairs, keeping the keys of prompts that stay.

    Clients' answers are stored under a prompt's key, so an edit must not
    re-key a prompt that is still there: a prompt keeps its key when its label
    is unchanged, or when it stands where a prompt with an unchanged position
    stood before (a reworded prompt). Only genuinely new prompts get new keys.
    """
    previous = [p for p in previous if isinstance(p, dict) and isinstance(p.get("key"), str)]
    keys: list[str | None] = [None] * len(labels)
    taken: set[str] = set()
    by_label = {_label_match(p.get("label", "")): p["key"] for p in previous}
    for index, (label, _phrase) in enumerate(labels):
        key = by_label.get(_label_match(label))
        if key and key not in taken:
            keys[index] = key
            taken.add(key)
    for index in range(len(labels)):
        if keys[index] is None and index < len(previous):
            key = previous[index]["key"]
            if key not in taken:
                keys[index] = key
                taken.add(key)
    all_previous_keys = {p["key"] for p in previous}
    for index, (label, _phrase) in enumerate(labels):
        if keys[index] is None:
            # Never reuse a key a removed prompt had: old answers stay under it.
            keys[index] = _new_prompt_key(label, taken | all_previous_keys)
            taken.add(keys[index])
    return [
        {"key": key, "label": label.strip(), "phrase": bool(phrase)}
        for key, (label, phrase) in zip(keys, labels, strict=True)
    ]


def _label_match(label: str) -> str:
    return " ".join(label.split()).casefold()


def _new_prompt_key(label: str, taken: set[str]) -> str:
    base = slugify(label).replace("-", "_")[: PROMPT_KEY_LENGTH - 4].strip("_") or "prompt"
    if not base[0].isalnum():
        base = f"p_{base}"
    key, number = base, 2
    while key in taken:
        key = f"{base}_{number}"
        number += 1
    return key


# --- The built-in library ---


@dataclass(frozen=True)
class LibraryLoadResult:
    created: int = 0
    updated: int = 0
    archived: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.archived)


@cache
def _library_file_entries(path: Path) -> tuple[dict, ...]:
    with path.open(encoding="utf-8") as handle:
        return tuple(json.load(handle)["exercises"])


def exercise_library_entries(*, path: Path = LIBRARY_PATH) -> list[dict]:
    """The built-in exercises as written in the data file (read once per process)."""
    # Deep copies: callers may change what they get without touching the cache.
    return deepcopy(list(_library_file_entries(path)))


def _library_fields(entry: dict) -> dict[str, Any]:
    missing = [name for name in ("slug", *LIBRARY_FIELDS) if name not in entry]
    if missing:
        raise ValidationError(
            f"Library entry {entry.get('slug', '?')!r} is missing {', '.join(missing)}."
        )
    fields = {name: entry[name] for name in LIBRARY_FIELDS}
    # Optional in the file: most practices are planned, a few are for any hard moment.
    fields["any_time"] = entry.get("any_time", False) is True
    # A prompt's phrase marker is optional in the file; stored explicitly.
    if isinstance(fields["prompts"], list):
        fields["prompts"] = [
            {**prompt, "phrase": prompt.get("phrase", False)}
            if isinstance(prompt, dict)
            else prompt
            for prompt in fields["prompts"]
        ]
    return fields


def exercise_library_load(
    *, entries: Iterable[dict] | None = None, using: str = "default", now: datetime | None = None
) -> LibraryLoadResult:
    """Upsert the built-in library by slug. Loading the same data twice changes nothing.

    A built-in only gets saved (and a new updated_at) when its content differs
    from the data. A built-in whose slug left the data file is archived, not
    deleted, because assignments and completions may point at it; it comes back
    if the slug returns.
    """
    now = now or timezone.now()
    wanted: dict[str, dict[str, Any]] = {}
    for entry in exercise_library_entries() if entries is None else entries:
        slug = entry.get("slug")
        if not slug or slug in wanted:
            raise ValidationError(f"Every library entry needs its own slug (problem: {slug!r}).")
        wanted[slug] = _library_fields(entry)

    created = updated = archived = unchanged = 0
    with transaction.atomic(using=using):
        existing = {
            exercise.slug: exercise
            for exercise in Exercise.objects.using(using)
            .select_for_update()
            .filter(clinic__isnull=True)
            .exclude(slug="")
        }
        for slug, fields in wanted.items():
            exercise = existing.get(slug)
            if exercise is None:
                exercise = Exercise(clinic=None, slug=slug, created_at=now, **fields)
                _library_validate(exercise)
                exercise.save(using=using)
                created += 1
                continue
            changed = [name for name, value in fields.items() if getattr(exercise, name) != value]
            for name in changed:
                setattr(exercise, name, fields[name])
            if exercise.archived_at is not None:
                exercise.archived_at = None
                changed.append("archived_at")
            if changed:
                _library_validate(exercise)
                exercise.save(using=using, update_fields=[*changed, "updated_at"])
                updated += 1
            else:
                unchanged += 1
        for slug, exercise in existing.items():
            if slug not in wanted and exercise.archived_at is None:
                exercise.archived_at = now
                exercise.save(using=using, update_fields=["archived_at", "updated_at"])
                archived += 1
    return LibraryLoadResult(
        created=created, updated=updated, archived=archived, unchanged=unchanged
    )


def _library_validate(exercise: Exercise) -> None:
    try:
        exercise_validate(exercise=exercise)
    except ValidationError as error:
        # Name the entry: this error is read by whoever edited the data file.
        raise ValidationError(
            f"Built-in exercise {exercise.slug!r} is invalid: {'; '.join(error.messages)}"
        ) from error


# --- A clinic's own exercises ---


def _exercise_set_content(
    exercise: Exercise,
    *,
    title: str,
    category: str,
    summary: str,
    steps: list[str],
    prompts: list[dict],
    ratings: list[str],
    typical_minutes: int,
    any_time: bool,
) -> list[str]:
    """Set the editable fields; return the names of those that changed."""
    values = {
        "title": title.strip(),
        "category": category,
        "summary": summary.strip(),
        "steps": [step.strip() for step in steps] if isinstance(steps, list) else steps,
        "prompts": prompts,
        "ratings": ratings,
        "typical_minutes": typical_minutes,
        "any_time": any_time,
    }
    changed = [name for name, value in values.items() if getattr(exercise, name) != value]
    for name in changed:
        setattr(exercise, name, values[name])
    return changed


@transaction.atomic
def exercise_create(
    *,
    clinic: Clinic,
    created_by: User | None,
    title: str,
    category: str,
    summary: str,
    steps: list[str],
    prompts: list[dict],
    ratings: list[str],
    typical_minutes: int,
    any_time: bool = False,
    now: datetime | None = None,
) -> Exercise:
    exercise = Exercise(clinic=clinic, created_by=created_by, created_at=now or timezone.now())
    _exercise_set_content(
        exercise,
        title=title,
        category=category,
        summary=summary,
        steps=steps,
        prompts=prompts,
        ratings=ratings,
        typical_minutes=typical_minutes,
        any_time=any_time,
    )
    exercise_validate(exercise=exercise)
    exercise.save()
    return exercise


@transaction.atomic
def exercise_update(
    *,
    exercise: Exercise,
    title: str,
    category: str,
    summary: str,
    steps: list[str],
    prompts: list[dict],
    ratings: list[str],
    typical_minutes: int,
    any_time: bool | None = None,
) -> list[str]:
    """Change a clinic exercise; return the names of the fields that changed.

    Assignments follow the change (they point at the exercise); past
    completions keep their answers under the prompt keys they used.
    """
    if exercise.is_builtin:
        raise BuiltinExerciseError()
    changed = _exercise_set_content(
        exercise,
        title=title,
        category=category,
        summary=summary,
        steps=steps,
        prompts=prompts,
        ratings=ratings,
        typical_minutes=typical_minutes,
        any_time=exercise.any_time if any_time is None else any_time,
    )
    if changed:
        exercise_validate(exercise=exercise)
        exercise.save(update_fields=[*changed, "updated_at"])
    return changed


@transaction.atomic
def exercise_copy(
    *, exercise: Exercise, clinic: Clinic, created_by: User | None, now: datetime | None = None
) -> Exercise:
    """A clinic's own editable copy of a built-in (or of one of its own exercises)."""
    if exercise.clinic_id not in (None, clinic.pk):
        raise ValidationError({"exercise": "Choose an exercise from your library."})
    copy = Exercise(
        clinic=clinic,
        created_by=created_by,
        copied_from=exercise,
        created_at=now or timezone.now(),
        title=exercise.title,
        category=exercise.category,
        summary=exercise.summary,
        steps=list(exercise.steps),
        prompts=[dict(prompt) for prompt in exercise.prompts],
        ratings=list(exercise.ratings),
        typical_minutes=exercise.typical_minutes,
        any_time=exercise.any_time,
    )
    exercise_validate(exercise=copy)
    copy.save()
    return copy


def exercise_archive(*, exercise: Exercise, now: datetime | None = None) -> bool:
    """Hide a clinic exercise from the library and from new assignments.

    Returns False if it was already archived. We always archive rather than
    delete, even an exercise never assigned: it is reversible, keeps the
    "copied from" links of its copies, and cannot race with a colleague who
    assigns it at the same moment. Existing assignments carry on unchanged.
    """
    if exercise.is_builtin:
        raise BuiltinExerciseError()
    archived_at = now or timezone.now()
    # Conditional update: archiving twice keeps the first date.
    updated = Exercise.objects.filter(pk=exercise.pk, archived_at__isnull=True).update(
        archived_at=archived_at, updated_at=archived_at
    )
    if updated:
        exercise.archived_at = archived_at
    return bool(updated)


def exercise_restore(*, exercise: Exercise) -> bool:
    """Bring an archived clinic exercise back. Returns False if it was not archived."""
    if exercise.is_builtin:
        raise BuiltinExerciseError()
    updated = Exercise.objects.filter(pk=exercise.pk, archived_at__isnull=False).update(
        archived_at=None, updated_at=timezone.now()
    )
    if updated:
        exercise.archived_at = None
    return bool(updated)


# --- Audio guides ---

AUDIO_HEAD_BYTES = 16
AUDIO_STORAGE_MESSAGE = (
    "The recording could not be saved: our storage is unavailable just now. "
    "Nothing was changed. Please try again later."
)


def exercise_audio_attach(*, exercise: Exercise, upload: UploadedFile) -> Exercise:
    """Attach (or replace) a clinic exercise's recording.

    The file's real type comes from its first bytes, never its name or the browser's
    word: MP3, M4A, OGG or WAV. Raises ValidationError (field "audio") and stores nothing
    when the file is not one of those or is larger than settings.AUDIO_MAX_BYTES. The
    stored name is made here, so nothing the uploader chose reaches the disk.
    """
    if exercise.is_builtin:
        raise BuiltinExerciseError()
    size = upload.size or 0
    if size == 0:
        raise ValidationError({"audio": "The file is empty. Choose a recording to attach."})
    if size > settings.AUDIO_MAX_BYTES:
        limit = max(settings.AUDIO_MAX_BYTES // (1024 * 1024), 1)
        raise ValidationError({"audio": f"Recordings can be at most {limit} MB."})
    upload.seek(0)
    kind = audio_kind(upload.read(AUDIO_HEAD_BYTES))
    upload.seek(0)
    if kind is None:
        raise ValidationError(
            {"audio": "This file is not a recording we can play. Use MP3, M4A, OGG or WAV."}
        )
    content_type, extension = kind
    previous = exercise.audio.name if exercise.audio else ""
    storage = exercise.audio.storage
    name = exercise.audio.field.generate_filename(exercise, f"{uuid.uuid4().hex}.{extension}")
    try:
        exercise.audio = storage_save(storage, name, upload)
    except StorageUnavailableError:
        exercise.audio = previous
        raise ValidationError({"audio": AUDIO_STORAGE_MESSAGE}) from None
    exercise.audio_content_type = content_type
    try:
        exercise.save(update_fields=["audio", "audio_content_type", "updated_at"])
    except Exception:
        # Nothing half-stored: the row did not change, so the new file goes too.
        exercise.audio.storage.delete(exercise.audio.name)
        raise
    if previous:
        exercise.audio.storage.delete(previous)
    return exercise


def exercise_audio_remove(*, exercise: Exercise) -> bool:
    """Take a clinic exercise's recording away; False when it had none."""
    if exercise.is_builtin:
        raise BuiltinExerciseError()
    if not exercise.audio:
        return False
    name, storage = exercise.audio.name, exercise.audio.storage
    exercise.audio = ""
    exercise.audio_content_type = ""
    exercise.save(update_fields=["audio", "audio_content_type", "updated_at"])
    storage.delete(name)
    return True
