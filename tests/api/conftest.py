"""Fixtures for the API tests: token-authenticated clients and a small homework world.

`api.as_user(key)` returns a DRF test client that authenticates the way an app
would, with a knox token in the Authorization header (no force_authenticate, so
the real authentication classes run). Keys are the `world` attributes plus
"anonymous".
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Invitation, Role, User
from homework.models import Assignment, AssignmentStatus, Completion, Exercise, Feedback
from tests.factories import local_today, make_assignment, make_completion, make_exercise

USER_KEYS = (
    "anonymous",
    "client",
    "other_client",
    "clinician",
    "colleague",
    "stranger_clinician",
    "stranger_client",
    "admin",
    "supervisor",
)


@pytest.fixture(autouse=True)
def _fresh_throttle_cache(settings) -> None:
    """Each test counts login attempts from zero.

    Throttle counters live in the shared cache (Redis when REDIS_URL is set),
    where every test would otherwise see the attempts of the tests before it.
    The throttling tests put the real cache back on purpose.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-test-{uuid.uuid4().hex}",
        }
    }


def token_for(user: User) -> str:
    _instance, token = AuthToken.objects.create(user=user)
    return token


def client_with_token(token: str | None) -> APIClient:
    browser = APIClient()
    if token:
        browser.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return browser


@dataclass
class ApiWorld:
    """The `world` plus homework objects that belong to world.client, and API clients."""

    world: object
    exercise: Exercise  # world.clinic's own exercise, assigned to world.client
    builtin: Exercise
    assignment: Assignment  # world.client's, active
    paused_assignment: Assignment  # world.client's, paused
    completion: Completion  # world.client's, logged today (so it can be corrected)
    feedback: Feedback
    invitation: Invitation  # world.clinician's open client invitation

    def user(self, key: str) -> User | None:
        return None if key == "anonymous" else getattr(self.world, key)

    def as_user(self, key: str) -> APIClient:
        user = self.user(key)
        return client_with_token(token_for(user) if user else None)


@pytest.fixture
def api(world, supervisor, django_capture_on_commit_callbacks) -> ApiWorld:
    exercise = make_exercise(world.clinic, title="Soothing touch", category="soothing")
    builtin = make_exercise(None, title="A built-in for the API tests", slug="api-test-builtin")
    start = local_today(world.client) - timedelta(days=14)
    assignment = make_assignment(world.client, exercise, start_date=start)
    paused = make_assignment(
        world.client, builtin, start_date=start, status=AssignmentStatus.PAUSED
    )
    completion = make_completion(
        assignment,
        local_today(world.client),
        distress_before=7,
        distress_after=4,
        answers={"moment": "a hard meeting", "phrase": "May I be kind to myself"},
        reflection="It helped a little.",
    )
    feedback = Feedback.objects.create(
        completion=completion, clinician=world.clinician, text="Well done for trying."
    )
    with django_capture_on_commit_callbacks(execute=False):
        invitation = account_services.invitation_create(
            clinic=world.clinic,
            email="invited@client.test",
            role=Role.CLIENT,
            clinician=world.clinician,
            invited_by=world.clinician,
        )
    return ApiWorld(
        world=world,
        exercise=exercise,
        builtin=builtin,
        assignment=assignment,
        paused_assignment=paused,
        completion=completion,
        feedback=feedback,
        invitation=invitation,
    )
