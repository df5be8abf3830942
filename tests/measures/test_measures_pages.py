"""Questionnaire pages: the clinician schedules, the client answers, both see scores and trend."""

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from measures.models import MeasureAssignment, MeasureResponse
from tests.conftest import make_client
from tests.factories import (
    local_today,
    make_assignment,
    make_completion,
    make_measure,
    make_measure_response,
)

CITATION = "Raes, F., Pommier, E., Neff, K. D., &amp; Van Gucht, D. (2011)"


def every(value: int) -> dict[int, int]:
    return dict.fromkeys(range(1, 13), value)


def form_data(answers: dict[int, int]) -> dict[str, str]:
    return {f"item_{n}": str(v) for n, v in answers.items()}


def measures_url(client) -> str:
    return reverse("measures:clinician-measures", args=[client.pk])


# --- The clinician schedules ---


def test_it_lets_the_clinician_schedule_the_scs_sf_every_n_weeks(world):
    browser = world.login(world.clinician)
    page = browser.get(measures_url(world.client))
    assert page.status_code == 200
    assert "Self-Compassion Scale - Short Form (SCS-SF)" in page.text
    assert CITATION in page.text
    response = browser.post(
        measures_url(world.client),
        {
            "instrument": "SCS-SF",
            "frequency": "repeat",
            "every_weeks": "4",
            "start_date": local_today(world.client).isoformat(),
        },
    )
    assert response.status_code == 302
    measure = MeasureAssignment.objects.get()
    assert (measure.client, measure.clinician) == (world.client, world.clinician)
    assert (measure.instrument, measure.every_weeks) == ("SCS-SF", 4)
    page = browser.get(measures_url(world.client)).text
    assert "Every 4 weeks" in page
    assert "Waiting for an answer" in page


def test_it_schedules_once_when_asked_once_even_if_weeks_were_typed(world):
    world.login(world.clinician).post(
        measures_url(world.client),
        {
            "instrument": "SCS-SF",
            "frequency": "once",
            "every_weeks": "3",
            "start_date": local_today(world.client).isoformat(),
        },
    )
    assert MeasureAssignment.objects.get().every_weeks is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"frequency": "repeat", "every_weeks": ""}, "Say every how many weeks."),
        ({"frequency": "repeat", "every_weeks": "0"}, "Choose every 1 to 52 weeks."),
        ({"frequency": "repeat", "every_weeks": "many"}, "Enter a whole number of weeks"),
        ({"start_date": "2001-01-01"}, "can&#x27;t be in the past"),
        ({"start_date": "not a date"}, "Enter a date."),
        ({"instrument": "BDI-II"}, "Select a valid choice"),
        ({"frequency": "sometimes"}, "Select a valid choice"),
    ],
)
def test_it_re_renders_a_bad_schedule_with_a_message_and_writes_nothing(world, data, message):
    base = {
        "instrument": "SCS-SF",
        "frequency": "once",
        "start_date": local_today(world.client).isoformat(),
    }
    response = world.login(world.clinician).post(measures_url(world.client), base | data)
    assert response.status_code == 400
    assert message in response.text
    assert not MeasureAssignment.objects.exists()


