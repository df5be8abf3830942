"""The pre-session report: its figures, the PDF, the print fallback, audit and refusals."""

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClientProfile
from audit.models import AuditEvent
from homework.schedule import local_date
from measures.engine import instrument_get
from measures.services import measure_assignment_create, measure_response_submit
from records import reports
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion

ROOT = Path(__file__).resolve().parents[2]
SHARED = "Canary-Shared-Kestrel"
PRIVATE = "Canary-Private-Otter"


def page_url(client) -> str:
    return reverse("records:pre-session-report", args=[client.pk])


def pdf_url(client) -> str:
    return reverse("records:pre-session-report-pdf", args=[client.pk])


def build_record(client, clinician, *, logs: int = 6) -> None:
    """`logs` practices over the last days (17 minutes each, distress 8 -> 3), one
    private reflection, and two questionnaires a week apart."""
    now = timezone.now()
    today = local_date(now, client.zone)
    assignment = make_assignment(client, start_date=today - timedelta(days=40))
    for index in range(logs):
        make_completion(
            assignment,
            today - timedelta(days=index),
            minutes=17,
            distress_before=8,
            distress_after=3,
            reflection=PRIVATE if index == 1 else f"{SHARED} {index}",
            reflection_shared=index != 1,
        )
    measure = measure_assignment_create(
        clinician=clinician,
        client=client,
        instrument="SCS-SF",
        every_weeks=1,
        start_date=today - timedelta(days=14),
        now=now - timedelta(days=14),
    )
    instrument = instrument_get("SCS-SF")
    for days_ago, value in [(8, 2), (1, 4)]:
        # Reverse-scored items answered the other way round, so the total is `value`.
        answers = {item.n: 6 - value if item.reverse else value for item in instrument.items}
        measure_response_submit(
            client=client, measure=measure, answers=answers, now=now - timedelta(days=days_ago)
        )


@pytest.fixture
def recorded(world):
    build_record(world.client, world.clinician)
    return world


def test_it_shows_the_figures_since_the_last_session_and_audits_the_view(recorded):
    world = recorded
    today = local_date(timezone.now(), world.client.zone)
    ClientProfile.objects.filter(user=world.client).update(
        last_session_on=today - timedelta(days=3)
    )
    response = world.login(world.clinician).get(page_url(world.client))
    assert response.status_code == 200
    page = response.content.decode()
    report = response.context["report"]
    # Three days since the session: today and the two days before it.
    assert (report.start, report.since_last_session) == (today - timedelta(days=2), True)
    assert (report.practice_days, report.minutes) == (3, 51)
    assert "Since the last session" in page
    assert [(c.label, c.mean_before, c.mean_after) for c in report.rating_changes] == [
        ("Distress", 8, 3)
    ]
    assert f"{SHARED} 0" in page and PRIVATE not in page
    [score] = report.scores
    assert (score.total.value, score.change) == (4.0, 2.0)
    assert "+2.00" in page
    assert AuditEvent.objects.filter(
        actor=world.clinician, client=world.client, action="view"
    ).exists()


def test_it_looks_back_14_days_without_a_last_session(recorded):
    report = recorded.login(recorded.clinician).get(page_url(recorded.client)).context["report"]
    assert report.since_last_session is False
    assert report.days == 14
    assert (report.practice_days, report.minutes) == (6, 102)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_it_downloads_a_pdf_holding_the_clients_figures(recorded):
    if not reports.pdf_available():
        pytest.fail("WeasyPrint or Pango is missing (.ci/run installs them)")
    response = recorded.login(recorded.clinician).get(pdf_url(recorded.client))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "Alex Client" in text
    assert "102" in text  # minutes
    assert f"{SHARED} 0" in text
    assert PRIVATE not in text
    assert AuditEvent.objects.filter(actor=recorded.clinician, client=recorded.client).count() == 1


def test_without_pango_it_offers_the_browsers_print_instead(recorded, monkeypatch):
    monkeypatch.setattr(reports, "pdf_available", lambda: False)
    monkeypatch.setattr("records.views.pdf_available", lambda: False)
    browser = recorded.login(recorded.clinician)
    page = browser.get(page_url(recorded.client)).content.decode()
    assert "Save as PDF" in page and "Download as PDF" not in page
    response = browser.get(pdf_url(recorded.client))
    assert response.status_code == 302
    assert response["Location"] == page_url(recorded.client)


def test_it_tells_whether_it_can_make_pdfs_without_importing_weasyprint():
    """The page's check agrees with a real import, and does not make one (0.6 s per worker)."""
    script = (
        "import sys, importlib, django\n"
        "django.setup()\n"
        "from records import reports\n"
        "available = reports.pdf_available()\n"
        "assert 'weasyprint' not in sys.modules, 'the check imported WeasyPrint'\n"
        "try:\n"
        "    importlib.import_module('weasyprint'); imported = True\n"
        "except (ImportError, OSError):\n"
        "    imported = False\n"
        "print(available, imported)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out[0] == out[1]


def test_a_download_whose_pdf_library_fails_to_load_falls_back_to_the_page(recorded, monkeypatch):
    def missing(**_kwargs):
        raise reports.PdfLibrariesMissing

    monkeypatch.setattr("records.views.pdf_available", lambda: True)
    monkeypatch.setattr("records.views.pre_session_report_pdf", missing)
    response = recorded.login(recorded.clinician).get(pdf_url(recorded.client))
    assert response.status_code == 302
    assert response["Location"] == page_url(recorded.client)


@pytest.mark.parametrize("url", [page_url, pdf_url])
def test_it_refuses_anonymous_the_client_colleagues_and_other_clinics(world, url):
    target = url(world.client)
    response = world.login(None).get(target)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.client).get(target).status_code == 403
    assert world.login(world.other_client).get(target).status_code == 403
    make_client("robin@client.test", world.colleague)
    assert world.login(world.colleague).get(target).status_code == 404
    assert world.login(world.stranger_clinician).get(target).status_code == 404
    assert not AuditEvent.objects.filter(client=world.client, action="view").exists()


@pytest.mark.parametrize("logs", [3, 30])
def test_the_page_costs_the_same_queries_for_any_number_of_logs(
    world, logs, django_assert_max_num_queries
):
    build_record(world.client, world.clinician, logs=logs)
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(24):
        response = browser.get(page_url(world.client))
    assert response.status_code == 200


# --- a supervisor reads it -----------------------------------------------------------------


def test_a_supervisor_reads_a_supervised_clients_report_with_shared_reflections_only(
    recorded, supervisor
):
    browser = recorded.login(supervisor)
    page = browser.get(page_url(recorded.client))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Before the session: Alex Client" in html
    assert SHARED in html and PRIVATE not in html
    # The view is on the record, so the client sees it under "who viewed my record".
    assert AuditEvent.objects.filter(
        client=recorded.client, action="view", actor=supervisor
    ).exists()
    if reports.pdf_available():
        pdf = browser.get(pdf_url(recorded.client))
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("url", [page_url, pdf_url])
def test_a_supervisor_is_refused_other_caseloads_and_any_post(world, supervisor, url):
    colleagues = make_client("robin@client.test", world.colleague)
    browser = world.login(supervisor)
    assert browser.get(url(colleagues)).status_code == 404
    assert browser.get(url(world.stranger_client)).status_code == 404
    assert browser.post(url(world.client), {}).status_code == 403
    assert not AuditEvent.objects.filter(action="view", actor=supervisor).exists()
