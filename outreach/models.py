"""Calendar feeds: a client's private iCalendar subscription. The table keeps its homework name."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class CalendarFeed(models.Model):
    """A client's private iCalendar subscription. Only a hash of the secret is stored;
    revoking sets revoked_at, regenerating revokes and makes a new row."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "homework_calendarfeed"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(revoked_at__isnull=True),
                name="calendar_feed_one_live_per_client",
            ),
        ]

    def __str__(self) -> str:
        return f"Calendar feed {self.pk}"
