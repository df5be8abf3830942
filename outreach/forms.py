"""The reminder preferences form, shared by the portal page and the signed email link.

It only parses what was typed; `client_preferences_update` decides what is allowed,
so the portal, the link and the API give the same answers.
"""

from datetime import datetime
from typing import Any

from django import forms

from accounts.models import ClientProfile
from core.forms import CheckedForm
from outreach.services import CHANNEL_CHOICES, CLINICIAN_CHANNEL_CHOICES, MAX_PAUSE

KEEP = ""
RESUME = "resume"
PAUSE_LENGTHS = (1, 3, 7, 14, 30, MAX_PAUSE.days)


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ReminderPreferencesForm(CheckedForm):
    reminder_time = forms.TimeField(
        label="Reminder time",
        widget=_time_input(),
        error_messages={
            "required": "Choose a time of day for your reminders.",
            "invalid": "Enter a time such as 18:00.",
        },
    )
    quiet_hours_start = forms.TimeField(
        label="Quiet hours start",
        required=False,
        widget=_time_input(),
        error_messages={"invalid": "Enter a time such as 22:00."},
    )
    quiet_hours_end = forms.TimeField(
        label="Quiet hours end",
        required=False,
        widget=_time_input(),
        help_text="No reminders between these times; they may cross midnight, "
        "such as 22:00 to 07:00. Leave both empty for none.",
        error_messages={"invalid": "Enter a time such as 07:00."},
    )
    pause = forms.ChoiceField(label="Pause reminders", required=False)
    weekly_summary = forms.BooleanField(
        label="Send me a short weekly summary on Monday mornings", required=False
    )

    def __init__(self, *args, profile: ClientProfile, now: datetime, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "reminder_time": profile.reminder_time,
                "quiet_hours_start": profile.quiet_hours_start,
                "quiet_hours_end": profile.quiet_hours_end,
                "weekly_summary": profile.weekly_summary,
            },
        )
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        zone = profile.user.zone
        self.fields[
            "reminder_time"
        ].help_text = f"In your time zone ({profile.user.timezone.replace('_', ' ')})."
        paused_until = profile.reminders_paused_until
        choices = []
        if paused_until and paused_until > now:
            local = paused_until.astimezone(zone)
            choices.append((KEEP, f"Keep paused until {local:%A} {local.day} {local:%B %H:%M}"))
            choices.append((RESUME, "Resume reminders now"))
        else:
            choices.append((KEEP, "Don't pause"))
        choices += [
            (str(days), "Pause for 1 day" if days == 1 else f"Pause for {days} days")
            for days in PAUSE_LENGTHS
        ]
        self.fields["pause"].choices = choices

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments for client_preferences_update from the cleaned data."""
        data = self.cleaned_data
        arguments: dict[str, Any] = {
            "reminder_time": data["reminder_time"],
            "quiet_hours_start": data["quiet_hours_start"],
            "quiet_hours_end": data["quiet_hours_end"],
            "weekly_summary": data["weekly_summary"],
        }
        if data["pause"] == RESUME:
            arguments["paused_until"] = None
        elif data["pause"]:
            arguments["pause_days"] = int(data["pause"])
        return arguments


class ClinicianSummaryPreferencesForm(CheckedForm):
    weekly_summary = forms.BooleanField(
        label="Send me the weekly caseload summary on Monday mornings", required=False
    )

    def __init__(self, *args, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ReminderChannelForm(CheckedForm):
    """How this device reminds the client. The hidden fields carry this browser's push
    subscription, filled in by static/js/push.js; without it only email can be chosen."""

    channel = forms.ChoiceField(
        label="How should we remind you on this device?",
        choices=CHANNEL_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose email, a notification, or both."},
    )
    endpoint = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
    p256dh = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    auth = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    label = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        subscription = None
        if data["endpoint"] and data["p256dh"] and data["auth"]:
            subscription = {
                "endpoint": data["endpoint"],
                "p256dh": data["p256dh"],
                "auth": data["auth"],
                "label": data["label"],
            }
        return {
            "channel": data["channel"],
            "subscription": subscription,
            "endpoint": data["endpoint"],
        }


class ClinicianDeviceForm(ReminderChannelForm):
    """Whether this browser shows a clinician's notices too; email always comes. The
    hidden fields are filled by static/js/push.js, as on the client's Reminders page."""

    channel = forms.ChoiceField(
        label="Notifications on this device",
        choices=CLINICIAN_CHANNEL_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose email only, or email and a notification."},
    )
