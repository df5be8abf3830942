from rest_framework import serializers

from accounts.access import clients_visible_to
from accounts.models import User
from core.api import (
    ScopedPrimaryKeyRelatedField,
    StrictModelSerializer,
    StrictSerializer,
)
from homework.serializers import RatingChangeSerializer
from measures.models import MeasureAssignment, MeasureResponse
from measures.selectors import (
    describe_frequency,
    scored,
)
from measures.services import (
    MAX_EVERY_WEEKS,
)


class ScoreSerializer(StrictSerializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField()
    band = serializers.CharField(allow_null=True)
    less_reliable = serializers.BooleanField()
    higher_is_harder = serializers.BooleanField()


class ScoresSerializer(StrictSerializer):
    total = ScoreSerializer(
        allow_null=True,
        help_text="The headline with its band: a sum or a mean as the instrument says; "
        "null for an instrument of subscales only.",
    )
    composites = ScoreSerializer(many=True)
    subscales = ScoreSerializer(many=True, help_text="Less reliable on a short form: secondary.")


class MeasureResponseSerializer(StrictSerializer):
    id = serializers.IntegerField()
    client = serializers.IntegerField(source="client_id")
    instrument = serializers.CharField()
    instrument_version = serializers.CharField()
    answered_at = serializers.DateTimeField()
    local_date = serializers.DateField()
    due_date = serializers.DateField(allow_null=True)
    answers = serializers.DictField(child=serializers.IntegerField())
    scores = ScoresSerializer()
    citation = serializers.CharField()
    needs_support = serializers.BooleanField(
        help_text="An answer passed a risk item's threshold: a client app shows the clinic's "
        "crisis resources (/api/v1/me/crisis-resources/) at once."
    )

    def to_representation(self, response: MeasureResponse) -> dict:
        item = scored(response)
        if item is None:  # its instrument file is gone: answers only
            return {
                "id": response.pk,
                "client": response.client_id,
                "instrument": response.instrument,
                "instrument_version": response.instrument_version,
                "answered_at": response.answered_at.isoformat(),
                "local_date": response.local_date.isoformat(),
                "due_date": response.due_date.isoformat() if response.due_date else None,
                "answers": response.answers,
                "scores": None,
                "citation": "",
                "needs_support": False,
            }
        return item.as_dict() | {
            "client": response.client_id,
            "citation": item.instrument.citation,
            "needs_support": bool(item.scores.alerts),
        }


class MeasureAssignmentSerializer(StrictModelSerializer):
    client = serializers.IntegerField(source="client_id", read_only=True)
    clinician = serializers.IntegerField(source="clinician_id", read_only=True)
    frequency = serializers.SerializerMethodField()

    class Meta:
        model = MeasureAssignment
        fields = [
            "id",
            "client",
            "clinician",
            "instrument",
            "every_weeks",
            "frequency",
            "start_date",
            "status",
            "created_at",
        ]
        read_only_fields = fields

    def get_frequency(self, measure: MeasureAssignment) -> str:
        return describe_frequency(measure)


class MeasureAssignmentCreateSerializer(StrictSerializer):
    client = ScopedPrimaryKeyRelatedField(
        visible_to=clients_visible_to, model=User, help_text="A client on your caseload."
    )
    instrument = serializers.CharField(help_text='An instrument code, e.g. "SCS-SF".')
    every_weeks = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EVERY_WEEKS,
        help_text="Leave out (or null) to ask once.",
    )
    start_date = serializers.DateField(help_text="The first date, in the client's time zone.")


class MeasureAnswerSerializer(StrictSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Every item by number, e.g. {"1": 3, "2": 5, ...}, each on the scale.',
    )


class MeasureStatusSerializer(StrictSerializer):
    id = serializers.IntegerField()
    instrument = serializers.CharField()
    instrument_name = serializers.CharField()
    every_weeks = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField()
    status = serializers.CharField()
    is_due = serializers.BooleanField()
    due_date = serializers.DateField(allow_null=True)
    last_answered = serializers.DateField(allow_null=True)
    next_date = serializers.DateField(allow_null=True)


class InstrumentChoiceSerializer(StrictSerializer):
    value = serializers.IntegerField()
    label = serializers.CharField(allow_blank=True)


class InstrumentItemSerializer(StrictSerializer):
    n = serializers.IntegerField()
    text = serializers.CharField()
    scored = serializers.BooleanField(help_text="False for a question not added into a score.")
    optional = serializers.BooleanField()
    choices = InstrumentChoiceSerializer(many=True, help_text="The answers this question offers.")


class InstrumentSerializer(StrictSerializer):
    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    citation = serializers.CharField()
    copyright = serializers.CharField(allow_blank=True, help_text="Permission line; show it.")
    instructions = serializers.CharField()
    scale_min = serializers.IntegerField()
    scale_max = serializers.IntegerField()
    scale_labels = serializers.DictField(child=serializers.CharField())
    items = InstrumentItemSerializer(many=True)


class PairChangeSerializer(RatingChangeSerializer):
    logs = serializers.IntegerField(help_text="n: logs with both the before and after rating.")
    small_sample = serializers.BooleanField()
    description = serializers.CharField()


class ExerciseInsightSerializer(StrictSerializer):
    exercise_id = serializers.IntegerField()
    title = serializers.CharField()
    practices = serializers.IntegerField()
    clients = serializers.IntegerField()
    small_sample = serializers.BooleanField()
    seems_to_help = serializers.BooleanField()
    mean_change = serializers.FloatField(allow_null=True)
    pairs = PairChangeSerializer(many=True)


class ClientInsightsSerializer(StrictSerializer):
    client = serializers.IntegerField()
    exercises = ExerciseInsightSerializer(many=True)


class CaseloadInsightsSerializer(StrictSerializer):
    min_practices = serializers.IntegerField()
    small_sample = serializers.IntegerField()
    across_caseload = ExerciseInsightSerializer(many=True)
    clients = ClientInsightsSerializer(many=True)


class PeriodGroupSerializer(StrictSerializer):
    periods = serializers.IntegerField()
    mean_rate_per_week = serializers.FloatField(help_text="Logs of the practice per week.")
    mean_change = serializers.FloatField(help_text="The total's change per period, averaged.")


class QuestionnaireInsightSerializer(StrictSerializer):
    """A questionnaire total's change in the periods between answers with more of a
    practice (above the middle rate) beside those with less: observed, not caused."""

    instrument = serializers.CharField()
    exercise_id = serializers.IntegerField()
    title = serializers.CharField()
    more_practice = PeriodGroupSerializer()
    less_practice = PeriodGroupSerializer()
    difference = serializers.FloatField()
    small_sample = serializers.BooleanField()
    seems_to_help = serializers.BooleanField()
    description = serializers.CharField()


class OwnInsightsSerializer(StrictSerializer):
    min_practices = serializers.IntegerField()
    small_sample = serializers.IntegerField()
    exercises = ExerciseInsightSerializer(many=True)
    questionnaires = QuestionnaireInsightSerializer(many=True)


class RiskFlagSerializer(StrictSerializer):
    """An urgent flag raised by an answer past a risk item's threshold."""

    id = serializers.IntegerField()
    client = serializers.IntegerField(source="client_id")
    response = serializers.IntegerField(source="response_id")
    instrument = serializers.CharField(source="response.instrument")
    item = serializers.IntegerField(help_text="The question whose answer raised the flag.")
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.IntegerField(source="acknowledged_by_id", allow_null=True)
