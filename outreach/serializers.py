"""The shape of reminder preferences in the REST API."""

from rest_framework import serializers

from accounts.models import ClientProfile
from core.api import ClockTimeField, StrictModelSerializer
from outreach import services as preferences


class PreferencesSerializer(StrictModelSerializer):
    """A client's reminder preferences. Times are in the client's own time zone."""

    reminder_time = ClockTimeField(required=False)
    quiet_hours_start = ClockTimeField(allow_null=True, required=False)
    quiet_hours_end = ClockTimeField(allow_null=True, required=False)
    paused_until = serializers.DateTimeField(
        source="reminders_paused_until",
        allow_null=True,
        required=False,
        help_text="Reminders stay quiet until then; null resumes them.",
    )
    pause_days = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        max_value=preferences.MAX_PAUSE.days,
        help_text="Pause reminders for this many days from now (instead of paused_until).",
    )

    class Meta:
        model = ClientProfile
        fields = [
            "reminder_time",
            "quiet_hours_start",
            "quiet_hours_end",
            "paused_until",
            "pause_days",
            "weekly_summary",
        ]
