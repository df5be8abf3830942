"""Urgent risk flags: an answer past a risk item's threshold (PHQ-9 item 9 above 0).

The flag is written with the answer, the client sees the clinic's crisis resources at
once, the clinician gets one content-free email and a flag on the caseload and client
page until they acknowledge it (audited).
"""

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEvent
from homework.selectors.progress import caseload_for_clinician
from measures.models import MeasureResponse, RiskFlag
from measures.services import measure_response_submit
from notifications.models import Notification
from tests.factories import make_measure, make_measure_response

CANARY_ANSWERS = ("better off dead", "hurting yourself", "PHQ", "question 9", "Alex")


def phq(item_9: int, rest: int = 0) -> dict[str, str]:
    answers = dict.fromkeys(range(1, 9), rest) | {9: item_9}
    return {f"item_{n}": str(v) for n, v in answers.items()}


@pytest.fixture
def phq_measure(world):
    return make_measure(world.client, instrument="PHQ-9")


def answer_url(measure) -> str:
    return reverse("measures:measure-answer", args=[measure.pk])


def submit(world, measure, data, send_outbox=None):
    browser = world.login(world.client)
    return browser, browser.post(answer_url(measure), data)


def test_it_flags_an_answer_above_the_threshold_with_the_response(
    world, phq_measure, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser, response = submit(world, phq_measure, phq(item_9=1))
    assert response.status_code == 302
    answer = MeasureResponse.objects.get()
    flag = RiskFlag.objects.get()
    assert (flag.client, flag.response, flag.item, flag.is_open) == (
        world.client,
        answer,
        9,
        True,
    )
    # The client lands on a page with the crisis resources, kindly worded.
    page = browser.get(response["Location"]).content.decode()
    assert "If you need help now" in page
    assert "you don't have to carry it alone" in page
    assert "We have let your clinician know" in page


def test_it_raises_no_flag_at_the_threshold(world, phq_measure, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        browser, response = submit(world, phq_measure, phq(item_9=0, rest=3))
    assert response.status_code == 302
    assert not RiskFlag.objects.exists()
    assert not Notification.objects.exists()
    assert "If you need help now" not in browser.get(response["Location"]).content.decode()


def test_it_emails_the_clinician_once_with_no_clinical_content(
    world, phq_measure, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(world, phq_measure, phq(item_9=3, rest=2))
    [row] = Notification.objects.all()
    assert (row.kind, row.recipient, row.status) == ("urgent_attention", world.clinician, "sent")
    assert row.context == {"client_id": world.client.pk}
    [message] = mail.outbox
    assert message.to == [world.clinician.email]
    assert message.subject == "A client on your caseload needs your attention today"
    bodies = [message.body, *(content for content, _type in message.alternatives)]
    client_page = reverse("homework:client-detail", args=[world.client.pk])
    for body in [message.subject, *bodies]:
        for canary in CANARY_ANSWERS:
            assert canary not in body
    assert client_page in message.body


def test_it_writes_nothing_when_the_answer_is_refused(world, phq_measure):
    data = phq(item_9=1)
    data["item_9"] = "7"
    _browser, response = submit(world, phq_measure, data)
    assert response.status_code == 400
    assert not MeasureResponse.objects.exists()
    assert not RiskFlag.objects.exists()
    assert not Notification.objects.exists()


def test_it_refuses_a_second_answer_to_a_finished_questionnaire(world, phq_measure):
    measure_response_submit(client=world.client, measure=phq_measure, answers=phq_answers(1))
    browser = world.login(world.client)
    response = browser.post(answer_url(phq_measure), phq(item_9=2))
    assert response.status_code == 400
    assert RiskFlag.objects.count() == 1
    assert Notification.objects.count() == 1


def phq_answers(item_9: int) -> dict[int, int]:
    return dict.fromkeys(range(1, 9), 0) | {9: item_9}


@pytest.fixture
def flag(world, phq_measure):
    measure_response_submit(client=world.client, measure=phq_measure, answers=phq_answers(2))
    return RiskFlag.objects.get()


def test_it_puts_the_urgent_client_first_on_the_caseload_in_words(world, flag):
    rows = caseload_for_clinician(clinician=world.clinician)
    assert rows[0].client == world.client and rows[0].urgent
    assert (
        rows[0]
        .reasons[0]
        .startswith("Urgent: PHQ-9 question 9 was answered above its safety threshold")
    )
    page = world.login(world.clinician).get(reverse("homework:dashboard")).content.decode()
    assert "Needs attention: urgent: phq-9 question 9" in page


def test_it_shows_the_flag_on_the_client_page_until_acknowledged_and_audits_that(world, flag):
    browser = world.login(world.clinician)
    client_page = reverse("homework:client-detail", args=[world.client.pk])
    page = browser.get(client_page).content.decode()
    assert "Urgent: needs your attention" in page
    acknowledge = reverse("measures:risk-flag-acknowledge", args=[flag.pk])
    assert acknowledge in page
    response = browser.post(acknowledge)
    assert response.status_code == 302
    flag.refresh_from_db()
    assert not flag.is_open and flag.acknowledged_by == world.clinician
    event = AuditEvent.objects.get(action=AuditAction.CHANGE, object_type="measures.riskflag")
    assert (event.actor_id, event.object_id, event.client_id) == (
        world.clinician.pk,
        str(flag.pk),
        world.client.pk,
    )
    page = browser.get(client_page).content.decode()
    assert "Urgent: needs your attention" not in page
    assert "Acknowledged by Dana Clinician" in page
    assert not caseload_for_clinician(clinician=world.clinician)[0].urgent
    # A second click changes nothing and adds no audit event.
    browser.post(acknowledge)
    assert AuditEvent.objects.filter(object_type="measures.riskflag").count() == 1


@pytest.mark.parametrize("who", ["colleague", "stranger_clinician", "client", "other_client"])
def test_it_refuses_the_acknowledgement_to_anyone_but_the_clients_clinician(world, flag, who):
    response = world.login(getattr(world, who)).post(
        reverse("measures:risk-flag-acknowledge", args=[flag.pk])
    )
    assert response.status_code in (403, 404)
    flag.refresh_from_db()
    assert flag.is_open


def test_it_sends_an_anonymous_visitor_to_log_in(world, flag):
    response = world.login(None).post(reverse("measures:risk-flag-acknowledge", args=[flag.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    flag.refresh_from_db()
    assert flag.is_open


def test_it_refuses_a_get_on_the_acknowledgement(world, flag):
    response = world.login(world.clinician).get(
        reverse("measures:risk-flag-acknowledge", args=[flag.pk])
    )
    assert response.status_code == 405


def test_it_lists_and_acknowledges_flags_in_the_api(world, flag):
    api = APIClient()
    api.force_authenticate(world.clinician)
    listed = api.get("/api/v1/risk-flags/?open=true").json()
    assert [row["id"] for row in listed["results"]] == [flag.pk]
    assert listed["results"][0]["instrument"] == "PHQ-9"
    acknowledged = api.post(f"/api/v1/risk-flags/{flag.pk}/acknowledge/").json()
    assert acknowledged["acknowledged_by"] == world.clinician.pk
    assert api.get("/api/v1/risk-flags/?open=true").json()["results"] == []
    api.force_authenticate(world.colleague)
    assert api.get("/api/v1/risk-flags/").json()["results"] == []
    assert api.post(f"/api/v1/risk-flags/{flag.pk}/acknowledge/").status_code == 404


def test_it_states_a_rise_of_severity_band_on_the_caseload(world):
    # GAD-7 mild (5) a week ago, moderate (10) today.
    make_measure_response(
        client=world.client,
        instrument="GAD-7",
        answers={1: 3, 2: 2, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0},
        days_ago=7,
    )
    make_measure_response(
        client=world.client,
        instrument="GAD-7",
        answers={1: 3, 2: 3, 3: 3, 4: 1, 5: 0, 6: 0, 7: 0},
    )
    row = next(
        r for r in caseload_for_clinician(clinician=world.clinician) if r.client == world.client
    )
    assert any(r.startswith("GAD-7 severity band rose from mild to moderate") for r in row.reasons)
    assert not row.urgent


def test_it_says_nothing_when_the_band_falls(world):
    make_measure_response(
        client=world.client, instrument="GAD-7", answers=dict.fromkeys(range(1, 8), 2), days_ago=7
    )
    make_measure_response(
        client=world.client, instrument="GAD-7", answers=dict.fromkeys(range(1, 8), 0)
    )
    row = next(
        r for r in caseload_for_clinician(clinician=world.clinician) if r.client == world.client
    )
    assert not any("severity band" in r for r in row.reasons)


def test_it_charts_a_summed_total_on_its_own_range_with_its_bands(world):
    from measures.charts import measure_trend_charts

    make_measure_response(
        client=world.client, instrument="PHQ-9", answers=dict.fromkeys(range(1, 10), 2), days_ago=7
    )
    make_measure_response(
        client=world.client, instrument="PHQ-9", answers=dict.fromkeys(range(1, 10), 0)
    )
    [chart] = measure_trend_charts(client=world.client)
    svg = str(chart.svg)
    assert "PHQ-9 total (right, 0-27)" in svg
    for band in ("mild", "moderate", "moderately severe", "severe"):
        assert f">{band}</text>" in svg
    assert "total was 18 on" in chart.summary and "and 0 on" in chart.summary


def test_it_tells_a_client_app_to_show_the_crisis_resources(world, phq_measure):
    api = APIClient()
    api.force_authenticate(world.client)
    answers = {str(n): 0 for n in range(1, 9)} | {"9": 1}
    created = api.post(
        f"/api/v1/measure-assignments/{phq_measure.pk}/answer/", {"answers": answers}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["needs_support"] is True
    assert RiskFlag.objects.filter(client=world.client).count() == 1
    again = api.post(
        f"/api/v1/measure-assignments/{phq_measure.pk}/answer/", {"answers": answers}, format="json"
    )
    assert again.status_code == 400
    assert RiskFlag.objects.count() == 1
