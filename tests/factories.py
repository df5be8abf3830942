"""Small builders for test data. Plain functions; keyword arguments override defaults.

They are named `make_<thing>` rather than `<thing>_create` so that a test importing both
never confuses them with the services under test (`measures.services.measure_assignment_create`).
"""

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from accounts.models import ClientProfile, Role, User
from homework.models import Assignment, Completion, Exercise
from homework.schedule import local_date
from measures.models import MeasureAssignment, MeasureResponse

_slugs = itertools.count(1)
_bulk_numbers = itertools.count(1)


def local_today(user: User) -> date:
    """Today's date where `user` is."""
    return local_date(timezone.now(), user.zone)


def make_exercise(clinic=None, **fields) -> Exercise:
    defaults = {
        # Built-in slugs are unique; test exercises get their own.
        "slug": f"test-exercise-{next(_slugs)}",
        "title": "Self-compassion break",
        "category": "mindfulness",
        "summary": "A short pause to meet a hard moment kindly.",
        "steps": ["Notice what is hard.", "Remember others feel this too.", "Offer a kind phrase."],
        "prompts": [
            {"key": "moment", "label": "What was the moment?", "phrase": False},
            {"key": "phrase", "label": "Which phrase did you use?", "phrase": True},
        ],
        "ratings": ["distress_before", "distress_after"],
        "typical_minutes": 5,
    }
    defaults.update(fields)
    return Exercise.objects.create(clinic=clinic, **defaults)


def make_assignment(client: User, exercise: Exercise | None = None, **fields) -> Assignment:
    defaults = {
        "clinician": client.client_profile.clinician,
        "exercise": exercise or make_exercise(),
        "schedule_kind": "daily",
        "start_date": date(2026, 1, 5),
    }
    defaults.update(fields)
    return Assignment.objects.create(client=client, **defaults)


def make_completion(assignment: Assignment, local_date: date, **fields) -> Completion:
    defaults = {"minutes": 5}
    defaults.update(fields)
    return Completion.objects.create(
        assignment=assignment, client=assignment.client, local_date=local_date, **defaults
    )


def make_measure(client: User, **fields) -> MeasureAssignment:
    """The self-compassion questionnaire, scheduled by the client's clinician from their today."""
    if "clinician" not in fields:
        fields["clinician"] = client.client_profile.clinician
    if "start_date" not in fields:
        fields["start_date"] = local_today(client)
    fields.setdefault("instrument", "SCS-SF")
    return MeasureAssignment.objects.create(client=client, **fields)


def make_measure_response(
    *,
    answers: Mapping[int, int],
    measure: MeasureAssignment | None = None,
    client: User | None = None,
    days_ago: int = 0,
    **fields,
) -> MeasureResponse:
    """An answered questionnaire, `days_ago` days before the client's today.

    `answers` maps item number to the point chosen. Without a `measure` it is an answer
    given outside any schedule, and then `client` says whose it is.
    """
    if client is None:
        assert measure is not None, "say whose answer it is: measure= or client="
        client = measure.client
    day = local_today(client) - timedelta(days=days_ago)
    values = {
        "client": client,
        "measure_assignment": measure,
        "instrument": measure.instrument if measure else "SCS-SF",
        "instrument_version": "2011",
        "answers": {str(item): point for item, point in answers.items()},
        # A scheduled answer is due the day it is given; an unscheduled one is due never.
        "due_date": day if measure else None,
        "local_date": day,
        "answered_at": timezone.now() - timedelta(days=days_ago),
    }
    return MeasureResponse.objects.create(**(values | fields))


def make_clients(
    clinician: User,
    count: int,
    *,
    zones: Sequence[str] = ("UTC",),
    reminder_time: time | None = None,
    **fields,
) -> list[User]:
    """`count` clients of `clinician`, written in bulk: no password hashing, so hundreds are cheap.

    Their zones cycle through `zones`; other keyword arguments are `User` fields.
    """
    numbers = [next(_bulk_numbers) for _ in range(count)]
    users = User.objects.bulk_create(
        User(
            email=f"bulk{number}@client.test",
            full_name=f"Bulk Client {number:04d}",
            role=Role.CLIENT,
            clinic=clinician.clinic,
            timezone=zones[index % len(zones)],
            **fields,
        )
        for index, number in enumerate(numbers)
    )
    profile_fields = {} if reminder_time is None else {"reminder_time": reminder_time}
    ClientProfile.objects.bulk_create(
        ClientProfile(user=user, clinician=clinician, **profile_fields) for user in users
    )
    return users


def make_daily_plans(
    clients: Iterable[User], clinician: User, *, start_date: date, created_at: datetime
) -> list[Assignment]:
    """One daily plan for each client, all of one new exercise of the clinic, written in bulk."""
    exercise = make_exercise(clinician.clinic)
    return Assignment.objects.bulk_create(
        Assignment(
            client=client,
            clinician=clinician,
            exercise=exercise,
            start_date=start_date,
            created_at=created_at,
        )
        for client in clients
    )
