"""API shapes of homework: exercises, assignments, practice logs, feedback, progress.

Serializers only check the shape of input (types, lengths, choices). Every rule
about what is allowed lives in homework.services and is called by homework.api,
exactly as the portal's views call it.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.access import clients_visible_to
from accounts.models import User
from core.api import (
    ClockTimeField,
    ScopedPrimaryKeyRelatedField,
    StrictModelSerializer,
    StrictSerializer,
)
from homework.models import (
    Assignment,
    AssignmentStatus,
    Category,
    ClientNote,
    Completion,
    Exercise,
    Feedback,
    Rating,
    ScheduleKind,
)
from homework.schedule import describe, weekdays_from_mask
from homework.selectors.assignments import assignment_schedule_text, assignments_visible_to
from homework.selectors.exercises import exercises_visible_to
from homework.selectors.practice import (
    assignment_with_exercise_visible_to,
    reflection_visible_to,
)
from homework.services import clients, completions, feedback
from homework.services.assignments import MAX_NOTE_LENGTH

# --- Exercises ---


class PromptSerializer(StrictSerializer):
    """A reflection prompt. Keys are made by the server and kept across edits."""

    key = serializers.CharField(read_only=True)
    label = serializers.CharField(max_length=300, trim_whitespace=True)
    phrase = serializers.BooleanField(
        default=False, help_text="Whether answers feed the client's bank of kind phrases."
    )


class ExerciseSerializer(StrictModelSerializer):
    source = serializers.SerializerMethodField()
    category = serializers.ChoiceField(choices=Category.choices)
    steps = serializers.ListField(
        child=serializers.CharField(max_length=500, allow_blank=True, trim_whitespace=False),
        max_length=100,
    )
    prompts = PromptSerializer(many=True, required=False, max_length=100)
    ratings = serializers.ListField(
        child=serializers.ChoiceField(choices=Rating.choices), required=False, max_length=20
    )
    typical_minutes = serializers.IntegerField(min_value=1, max_value=240)
    any_time = serializers.BooleanField(
        required=False,
        help_text="The client may practise and log it whenever they need, several times a day.",
    )
    has_audio = serializers.SerializerMethodField(
        help_text="Whether a recording is attached (GET /exercises/{id}/audio/ plays it)."
    )

    class Meta:
        model = Exercise
        fields = [
            "id",
            "source",
            "title",
            "category",
            "summary",
            "steps",
            "prompts",
            "ratings",
            "typical_minutes",
            "any_time",
            "copied_from",
            "archived_at",
            "created_at",
            "updated_at",
            "has_audio",
        ]
        read_only_fields = ["id", "copied_from", "archived_at", "created_at", "updated_at"]
        extra_kwargs = {
            "title": {"max_length": 200},
            "summary": {"max_length": 2000},
        }

    def get_has_audio(self, exercise: Exercise) -> bool:
        return bool(exercise.audio)

    @extend_schema_field(serializers.ChoiceField(choices=["builtin", "clinic"]))
    def get_source(self, exercise: Exercise) -> str:
        return "builtin" if exercise.is_builtin else "clinic"


# --- Assignments ---


class WeekdaysField(serializers.ListField):
    """Days of the week as numbers, Monday = 0; stored as a bit mask."""

    child = serializers.IntegerField(min_value=0, max_value=6)

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 7)
        kwargs.setdefault("help_text", "For chosen weekdays: 0 = Monday ... 6 = Sunday.")
        super().__init__(**kwargs)

    def to_representation(self, value: int | list[int]) -> list[int]:
        return weekdays_from_mask(value) if isinstance(value, int) else list(value)


class AssignmentSerializer(StrictModelSerializer):
    exercise_title = serializers.CharField(source="exercise.title", read_only=True)
    schedule_kind = serializers.ChoiceField(choices=ScheduleKind.choices, required=False)
    weekdays = WeekdaysField(required=False)
    times_per_week = serializers.IntegerField(
        min_value=1, max_value=7, allow_null=True, required=False
    )
    schedule_text = serializers.SerializerMethodField()
    note = serializers.CharField(max_length=MAX_NOTE_LENGTH, allow_blank=True, required=False)
    status = serializers.ChoiceField(choices=AssignmentStatus.choices, read_only=True)
    reminder_time = ClockTimeField(
        allow_null=True,
        required=False,
        help_text="In the client's time zone; null means the client's own reminder time.",
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "client",
            "clinician",
            "exercise",
            "exercise_title",
            "note",
            "schedule_kind",
            "weekdays",
            "times_per_week",
            "schedule_text",
            "start_date",
            "end_date",
            "reminder_time",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "client",
            "clinician",
            "exercise",
            "status",
            "created_at",
            "updated_at",
        ]

    def get_schedule_text(self, assignment: Assignment) -> str:
        return assignment_schedule_text(assignment)


class AssignmentCreateSerializer(AssignmentSerializer):
    client = ScopedPrimaryKeyRelatedField(
        model=User, visible_to=clients_visible_to, help_text="A client on your caseload."
    )
    exercise = ScopedPrimaryKeyRelatedField(
        model=Exercise, visible_to=exercises_visible_to, help_text="An exercise of your library."
    )

    class Meta(AssignmentSerializer.Meta):
        read_only_fields = ["id", "clinician", "status", "created_at", "updated_at"]


# --- Practice logs and feedback ---


class RatingsSerializer(StrictSerializer):
    """The 0-10 ratings; only those the exercise asks for may be given."""

    distress_before = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )
    distress_after = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )
    belief_before = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )
    belief_after = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )
    self_criticism_before = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )
    self_criticism_after = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )
    self_kindness_after = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False
    )


# Unbound fields that only format values, as the serializers' own fields do.
_DATE = serializers.DateField()
_DATETIME = serializers.DateTimeField()


class CompletionSerializer(StrictModelSerializer):
    """A practice log as its reader may see it.

    The reflection and the prompt answers come back empty where
    reflection_visible_to says the reader may not see them (a clinician reading
    a log the client chose not to share), exactly as on the clinician's pages.
    Only for logs the reader may see: the API's querysets come from
    completions_visible_to, and a client's own new or corrected log is theirs.
    """

    exercise = serializers.IntegerField(source="assignment.exercise_id", read_only=True)
    ratings = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    reflection = serializers.SerializerMethodField()

    class Meta:
        model = Completion
        fields = [
            "id",
            "assignment",
            "client",
            "exercise",
            "local_date",
            "logged_later",
            "client_uuid",
            "minutes",
            "ratings",
            "answers",
            "reflection",
            "reflection_shared",
            "stirred_up",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, completion: Completion) -> dict:
        """What the fields above make, without making them: a ModelSerializer builds its
        fields for every instance of itself, which cost an API log's answer 0.24 ms
        (docs/benchmarks.md). tests/api/test_completion_representation.py compares the
        two for every kind of log and reader, and fails on a field added to one only."""
        private = self._private_visible(completion)
        return {
            "id": completion.pk,
            "assignment": completion.assignment_id,
            "client": completion.client_id,
            "exercise": completion.assignment.exercise_id,
            "local_date": _DATE.to_representation(completion.local_date),
            "logged_later": completion.logged_later,
            "client_uuid": None if completion.client_uuid is None else str(completion.client_uuid),
            "minutes": completion.minutes,
            "ratings": self.get_ratings(completion),
            "answers": completion.answers if private else {},
            "reflection": completion.reflection if private else "",
            "reflection_shared": completion.reflection_shared,
            "stirred_up": completion.stirred_up,
            "created_at": _DATETIME.to_representation(completion.created_at),
            "updated_at": _DATETIME.to_representation(completion.updated_at),
        }

    @extend_schema_field(RatingsSerializer)
    def get_ratings(self, completion: Completion) -> dict[str, int | None]:
        return {key: getattr(completion, key) for key in Rating.values}

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_answers(self, completion: Completion) -> dict[str, str]:
        return completion.answers if self._private_visible(completion) else {}

    def get_reflection(self, completion: Completion) -> str:
        return completion.reflection if self._private_visible(completion) else ""

    def _private_visible(self, completion: Completion) -> bool:
        reader = getattr(self.context.get("request"), "user", None)
        return reflection_visible_to(reader, completion, record_visible=True)


class CompletionWriteSerializer(StrictSerializer):
    """Logging or correcting practice; the rules live in homework.services.completions."""

    minutes = serializers.IntegerField(min_value=0, max_value=completions.MAX_MINUTES)
    ratings = RatingsSerializer(required=False)
    answers = serializers.DictField(
        child=serializers.CharField(
            allow_blank=True, max_length=completions.MAX_ANSWER_CHARS, trim_whitespace=False
        ),
        required=False,
        help_text="Answers by prompt key (see the exercise's prompts).",
    )
    reflection = serializers.CharField(
        allow_blank=True,
        required=False,
        max_length=completions.MAX_REFLECTION_CHARS,
        trim_whitespace=False,
    )
    reflection_shared = serializers.BooleanField(required=False)
    stirred_up = serializers.BooleanField(
        required=False, help_text="The client's own tick: this stirred up something hard."
    )


class CompletionCreateSerializer(CompletionWriteSerializer):
    assignment = ScopedPrimaryKeyRelatedField(
        model=Assignment,
        visible_to=assignments_visible_to,
        select_related=("exercise",),  # completion_log checks the answers against it
        lookup=assignment_with_exercise_visible_to,
        help_text="One of your assignments.",
    )
    client_uuid = serializers.UUIDField(
        required=False,
        help_text=(
            "An id your device makes for this log. Sending the same id again writes nothing "
            "and answers 200 with the log already written."
        ),
    )
    practised_on = serializers.DateField(
        required=False,
        help_text=(
            "The local date you practised on, YYYY-MM-DD: today (the default) or an earlier "
            "day within the grace window (LOG_GRACE_HOURS); earlier days are marked logged later."
        ),
    )


class FeedbackSerializer(StrictModelSerializer):
    text = serializers.CharField(max_length=feedback.MAX_FEEDBACK_CHARS)
    clinician_name = serializers.CharField(source="clinician.get_full_name", read_only=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "completion",
            "clinician",
            "clinician_name",
            "from_client",
            "text",
            "created_at",
            "read_at",
        ]
        read_only_fields = [
            "id",
            "completion",
            "clinician",
            "from_client",
            "created_at",
            "read_at",
        ]


class MessageSerializer(FeedbackSerializer):
    """One message of a log's conversation: the clinician's feedback or the client's reply.
    `clinician` is the clinician of the conversation; `from_client` says who wrote it."""

    text = serializers.CharField(
        max_length=feedback.MAX_FEEDBACK_CHARS,
        help_text=f"Required; at most {feedback.MAX_FEEDBACK_CHARS} characters.",
    )


class InboxItemSerializer(StrictModelSerializer):
    """A client's reply the clinician has not read yet."""

    client = serializers.IntegerField(source="completion.client_id", read_only=True)
    client_name = serializers.CharField(source="completion.client.get_full_name", read_only=True)
    exercise_title = serializers.CharField(
        source="completion.assignment.exercise.title", read_only=True
    )
    local_date = serializers.DateField(source="completion.local_date", read_only=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "completion",
            "client",
            "client_name",
            "exercise_title",
            "local_date",
            "text",
            "created_at",
        ]
        read_only_fields = fields


