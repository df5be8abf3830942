"""The supervisor: reads the caseloads of the clinicians they supervise, never writes.

world.supervisor supervises world.clinician (whose clients are world.client and
world.other_client), not world.colleague, and works at world.clinic.
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts import mfa
from accounts.access import clients_visible_to
from accounts.forms import UserAdminChangeForm
from accounts.models import Role
from audit.models import AuditAction, AuditEvent
from homework.models import Assignment, AssignmentStatus, Feedback
from measures.models import MeasureAssignment
from records.models import ExportRecord
from tests.conftest import make_client, make_user
from tests.factories import local_today, make_assignment, make_completion, make_measure_response
from tests.security.conftest import password_login

DASHBOARD = reverse("homework:dashboard")


def detail(client) -> str:
    return reverse("homework:client-detail", args=[client.pk])


pytestmark = pytest.mark.usefixtures("supervisor")


@pytest.fixture
def assignment(world) -> Assignment:
    return make_assignment(world.client, start_date=local_today(world.client) - timedelta(days=20))


@pytest.fixture
def colleagues_client(world):
    return make_client("robin@client.test", world.colleague, full_name="Robin Client")


# --- who the supervisor sees ----------------------------------------------------------


def test_it_sees_exactly_the_clients_of_the_clinicians_supervised(world, colleagues_client):
    visible = set(clients_visible_to(world.supervisor))
    assert visible == {world.client, world.other_client}


def test_a_supervision_link_across_clinics_shows_nothing(world):
    # The admin refuses such a link; the access rule does not rely on it.
    world.supervisor.supervises.add(world.stranger_clinician)
    assert world.stranger_client not in set(clients_visible_to(world.supervisor))


def test_it_lists_the_supervised_caseload_with_each_clients_clinician(world, colleagues_client):
    page = world.login(world.supervisor).get(DASHBOARD).content.decode()
    assert "Caseloads you supervise" in page
    assert "Alex Client" in page and "Blair Client" in page
    assert "Dana Clinician" in page
    assert "Robin Client" not in page and "Casey Client" not in page
    # No write controls for a reader.
    assert reverse("accounts:invitations") not in page


def test_it_keeps_the_dashboard_queries_constant_in_caseload_size(
    world, django_assert_max_num_queries
):
    for number in range(12):
        make_client(f"extra{number}@client.test", world.clinician)
    browser = world.login(world.supervisor)
    with django_assert_max_num_queries(20):
        assert browser.get(DASHBOARD).status_code == 200


def test_it_reads_a_supervised_clients_page_without_any_write_control(world, assignment):
    completion = make_completion(
        assignment, local_today(world.client) - timedelta(days=1), reflection_shared=True
    )
    page = world.login(world.supervisor).get(detail(world.client)).content.decode()
    assert "Self-compassion break" in page
    assert reverse("homework:assignment-create", args=[world.client.pk]) not in page
    assert reverse("homework:assignment-pause", args=[assignment.pk]) not in page
    assert reverse("homework:assignment-end", args=[assignment.pk]) not in page
    assert reverse("homework:feedback-create", args=[completion.pk]) not in page
    assert reverse("records:clinician-export", args=[world.client.pk]) not in page


def test_it_shows_shared_reflections_and_never_private_ones(world, assignment):
    today = local_today(world.client)
    make_completion(
        assignment, today - timedelta(days=2), reflection="SHARED-NOTE", reflection_shared=True
    )
    make_completion(
        assignment,
        today - timedelta(days=1),
        reflection="PRIVATE-REFLECTION-CANARY",
        answers={"moment": "PRIVATE-ANSWER-CANARY"},
        reflection_shared=False,
    )
    page = world.login(world.supervisor).get(detail(world.client)).content.decode()
    assert "SHARED-NOTE" in page
    assert "CANARY" not in page
    assert "Reflection kept private" in page


def test_it_reads_questionnaires_and_what_helps(world):
    response = make_measure_response(client=world.client, answers=dict.fromkeys(range(1, 13), 3))
    browser = world.login(world.supervisor)
    measures = reverse("measures:clinician-measures", args=[world.client.pk])
    page = browser.get(measures).content.decode()
    assert "Questionnaires: Alex Client" in page
    assert "Schedule a questionnaire" not in page
    answer = reverse("measures:clinician-measure-response", args=[response.pk])
    assert browser.get(answer).status_code == 200
    assert browser.get(reverse("measures:insights")).status_code == 200
    monday = local_today(world.supervisor) - timedelta(days=local_today(world.supervisor).weekday())
    week = browser.get(reverse("outreach:clinician-week", args=[monday.isoformat()]))
    assert week.status_code == 200
    assert "Alex Client" in week.content.decode()


# --- refusals -----------------------------------------------------------------------


def test_it_answers_404_for_clients_it_does_not_supervise(world, colleagues_client):
    browser = world.login(world.supervisor)
    assert browser.get(detail(colleagues_client)).status_code == 404
    assert browser.get(detail(world.stranger_client)).status_code == 404
    measures = reverse("measures:clinician-measures", args=[colleagues_client.pk])
    assert browser.get(measures).status_code == 404


def test_another_clinics_supervisor_sees_nothing(world):
    other = make_user("kai@hillside.test", Role.SUPERVISOR, world.other_clinic)
    other.supervises.add(world.stranger_clinician)
    browser = world.login(other)
    assert browser.get(detail(world.client)).status_code == 404
    assert "Alex Client" not in browser.get(DASHBOARD).content.decode()


def test_it_refuses_anonymous_visitors_clients_and_admins_on_the_supervisor_pages(world):
    response = world.login(None).get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.client).get(DASHBOARD).status_code == 403
    assert world.login(world.admin).get(DASHBOARD).status_code == 403


def test_it_refuses_every_write_and_writes_nothing(world, assignment):
    completion = make_completion(assignment, local_today(world.client), reflection_shared=True)
    browser = world.login(world.supervisor)
    writes = {
        reverse("homework:feedback-create", args=[completion.pk]): {"text": "Well done"},
        reverse("homework:assignment-create", args=[world.client.pk]): {},
        reverse("homework:assignment-pause", args=[assignment.pk]): {},
        reverse("homework:assignment-end", args=[assignment.pk]): {},
        reverse("measures:clinician-measures", args=[world.client.pk]): {"instrument": "scs-sf"},
        reverse("records:clinician-export", args=[world.client.pk]): {"format": "zip"},
        detail(world.client): {},
        DASHBOARD: {},
    }
    for url, data in writes.items():
        assert browser.post(url, data).status_code == 403, url
    assert not Feedback.objects.exists()
    assert not MeasureAssignment.objects.exists()
    assert not ExportRecord.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ACTIVE


def test_the_api_lets_a_supervisor_read_but_not_write(world, assignment):
    from tests.api.conftest import client_with_token, token_for

    api = client_with_token(token_for(world.supervisor))
    listed = api.get("/api/v1/clients/")
    assert listed.status_code == 200
    assert {row["id"] for row in listed.json()["results"]} == {
        world.client.pk,
        world.other_client.pk,
    }
    assert api.post("/api/v1/assignments/", {}, format="json").status_code == 403
    assert Assignment.objects.count() == 1


# --- audit and "who viewed my record" -------------------------------------------------


def test_every_look_is_audited_and_shown_to_the_client(world):
    browser = world.login(world.supervisor)
    browser.get(DASHBOARD)
    browser.get(detail(world.client))
    looks = AuditEvent.objects.filter(
        actor=world.supervisor, action=AuditAction.VIEW, client_id=world.client.pk
    )
    assert looks.count() == 2
    assert set(looks.values_list("actor_role", flat=True)) == {Role.SUPERVISOR}
    page = world.login(world.client).get(reverse("audit:record-views")).content.decode()
    assert "Rio Supervisor" in page


# --- second factor ------------------------------------------------------------------


def test_a_supervisor_must_verify_a_second_factor(world):
    assert mfa.mfa_required(world.supervisor)
    response = password_login(world.supervisor).get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa-setup"))


# --- the admin sets who is supervised -------------------------------------------------


def _change_form(user, **changes) -> UserAdminChangeForm:
    blank = UserAdminChangeForm(instance=user)
    data = {}
    for name, field in blank.fields.items():
        value = blank[name].value()
        if field.disabled or value is None:
            continue
        data[name] = value
    data.update(changes)
    return UserAdminChangeForm(instance=user, data=data)


def test_the_admin_offers_only_clinicians_of_the_supervisors_clinic(world):
    offered = set(UserAdminChangeForm(instance=world.supervisor).fields["supervises"].queryset)
    assert offered == {world.clinician, world.colleague}


def test_the_admin_refuses_supervision_across_clinics_or_by_a_non_supervisor(world):
    across = _change_form(world.supervisor, supervises=[world.stranger_clinician.pk])
    assert not across.is_valid()
    assert "supervises" in across.errors
    by_clinician = _change_form(world.colleague, supervises=[world.clinician.pk])
    assert not by_clinician.is_valid()
    assert by_clinician.errors["supervises"] == ["Only a supervisor supervises clinicians."]
    ok = _change_form(world.supervisor, supervises=[world.clinician.pk, world.colleague.pk])
    assert ok.is_valid(), ok.errors
