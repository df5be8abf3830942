from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail and privacy"

    def ready(self) -> None:
        from audit import signals

        signals.connect_clinical_models()
        signals.connect_account_events()
