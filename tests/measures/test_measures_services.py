"""Scheduling a questionnaire and recording answers: the rules, whoever calls."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from measures.models import MeasureAssignment, MeasureResponse
from measures.selectors import measure_statuses, measures_due, occurrence_on
from measures.services import (
    measure_assignment_create,
    measure_assignment_end,
    measure_response_submit,
)
from tests.conftest import make_client

# 10:00 UTC on Monday 2 March 2026 is the same Monday in London.
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def every(value: int) -> dict[int, int]:
    return dict.fromkeys(range(1, 13), value)


def schedule(world, **overrides) -> MeasureAssignment:
    arguments = {
        "clinician": world.clinician,
        "client": world.client,
        "instrument": "SCS-SF",
        "every_weeks": None,
        "start_date": TODAY,
        "now": NOW,
    } | overrides
    return measure_assignment_create(**arguments)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_it_schedules_a_questionnaire_once_and_it_is_due_until_answered(world):
    measure = schedule(world)
    assert [s.measure for s in measures_due(client=world.client, now=NOW)] == [measure]
    later = at(TODAY + timedelta(days=40))
    assert measures_due(client=world.client, now=later)[0].due_date == TODAY
    measure_response_submit(client=world.client, measure=measure, answers=every(3), now=later)
    assert measures_due(client=world.client, now=later) == []
    status = measure_statuses(client=world.client, now=later)[0]
    assert status.last_answered == TODAY + timedelta(days=40)
    assert status.next_date is None


def test_it_opens_a_new_occurrence_every_n_weeks_and_lets_a_missed_one_lapse(world):
    measure = schedule(world, every_weeks=2)
    assert occurrence_on(measure, TODAY - timedelta(days=1)) is None
    assert occurrence_on(measure, TODAY + timedelta(days=13)) == TODAY
    assert occurrence_on(measure, TODAY + timedelta(days=14)) == TODAY + timedelta(days=14)
    measure_response_submit(client=world.client, measure=measure, answers=every(2), now=NOW)
    assert measures_due(client=world.client, now=at(TODAY + timedelta(days=13))) == []
    second = measures_due(client=world.client, now=at(TODAY + timedelta(days=15)))
    assert [s.due_date for s in second] == [TODAY + timedelta(days=14)]
    # Not answered in weeks 3-4: on day 29 the occurrence of day 28 replaces it.
    fourth = measures_due(client=world.client, now=at(TODAY + timedelta(days=29)))
    assert [s.due_date for s in fourth] == [TODAY + timedelta(days=28)]
    assert measure_statuses(client=world.client, now=NOW)[0].next_date == TODAY + timedelta(days=14)


def test_it_is_not_due_before_its_first_date(world):
    schedule(world, start_date=TODAY + timedelta(days=3))
    assert measures_due(client=world.client, now=NOW) == []
    status = measure_statuses(client=world.client, now=NOW)[0]
    assert status.next_date == TODAY + timedelta(days=3)


def test_it_uses_the_clients_own_date(world):
    world.client.timezone = "Pacific/Auckland"
    world.client.save()
    # 11:30 UTC on 1 March is already 2 March (00:30) in Auckland.
    late = datetime(2026, 3, 1, 11, 30, tzinfo=UTC)
    measure = schedule(world, now=late)
    response = measure_response_submit(
        client=world.client, measure=measure, answers=every(3), now=late
    )
    assert response.local_date == TODAY
    assert response.answered_at == late


def test_it_stores_the_raw_answers_and_the_instrument_version(world):
    measure = schedule(world)
    given = {n: (n % 5) + 1 for n in range(1, 13)}
    response = measure_response_submit(client=world.client, measure=measure, answers=given, now=NOW)
    response.refresh_from_db()
    assert response.answers == {str(n): (n % 5) + 1 for n in range(1, 13)}
    assert response.instrument == "SCS-SF"
    assert response.instrument_version == "2011"
    assert response.due_date == TODAY
    assert response.client == world.client


def test_it_refuses_an_incomplete_or_off_scale_response_and_writes_nothing(world):
    measure = schedule(world)
    incomplete = every(3)
    del incomplete[12]
    with pytest.raises(ValidationError) as refused:
        measure_response_submit(client=world.client, measure=measure, answers=incomplete, now=NOW)
    assert refused.value.message_dict["item_12"] == ["Please answer question 12."]
    with pytest.raises(ValidationError) as refused:
        measure_response_submit(
            client=world.client, measure=measure, answers=every(3) | {5: 9}, now=NOW
        )
    assert refused.value.message_dict["item_5"] == ["Question 5: choose a number from 1 to 5."]
    assert not MeasureResponse.objects.exists()


def test_it_refuses_a_second_answer_to_the_same_occurrence(world):
    measure = schedule(world, every_weeks=4)
    measure_response_submit(client=world.client, measure=measure, answers=every(3), now=NOW)
    with pytest.raises(ValidationError, match="already answered"):
        measure_response_submit(client=world.client, measure=measure, answers=every(4), now=NOW)
    assert MeasureResponse.objects.count() == 1


def test_it_refuses_answers_before_the_first_date_or_after_the_schedule_ended(world):
    early = schedule(world, start_date=TODAY + timedelta(days=1))
    with pytest.raises(ValidationError, match="isn't open"):
        measure_response_submit(client=world.client, measure=early, answers=every(3), now=NOW)
    measure_assignment_end(clinician=world.clinician, measure=early)
    ended = schedule(world, start_date=TODAY)
    measure_assignment_end(clinician=world.clinician, measure=ended)
    with pytest.raises(ValidationError, match="isn't open"):
        measure_response_submit(client=world.client, measure=ended, answers=every(3), now=NOW)
    assert not MeasureResponse.objects.exists()


def test_it_refuses_someone_elses_questionnaire(world):
    measure = schedule(world)
    with pytest.raises(PermissionDenied):
        measure_response_submit(
            client=world.other_client, measure=measure, answers=every(3), now=NOW
        )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"instrument": "BDI-II"}, "instrument", "Choose a questionnaire from the list."),
        ({"every_weeks": 0}, "every_weeks", "Choose every 1 to 52 weeks."),
        ({"every_weeks": 53}, "every_weeks", "Choose every 1 to 52 weeks."),
        ({"start_date": TODAY - timedelta(days=1)}, "start_date", "can't be in the past"),
        ({"start_date": TODAY + timedelta(days=400)}, "start_date", "within the next year"),
    ],
)
def test_it_refuses_a_bad_schedule_and_writes_nothing(world, overrides, field, message):
    with pytest.raises(ValidationError) as refused:
        schedule(world, **overrides)
    assert message in " ".join(refused.value.message_dict[field])
    assert not MeasureAssignment.objects.exists()


def test_it_refuses_a_second_running_schedule_of_the_same_instrument(world):
    first = schedule(world)
    with pytest.raises(ValidationError, match="already scheduled"):
        schedule(world, every_weeks=4)
    measure_assignment_end(clinician=world.clinician, measure=first)
    assert schedule(world, every_weeks=4).every_weeks == 4


def test_it_refuses_a_clinician_whose_caseload_the_client_is_not_on(world):
    with pytest.raises(PermissionDenied):
        schedule(world, clinician=world.colleague)
    with pytest.raises(PermissionDenied):
        schedule(world, clinician=world.stranger_clinician)
    colleagues_client = make_client("robin@client.test", world.colleague)
    with pytest.raises(PermissionDenied):
        schedule(world, client=colleagues_client)
    measure = schedule(world)
    with pytest.raises(PermissionDenied):
        measure_assignment_end(clinician=world.colleague, measure=measure)
    assert not MeasureAssignment.objects.exclude(pk=measure.pk).exists()
