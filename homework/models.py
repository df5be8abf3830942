"""Exercises, assignments (with a schedule), completions and feedback."""

import hashlib

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.encryption import EncryptedJSONField, EncryptedTextField
from homework.audio import audio_storage


class Category(models.TextChoices):
    MINDFULNESS = "mindfulness", "Mindfulness"
    SELF_KINDNESS = "self_kindness", "Self-kindness"
    COMMON_HUMANITY = "common_humanity", "Common humanity"
    REFRAMING = "reframing", "Reframing"
    MEDITATION = "meditation", "Meditation"
    SOOTHING = "soothing", "Soothing"
    SELF_TALK = "self_talk", "Self-talk"
    SELF_CARE = "self_care", "Self-care"


class Rating(models.TextChoices):
    """The 0-10 ratings an exercise may ask for; each is a column on Completion."""

    DISTRESS_BEFORE = "distress_before", "Distress before"
    DISTRESS_AFTER = "distress_after", "Distress after"
    BELIEF_BEFORE = "belief_before", "Belief in the critical thought before"
    BELIEF_AFTER = "belief_after", "Belief in the critical thought after"
    SELF_CRITICISM_BEFORE = "self_criticism_before", "Self-criticism before"
    SELF_CRITICISM_AFTER = "self_criticism_after", "Self-criticism after"
    SELF_KINDNESS_AFTER = "self_kindness_after", "Self-kindness after"


# Pairs whose before-to-after change is meaningful, and whether a fall is the good direction.
RATING_PAIRS = [
    ("distress", Rating.DISTRESS_BEFORE, Rating.DISTRESS_AFTER),
    ("belief", Rating.BELIEF_BEFORE, Rating.BELIEF_AFTER),
    ("self_criticism", Rating.SELF_CRITICISM_BEFORE, Rating.SELF_CRITICISM_AFTER),
]


class ExerciseQuerySet(models.QuerySet):
    def visible_to_clinic(self, clinic_id: int | None) -> "ExerciseQuerySet":
        return self.filter(models.Q(clinic__isnull=True) | models.Q(clinic_id=clinic_id))

    def active(self) -> "ExerciseQuerySet":
        return self.filter(archived_at__isnull=True)