class ClientNoteSerializer(StrictModelSerializer):
    text = serializers.CharField(
        max_length=clients.MAX_NOTE_CHARS,
        help_text=f"Required; at most {clients.MAX_NOTE_CHARS} characters. "
        "Never shown to the client.",
    )
    author_name = serializers.CharField(source="author.get_full_name", read_only=True)

    class Meta:
        model = ClientNote
        fields = ["id", "client", "author", "author_name", "text", "created_at"]
        read_only_fields = ["id", "client", "author", "created_at"]


class NextSessionSerializer(StrictSerializer):
    next_session_on = serializers.DateField(
        allow_null=True,
        help_text="The next session's date in the client's zone (today up to a year ahead); "
        "null when none is booked.",
    )
    last_session_on = serializers.DateField(read_only=True, allow_null=True)


class PhraseSerializer(StrictSerializer):
    """A kind phrase the client wrote in answer to a prompt marked "phrase"."""

    text = serializers.CharField()
    exercise_title = serializers.CharField()
    last_used = serializers.DateField()
    times = serializers.IntegerField()


# --- Today ---


class TodayItemSerializer(StrictSerializer):
    assignment_id = serializers.IntegerField()
    exercise_id = serializers.IntegerField()
    title = serializers.CharField()
    typical_minutes = serializers.IntegerField()
    note = serializers.CharField(allow_blank=True)
    schedule = serializers.CharField(help_text="The plan in words, e.g. 'Every day'.")
    schedule_kind = serializers.ChoiceField(choices=ScheduleKind.choices)
    state = serializers.ChoiceField(choices=["due", "done", "later", "paused"])
    completion_id = serializers.IntegerField(allow_null=True)
    week_quota = serializers.IntegerField()
    done_this_week = serializers.IntegerField()
    left_this_week = serializers.IntegerField()
    next_day = serializers.DateField(allow_null=True)
    can_log = serializers.BooleanField()
    any_time = serializers.BooleanField(
        help_text="May be logged as often as needed: offer it for a hard moment."
    )


