"""Small builders for test data. Plain functions; keyword arguments override defaults."""

import itertools
from datetime import date

from accounts.models import User
from homework.models import Assignment, Completion, Exercise

_slugs = itertools.count(1)


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
