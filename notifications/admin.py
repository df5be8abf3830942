from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["kind", "to_email", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "idempotency_key"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["retry_failed"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Retry selected failed notifications")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = sum(
            services.notification_retry(notification_id=pk)
            for pk in queryset.filter(status=Notification.Status.FAILED).values_list(
                "pk", flat=True
            )
        )
        self.message_user(request, f"{count} notification(s) queued again.", messages.SUCCESS)
