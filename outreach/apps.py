from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"
    verbose_name = "Reminders and summaries"

    def ready(self) -> None:
        from outreach import emails  # noqa: F401  (registers reminder and summary emails)
        from outreach.news import news_listen

        news_listen()
