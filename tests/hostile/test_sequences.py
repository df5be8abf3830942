"""Stateful sequences over the API: create an object, read it, change it, try hostile
changes (refused, nothing changed), end it, and read it again; at every step a caller of
another clinic gets 404. schemathesis' stateful mode needs OpenAPI links, which this
schema does not describe, so the sequences are written out here."""

import json

import pytest
from django.urls import reverse

from tests.api.conftest import ApiWorld, client_with_token, token_for
from tests.factories import local_today
from tests.hostile.kit import dumps, row_counts

pytestmark = pytest.mark.django_db

HOSTILE_CHANGES = [
    {"unknown_field": 1},
    {"title": "\u202etitle"},
    {"note": "nul\x00"},
    {"end_date": "9999-12-30"},
    {"minutes": 2**63},
    {"ratings": {"joy": 3}},
    {"reflection": "\ud800"},
    {"steps": [[[[["x"]]]]]},
]


def url(name: str, pk: int | None = None) -> str:
    return reverse(f"api:v1:{name}", kwargs={"pk": pk} if pk else None)


class Sequence:
    def __init__(self, api: ApiWorld, who: str) -> None:
        self.owner = client_with_token(token_for(api.user(who)))
        self.stranger = client_with_token(token_for(api.world.stranger_clinician))
        self.stranger_client = client_with_token(token_for(api.world.stranger_client))

    def read(self, detail: str) -> dict:
        # Another clinic's clinician: as if it did not exist. Their client: refused by
        # role (403) where clients have no such objects at all, else 404.
        assert self.stranger.get(detail).status_code == 404
        assert self.stranger_client.get(detail).status_code in (403, 404)
        response = self.owner.get(detail)
        assert response.status_code == 200, response.content
        return response.json()

    def hostile_changes(self, detail: str, method: str = "patch") -> None:
        before_object, before_rows = self.read(detail), row_counts()
        for change in HOSTILE_CHANGES:
            response = self.owner.generic(method.upper(), detail, dumps(change), "application/json")
            assert 400 <= response.status_code < 500, (change, response.content)
            assert response["Content-Type"] == "application/json"
        assert self.read(detail) == before_object
        assert row_counts() == before_rows


def test_an_exercise_from_creation_to_archive(api: ApiWorld):
    steps = Sequence(api, "clinician")
    created = steps.owner.post(
        url("exercise-list"),
        {
            "title": "Kind letter",
            "category": "self_kindness",
            "summary": "Write to yourself as to a friend.",
            "steps": ["Think of a friend.", "Write."],
            "typical_minutes": 10,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    detail = url("exercise-detail", created.json()["id"])
    assert steps.read(detail)["title"] == "Kind letter"
    assert steps.owner.patch(detail, {"title": "Kind letter 💛"}, format="json").status_code == 200
    steps.hostile_changes(detail)
    assert steps.stranger.post(url("exercise-archive", created.json()["id"])).status_code == 404
    assert steps.owner.post(url("exercise-archive", created.json()["id"])).status_code == 200
    assert steps.read(detail)["archived_at"] is not None
    assert steps.read(detail)["title"] == "Kind letter 💛"


def test_an_assignment_from_creation_to_end(api: ApiWorld):
    steps = Sequence(api, "clinician")
    created = steps.owner.post(
        url("assignment-list"),
        {
            "client": api.world.client.pk,
            "exercise": api.exercise.pk,
            "schedule_kind": "daily",
            "start_date": local_today(api.world.client).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    detail = url("assignment-detail", pk)
    steps.read(detail)
    assert steps.owner.patch(detail, {"note": "Gently."}, format="json").status_code == 200
    steps.hostile_changes(detail)
    for action, status in [("pause", "paused"), ("resume", "active"), ("end", "ended")]:
        assert steps.stranger.post(url(f"assignment-{action}", pk)).status_code == 404
        assert steps.owner.post(url(f"assignment-{action}", pk)).status_code == 200
        assert steps.read(detail)["status"] == status


def test_a_practice_log_from_logging_to_feedback(api: ApiWorld):
    steps = Sequence(api, "client")
    created = steps.owner.post(
        url("completion-list"),
        # Today's log of this plan exists already (the world's), so this corrects it.
        {"assignment": api.assignment.pk, "minutes": 6, "reflection": "Calmer."},
        format="json",
    )
    assert created.status_code in (200, 201), created.content
    pk = created.json()["id"]
    detail = url("completion-detail", pk)
    steps.read(detail)
    assert steps.owner.patch(detail, {"minutes": 9}, format="json").status_code == 200
    steps.hostile_changes(detail)
    clinician = client_with_token(token_for(api.world.clinician))
    feedback = clinician.post(url("completion-feedback", pk), {"text": "Thank you."}, format="json")
    assert feedback.status_code == 201, feedback.content
    assert steps.stranger.get(url("completion-feedback", pk)).status_code == 404
    page = steps.owner.get(url("completion-feedback", pk)).json()
    texts = [item["text"] for item in page["results"]]
    assert "Thank you." in texts
    assert steps.read(detail)["minutes"] == 9


def test_an_invitation_from_creation_to_revocation(api: ApiWorld):
    steps = Sequence(api, "clinician")
    created = steps.owner.post(
        url("invitation-list"), {"email": "new.person@client.test"}, format="json"
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    detail = url("invitation-detail", pk)
    steps.read(detail)
    before = row_counts()
    response = steps.owner.post(
        url("invitation-list"),
        data=json.dumps({"email": "x@client.test", "role": "admin"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert row_counts() == before
    assert steps.stranger.post(url("invitation-revoke", pk)).status_code == 404
    assert steps.owner.post(url("invitation-revoke", pk)).status_code == 200
    assert steps.read(detail)["status"] == "revoked"
