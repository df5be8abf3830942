"""Flags and their acknowledgements in the pre-session report (page and PDF) and in the
exports: the client's own, the clinician's zip of one client, and FHIR (urgent flags)."""

import csv
import io
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from homework.schedule import local_date
from measures.models import RiskFlag
from records import reports
from tests.factories import make_assignment, make_completion, make_exercise, make_measure_response

pytestmark = pytest.mark.django_db

PHQ_ITEM_9 = dict.fromkeys(range(1, 9), 0) | {9: 1}


def tokyo_moment(days_ago: int, hour: int, minute: int) -> datetime:
    """A moment `days_ago` days ago in Tokyo (the clinician's zone), as UTC."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Tokyo")
    day = timezone.now().astimezone(zone).date() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def flag(world, *, raised: datetime, days_ago: int, acknowledged: datetime | None = None):
    response = make_measure_response(
        client=world.client, instrument="PHQ-9", answers=PHQ_ITEM_9, days_ago=days_ago
    )
    return RiskFlag.objects.create(
        client=world.client,
        response=response,
        item=9,
        created_at=raised,
        acknowledged_at=acknowledged,
        acknowledged_by=world.clinician if acknowledged else None,
    )


@pytest.fixture
def flagged(world):
    """An acknowledged flag and an open one in the last days, an old acknowledged one
    outside the report's window, a log the client asked about, and another client's flag."""
    world.clinician.timezone = "Asia/Tokyo"
    world.clinician.save(update_fields=["timezone"])
    today = local_date(timezone.now(), world.client.zone)
    acknowledged = flag(
        world,
        raised=tokyo_moment(5, 8, 15),
        days_ago=5,
        acknowledged=tokyo_moment(5, 9, 40),
    )
    still_open = flag(world, raised=tokyo_moment(2, 21, 5), days_ago=2)
    old = flag(
        world, raised=tokyo_moment(60, 7, 0), days_ago=60, acknowledged=tokyo_moment(60, 7, 30)
    )
    exercise = make_exercise(title="Soften, soothe, allow")
    log = make_completion(
        make_assignment(world.client, exercise, start_date=today - timedelta(days=10)),
        today - timedelta(days=3),
        clinician_told_at=tokyo_moment(3, 22, 50),
    )
    other = make_measure_response(client=world.other_client, instrument="PHQ-9", answers=PHQ_ITEM_9)
    RiskFlag.objects.create(client=world.other_client, response=other, item=9)
    return {"acknowledged": acknowledged, "open": still_open, "old": old, "log": log}


def fmt(moment: datetime) -> str:
    """As the report writes it, in Tokyo: "5 Mar 2026, 08:15"."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo("Asia/Tokyo"))
    return f"{local.day} {local:%b %Y, %H:%M}"


def expected_lines(flagged) -> list[str]:
    acknowledged, still_open, log = flagged["acknowledged"], flagged["open"], flagged["log"]
    return [
        "PHQ-9 question 9 was answered above its safety threshold on "
        f"{fmt(acknowledged.created_at)}. Acknowledged by Dana Clinician on "
        f"{fmt(acknowledged.acknowledged_at)}.",
        f"Urgent, open: PHQ-9 question 9 was answered above its safety threshold on "
        f"{fmt(still_open.created_at)}. Not yet acknowledged.",
        "The client asked you to look at their Soften, soothe, allow log of "
        f"{log.local_date.day} {log.local_date:%b %Y}: it stirred up something hard (asked "
        f"{fmt(log.clinician_told_at)}).",
    ]


