"""The shape of reminder preferences in the REST API."""

from rest_framework import serializers

from accounts.models import ClientProfile
from core.api import ClockTimeField, StrictModelSerializer, StrictSerializer
from notifications.models import PushSubscription
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

    email_reminders = serializers.BooleanField(
        required=False,
        help_text="Reminders, summaries and news by email. With no device subscribed to "
        "notifications, email is used whatever this says, so nothing is lost.",
    )
    push_devices = serializers.SerializerMethodField(
        help_text="How many of the client's devices get notifications."
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
            "email_reminders",
            "push_devices",
        ]

    def get_push_devices(self, profile: ClientProfile) -> int:
        return profile.user.push_subscriptions.count()


class PushKeysSerializer(StrictSerializer):
    p256dh = serializers.CharField(max_length=200, help_text="The browser's P-256 key, base64url.")
    auth = serializers.CharField(max_length=100, help_text="The browser's auth secret, base64url.")


class PushSubscriptionSerializer(StrictModelSerializer):
    """A browser's push subscription, as PushSubscription.toJSON() gives it, plus a label."""

    keys = PushKeysSerializer(write_only=True)
    endpoint = serializers.CharField(max_length=1000, write_only=True)
    label = serializers.CharField(max_length=100, required=False, allow_blank=True)
    # Part of what toJSON() gives, so a body made from it is not refused; not kept.
    expirationTime = serializers.FloatField(
        write_only=True,
        required=False,
        allow_null=True,
        min_value=0,
        help_text="Accepted as toJSON() gives it, and ignored.",
    )

    class Meta:
        model = PushSubscription
        fields = [
            "id",
            "endpoint",
            "keys",
            "expirationTime",
            "label",
            "created_at",
            "last_success_at",
        ]
        read_only_fields = ["id", "created_at", "last_success_at"]
