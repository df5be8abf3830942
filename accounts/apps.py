from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clinics and accounts"

    def ready(self) -> None:
        # Imported for their side effects: the email kinds and the signal receivers.
        from accounts import emails, lockout, signals  # noqa: F401
