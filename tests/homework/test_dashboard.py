"""The clinician's caseload page."""

from datetime import timedelta

from django.urls import reverse

from tests.conftest import make_client
from tests.factories import local_today, make_assignment, make_completion


def test_it_sends_anonymous_visitors_to_login(world):
    response = world.login(None).get(reverse("homework:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_refuses_clients_and_admins(world):
    assert world.login(world.client).get(reverse("homework:dashboard")).status_code == 403
    assert world.login(world.admin).get(reverse("homework:dashboard")).status_code == 403


def test_it_shows_the_caseload_with_adherence_and_last_practice(world):
    today = local_today(world.client)
    assignment = make_assignment(world.client, start_date=today - timedelta(days=40))
    for days_ago in range(7):
        make_completion(assignment, today - timedelta(days=days_ago))
    response = world.login(world.clinician).get(reverse("homework:dashboard"))
    page = response.content.decode()
    assert response.status_code == 200
    assert reverse("homework:client-detail", args=[world.client.pk]) in page
    assert reverse("homework:client-detail", args=[world.other_client.pk]) in page
    row = next(r for r in response.context["rows"] if r.client == world.client)
    assert row.adherence_7.percent == 100
    assert row.adherence_28.percent == 25  # 7 of 28 days
    assert ">100%</td>" in page
    assert ">25%</td>" in page
    assert "(today)" in page
    assert reverse("accounts:invitations") in page


def test_it_shows_who_needs_attention_and_why(world):
    today = local_today(world.client)
    assignment = make_assignment(world.client, start_date=today - timedelta(days=40))
    make_completion(assignment, today - timedelta(days=9))
    response = world.login(world.clinician).get(reverse("homework:dashboard"))
    page = response.content.decode()
    assert "1 may need attention" in page
    assert "Needs attention: no practice logged for 9 days" in page
    assert response.context["rows"][0].client == world.client


def test_it_never_lists_a_colleagues_or_another_clinics_clients(world):
    colleagues = make_client("robin@client.test", world.colleague, full_name="Robin Colleagues")
    page = world.login(world.clinician).get(reverse("homework:dashboard")).content.decode()
    assert "Robin Colleagues" not in page
    assert "Casey Client" not in page
    assert reverse("homework:client-detail", args=[colleagues.pk]) not in page
    assert reverse("homework:client-detail", args=[world.stranger_client.pk]) not in page


def test_it_invites_the_first_client_when_the_caseload_is_empty(world):
    page = world.login(world.colleague).get(reverse("homework:dashboard")).content.decode()
    assert "No clients on your caseload yet" in page
    assert reverse("accounts:invitations") in page
