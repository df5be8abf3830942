from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.models import Notification, PushSubscription


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The delivery log: every email's status, read-only, and a retry for failed ones."""

    list_display = [
        "kind",
        "channel",
        "to_email",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["to_email", "idempotency_key"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["retry_failed"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Retry selected failed emails")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        failed_ids = queryset.filter(status=Notification.Status.FAILED).values_list("pk", flat=True)
        count = sum(services.notification_retry(notification_id=pk) for pk in failed_ids)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} email(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} email(s) were not failed and were left alone.", messages.INFO
            )


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Devices that get notifications: who, which browser, when it last worked. The
    endpoint and keys are the browser's secrets, so they are not shown."""

    list_display = ["user", "label", "created_at", "last_success_at"]
    fields = ["user", "label", "created_at", "last_success_at"]
    readonly_fields = fields
    search_fields = ["user__email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
