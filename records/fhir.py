"""Measure responses as FHIR R4 resources, for a clinician to take to another system.

A Bundle (type "collection") holds one Questionnaire per instrument used (so the
file explains itself: item texts, the 1-5 range, the citation as copyright) and
one QuestionnaireResponse per answered questionnaire. Items are "integer" items
answered with valueInteger; the range rides on the standard minValue / maxValue
extensions. Scores are not FHIR answers and are left out: the receiving system
can derive them from the answers, as we do.

Each urgent risk flag is a Flag: "active" until a clinician acknowledged it, then
"inactive" with the acknowledgement as the end of its period; it names the answer that
raised it. A log the client asked their clinician to look at is a practice log, not a
questionnaire answer, so it is not here (it is in the zip export's flags.csv).
"""

from django.conf import settings

from accounts.models import User
from measures.engine import Instrument
from measures.models import RiskFlag
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
                "required": not item.optional,
                "extension": [
                    {"url": MIN_VALUE, "valueInteger": instrument.item_range(item)[0]},
                    {"url": MAX_VALUE, "valueInteger": instrument.item_range(item)[1]},
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
            # An optional item left unanswered (PHQ-9's difficulty question) is left out.
            if str(item.n) in response.answers
        ],
    }


def risk_flag(flag: RiskFlag, *, client: User) -> dict:
    period = {"start": flag.created_at.isoformat()}
    if flag.acknowledged_at is not None:
        period["end"] = flag.acknowledged_at.isoformat()
    return {
        "resourceType": "Flag",
        "id": f"risk-flag-{flag.pk}",
        "status": "active" if flag.acknowledged_at is None else "inactive",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "safety",
                        "display": "Safety",
                    }
                ]
            }
        ],
        "code": {
            "text": (
                f"{flag.response.instrument} question {flag.item} was answered above its "
                "safety threshold"
            )
        },
        "subject": {"reference": f"Patient/{client.pk}", "display": client.get_full_name()},
        "period": period,
        "extension": [
            {
                "url": f"{settings.SITE_URL}/fhir/StructureDefinition/raised-by",
                "valueReference": {
                    "reference": f"QuestionnaireResponse/measure-response-{flag.response_id}"
                },
            }
        ],
    }


def measure_bundle(
    *,
    client: User,
    responses: list[ScoredResponse],
    timestamp: str,
    flags: list[RiskFlag] | None = None,
) -> dict:
    used: dict[str, Instrument] = {}
    for item in responses:
        used.setdefault(item.instrument.code, item.instrument)
    resources = (
        [questionnaire(i) for i in used.values()]
        + [questionnaire_response(item, client=client) for item in responses]
        + [risk_flag(flag, client=client) for flag in flags or []]
    )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp,
        "entry": [
            {"fullUrl": f"{settings.SITE_URL}/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