class Exercise(models.Model):
    """A practice. clinic=None marks the built-in library, which is read-only."""

    clinic = models.ForeignKey(
        "accounts.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="exercises"
    )
    # Stable identifier of a built-in, so loading the library twice changes nothing.
    slug = models.SlugField(max_length=80, blank=True)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=Category.choices)
    summary = models.TextField()
    # Ordered guided steps: a list of strings.
    steps = models.JSONField(default=list)
    # Reflection prompts: a list of {"key": str, "label": str, "phrase": bool}.
    # A prompt marked phrase feeds the client's phrase bank.
    prompts = models.JSONField(default=list)
    # Which Rating keys to ask for, in order.
    ratings = models.JSONField(default=list)
    typical_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    # An "any time" practice is for a hard moment whenever it comes: a client may log it
    # as often as they need in a day, and Today offers it under "I need a moment".
    any_time = models.BooleanField(default=False)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # A recording of the clinician guiding the practice, its steps as the transcript.
    # Stored privately (homework.audio.audio_storage), served only by the audio view.
    audio = models.FileField(storage=audio_storage, upload_to="exercise-audio/", blank=True)
    audio_content_type = models.CharField(max_length=32, blank=True)

    objects = ExerciseQuerySet.as_manager()

    class Meta:
        ordering = ["category", "title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(clinic__isnull=True),
                name="builtin_exercise_slug_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_builtin(self) -> bool:
        return self.clinic_id is None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def audio_url(self) -> str:
        """Where the recording is heard; a replaced recording gets a new address, so the
        installed app's kept copy of the old one is never played in its place."""
        if not self.audio:
            return ""
        version = hashlib.sha256(self.audio.name.encode()).hexdigest()[:10]
        return f"{reverse('homework:exercise-audio', args=[self.pk])}?v={version}"


class ScheduleKind(models.TextChoices):
    DAILY = "daily", "Every day"
    WEEKDAYS = "weekdays", "Chosen weekdays"
    TIMES_PER_WEEK = "times_per_week", "N times a week"


class AssignmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class Assignment(models.Model):
    """An exercise given to a client with a schedule in the client's own time zone."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_homework"
    )
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="assignments")
    note = models.TextField(blank=True)
    schedule_kind = models.CharField(
        max_length=16, choices=ScheduleKind.choices, default=ScheduleKind.DAILY
    )
    # Bit i set = weekday i (Monday = 0). Used when schedule_kind is "weekdays".
    weekdays = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(127)]
    )
    # Used when schedule_kind is "times_per_week".
    times_per_week = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    # Local time of day in the client's zone; None means the client's own preference.
    reminder_time = models.TimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "status"], name="assignment_client_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="assignment_end_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(schedule_kind="weekdays") | models.Q(weekdays__gt=0),
                name="assignment_weekdays_chosen",
            ),
            models.CheckConstraint(
                condition=~models.Q(schedule_kind="times_per_week")
                | models.Q(times_per_week__gte=1, times_per_week__lte=7),
                name="assignment_times_per_week_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Assignment {self.pk}"


class EventAction:
    """The values of AssignmentEvent.action: services write them, the history selector
    reads them, so they live with the model rather than in either."""

    CREATED = "created"
    EDITED = "edited"
    PAUSED = "paused"
    RESUMED = "resumed"
    ENDED = "ended"


class AssignmentEvent(models.Model):
    """History of an assignment: created, edited, paused, resumed, ended."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} on assignment {self.assignment_id}"


def _rating_field(label: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )


class Completion(models.Model):
    """One logged practice, on the client's local date (the day it was practised).

    One per assignment per day, except for "any time" practices (`repeatable`), which
    may be logged as often as needed.
    """

    # No single-column indexes on these two: the (assignment, local_date) unique constraint
    # and the (client, local_date) index lead with them and serve every lookup. With a
    # client_id index of its own, PostgreSQL read a caseload's whole history through it
    # and filtered by date (1.9 ms instead of 0.6 ms at clinic scale, docs/benchmarks.md).
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="completions", db_index=False
    )
    # Denormalised from the assignment so per-client reads need no join.
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="completions",
        db_index=False,
    )
    # The client's local date the practice was done on; created_at is when it was logged.
    local_date = models.DateField()
    # Logged on a later local day than local_date (within the grace window).
    logged_later = models.BooleanField(default=False)
    # Copied from the exercise's any_time when logged, so the one-per-day rule can be a
    # database constraint (a constraint cannot look through to the exercise).
    repeatable = models.BooleanField(default=False)
    # Made on the client's device for each log, so a replay, a double tap or two tabs
    # write one log: unique per client.
    client_uuid = models.UUIDField(null=True, blank=True)
    minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(600)]
    )
    distress_before = _rating_field("distress before")
    distress_after = _rating_field("distress after")
    belief_before = _rating_field("belief before")
    belief_after = _rating_field("belief after")
    self_criticism_before = _rating_field("self-criticism before")
    self_criticism_after = _rating_field("self-criticism after")
    self_kindness_after = _rating_field("self-kindness after")
    # Answers to the exercise's prompts: {prompt key: text}. This and the reflection are
    # what the client wrote: encrypted at rest (core.encryption), readable, not searchable.
    answers = EncryptedJSONField(default=dict, blank=True)
    reflection = EncryptedTextField(blank=True)
    reflection_shared = models.BooleanField(default=True)
    # "This stirred up something hard": the client's own word that the practice hurt.
    stirred_up = models.BooleanField(default=False)
    # When the client chose "let my clinician know" on the grounding page.
    clinician_told_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-local_date", "-id"]
        indexes = [
            models.Index(fields=["client", "local_date"], name="completion_client_date"),
            # The one-per-day constraint below is partial, so it no longer serves every
            # lookup by plan and day.
            models.Index(fields=["assignment", "local_date"], name="completion_assignment_date"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "local_date"],
                condition=models.Q(repeatable=False),
                name="completion_one_per_assignment_day",
            ),
            models.UniqueConstraint(
                fields=["client", "client_uuid"], name="completion_client_uuid_unique"
            ),
            *[
                models.CheckConstraint(
                    condition=models.Q(**{f"{rating}__isnull": True})
                    | models.Q(**{f"{rating}__lte": 10}),
                    name=f"completion_{rating}_range",
                )
                for rating in Rating.values
            ],
        ]

    def __str__(self) -> str:
        return f"Completion {self.pk}"

    # Distress after at least this much above before: self-compassion practice can stir
    # up old pain at first ("backdraft"), which teachers meet gently, not as failure.
    BACKDRAFT_RISE = 2

    @property
    def is_backdraft(self) -> bool:
        before, after = self.distress_before, self.distress_after
        rose = before is not None and after is not None and after - before >= self.BACKDRAFT_RISE
        return self.stirred_up or rose


class Feedback(models.Model):
    """One message in the conversation on a completion: the clinician's feedback, or the
    client's reply to it. The messages of one completion, in order, are its thread."""

    completion = models.ForeignKey(Completion, on_delete=models.CASCADE, related_name="feedback")
    # The clinician of the thread: the author of feedback, the addressee of a client's reply.
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # A boolean rather than an author key: a thread has two people, and "unread replies
    # from clients" must be one indexed filter.
    from_client = models.BooleanField(default=False)
    # Often quotes or answers the reflection: encrypted at rest like it.
    text = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    # When the other person (the client for feedback, the clinician for a reply) read it.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The clinician's inbox: unread replies from clients.
            models.Index(
                fields=["completion"],
                condition=models.Q(from_client=True, read_at__isnull=True),
                name="feedback_unread_client_reply",
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback {self.pk} on completion {self.completion_id}"


class ClientNote(models.Model):
    """A clinician's private note about a client: never shown to the client, in their
    portal, their API or their own export (see the README for the clinician's export)."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinician_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Clinical free text: encrypted at rest like reflections and feedback.
    text = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"], name="clientnote_client_created")]

    def __str__(self) -> str:
        return f"Note {self.pk} on client {self.client_id}"


class FiguresVersion(models.Model):
    """A client's figures version: a fresh random value whenever a row the caseload's
    figures are computed from changes (a plan, its history, a log).

    Written only by database triggers (homework/migrations/0010), never by Python, so
    no write can forget it: bulk updates, raw SQL, COPY and migrations bump it too. A
    random value rather than a counter, because a counter can repeat: a rolled-back
    transaction or a restored backup takes it back to a number that cached figures
    were already computed under. No row means no such write since the triggers came.

    No foreign key: a deleted client's logs bump their version as they go, and a
    constraint would then refuse the delete.
    """

    client = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    version = models.UUIDField()

    def __str__(self) -> str:
        return f"Figures version of client {self.client_id}"
