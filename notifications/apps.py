from django.apps import AppConfig
from django.core import checks


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Outbox"

    def ready(self) -> None:
        from notifications.checks import vapid_keys_check

        checks.register(vapid_keys_check)