class TodaySerializer(StrictSerializer):
    """What is due today in the client's own zone: the portal's Today page as data."""

    local_date = serializers.DateField()
    timezone = serializers.CharField()
    due = TodayItemSerializer(many=True)
    done = TodayItemSerializer(many=True)
    later = TodayItemSerializer(many=True)
    paused = TodayItemSerializer(many=True)
    unread_feedback = serializers.IntegerField()


# --- Reminder preferences ---


# --- Caseload and progress (figures from homework.selectors.progress) ---


class AdherenceSerializer(StrictSerializer):
    """Planned and done practices; percent is done / planned, null when nothing was planned."""

    planned = serializers.FloatField()
    done = serializers.FloatField()
    percent = serializers.IntegerField(allow_null=True, min_value=0, max_value=100)


class CaseloadClientSerializer(StrictSerializer):
    """A client on the caseload with this week's and this month's practice."""

    id = serializers.IntegerField(source="client.pk")
    email = serializers.EmailField(source="client.email")
    full_name = serializers.CharField(source="client.full_name")
    timezone = serializers.CharField(source="client.timezone")
    local_date = serializers.DateField(help_text="Today in the client's time zone.")
    active_assignments = serializers.IntegerField()
    adherence_7 = AdherenceSerializer(help_text="The last 7 days up to today.")
    adherence_28 = AdherenceSerializer(help_text="The last 28 days up to today.")
    practised_days_7 = serializers.IntegerField()
    last_practice = serializers.DateField(allow_null=True)
    days_since_practice = serializers.IntegerField(allow_null=True)
    idle_days = serializers.IntegerField(allow_null=True)
    distress_recent = serializers.FloatField(allow_null=True)
    distress_earlier = serializers.FloatField(allow_null=True)
    needs_attention = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField(help_text="False when the account is deactivated.")
    discharged = serializers.BooleanField(help_text="True once the clinician ended the work.")


