"""A practice log's API shape (CompletionSerializer) is written out field by field, for
speed: it must stay exactly what the serializer's declared fields make."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from uuid import UUID

import pytest
from django.utils import timezone
from rest_framework import serializers

from homework.models import Assignment, Completion, Rating
from homework.serializers import CompletionSerializer
from tests.factories import make_assignment, make_completion, make_exercise


def by_fields(serializer: CompletionSerializer, completion: Completion) -> dict:
    """What DRF's ModelSerializer makes from the declared and model fields."""
    return serializers.ModelSerializer.to_representation(serializer, completion)


@pytest.fixture
def logs(world) -> list[Completion]:
    """Logs of every shape: shared and private, with and without ratings, answers, a
    device id, a late log, a hard practice, odd moments (whole seconds, microseconds)."""
    exercise = make_exercise(any_time=True)
    plan = make_assignment(world.client, exercise=exercise)
    other = make_assignment(world.other_client)
    moments = [
        datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 12, 6, 0, 0, 0, 1, tzinfo=UTC),
    ]
    made = [
        make_completion(
            plan,
            date(2026, 3, 2),
            minutes=0,
            reflection="Kind words, shared.",
            answers={"moment": "A hard call"},
            reflection_shared=True,
            created_at=moments[0],
        ),
        make_completion(
            plan,
            date(2026, 7, 1),
            minutes=600,
            reflection="Only mine.",
            answers={"moment": "private"},
            reflection_shared=False,
            client_uuid=UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
            logged_later=True,
            stirred_up=True,
            created_at=moments[1],
            **{Rating.values[0]: 0, Rating.values[-1]: 10},
        ),
        make_completion(other, date(2026, 12, 6), minutes=5, created_at=moments[2]),
    ]
    for completion in made:
        completion.refresh_from_db()
    return made


@pytest.mark.parametrize("zone", [None, "Pacific/Kiritimati", "America/St_Johns"])
def test_each_log_reads_as_its_declared_fields_make_it(world, logs, zone):
    readers = [world.client, world.other_client, world.clinician, world.admin, None]
    if zone:
        timezone.activate(zone)
    try:
        for reader in readers:
            request = SimpleNamespace(user=reader) if reader else None
            serializer = CompletionSerializer(context={"request": request} if request else {})
            for completion in logs:
                fast = serializer.to_representation(completion)
                slow = by_fields(serializer, completion)
                assert fast == slow
                assert list(fast) == list(slow)  # the same order too
                assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]
    finally:
        timezone.deactivate()


def test_a_private_reflection_is_empty_for_the_clinician_both_ways(world, logs):
    private = logs[1]
    serializer = CompletionSerializer(context={"request": SimpleNamespace(user=world.clinician)})
    data = serializer.to_representation(private)
    assert (data["reflection"], data["answers"]) == ("", {})
    assert data == by_fields(serializer, private)
    own = CompletionSerializer(context={"request": SimpleNamespace(user=world.client)})
    assert own.to_representation(private)["reflection"] == "Only mine."


def test_a_list_reads_the_same_both_ways(world, logs):
    """The list endpoint serializes many: each through the written-out shape."""
    context = {"request": SimpleNamespace(user=world.clinician)}
    listed = CompletionSerializer(logs, many=True, context=context).data
    single = CompletionSerializer(context=context)
    assert [dict(row) for row in listed] == [by_fields(single, c) for c in logs]


def test_it_names_every_declared_field():
    """A field added to Meta.fields and not to the written-out shape fails here."""
    serializer = CompletionSerializer()
    completion = Completion(
        pk=1,
        assignment=Assignment(pk=2, exercise_id=4),
        client_id=3,
        local_date=date(2026, 1, 1),
        minutes=1,
        created_at=timezone.now(),
        updated_at=timezone.now() + timedelta(seconds=1),
    )
    assert list(serializer.to_representation(completion)) == CompletionSerializer.Meta.fields
