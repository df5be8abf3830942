"""Questionnaires, what helps and exports over the API: the portal's rules, as JSON."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from measures.models import MeasureAssignment, MeasureResponse
from records.models import ExportRecord
from tests.conftest import make_client
from tests.factories import (
    local_today,
    make_assignment,
    make_completion,
    make_exercise,
    make_measure,
    make_measure_response,
)

MIXED = {1: 2, 2: 4, 3: 3, 4: 1, 5: 5, 6: 4, 7: 3, 8: 2, 9: 2, 10: 4, 11: 3, 12: 1}


@pytest.fixture(autouse=True)
def _local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def as_user(user) -> APIClient:
    browser = APIClient()
    if user is not None:
        _instance, token = AuthToken.objects.create(user=user)
        browser.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return browser


def url(name: str, **kwargs) -> str:
    return reverse(f"api:v1:{name}", kwargs=kwargs or None)


def test_it_lists_the_instruments_with_items_and_citation(world):
    response = as_user(world.client).get(url("instruments"))
    assert response.status_code == 200
    by_code = {entry["code"]: entry for entry in response.json()}
    assert set(by_code) == {"SCS-SF", "PHQ-9", "GAD-7"}
    scs = by_code["SCS-SF"]
    assert len(scs["items"]) == 12
    assert scs["scale_labels"] == {"1": "Almost never", "3": "Sometimes", "5": "Almost always"}
    assert scs["citation"].startswith("Raes, F.")
    phq = by_code["PHQ-9"]
    assert phq["copyright"].endswith(
        "No permission required to reproduce, translate, display or distribute."
    )
    assert phq["items"][9]["scored"] is False
    assert phq["items"][9]["optional"] is True
    assert phq["items"][9]["choices"][0] == {"value": 0, "label": "Not difficult at all"}
    assert as_user(world.clinician).get(url("instruments")).status_code == 200
    assert as_user(world.admin).get(url("instruments")).status_code == 403
    assert as_user(None).get(url("instruments")).status_code == 401


def test_it_lets_a_clinician_schedule_and_the_client_answer(world):
    clinician = as_user(world.clinician)
    created = clinician.post(
        url("measure-assignment-list"),
        {
            "client": world.client.pk,
            "instrument": "SCS-SF",
            "every_weeks": 4,
            "start_date": local_today(world.client).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["client"], body["every_weeks"], body["frequency"]) == (
        world.client.pk,
        4,
        "Every 4 weeks",
    )
    client = as_user(world.client)
    [status] = client.get(url("me-measures")).json()
    assert status["is_due"] is True
    answered = client.post(
        url("measure-assignment-answer", pk=body["id"]),
        {"answers": {str(k): v for k, v in MIXED.items()}},
        format="json",
    )
    assert answered.status_code == 201, answered.content
    scores = answered.json()["scores"]
    assert scores["total"] == {
        "key": "total",
        "label": "Total",
        "value": 4.0,
        "band": "high",
        "less_reliable": False,
        "higher_is_harder": False,
    }
    assert [s["value"] for s in scores["composites"]] == [3.83, 4.17]
    assert all(s["less_reliable"] for s in scores["subscales"])
    assert client.get(url("me-measures")).json()[0]["is_due"] is False
    again = client.post(
        url("measure-assignment-answer", pk=body["id"]),
        {"answers": {str(k): v for k, v in MIXED.items()}},
        format="json",
    )
    assert again.status_code == 400
    assert "already answered" in again.json()["non_field_errors"][0]
    listed = clinician.get(url("measure-response-list")).json()
    assert [r["scores"]["total"]["value"] for r in listed["results"]] == [4.0]


def test_it_refuses_an_incomplete_or_off_scale_answer_with_field_messages(world):
    measure = make_measure(world.client)
    answers = {str(k): v for k, v in MIXED.items()}
    del answers["4"]
    answers["7"] = 9
    response = as_user(world.client).post(
        url("measure-assignment-answer", pk=measure.pk), {"answers": answers}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["item_4"] == ["Please answer question 4."]
    assert errors["item_7"] == ["Question 7: choose a number from 1 to 5."]
    assert errors["non_field_errors"] == ["Please answer every question: 4 still needs an answer."]
    bad = as_user(world.client).post(
        url("measure-assignment-answer", pk=measure.pk), {"answers": "all threes"}, format="json"
    )
    assert bad.status_code == 400
    assert not MeasureResponse.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "BDI-II"}, "instrument"),
        ({"every_weeks": 0}, "every_weeks"),
        ({"every_weeks": "often"}, "every_weeks"),
        ({"start_date": "2001-01-01"}, "start_date"),
        ({"start_date": "soon"}, "start_date"),
        ({"client": 987654}, "client"),
    ],
)
def test_it_refuses_a_bad_schedule_with_a_field_message(world, body, field):
    data = {
        "client": world.client.pk,
        "instrument": "SCS-SF",
        "start_date": local_today(world.client).isoformat(),
    } | body
    response = as_user(world.clinician).post(url("measure-assignment-list"), data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MeasureAssignment.objects.exists()


def test_it_keeps_schedules_and_answers_to_their_people(world):
    measure = make_measure(world.client)
    answer = make_measure_response(measure=measure, answers=MIXED)
    colleagues_client = make_client("robin@client.test", world.colleague)
    # Scheduling for someone not on the caseload is refused like an unknown id.
    for someone in (colleagues_client, world.stranger_client):
        refused = as_user(world.clinician).post(
            url("measure-assignment-list"),
            {
                "client": someone.pk,
                "instrument": "SCS-SF",
                "start_date": local_today(someone).isoformat(),
            },
            format="json",
        )
        assert refused.status_code == 400
        assert "client" in refused.json()
    for outsider in (
        world.other_client,
        world.stranger_client,
        world.colleague,
        world.stranger_clinician,
    ):
        browser = as_user(outsider)
        assert browser.get(url("measure-assignment-detail", pk=measure.pk)).status_code == 404
        assert browser.get(url("measure-response-detail", pk=answer.pk)).status_code == 404
        assert browser.get(url("measure-assignment-list")).json()["count"] == 0
        assert browser.get(url("measure-response-list")).json()["count"] == 0
    assert (
        as_user(world.other_client)
        .post(url("measure-assignment-answer", pk=measure.pk), {"answers": {}}, format="json")
        .status_code
        == 404
    )
    assert (
        as_user(world.colleague).post(url("measure-assignment-end", pk=measure.pk)).status_code
        == 404
    )
    assert (
        as_user(world.client).post(url("measure-assignment-end", pk=measure.pk)).status_code == 403
    )
    assert (
        as_user(world.clinician)
        .post(url("measure-assignment-answer", pk=measure.pk), {"answers": {}}, format="json")
        .status_code
        == 403
    )
    ended = as_user(world.clinician).post(url("measure-assignment-end", pk=measure.pk))
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"
    filtered = as_user(world.clinician).get(
        url("measure-response-list") + f"?client={world.stranger_client.pk}"
    )
    assert filtered.status_code == 400


def test_it_tells_each_side_what_seems_to_help(world):
    exercise = make_exercise(title="Affectionate breathing")
    assignment = make_assignment(world.client, exercise)
    start = local_today(world.client) - timedelta(days=10)
    for day, (before, after) in enumerate([(8, 5), (7, 4), (6, 6)]):
        make_completion(
            assignment, start + timedelta(days=day), distress_before=before, distress_after=after
        )
    own = as_user(world.client).get(url("me-what-helps")).json()
    assert own["min_practices"] == 3
    [insight] = own["exercises"]
    assert insight["title"] == "Affectionate breathing"
    assert insight["practices"] == 3
    assert insight["small_sample"] is True
    assert insight["pairs"][0]["change"] == -2.0
    assert insight["pairs"][0]["logs"] == 3
    caseload = as_user(world.clinician).get(url("what-helps")).json()
    assert caseload["across_caseload"][0]["clients"] == 1
    assert {c["client"] for c in caseload["clients"]} == {world.client.pk, world.other_client.pk}
    stranger = as_user(world.stranger_clinician).get(url("what-helps")).json()
    assert stranger["across_caseload"] == []
    assert as_user(world.client).get(url("what-helps")).status_code == 403
    assert as_user(world.clinician).get(url("me-what-helps")).status_code == 403


def test_it_exports_over_the_api_and_records_it(world):
    measure = make_measure(world.client)
    make_measure_response(measure=measure, answers=MIXED)
    own = as_user(world.client).post(url("me-export"), {"format": "zip"}, format="json")
    assert own.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(own.streaming_content)))
    assert json.loads(archive.read("data.json"))["client"]["email"] == "alex@client.test"
    fhir = as_user(world.clinician).post(
        url("exports"), {"client": world.client.pk, "format": "fhir"}, format="json"
    )
    assert fhir.status_code == 200
    bundle = json.loads(b"".join(fhir.streaming_content))
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Questionnaire", "QuestionnaireResponse"]
    assert ExportRecord.objects.count() == 2
    colleagues_client = make_client("robin@client.test", world.colleague)
    for someone in (colleagues_client, world.stranger_client):
        refused = as_user(world.clinician).post(
            url("exports"), {"client": someone.pk, "format": "zip"}, format="json"
        )
        assert refused.status_code == 400
    assert (
        as_user(world.client).post(url("me-export"), {"format": "xml"}, format="json").status_code
        == 400
    )
    assert (
        as_user(world.client)
        .post(url("exports"), {"client": world.client.pk, "format": "zip"}, format="json")
        .status_code
        == 403
    )
    assert as_user(world.clinician).post(url("me-export"), {"format": "zip"}).status_code == 403
    assert as_user(None).post(url("me-export"), {"format": "zip"}).status_code == 401
    assert ExportRecord.objects.count() == 2