def text_of(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_report_lists_the_flags_and_their_acknowledgements(world, flagged):
    response = world.login(world.clinician).get(
        reverse("records:pre-session-report", args=[world.client.pk])
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert [f.pk for f in report.risk_flags] == [flagged["acknowledged"].pk, flagged["open"].pk]
    page = text_of(response.content.decode())
    assert "Flags and their acknowledgements" in page
    for line in expected_lines(flagged):
        assert " ".join(line.split()) in page
    assert fmt(flagged["old"].created_at) not in page
    assert "Times are in your time zone (Asia/Tokyo)" in page


def test_an_open_flag_from_before_the_window_is_still_in_the_report(world, flagged):
    RiskFlag.objects.filter(pk=flagged["old"].pk).update(acknowledged_at=None)
    report = (
        world.login(world.clinician)
        .get(reverse("records:pre-session-report", args=[world.client.pk]))
        .context["report"]
    )
    assert flagged["old"].pk in [f.pk for f in report.risk_flags]


def test_a_report_without_flags_says_so(world):
    page = world.login(world.clinician).get(
        reverse("records:pre-session-report", args=[world.client.pk])
    )
    assert "No flags in this time." in page.content.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_the_pdf_holds_the_flags(world, flagged):
    if not reports.pdf_available():
        pytest.fail("WeasyPrint or Pango is missing (.ci/run installs them)")
    response = world.login(world.clinician).get(
        reverse("records:pre-session-report-pdf", args=[world.client.pk])
    )
    assert response.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(text.split())
    assert "Flags and their acknowledgements" in flat
    for line in expected_lines(flagged):
        assert " ".join(line.split()) in flat


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def flag_rows(archive: zipfile.ZipFile) -> list[dict]:
    text = archive.read("flags.csv").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def expected_rows(world, flagged) -> list[tuple]:
    def urgent(f):
        return (
            "urgent_risk",
            str(f.pk),
            f.created_at.isoformat(),
            f.response.local_date.isoformat(),
            "PHQ-9",
            "9",
            str(f.response_id),
            "",
            f.acknowledged_at.isoformat() if f.acknowledged_at else "",
            "Dana Clinician" if f.acknowledged_at else "",
        )

    log = flagged["log"]
    return [
        urgent(flagged["old"]),
        urgent(flagged["acknowledged"]),
        urgent(flagged["open"]),
        (
            "practice_hard",
            str(log.pk),
            log.clinician_told_at.isoformat(),
            log.local_date.isoformat(),
            "",
            "",
            "",
            str(log.pk),
            "",
            "",
        ),
    ]


def as_tuples(rows: list[dict], world) -> list[tuple]:
    assert {row["client_id"] for row in rows} == {str(world.client.pk)}
    return [
        (
            row["flag"],
            row["flag_id"],
            row["raised_at"],
            row["local_date"],
            row["instrument"],
            row["item"],
            row["response_id"],
            row["completion_id"],
            row["acknowledged_at"],
            row["acknowledged_by"],
        )
        for row in rows
    ]


def test_the_clients_own_export_holds_their_flags(world, flagged):
    response = world.login(world.client).post(reverse("records:export-download"), {"format": "zip"})
    archive = unzip(response)
    assert as_tuples(flag_rows(archive), world) == expected_rows(world, flagged)
    data = json.loads(archive.read("data.json"))
    in_json = [
        {key: ("" if value is None else str(value)) for key, value in row.items()}
        for row in data["flags"]
    ]
    assert as_tuples(in_json, world) == expected_rows(world, flagged)
    assert "flags.csv" in archive.read("README.txt").decode()


def test_the_clinicians_export_of_the_client_holds_the_flags(world, flagged):
    url = reverse("records:clinician-export", args=[world.client.pk])
    archive = unzip(world.login(world.clinician).post(url, {"format": "zip"}))
    assert as_tuples(flag_rows(archive), world) == expected_rows(world, flagged)


def test_the_fhir_export_holds_the_urgent_flags_as_flag_resources(world, flagged):
    url = reverse("records:clinician-export", args=[world.client.pk])
    response = world.login(world.clinician).post(url, {"format": "fhir"})
    bundle = json.loads(b"".join(response.streaming_content))
    flags = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Flag"]
    by_id = {f["id"]: f for f in flags}
    assert set(by_id) == {f"risk-flag-{flagged[key].pk}" for key in ("old", "acknowledged", "open")}
    acknowledged = by_id[f"risk-flag-{flagged['acknowledged'].pk}"]
    assert acknowledged["status"] == "inactive"
    assert acknowledged["period"] == {
        "start": flagged["acknowledged"].created_at.isoformat(),
        "end": flagged["acknowledged"].acknowledged_at.isoformat(),
    }
    assert acknowledged["subject"]["reference"] == f"Patient/{world.client.pk}"
    assert acknowledged["category"][0]["coding"][0]["code"] == "safety"
    still_open = by_id[f"risk-flag-{flagged['open'].pk}"]
    assert still_open["status"] == "active"
    assert "end" not in still_open["period"]
    responses = {
        e["resource"]["id"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    }
    # PHQ-9's difficulty question is optional: not required, and left out when unanswered.
    [phq] = [e["resource"] for e in bundle["entry"] if e["resource"].get("id") == "phq-9"]
    assert [i["required"] for i in phq["item"]] == [True] * 9 + [False]
    answers = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    assert all([i["linkId"] for i in a["item"]] == [str(n) for n in range(1, 10)] for a in answers)
    # Each flag points at an answer that is in the same bundle.
    for resource in flags:
        [extension] = resource["extension"]
        reference = extension["valueReference"]["reference"]
        assert reference.split("/", 1)[1] in responses
