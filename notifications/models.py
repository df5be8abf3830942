"""The outbox: one row per message (an email or a push), the delivery log at the same time."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        PASSWORD_RESET = "password_reset", "Password reset"
        REMINDER = "reminder", "Practice reminder"
        QUESTIONNAIRE_REMINDER = "questionnaire_reminder", "Questionnaire reminder"
        WEEKLY_CLIENT = "weekly_client", "Weekly summary (client)"
        WEEKLY_CLINICIAN = "weekly_clinician", "Weekly summary (clinician)"
        MESSAGE = "message", "New message"
        URGENT_ATTENTION = "urgent_attention", "Urgent: a client needs attention"
        PRACTICE_HARD = "practice_hard", "A client asked you to look at a practice log"
        FEEDBACK_REPLY = "feedback_reply", "Your clinician replied"
        NEW_PRACTICE = "new_practice", "A new practice"
        CLINICIAN_CHANGED = "clinician_changed", "Your clinician now"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        # To every device the recipient subscribed, at send time.
        PUSH = "push", "Notification on a device"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    # A user when there is one; an invitation goes to an address with no account yet.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    to_email = models.EmailField()
    # e.g. "reminder:<assignment id>:<local date>": two beats or a retry cannot double it.
    # Unique per channel: the same reminder is one email and one push at most.
    idempotency_key = models.CharField(max_length=200)
    # Non-clinical template context only (ids, dates, counts). Never reflections or scores.
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The database, not the broker, is the retry schedule: a pending row is not
    # claimed before this moment, and the sweep publishes it once it has passed.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key", "channel"], name="notification_key_per_channel"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                name="notification_status_created",
            ),
            # The sweep's query: pending rows that are due, stale "sending" claims.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="notification_status_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email} ({self.status})"


class PushSubscription(models.Model):
    """One browser on one device that accepted notifications (the W3C Push API's
    subscription). Deleted when the push service says it is gone (404/410)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    # The push service's URL for this browser: a capability, so never logged.
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    # "Firefox on Android", shown to the client so they can tell their devices apart.
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Push subscription {self.pk} ({self.label or 'a device'})"
