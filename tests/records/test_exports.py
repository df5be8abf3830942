"""Exports: what was logged comes back out, private text stays with the client, all recorded."""

import csv
import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from homework.models import Feedback
from records.models import ExportRecord
from tests.conftest import make_client, make_user
from tests.factories import (
    make_assignment,
    make_completion,
    make_exercise,
    make_measure,
    make_measure_response,
)

MIXED = {1: 2, 2: 4, 3: 3, 4: 1, 5: 5, 6: 4, 7: 3, 8: 2, 9: 2, 10: 4, 11: 3, 12: 1}


@pytest.fixture
def record(world):
    """One client's record: a plan, a shared and a private log, feedback, a questionnaire."""
    exercise = make_exercise(title="Compassionate letter")
    assignment = make_assignment(world.client, exercise, note="Write gently.")
    shared = make_completion(
        assignment,
        date(2026, 1, 6),
        minutes=12,
        distress_before=7,
        distress_after=4,
        answers={"moment": "The meeting", "phrase": "May I be kind to myself"},
        reflection="It helped to slow down.",
        reflection_shared=True,
    )
    private = make_completion(
        assignment,
        date(2026, 1, 7),
        minutes=8,
        distress_before=6,
        distress_after=5,
        answers={"moment": "A private moment"},
        reflection="=Only for me, mañana",
        reflection_shared=False,
    )
    Feedback.objects.create(completion=shared, clinician=world.clinician, text="Lovely work.")
    measure = make_measure(world.client, start_date=date(2026, 1, 5))
    response = make_measure_response(
        measure=measure,
        answers=MIXED,
        due_date=date(2026, 1, 5),
        local_date=date(2026, 1, 5),
        answered_at=timezone.now() - timedelta(days=3),
    )
    # Someone else's logs must never appear.
    other = make_assignment(world.other_client, make_exercise(title="Other client's practice"))
    make_completion(other, date(2026, 1, 6), reflection="Blair's secret")
    return {"assignment": assignment, "shared": shared, "private": private, "response": response}


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def download(browser, url: str, fmt: str):
    return browser.post(url, {"format": fmt})


# --- The client's own data ---