class ProgressWeekSerializer(StrictSerializer):
    monday = serializers.DateField()
    sunday = serializers.DateField()
    adherence = AdherenceSerializer()
    practice_days = serializers.IntegerField()
    minutes = serializers.IntegerField()
    is_current = serializers.BooleanField()


class RatingWeekSerializer(StrictSerializer):
    monday = serializers.DateField()
    before = serializers.FloatField(allow_null=True)
    after = serializers.FloatField(allow_null=True)
    logs = serializers.IntegerField()


class RatingSeriesSerializer(StrictSerializer):
    key = serializers.CharField()
    label = serializers.CharField()
    weeks = RatingWeekSerializer(many=True)


class RatingChangeSerializer(StrictSerializer):
    key = serializers.CharField()
    label = serializers.CharField()
    logs = serializers.IntegerField()
    mean_before = serializers.FloatField()
    mean_after = serializers.FloatField()
    change = serializers.FloatField()


class ExerciseChangeSerializer(StrictSerializer):
    exercise_id = serializers.IntegerField()
    title = serializers.CharField()
    practices = serializers.IntegerField()
    minutes = serializers.IntegerField()
    changes = RatingChangeSerializer(many=True)
    mean_self_kindness_after = serializers.FloatField(allow_null=True)


class StreakSerializer(StrictSerializer):
    weeks = serializers.IntegerField()
    resting = serializers.BooleanField()
    this_week_met = serializers.BooleanField()


class AssignmentProgressSerializer(StrictSerializer):
    assignment_id = serializers.IntegerField(source="assignment.pk")
    exercise_id = serializers.IntegerField(source="assignment.exercise_id")
    exercise_title = serializers.CharField(source="assignment.exercise.title")
    status = serializers.ChoiceField(choices=AssignmentStatus.choices, source="assignment.status")
    schedule_text = serializers.SerializerMethodField()
    adherence_28 = AdherenceSerializer()
    last_practice = serializers.DateField(allow_null=True)
    practices = serializers.IntegerField()

    def get_schedule_text(self, summary) -> str:
        return describe(summary.schedule)


class ProgressSerializer(StrictSerializer):
    """A client's progress: adherence by week, ratings series, change per exercise."""

    client = serializers.IntegerField(source="client.pk")
    local_date = serializers.DateField()
    weeks = ProgressWeekSerializer(many=True)
    practice_days_total = serializers.IntegerField()
    minutes_total = serializers.IntegerField()
    practice_days_recent = serializers.IntegerField()
    minutes_recent = serializers.IntegerField()
    exercises = ExerciseChangeSerializer(many=True)
    rating_series = RatingSeriesSerializer(many=True)
    streak = StreakSerializer()
    assignments = AssignmentProgressSerializer(many=True)