def test_it_refuses_a_second_schedule_of_the_same_instrument_with_a_message(world):
    make_measure(world.client)
    response = world.login(world.clinician).post(
        measures_url(world.client),
        {
            "instrument": "SCS-SF",
            "frequency": "once",
            "start_date": local_today(world.client).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "already scheduled" in response.text
    assert MeasureAssignment.objects.count() == 1


def test_it_ends_a_schedule_and_keeps_the_answers(world):
    measure = make_measure(world.client)
    make_measure_response(measure=measure, answers=every(3))
    browser = world.login(world.clinician)
    url = reverse("measures:clinician-measure-end", args=[measure.pk])
    assert browser.get(url).status_code == 405
    assert browser.post(url).status_code == 302
    measure.refresh_from_db()
    assert measure.status == "ended"
    assert MeasureResponse.objects.count() == 1


def test_it_refuses_the_clinicians_measure_pages_to_everyone_else(world):
    measure = make_measure(world.client)
    answer = make_measure_response(measure=measure, answers=every(3))
    colleagues_client = make_client("robin@client.test", world.colleague)
    pages = [
        ("get", measures_url(world.client)),
        ("post", measures_url(world.client)),
        ("post", reverse("measures:clinician-measure-end", args=[measure.pk])),
        ("get", reverse("measures:clinician-measure-response", args=[answer.pk])),
        ("get", reverse("measures:insights")),
    ]
    for method, url in pages:
        anonymous = getattr(world.login(None), method)(url)
        assert anonymous.status_code == 302, url
        assert anonymous["Location"].startswith(reverse("accounts:login"))
        assert getattr(world.login(world.client), method)(url).status_code == 403, url
        assert getattr(world.login(world.admin), method)(url).status_code == 403, url
    for method, url in pages[:4]:
        for outsider in (world.colleague, world.stranger_clinician):
            assert getattr(world.login(outsider), method)(url).status_code == 404, (url, outsider)
    browser = world.login(world.clinician)
    assert browser.get(measures_url(colleagues_client)).status_code == 404
    assert browser.get(measures_url(world.stranger_client)).status_code == 404
    assert browser.get(measures_url(world.clinician)).status_code == 404
    missing = reverse("measures:clinician-measure-response", args=[987654])
    assert browser.get(missing).status_code == 404
    measure.refresh_from_db()
    assert measure.status == "active"
    assert MeasureAssignment.objects.count() == 1


# --- The client answers ---


def test_it_shows_a_due_questionnaire_on_today(world):
    measure = make_measure(world.client)
    page = world.login(world.client).get(reverse("homework:today")).text
    assert "A short questionnaire" in page
    assert reverse("measures:measure-answer", args=[measure.pk]) in page
    other = world.login(world.other_client).get(reverse("homework:today")).text
    assert "A short questionnaire" not in other


def test_it_shows_every_item_as_an_accessible_radio_group(world):
    measure = make_measure(world.client)
    page = world.login(world.client).get(reverse("measures:measure-answer", args=[measure.pk]))
    assert page.status_code == 200
    html = page.text
    assert html.count("<fieldset") == 12
    assert html.count("<legend>") == 12
    assert '<span class="measure-number">4.</span> When I&#x27;m feeling down' in html
    for n in range(1, 13):
        assert html.count(f'name="item_{n}"') == 5
        for value in range(1, 6):
            assert f'for="id_item_{n}_{value - 1}"' in html
    assert "1: Almost never" in html
    assert "3: Sometimes" in html
    assert "5: Almost always" in html
    assert CITATION in html
    assert 'src="/static/js/measure.js"' in html
    assert "<script>" not in html  # no inline script
    assert "How I typically act towards myself in difficult times" in html


def test_it_saves_the_clients_answers_and_shows_the_scores_in_order(world):
    measure = make_measure(world.client)
    browser = world.login(world.client)
    given = {1: 2, 2: 4, 3: 3, 4: 1, 5: 5, 6: 4, 7: 3, 8: 2, 9: 2, 10: 4, 11: 3, 12: 1}
    response = browser.post(reverse("measures:measure-answer", args=[measure.pk]), form_data(given))
    assert response.status_code == 302
    saved = MeasureResponse.objects.get()
    assert saved.answers == {str(k): v for k, v in given.items()}
    assert response["Location"] == reverse("measures:measure-response", args=[saved.pk])
    page = browser.get(response["Location"]).text
    # Total 48 / 12 = 4.00, high; composites 23/6 and 25/6; subscales less reliable.
    total = page.index("4.00")
    assert "High" in page
    composite = page.index("3.83")
    subscales = page.index("Subscales (less reliable)")
    assert total < composite < page.index("4.17") < subscales
    assert page.count("less reliable</span>") == 6
    assert CITATION in page
    # No longer due.
    assert "A short questionnaire" not in browser.get(reverse("homework:today")).text
    closed = browser.get(reverse("measures:measure-answer", args=[measure.pk]))
    assert "Nothing to answer right now" in closed.text


def test_it_re_renders_an_incomplete_response_with_messages_and_writes_nothing(world):
    measure = make_measure(world.client)
    given = every(3)
    del given[4], given[9]
    url = reverse("measures:measure-answer", args=[measure.pk])
    response = world.login(world.client).post(url, form_data(given) | {"item_2": "8"})
    assert response.status_code == 400
    html = response.text
    assert "Please answer every question: 4, 9 still need an answer." in html
    assert "Please check question 2: choose one of the answers." in html
    assert "Please answer question 4." in html
    assert 'href="#q-9"' in html
    assert 'aria-describedby="id_item_4_error"' in html
    # What was answered stays chosen.
    assert re.search(r'name="item_1" value="3"[^>]*checked', html)
    assert not MeasureResponse.objects.exists()


def test_it_refuses_answers_when_nothing_is_due(world):
    measure = make_measure(world.client, start_date=local_today(world.client) + timedelta(days=2))
    response = world.login(world.client).post(
        reverse("measures:measure-answer", args=[measure.pk]), form_data(every(3))
    )
    assert response.status_code == 400
    assert "Nothing to answer right now" in response.text
    assert not MeasureResponse.objects.exists()


def test_it_refuses_the_clients_measure_pages_to_everyone_else(world):
    measure = make_measure(world.client)
    answer = make_measure_response(
        measure=make_measure(world.client, instrument="SCS-SF", status="ended"), answers=every(2)
    )
    own_pages = [
        reverse("measures:measures"),
        reverse("measures:what-helps"),
    ]
    object_pages = [
        reverse("measures:measure-answer", args=[measure.pk]),
        reverse("measures:measure-response", args=[answer.pk]),
    ]
    for url in own_pages + object_pages:
        anonymous = world.login(None).get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith(reverse("accounts:login"))
        assert world.login(world.clinician).get(url).status_code == 403
        assert world.login(world.admin).get(url).status_code == 403
    for url in object_pages:
        assert world.login(world.other_client).get(url).status_code == 404
        assert world.login(world.stranger_client).get(url).status_code == 404
    post = world.login(world.other_client).post(object_pages[0], form_data(every(3)))
    assert post.status_code == 404
    assert MeasureResponse.objects.count() == 1
    browser = world.login(world.client)
    assert browser.get(reverse("measures:measure-answer", args=[987654])).status_code == 404
    assert browser.get(reverse("measures:measure-response", args=[987654])).status_code == 404


# --- Scores and the trend ---


def test_it_shows_the_trend_beside_minutes_of_practice_to_client_and_clinician(world):
    measure = make_measure(world.client, every_weeks=2, start_date=local_today(world.client))
    every_one = every(1)  # total 3.0
    make_measure_response(measure=measure, answers=every_one, days_ago=28, due_date=None)
    given = {n: (2 if n in {1, 4, 8, 9, 11, 12} else 4) for n in range(1, 13)}  # total 4.0
    make_measure_response(measure=measure, answers=given, days_ago=0)
    assignment = make_assignment(
        world.client, start_date=local_today(world.client) - timedelta(days=40)
    )
    make_completion(assignment, local_today(world.client) - timedelta(days=1), minutes=25)
    make_completion(assignment, local_today(world.client) - timedelta(days=29), minutes=10)
    progress = world.login(world.client).get(reverse("homework:progress")).text
    detail = (
        world.login(world.clinician)
        .get(reverse("homework:client-detail", args=[world.client.pk]))
        .text
    )
    for page in (progress, detail):
        assert "SCS-SF total and minutes of practice, by week" in page
        assert 'id="measure-trend-scs-sf"' in page
        assert "The SCS-SF total was 3 on" in page
        assert "and 4 on" in page
        assert "35 minutes of practice" in page
        assert CITATION in page
    assert "Latest SCS-SF" in detail
    assert "total <strong>4.00</strong> (high)" in detail


def test_it_shows_the_clinician_the_latest_scores_and_every_answer(world):
    measure = make_measure(world.client, every_weeks=1)
    make_measure_response(measure=measure, answers=every(5), days_ago=7, due_date=None)
    make_measure_response(measure=measure, answers=every(1), days_ago=0)
    page = world.login(world.clinician).get(measures_url(world.client)).text
    assert "Latest: " in page
    assert "Two parts of the total" in page
    assert page.count("3.00") == 3  # the latest total, and both answers total 3.00
    assert "FHIR" in page


# --- A second instrument, end to end, with no code change ---


def test_it_runs_a_second_instrument_from_a_data_file_end_to_end(world, tmp_path, settings):
    from tests.measures.test_measures_engine import MINI

    (tmp_path / "mini.json").write_text(json.dumps(MINI))
    settings.MEASURE_INSTRUMENT_DIRS = [tmp_path]
    clinician = world.login(world.clinician)
    assert "A made-up three-item check (MINI-3)" in clinician.get(measures_url(world.client)).text
    clinician.post(
        measures_url(world.client),
        {
            "instrument": "MINI-3",
            "frequency": "once",
            "start_date": local_today(world.client).isoformat(),
        },
    )
    measure = MeasureAssignment.objects.get(instrument="MINI-3")
    client = world.login(world.client)
    form = client.get(reverse("measures:measure-answer", args=[measure.pk])).text
    assert form.count("<fieldset") == 3
    assert "0: Not at all" in form
    assert "Nobody (2026). Made up for a test." in form
    response = client.post(
        reverse("measures:measure-answer", args=[measure.pk]),
        {"item_1": "4", "item_2": "1", "item_3": "2"},
    )
    assert response.status_code == 302
    saved = MeasureResponse.objects.get()
    assert (saved.instrument, saved.instrument_version) == ("MINI-3", "0.1")
    page = client.get(response["Location"]).text
    assert "3.00" in page
    assert "Higher" in page


# --- Query counts stay flat ---


@pytest.mark.parametrize("answers", [2, 20])
def test_it_serves_measure_pages_in_a_fixed_number_of_queries(
    world, answers, django_assert_max_num_queries
):
    measure = make_measure(world.client, every_weeks=1)
    for index in range(answers):
        make_measure_response(
            measure=measure,
            answers=every(1 + index % 5),
            days_ago=7 * (answers - index),
            due_date=None,
        )
    assignment = make_assignment(
        world.client, start_date=local_today(world.client) - timedelta(300)
    )
    for day in range(0, 200, 2):
        make_completion(assignment, local_today(world.client) - timedelta(days=day))
    client, clinician = world.login(world.client), world.login(world.clinician)
    latest = MeasureResponse.objects.order_by("-answered_at").first()
    # auth 2 + the page's own; measured, with 2 of headroom for per-request middleware.
    limits = [
        (client, reverse("measures:measures"), 3 + 2 + 2),
        (client, reverse("measures:measure-answer", args=[measure.pk]), 2 + 2 + 2),
        (client, reverse("measures:measure-response", args=[latest.pk]), 1 + 2 + 2),
        (client, reverse("homework:progress"), 5 + 3 + 2 + 2),
        # +1: the logs between the answers, for a questionnaire's change with practice.
        (clinician, measures_url(world.client), 1 + 5 + 1 + 2 + 2),
        (clinician, reverse("measures:clinician-measure-response", args=[latest.pk]), 2 + 2 + 2),
    ]
    for browser, url, limit in limits:
        with django_assert_max_num_queries(limit):
            assert browser.get(url).status_code == 200, url


def test_it_records_the_clinicians_look_in_the_audit_trail(world):
    from audit.models import AuditEvent

    measure = make_measure(world.client)
    answer = make_measure_response(measure=measure, answers=every(3))
    browser = world.login(world.clinician)
    browser.get(measures_url(world.client))
    browser.get(reverse("measures:clinician-measure-response", args=[answer.pk]))
    views = AuditEvent.objects.filter(action="view", actor_id=world.clinician.pk)
    assert {(e.object_type, e.object_id, e.client_id) for e in views} == {
        ("accounts.user", str(world.client.pk), world.client.pk),
        ("measures.measureresponse", str(answer.pk), world.client.pk),
    }
    # A client's look at their own answers is not an access to audit.
    world.login(world.client).get(reverse("measures:measure-response", args=[answer.pk]))
    assert not AuditEvent.objects.filter(action="view", actor_id=world.client.pk).exists()
