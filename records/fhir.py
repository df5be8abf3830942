"""Measure responses as FHIR R4 resources, for a clinician to take to another system.

A Bundle (type "collection") holds one Questionnaire per instrument used (so the
file explains itself: item texts, the 1-5 range, the citation as copyright) and
one QuestionnaireResponse per answered questionnaire. Items are "integer" items
answered with valueInteger; the range rides on the standard minValue / maxValue
extensions. Scores are not FHIR answers and are left out: the receiving system
can derive them from the answers, as we do.
"""

from django.conf import settings

from accounts.models import User
from measures.engine import Instrument
from measures.selectors import ScoredResponse

MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def questionnaire_url(instrument: Instrument) -> str:
    return f"{settings.SITE_URL}/fhir/Questionnaire/{instrument.code}"


def questionnaire_canonical(instrument: Instrument) -> str:
    return f"{questionnaire_url(instrument)}|{instrument.version}"


def questionnaire(instrument: Instrument) -> dict:
    return {
        "resourceType": "Questionnaire",
        "id": instrument.code.lower(),
        "url": questionnaire_url(instrument),
        "version": instrument.version,
        "name": "".join(ch for ch in instrument.code if ch.isalnum()),
        "title": instrument.name,
        "status": "active",
        "copyright": instrument.citation,
        "description": instrument.instructions,
        "item": [
            {
                "linkId": str(item.n),
                "text": item.text,
                "type": "integer",
                "required": True,
                "extension": [
                    {"url": MIN_VALUE, "valueInteger": instrument.scale_min},
                    {"url": MAX_VALUE, "valueInteger": instrument.scale_max},
                ],
            }
            for item in instrument.items
        ],
    }


def questionnaire_response(scored: ScoredResponse, *, client: User) -> dict:
    response, instrument = scored.response, scored.instrument
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"measure-response-{response.pk}",
        "questionnaire": questionnaire_canonical(instrument),
        "status": "completed",
        "subject": {"reference": f"Patient/{client.pk}", "display": client.get_full_name()},
        "authored": response.answered_at.isoformat(),
        "item": [
            {
                "linkId": str(item.n),
                "text": item.text,
                "answer": [{"valueInteger": int(response.answers[str(item.n)])}],
            }
            for item in instrument.items
        ],
    }


def measure_bundle(*, client: User, responses: list[ScoredResponse], timestamp: str) -> dict:
    used: dict[str, Instrument] = {}
    for item in responses:
        used.setdefault(item.instrument.code, item.instrument)
    resources = [questionnaire(i) for i in used.values()] + [
        questionnaire_response(item, client=client) for item in responses
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp,
        "entry": [
            {"fullUrl": f"{settings.SITE_URL}/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
