"""homework.services.completions: logging and correcting practice, and refusing bad input."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from homework.models import Completion
from homework.services.completions import CompletionLocked, completion_correct, completion_log
from tests.factories import make_assignment, make_completion, make_exercise

# 2026-03-10 21:30 UTC is the 10th in London and the 11th in Sydney.
NOW = datetime(2026, 3, 10, 21, 30, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture
def assignment(world):
    return make_assignment(world.client, start_date=date(2026, 3, 1))


def log(world, assignment, **fields):
    arguments = {"minutes": 5, "now": NOW}
    arguments.update(fields)
    return completion_log(client=world.client, assignment=assignment, **arguments)


def test_it_logs_practice_on_the_clients_local_date(world, assignment):
    completion = log(
        world,
        assignment,
        minutes=7,
        ratings={"distress_before": 7, "distress_after": 4},
        answers={"moment": "A hard meeting", "phrase": "This is hard, and I'm doing my best."},
        reflection="It helped a little.",
        reflection_shared=False,
    )
    completion.refresh_from_db()
    assert completion.local_date == TODAY
    assert completion.client == world.client
    assert (completion.minutes, completion.distress_before, completion.distress_after) == (7, 7, 4)
    assert completion.answers == {
        "moment": "A hard meeting",
        "phrase": "This is hard, and I'm doing my best.",
    }
    assert completion.reflection == "It helped a little."
    assert completion.reflection_shared is False


def test_a_log_keeps_its_reflection_private_unless_the_client_shares_it(world, assignment):
    """Issue 17, defect 9: the service's default is private, whoever calls it."""
    completion = log(world, assignment, reflection="Mine.")
    assert completion.reflection_shared is False


def test_it_dates_a_log_in_the_clients_own_time_zone(world, assignment):
    world.client.timezone = "Australia/Sydney"
    world.client.save()
    assert log(world, assignment).local_date == date(2026, 3, 11)


def test_it_corrects_todays_log_when_the_same_plan_is_logged_again(world, assignment):
    first = log(world, assignment, minutes=5, ratings={"distress_before": 6})
    second = log(world, assignment, minutes=12, ratings={"distress_before": 3})
    assert second.pk == first.pk
    assert Completion.objects.count() == 1
    first.refresh_from_db()
    assert (first.minutes, first.distress_before) == (12, 3)


