from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clinics and accounts"

    def ready(self) -> None:
        from accounts import emails  # noqa: F401  (registers the email kinds)
        from accounts import lockout, signals  # noqa: F401  (connects the receivers)
