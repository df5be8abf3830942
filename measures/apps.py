from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "measures"
    verbose_name = "Questionnaires"

    def ready(self) -> None:
        from measures import (  # noqa: F401  (register panels, attention reasons, email kinds)
            attention,
            emails,
            panels,
        )
