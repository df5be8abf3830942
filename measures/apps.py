from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "measures"
    verbose_name = "Questionnaires"

    def ready(self) -> None:
        from homework.services.caseload import register_discharge_hook
        from measures import (  # noqa: F401  (register panels, attention reasons, email kinds)
            attention,
            emails,
            panels,
        )
        from measures.services import measure_assignments_end_for_client

        register_discharge_hook(measure_assignments_end_for_client)

        from homework.triggers import record_source_register
        from measures.models import MeasureAssignment, MeasureResponse, RiskFlag

        for model in (MeasureAssignment, MeasureResponse, RiskFlag):
            record_source_register(model, "client")
