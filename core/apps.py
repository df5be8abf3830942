from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Small shared pieces that import no product app: the encrypted fields, the API's
    base classes and error shape, the site context processor."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import checks  # noqa: F401 (registers the system checks)
