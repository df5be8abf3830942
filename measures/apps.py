from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "measures"
    verbose_name = "Questionnaires"

    def ready(self) -> None:
        from measures import panels  # noqa: F401  (adds its panels to homework's pages)
