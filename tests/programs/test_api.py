"""The programs API: what it does, and bad input answered 400 with field messages and
nothing written."""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from homework.models import Assignment, Exercise
from programs.models import Enrolment, Group, Program
from programs.services import group_save
from tests.factories import local_today, make_exercise


def builtin() -> Program:
    return Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")


@pytest.fixture
def api(world) -> APIClient:
    browser = APIClient()
    browser.force_authenticate(world.clinician)
    return browser


def soothing() -> int:
    return Exercise.objects.get(clinic__isnull=True, slug="soothing-touch").pk


def program_body(**changes) -> dict:
    body = {
        "title": "Short course",
        "delivery": "on_date",
        "weeks": [
            {"theme": "One", "items": [{"exercise": soothing(), "schedule_kind": "daily"}]},
            {
                "theme": "Two",
                "items": [
                    {"exercise": soothing(), "schedule_kind": "times_per_week", "times_per_week": 2}
                ],
            },
        ],
    }
    return {**body, **changes}


class TestPrograms:
    def test_it_lists_the_builtin_course_with_its_weeks(self, api) -> None:
        data = api.get(reverse("api:v1:program-list")).json()
        course = next(p for p in data["results"] if p["builtin"])
        assert course["title"] == "Eight weeks of self-compassion"
        assert len(course["weeks"]) == 8

    def test_it_builds_a_program(self, world, api) -> None:
        response = api.post(reverse("api:v1:program-list"), program_body(), format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["version"] == 1
        assert Program.objects.get(clinic=world.clinic).versions.get().week_count == 2

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"weeks": [{"theme": "One", "items": []}]}, "weeks.1.items"),
            (
                {
                    "weeks": [
                        {"theme": "One", "items": [{"exercise": 999999, "schedule_kind": "daily"}]}
                    ]
                },
                "weeks.1.items.1.exercise",
            ),
            ({"delivery": "after_practices", "practices_to_advance": 8}, "practices_to_advance"),
        ],
    )
    def test_bad_programs_are_refused_and_nothing_is_written(
        self, world, api, change, field
    ) -> None:
        response = api.post(reverse("api:v1:program-list"), program_body(**change), format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Program.objects.filter(clinic=world.clinic).exists()

    def test_an_archived_exercise_is_refused(self, world, api) -> None:
        archived = make_exercise(world.clinic, archived_at="2026-01-01T00:00:00Z")
        body = program_body(
            weeks=[{"theme": "One", "items": [{"exercise": archived.pk, "schedule_kind": "daily"}]}]
        )
        response = api.post(reverse("api:v1:program-list"), body, format="json")
        assert response.status_code == 400
        assert "archived" in response.json()["weeks.1.items.1.exercise"][0]

    def test_a_builtin_cannot_be_changed(self, api) -> None:
        url = reverse("api:v1:program-detail", args=[builtin().pk])
        assert api.put(url, program_body(), format="json").status_code == 400
        assert builtin().versions.count() == 1


class TestGroupsAndEnrolments:
    def test_a_group_with_another_clinicians_client_is_refused(self, world, api) -> None:
        response = api.post(
            reverse("api:v1:group-list"),
            {"name": "Mixed", "members": [world.client.pk, world.stranger_client.pk]},
            format="json",
        )
        assert response.status_code == 400
        assert "members" in response.json()
        assert not Group.objects.exists()

    def test_a_group_is_enrolled_all_at_once(self, world, api) -> None:
        group = group_save(
            clinician=world.clinician, name="G", member_ids=[world.client.pk, world.other_client.pk]
        )
        start = max(local_today(world.client), local_today(world.other_client))
        response = api.post(
            reverse("api:v1:enrolment-list"),
            {"program": builtin().pk, "group": group.pk, "start_date": start.isoformat()},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert {e["current_week"] for e in response.json()} == {1}
        response = api.post(
            reverse("api:v1:enrolment-forward", args=[response.json()[0]["id"]]), format="json"
        )
        assert response.json()["current_week"] == 2

    def test_a_start_date_before_today_is_refused_and_nothing_written(self, world, api) -> None:
        response = api.post(
            reverse("api:v1:enrolment-list"),
            {
                "program": builtin().pk,
                "clients": [world.client.pk],
                "start_date": (local_today(world.client) - timedelta(days=1)).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 400
        assert "Alex Client: the start date is before today" in response.json()["clients"][0]
        assert not Enrolment.objects.exists()

    def test_another_clinics_client_is_refused_without_their_name(self, world, api) -> None:
        response = api.post(
            reverse("api:v1:enrolment-list"),
            {
                "program": builtin().pk,
                "clients": [world.client.pk, world.stranger_client.pk],
                "start_date": local_today(world.client).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["clients"] == [
            f"Client {world.stranger_client.pk}: not on your caseload."
        ]
        assert not Enrolment.objects.exists()

    def test_bulk_assignment_is_all_or_nothing(self, world, api) -> None:
        url = reverse("api:v1:bulk-assignments")
        body = {
            "clients": [world.client.pk, world.other_client.pk],
            "exercise": soothing(),
            "schedule_kind": "daily",
            "start_date": max(
                local_today(world.client), local_today(world.other_client)
            ).isoformat(),
        }
        world.other_client.is_active = False
        world.other_client.save()
        response = api.post(url, body, format="json")
        assert response.status_code == 400
        assert response.json()["clients"] == ["Blair Client: the account is deactivated."]
        assert not Assignment.objects.exists()
        world.other_client.is_active = True
        world.other_client.save()
        response = api.post(url, body, format="json")
        assert response.status_code == 201
        assert len(response.json()["assignments"]) == 2


@pytest.mark.parametrize("weeks", [2, 20])
def test_the_program_list_queries_do_not_grow_with_program_length(
    world, api, weeks, django_assert_max_num_queries
) -> None:
    body = program_body(
        weeks=[
            {"theme": f"W{n}", "items": [{"exercise": soothing(), "schedule_kind": "daily"}] * 3}
            for n in range(weeks)
        ]
    )
    assert api.post(reverse("api:v1:program-list"), body, format="json").status_code == 201
    with django_assert_max_num_queries(4):
        assert api.get(reverse("api:v1:program-list")).status_code == 200
