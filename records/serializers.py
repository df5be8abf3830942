from rest_framework import serializers

from accounts.access import clients_visible_to
from accounts.models import User
from core.api import (
    ScopedPrimaryKeyRelatedField,
    StrictSerializer,
)


class OwnExportSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=["zip", "json"])


class ClientExportSerializer(StrictSerializer):
    client = ScopedPrimaryKeyRelatedField(
        visible_to=clients_visible_to, model=User, help_text="A client on your caseload."
    )
    format = serializers.ChoiceField(
        choices=["zip", "fhir"],
        help_text="zip: the record as CSV; fhir: questionnaire answers as a FHIR R4 Bundle.",
    )