def test_it_keeps_one_log_per_plan_per_day_but_a_new_one_the_next_day(world, assignment):
    log(world, assignment)
    log(world, assignment, now=datetime(2026, 3, 11, 9, tzinfo=UTC))
    assert sorted(Completion.objects.values_list("local_date", flat=True)) == [
        TODAY,
        date(2026, 3, 11),
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ratings": {"distress_before": 11}}, "ratings"),
        ({"ratings": {"distress_after": -1}}, "ratings"),
        ({"ratings": {"distress_after": True}}, "ratings"),
        ({"ratings": {"self_kindness_after": 5}}, "ratings"),  # not asked by this exercise
        ({"ratings": {"nonsense": 5}}, "ratings"),
        ({"minutes": -1}, "minutes"),
        ({"minutes": 601}, "minutes"),
        ({"minutes": "5"}, "minutes"),
        ({"answers": {"not_a_prompt": "hello"}}, "answers"),
        ({"answers": {"moment": "x" * 4001}}, "answers"),
        ({"reflection": "x" * 10001}, "reflection"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(world, assignment, fields, field):
    with pytest.raises(ValidationError) as caught:
        log(world, assignment, **fields)
    assert field in caught.value.message_dict
    assert not Completion.objects.exists()


def test_it_refuses_bad_input_on_a_correction_and_keeps_the_log(world, assignment):
    completion = log(world, assignment, minutes=5, ratings={"distress_after": 2})
    with pytest.raises(ValidationError):
        log(world, assignment, minutes=5, ratings={"distress_after": 11})
    completion.refresh_from_db()
    assert completion.distress_after == 2


def test_it_names_every_problem_at_once(world, assignment):
    with pytest.raises(ValidationError) as caught:
        log(world, assignment, minutes=-5, ratings={"distress_before": 12})
    assert set(caught.value.message_dict) == {"minutes", "ratings"}


def test_it_refuses_a_new_log_for_an_ended_plan(world):
    ended = make_assignment(world.client, start_date=date(2026, 3, 1), status="ended")
    with pytest.raises(ValidationError, match="ended"):
        log(world, ended)
    assert not Completion.objects.exists()


def test_it_refuses_a_new_log_after_the_plans_end_date(world):
    over = make_assignment(world.client, start_date=date(2026, 3, 1), end_date=date(2026, 3, 9))
    with pytest.raises(ValidationError, match="ended"):
        log(world, over)
    assert not Completion.objects.exists()


def test_it_refuses_a_new_log_for_a_paused_plan(world):
    paused = make_assignment(world.client, start_date=date(2026, 3, 1), status="paused")
    with pytest.raises(ValidationError, match="paused"):
        log(world, paused)
    assert not Completion.objects.exists()


def test_it_refuses_a_log_before_the_plan_starts(world):
    later = make_assignment(world.client, start_date=date(2026, 3, 16))
    with pytest.raises(ValidationError, match="starts on Monday 16 March"):
        log(world, later)
    assert not Completion.objects.exists()


def test_it_still_corrects_todays_log_after_the_plan_was_paused(world, assignment):
    completion = log(world, assignment, minutes=5)
    assignment.status = "paused"
    assignment.save()
    log(world, assignment, minutes=9)
    completion.refresh_from_db()
    assert completion.minutes == 9


def test_it_refuses_to_log_someone_elses_plan(world):
    theirs = make_assignment(world.other_client, start_date=date(2026, 3, 1))
    with pytest.raises(PermissionDenied):
        completion_log(client=world.client, assignment=theirs, minutes=5, now=NOW)
    assert not Completion.objects.exists()


def test_it_accepts_practice_on_an_unscheduled_day(world):
    tuesday_only = make_assignment(
        world.client, start_date=date(2026, 3, 1), schedule_kind="weekdays", weekdays=0b10
    )
    # 10 March 2026 is a Tuesday; the 12th a Thursday.
    completion = log(world, tuesday_only, now=datetime(2026, 3, 12, 9, tzinfo=UTC))
    assert completion.local_date == date(2026, 3, 12)


# --- completion_correct ---


def test_it_corrects_todays_log_leaving_what_was_not_given(world, assignment):
    completion = log(world, assignment, minutes=5, reflection="First thoughts.")
    completion_correct(client=world.client, completion=completion, minutes=8, now=NOW)
    completion.refresh_from_db()
    assert (completion.minutes, completion.reflection) == (8, "First thoughts.")


def test_it_refuses_to_correct_yesterdays_log(world, assignment):
    yesterday = make_completion(assignment, date(2026, 3, 9), minutes=5, reflection="As it was.")
    with pytest.raises(CompletionLocked, match="earlier days"):
        completion_correct(
            client=world.client, completion=yesterday, minutes=30, reflection="Changed", now=NOW
        )
    yesterday.refresh_from_db()
    assert (yesterday.minutes, yesterday.reflection) == (5, "As it was.")


def test_it_refuses_to_correct_another_clients_log(world):
    theirs = make_completion(
        make_assignment(world.other_client, start_date=date(2026, 3, 1)), TODAY, minutes=5
    )
    with pytest.raises(PermissionDenied):
        completion_correct(client=world.client, completion=theirs, minutes=30, now=NOW)
    theirs.refresh_from_db()
    assert theirs.minutes == 5


def test_it_validates_a_correction_like_a_new_log(world, assignment):
    completion = log(world, assignment)
    with pytest.raises(ValidationError):
        completion_correct(
            client=world.client, completion=completion, ratings={"distress_after": 42}, now=NOW
        )
    completion.refresh_from_db()
    assert completion.distress_after is None


def test_it_only_stores_ratings_the_exercise_asks_for(world):
    exercise = make_exercise(ratings=["self_kindness_after"], prompts=[])
    assignment = make_assignment(world.client, exercise, start_date=date(2026, 3, 1))
    completion = log(world, assignment, ratings={"self_kindness_after": 8})
    completion.refresh_from_db()
    assert completion.self_kindness_after == 8
    assert completion.distress_before is None
