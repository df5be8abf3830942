"""A deactivated or discharged client: marked on the caseload, never "needs attention",
and refused by every write, from the portal and the API alike."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from homework.models import Assignment, Exercise, Feedback
from homework.selectors.progress import caseload_for_clinician
from homework.services.assignments import assignment_create, assignment_resume
from homework.services.feedback import feedback_create
from measures.models import MeasureAssignment
from measures.services import measure_assignment_create
from tests.factories import local_today, make_assignment, make_completion

pytestmark = pytest.mark.django_db


def builtin() -> Exercise:
    return Exercise.objects.get(clinic__isnull=True, slug="self-compassion-break")


def deactivate(client) -> None:
    client.is_active = False
    client.save(update_fields=["is_active"])


def discharge(client) -> None:
    client.client_profile.discharged_at = timezone.now()
    client.client_profile.save(update_fields=["discharged_at"])


@pytest.fixture(params=["deactivated", "discharged"])
def closed(request, world):
    (deactivate if request.param == "deactivated" else discharge)(world.client)
    return request.param


def test_it_marks_a_deactivated_client_and_leaves_them_out_of_needs_attention(world) -> None:
    # Idle for ten days on a running plan: would need attention were the account open.
    make_assignment(world.client, start_date=local_today(world.client) - timedelta(days=10))
    deactivate(world.client)
    row = next(
        r for r in caseload_for_clinician(clinician=world.clinician) if r.client == world.client
    )
    assert not row.is_active
    assert row.reasons == []
    page = world.login(world.clinician).get(reverse("homework:dashboard"))
    assert "Account deactivated" in page.content.decode()


def test_it_marks_a_discharged_client(world) -> None:
    discharge(world.client)
    page = world.login(world.clinician).get(reverse("homework:dashboard"))
    assert "Discharged" in page.content.decode()


def test_the_assign_page_refuses_a_closed_client_and_writes_nothing(world, closed) -> None:
    response = world.login(world.clinician).post(
        reverse("homework:assignment-create", args=[world.client.pk]),
        {
            "exercise": str(builtin().pk),
            "schedule_kind": "daily",
            "start_date": local_today(world.client).isoformat(),
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "deactivated" in text if closed == "deactivated" else "discharged" in text
    assert not Assignment.objects.filter(client=world.client).exists()


def test_the_api_refuses_a_closed_client_with_a_400(world, closed) -> None:
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(world.clinician)
    response = api.post(
        "/api/v1/assignments/",
        {
            "client": world.client.pk,
            "exercise": builtin().pk,
            "schedule_kind": "daily",
            "start_date": local_today(world.client).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "client" in response.json()
    assert not Assignment.objects.filter(client=world.client).exists()


def test_the_services_refuse_every_new_write(world, closed) -> None:
    plan = make_assignment(world.client, status="paused")
    log = make_completion(plan, local_today(world.client))
    world.client.refresh_from_db()
    with pytest.raises(ValidationError):
        assignment_create(
            clinician=world.clinician,
            client=world.client,
            exercise=builtin(),
            schedule_kind="daily",
            start_date=local_today(world.client),
        )
    with pytest.raises(ValidationError):
        assignment_resume(assignment=plan, actor=world.clinician)
    with pytest.raises(ValidationError):
        feedback_create(clinician=world.clinician, completion=log, text="Well done")
    with pytest.raises(ValidationError):
        measure_assignment_create(
            clinician=world.clinician,
            client=world.client,
            instrument="SCS-SF",
            every_weeks=None,
            start_date=local_today(world.client),
        )
    assert not Feedback.objects.exists()
    assert not MeasureAssignment.objects.exists()


def test_the_questionnaire_page_refuses_a_closed_client_with_a_message(world, closed) -> None:
    response = world.login(world.clinician).post(
        reverse("measures:clinician-measures", args=[world.client.pk]),
        {
            "instrument": "SCS-SF",
            "frequency": "once",
            "start_date": local_today(world.client).isoformat(),
        },
    )
    assert response.status_code == 400
    assert not MeasureAssignment.objects.exists()


def test_the_assign_page_says_why_before_the_form(world, closed) -> None:
    browser = world.login(world.clinician)
    response = browser.get(
        reverse("homework:assignment-create", args=[world.client.pk]), follow=True
    )
    text = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse(
        "homework:client-detail", args=[world.client.pk]
    )
    assert "deactivated" in text if closed == "deactivated" else "discharged" in text
    assert "Assign an exercise</a>" not in text
