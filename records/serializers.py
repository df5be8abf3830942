from rest_framework import serializers

from accounts.access import clients_visible_to
from accounts.models import User
from core.api import (
    ScopedPrimaryKeyRelatedField,
    StrictSerializer,
)


class OwnExportSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=["zip", "json"])


class ClientExportSerializer(StrictSerializer):
    client = ScopedPrimaryKeyRelatedField(
        visible_to=clients_visible_to, model=User, help_text="A client on your caseload."
    )
    format = serializers.ChoiceField(
        choices=["zip", "fhir"],
        help_text="zip: the record as CSV; fhir: questionnaire answers as a FHIR R4 Bundle.",
    )


class _AdherenceSerializer(StrictSerializer):
    planned = serializers.FloatField()
    done = serializers.FloatField()
    percent = serializers.IntegerField(allow_null=True)


class _RatingChangeSerializer(StrictSerializer):
    label = serializers.CharField()
    logs = serializers.IntegerField()
    mean_before = serializers.FloatField()
    mean_after = serializers.FloatField()
    change = serializers.FloatField()


class _InsightSerializer(StrictSerializer):
    title = serializers.CharField()
    practices = serializers.IntegerField()
    small_sample = serializers.BooleanField()
    descriptions = serializers.SerializerMethodField()

    def get_descriptions(self, insight) -> list[str]:
        return [pair.description for pair in insight.pairs]


class _ScoreChangeSerializer(StrictSerializer):
    instrument = serializers.CharField(source="instrument.code")
    local_date = serializers.DateField(source="latest.response.local_date")
    total = serializers.FloatField(source="total.value")
    band = serializers.CharField(source="total.band", allow_null=True)
    change = serializers.FloatField(allow_null=True)


class _ReflectionSerializer(StrictSerializer):
    local_date = serializers.DateField()
    exercise = serializers.CharField()
    text = serializers.CharField()


class PreSessionReportSerializer(StrictSerializer):
    """The pre-session report's figures; the page and the PDF show the same, with charts."""

    client = serializers.IntegerField(source="client.pk")
    start = serializers.DateField()
    end = serializers.DateField()
    since_last_session = serializers.BooleanField()
    next_session_on = serializers.DateField(allow_null=True)
    adherence = _AdherenceSerializer()
    practice_days = serializers.IntegerField()
    minutes = serializers.IntegerField()
    rating_changes = _RatingChangeSerializer(many=True)
    helps = _InsightSerializer(many=True)
    scores = _ScoreChangeSerializer(many=True)
    reflections = _ReflectionSerializer(many=True)
