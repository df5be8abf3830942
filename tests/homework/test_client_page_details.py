"""The clinician's client page and caseload on a plan's first day, its reminder time,
and pausing without leaving the page."""

import pytest
from django.urls import reverse

from homework.selectors.progress import caseload_for_clinician, client_progress
from tests.factories import local_today, make_assignment

pytestmark = pytest.mark.django_db


def test_a_plan_that_starts_today_counts_today_everywhere(world) -> None:
    make_assignment(world.client, start_date=local_today(world.client))
    row = next(
        r for r in caseload_for_clinician(clinician=world.clinician) if r.client == world.client
    )
    assert row.active_assignments == 1
    assert row.adherence_7.percent == 0
    assert row.adherence_28.percent == 0
    (summary,) = client_progress(client=world.client).assignments
    assert summary.adherence_28.percent == 0
    page = world.login(world.clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert "nothing planned" not in page.content.decode()
    dashboard = world.login(world.clinician).get(reverse("homework:dashboard")).content.decode()
    alex_row = dashboard.split("Alex Client")[1].split("</tr>")[0]
    assert "no plan" not in alex_row
    assert "0%" in alex_row


def test_the_plan_card_shows_its_reminder_time(world) -> None:
    from datetime import time

    make_assignment(world.client, start_date=local_today(world.client), reminder_time=time(7, 45))
    make_assignment(world.client, start_date=local_today(world.client))
    text = (
        world.login(world.clinician)
        .get(reverse("homework:client-detail", args=[world.client.pk]))
        .content.decode()
    )
    assert "reminder at 07:45" in text
    assert "reminder at 18:00 (the client's own time)" in text


@pytest.mark.parametrize("action", ["pause", "end"])
def test_pausing_from_the_client_page_returns_to_it(world, action) -> None:
    plan = make_assignment(world.client, start_date=local_today(world.client))
    response = world.login(world.clinician).post(
        reverse(f"homework:assignment-{action}", args=[plan.pk]), {"return_to": "client"}
    )
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("homework:client-detail", args=[world.client.pk]) + f"#plan-{plan.pk}"
    )


def test_pausing_from_the_plan_page_stays_there(world) -> None:
    plan = make_assignment(world.client, start_date=local_today(world.client))
    response = world.login(world.clinician).post(
        reverse("homework:assignment-pause", args=[plan.pk])
    )
    assert response["Location"] == reverse("homework:assignment-edit", args=[plan.pk])
