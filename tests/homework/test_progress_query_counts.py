"""Query counts of the dashboard, client page and portal pages stay flat as data grows.

A caseload of 50 clients with three months of practice (three plans each, logs on
most days, pauses in their history, feedback) must be served in the same number
of queries as a caseload of 5; likewise a client with many plans and logs.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from homework.models import Assignment, AssignmentEvent, Completion, Feedback
from homework.schedule import weekdays_mask
from tests.factories import make_clients, make_exercise

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe"]
DAYS = 91  # three months

# Measured: auth (session + user) is 2 queries, then each page's own fixed handful,
# e.g. the dashboard's clients, plans, their history, recent logs, last practice and
# latest distress ratings = 8. The bounds add 2 of headroom for per-request middleware
# (MFA, audit); an N+1 would add a query per client, plan or log and blow through them.
HEADROOM = 2
# The inbox count adds one to the dashboard; measures' attention reasons
# (homework/attention.py) add one query each: open risk flags and severity band rises (2).
# Not yet in the page cache (homework.page_cache), it also reads the record versions, and
# the caseload's clients again after them (2).
DASHBOARD_QUERIES = 8 + 1 + 2 + 2 + HEADROOM
# The questionnaire panels add a fixed few: the client page's schedules, answers and
# "what helps" (3); Today's due questionnaires (1); Progress's answers and "what helps" (2).
# The private notes and marking the shown replies read add two to the client page, and
# the urgent flags panel its open and acknowledged flags (2).
CLIENT_DETAIL_QUERIES = 9 + 3 + 2 + 2 + HEADROOM
# The course panels (programs/panels.py) add one query each when the client has no
# course (their enrolment); tests/programs covers pages with a course.
COURSE_PANEL = 1
CLIENT_DETAIL_QUERIES += COURSE_PANEL
PORTAL_QUERIES = {
    # The next session date adds one to Today.
    "homework:today": 6 + 1 + 1 + COURSE_PANEL + HEADROOM,
    "homework:history": 6 + HEADROOM,
    "homework:progress": 5 + 2 + COURSE_PANEL + HEADROOM,
    "homework:phrases": 3 + HEADROOM,
    # Today's plans (auth and the four of today_for_client) and the built-in practice.
    "homework:moment": 6 + 1 + HEADROOM,
}
PRACTICE_QUERIES = 4 + HEADROOM


def build_practice(clients: list[User], clinician: User, *, plans: int = 3) -> None:
    """Three months of plans, pauses, logs and feedback for each client, in bulk."""
    today = timezone.now().date()
    start = today - timedelta(days=DAYS)
    exercises = [make_exercise(clinician.clinic, title=f"Practice {i}") for i in range(plans)]
    kinds = [
        {"schedule_kind": "daily"},
        {"schedule_kind": "weekdays", "weekdays": weekdays_mask([0, 2, 4])},
        {"schedule_kind": "times_per_week", "times_per_week": 3},
    ]
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                client=client,
                clinician=clinician,
                exercise=exercises[i],
                start_date=start,
                note="A note",
                status="paused" if i == 2 and n % 4 == 0 else "active",
                **kinds[i % 3],
            )
            for n, client in enumerate(clients)
            for i in range(plans)
        ]
    )
    events = []
    completions = []
    for index, assignment in enumerate(assignments):
        middle = datetime.combine(start + timedelta(days=30), time(9), tzinfo=UTC)
        events += [
            AssignmentEvent(assignment=assignment, action="paused", created_at=middle),
            AssignmentEvent(
                assignment=assignment, action="resumed", created_at=middle + timedelta(days=7)
            ),
        ]
        for offset in range(DAYS + 1):
            if (offset + index) % 4 == 3:
                continue  # a day off now and then
            completions.append(
                Completion(
                    assignment=assignment,
                    client_id=assignment.client_id,
                    local_date=start + timedelta(days=offset),
                    minutes=5 + offset % 7,
                    distress_before=6 + offset % 3,
                    distress_after=3 + offset % 4,
                    answers={"moment": "A moment", "phrase": f"Phrase {offset % 5}"},
                    reflection="A reflection",
                    reflection_shared=offset % 2 == 0,
                )
            )
    AssignmentEvent.objects.bulk_create(events)
    created = Completion.objects.bulk_create(completions)
    Feedback.objects.bulk_create(
        [
            Feedback(completion=completion, clinician=clinician, text="Well done.")
            for completion in created[::5]
        ]
    )


def build_caseload(clinician: User, size: int) -> list[User]:
    clients = make_clients(clinician, size, zones=ZONES, password="!")
    build_practice(clients, clinician)
    return clients


@pytest.mark.parametrize("size", [5, 50])
def test_it_serves_the_dashboard_in_a_fixed_number_of_queries(
    world, size, django_assert_max_num_queries
):
    build_caseload(world.clinician, size)
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = browser.get(reverse("homework:dashboard"))
    assert response.status_code == 200
    assert response.context["total"] == size + 2  # plus the world's two clients
    shown = min(size + 2, 50)  # one page of the caseload
    assert len(response.context["rows"]) == shown
    page = response.content.decode()
    assert page.count('<a href="/clinician/clients/') == shown


@pytest.mark.parametrize("size", [5, 50])
def test_it_serves_a_clients_page_in_a_fixed_number_of_queries(
    world, size, django_assert_max_num_queries
):
    clients = build_caseload(world.clinician, size)
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(CLIENT_DETAIL_QUERIES):
        response = browser.get(reverse("homework:client-detail", args=[clients[-1].pk]))
    assert response.status_code == 200
    assert len(response.context["timeline"]) == 20
    assert len(response.context["progress"].assignments) == 3


@pytest.mark.parametrize("plans", [1, 3])
@pytest.mark.parametrize("name", sorted(PORTAL_QUERIES))
def test_it_serves_portal_pages_in_a_fixed_number_of_queries(
    world, name, plans, django_assert_max_num_queries
):
    build_practice([world.client], world.clinician, plans=plans)
    browser = world.login(world.client)
    with django_assert_max_num_queries(PORTAL_QUERIES[name]):
        response = browser.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("plans", [1, 3])
def test_it_serves_the_practice_and_log_pages_in_a_fixed_number_of_queries(
    world, plans, django_assert_max_num_queries
):
    build_practice([world.client], world.clinician, plans=plans)
    assignment = Assignment.objects.filter(client=world.client, status="active").first()
    browser = world.login(world.client)
    for name in ("homework:practice", "homework:log"):
        with django_assert_max_num_queries(PRACTICE_QUERIES):
            response = browser.get(reverse(name, args=[assignment.pk]))
        assert response.status_code == 200