def test_it_gives_the_client_all_their_data_as_json_and_csv_in_a_zip(world, record):
    response = download(world.login(world.client), reverse("records:export-download"), "zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = unzip(response)
    assert set(archive.namelist()) >= {
        "README.txt",
        "data.json",
        "assignments.csv",
        "completions.csv",
        "feedback.csv",
        "measure_assignments.csv",
        "measure_answers.csv",
        "measure_scores.csv",
    }
    data = json.loads(archive.read("data.json"))
    assert data["client"]["email"] == "alex@client.test"
    completions = {c["completion_id"]: c for c in data["completions"]}
    assert set(completions) == {record["shared"].pk, record["private"].pk}
    private = completions[record["private"].pk]
    assert private["reflection"] == "=Only for me, mañana"
    assert private["answers"] == {"moment": "A private moment"}
    assert private["minutes"] == 8
    assert private["distress_before"] == 6
    assert private["local_date"] == "2026-01-07"
    assert data["feedback"][0]["text"] == "Lovely work."
    assert data["assignments"][0]["clinician_note"] == "Write gently."
    [measure] = data["measure_responses"]
    assert measure["answers"] == {str(k): v for k, v in MIXED.items()}
    assert measure["scores"]["total"]["value"] == 4.0
    assert measure["scores"]["total"]["band"] == "high"
    assert measure["citation"].startswith("Raes, F.")
    rows = {int(r["completion_id"]): r for r in read_csv(archive, "completions.csv")}
    assert rows[record["shared"].pk]["reflection"] == "It helped to slow down."
    # A formula-looking text is defused for spreadsheets; accents survive.
    assert rows[record["private"].pk]["reflection"] == "'=Only for me, mañana"
    answers = read_csv(archive, "measure_answers.csv")
    assert {(int(r["item"]), int(r["answer"])) for r in answers} == set(MIXED.items())
    scores = {r["score"]: r for r in read_csv(archive, "measure_scores.csv")}
    assert float(scores["total"]["value"]) == 4.0
    assert scores["self_judgment"]["less_reliable"] == "True"
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"Blair" not in everything
    assert b"Other client" not in everything


def test_it_gives_the_client_the_json_alone(world, record):
    response = download(world.login(world.client), reverse("records:export-download"), "json")
    assert response["Content-Type"] == "application/json"
    data = json.loads(b"".join(response.streaming_content))
    assert data["format"] == "kindwork-client-export"
    assert len(data["completions"]) == 2


def test_it_records_every_export_and_audits_it(world, record):
    from audit.models import AuditEvent

    download(world.login(world.client), reverse("records:export-download"), "zip")
    download(
        world.login(world.clinician),
        reverse("records:clinician-export", args=[world.client.pk]),
        "fhir",
    )
    records = list(ExportRecord.objects.order_by("created_at", "id"))
    assert [(r.actor, r.subject, r.kind, r.format) for r in records] == [
        (world.client, world.client, "client_own", "zip"),
        (world.clinician, world.client, "client_fhir", "fhir"),
    ]
    assert all(r.clinic == world.clinic for r in records)
    events = AuditEvent.objects.filter(action="export", object_type="records.exportrecord")
    assert {(e.actor_id, e.client_id) for e in events} == {
        (world.client.pk, world.client.pk),
        (world.clinician.pk, world.client.pk),
    }
    page = world.login(world.client).get(reverse("records:export")).text
    assert "Your recent downloads" in page


def test_it_refuses_a_bad_format_and_records_nothing(world, record):
    browser = world.login(world.client)
    for fmt in ("", "xml", "fhir"):
        response = download(browser, reverse("records:export-download"), fmt)
        assert response.status_code == 400
        assert "Choose one of these formats: json, zip." in response.text
    clinician = world.login(world.clinician)
    url = reverse("records:clinician-export", args=[world.client.pk])
    assert download(clinician, url, "json").status_code == 400
    assert not ExportRecord.objects.exists()


# --- The clinician's export of one client ---


def test_it_gives_the_clinician_the_record_without_private_reflections(world, record):
    url = reverse("records:clinician-export", args=[world.client.pk])
    archive = unzip(download(world.login(world.clinician), url, "zip"))
    assert "data.json" not in archive.namelist()
    rows = {int(r["completion_id"]): r for r in read_csv(archive, "completions.csv")}
    assert rows[record["shared"].pk]["reflection"] == "It helped to slow down."
    assert json.loads(rows[record["shared"].pk]["answers"])["phrase"] == "May I be kind to myself"
    private = rows[record["private"].pk]
    assert (private["reflection"], private["answers"]) == ("", "")
    assert private["reflection_shared"] == "False"
    assert private["minutes"] == "8"
    assert private["distress_after"] == "5"
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"Only for me" not in everything
    assert b"A private moment" not in everything
    assert b"Blair" not in everything
    [client_row] = read_csv(archive, "client.csv")
    assert client_row["email"] == "alex@client.test"


def test_it_exports_the_answers_as_fhir_questionnaire_responses(world, record):
    url = reverse("records:clinician-export", args=[world.client.pk])
    response = download(world.login(world.clinician), url, "fhir")
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(b"".join(response.streaming_content))
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert all(entry["fullUrl"].startswith("http") for entry in bundle["entry"])
    [questionnaire] = [r for r in resources if r["resourceType"] == "Questionnaire"]
    [answer] = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    assert questionnaire["status"] == "active"
    assert [i["linkId"] for i in questionnaire["item"]] == [str(n) for n in range(1, 13)]
    assert all(i["type"] == "integer" for i in questionnaire["item"])
    assert questionnaire["copyright"].startswith("Raes, F.")
    # The structure of an R4 QuestionnaireResponse.
    assert set(answer) >= {"resourceType", "id", "questionnaire", "status", "subject", "authored"}
    assert answer["status"] == "completed"
    assert answer["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    assert answer["subject"] == {
        "reference": f"Patient/{world.client.pk}",
        "display": "Alex Client",
    }
    authored = answer["authored"]
    assert authored == record["response"].answered_at.isoformat()
    assert "T" in authored and (authored.endswith("+00:00") or authored.endswith("Z"))
    assert [item["linkId"] for item in answer["item"]] == [str(n) for n in range(1, 13)]
    for item in answer["item"]:
        [value] = item["answer"]
        assert list(value) == ["valueInteger"]
        assert isinstance(value["valueInteger"], int)
        assert 1 <= value["valueInteger"] <= 5
        assert value["valueInteger"] == MIXED[int(item["linkId"])]
        assert item["text"]


def test_it_refuses_exports_to_everyone_else(world, record):
    own = reverse("records:export-download")
    page = reverse("records:export")
    clinician_url = reverse("records:clinician-export", args=[world.client.pk])
    anonymous = world.login(None)
    for url in (own, clinician_url):
        response = download(anonymous, url, "zip")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert anonymous.get(page).status_code == 302
    for other_role in (world.clinician, world.admin):
        assert download(world.login(other_role), own, "zip").status_code == 403
        assert world.login(other_role).get(page).status_code == 403
    for not_a_clinician in (world.client, world.admin):
        assert download(world.login(not_a_clinician), clinician_url, "zip").status_code == 403
    colleagues_client = make_client("robin@client.test", world.colleague)
    for outsider in (world.colleague, world.stranger_clinician):
        assert download(world.login(outsider), clinician_url, "zip").status_code == 404
        assert download(world.login(outsider), clinician_url, "fhir").status_code == 404
    clinician = world.login(world.clinician)
    for someone in (colleagues_client, world.stranger_client, world.colleague):
        url = reverse("records:clinician-export", args=[someone.pk])
        assert download(clinician, url, "zip").status_code == 404
    assert clinician.get(clinician_url).status_code == 405
    assert world.login(world.client).get(own).status_code == 405
    assert not ExportRecord.objects.exists()


def test_it_gives_a_client_only_their_own_data(world, record):
    archive = unzip(
        download(world.login(world.other_client), reverse("records:export-download"), "zip")
    )
    data = json.loads(archive.read("data.json"))
    assert data["client"]["email"] == "blair@client.test"
    assert [c["reflection"] for c in data["completions"]] == ["Blair's secret"]
    assert data["measure_responses"] == []


# --- The admin's clinic export ---


def clinic_url() -> str:
    return reverse("admin:records_exportrecord_export_clinic")


def test_it_lets_an_admin_export_a_clinic(world, record):
    browser = world.login(world.admin)
    page = browser.get(clinic_url())
    assert page.status_code == 200
    assert "Harbour Clinic" in page.text
    assert "Export a clinic" in browser.get(reverse("admin:records_exportrecord_changelist")).text
    response = browser.post(clinic_url(), {"clinic": world.clinic.pk})
    assert response.status_code == 200
    archive = unzip(response)
    people = {r["email"]: r for r in read_csv(archive, "people.csv")}
    assert set(people) == {
        "dana@harbour.test",
        "lee@harbour.test",
        "alex@client.test",
        "blair@client.test",
    }
    assert people["alex@client.test"]["clinician_id"] == str(world.clinician.pk)
    rows = {int(r["completion_id"]): r for r in read_csv(archive, "completions.csv")}
    assert rows[record["shared"].pk]["reflection"] == "It helped to slow down."
    assert rows[record["private"].pk]["reflection"] == ""
    assert "Blair's secret" in {r["reflection"] for r in rows.values()}
    assert len(read_csv(archive, "measure_answers.csv")) == 12
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"casey@client.test" not in everything
    assert b"Hillside" not in everything
    export = ExportRecord.objects.get()
    assert (export.actor, export.kind, export.clinic, export.subject) == (
        world.admin,
        "clinic",
        world.clinic,
        None,
    )


def test_it_limits_a_clinics_own_admin_to_their_clinic(world, record):
    staff = make_user("office@harbour.test", Role.ADMIN, world.clinic, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    browser = world.login(staff)
    page = browser.get(clinic_url()).text
    assert "Harbour Clinic" in page
    assert "Hillside Practice" not in page
    response = browser.post(clinic_url(), {"clinic": world.other_clinic.pk})
    assert response.status_code == 400
    assert "Choose one of the clinics listed." in response.text
    assert browser.post(clinic_url(), {"clinic": ""}).status_code == 400
    assert browser.post(clinic_url(), {"clinic": world.clinic.pk}).status_code == 200
    assert list(ExportRecord.objects.values_list("clinic", flat=True)) == [world.clinic.pk]
    log = browser.get(reverse("admin:records_exportrecord_changelist"))
    assert log.status_code == 200


def test_it_refuses_the_clinic_export_to_everyone_else(world, record):
    for person in (world.clinician, world.client):
        response = world.login(person).post(clinic_url(), {"clinic": world.clinic.pk})
        assert response.status_code == 302  # the admin's own login page
        assert reverse("admin:login") in response["Location"]
    # A staff member who is not an admin (say, a clinician made staff by mistake).
    staff_clinician = make_user("staff@harbour.test", Role.CLINICIAN, world.clinic, is_staff=True)
    response = world.login(staff_clinician).post(clinic_url(), {"clinic": world.clinic.pk})
    assert response.status_code == 403
    anonymous = world.login(None).post(clinic_url(), {"clinic": world.clinic.pk})
    assert anonymous.status_code == 302
    assert not ExportRecord.objects.exists()


@pytest.mark.parametrize("logs", [3, 60])
def test_it_exports_in_a_fixed_number_of_queries(world, logs, django_assert_max_num_queries):
    assignment = make_assignment(world.client)
    for day in range(logs):
        completion = make_completion(assignment, date(2026, 1, 1) + timedelta(days=day))
        Feedback.objects.create(completion=completion, clinician=world.clinician, text="ok")
    client, clinician, admin = (
        world.login(world.client),
        world.login(world.clinician),
        world.login(world.admin),
    )
    cases = [
        # The flags (urgent ones, logs asked about) are read once for data.json and once
        # for flags.csv: two queries each, whatever their number.
        (client, reverse("records:export-download"), {"format": "zip"}, 24),
        (
            clinician,
            reverse("records:clinician-export", args=[world.client.pk]),
            {"format": "zip"},
            16,
        ),
        (admin, clinic_url(), {"clinic": world.clinic.pk}, 20),
    ]
    for browser, url, data, limit in cases:
        with django_assert_max_num_queries(limit):
            response = browser.post(url, data)
            b"".join(response.streaming_content)
        assert response.status_code == 200
