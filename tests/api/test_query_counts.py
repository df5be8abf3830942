"""Every list answers in a number of queries that does not grow with the data.

Each case counts the queries of one request with 5 rows, then asserts the same
request with 50 rows needs no more. The list routes come from the URL conf, so a
new list endpoint without a case here fails `test_it_has_a_case_for_every_list`.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Role
from homework.models import Feedback
from tests.api.conftest import ApiWorld
from tests.api.test_authorization_matrix import ROUTE_NAMES
from tests.conftest import make_client
from tests.factories import (
    local_today,
    make_assignment,
    make_completion,
    make_exercise,
    make_measure,
    make_measure_response,
)


def add_push_devices(api: ApiWorld, count: int) -> None:
    from notifications.models import PushSubscription

    start = PushSubscription.objects.count()
    PushSubscription.objects.bulk_create(
        PushSubscription(
            user=api.world.client,
            endpoint=f"https://fcm.googleapis.com/fcm/send/device-{start + n}",
            p256dh="B" + "A" * 86,
            auth="A" * 22,
        )
        for n in range(count)
    )


def add_exercises(api: ApiWorld, count: int) -> None:
    for n in range(count):
        exercise = make_exercise(api.world.clinic, title=f"Exercise {n}")
        # Assigned too, so the client's list grows with the clinician's.
        make_assignment(api.world.client, exercise, start_date=local_today(api.world.client))


def add_assignments(api: ApiWorld, count: int) -> None:
    start = local_today(api.world.client) - timedelta(days=30)
    for n in range(count):
        owner = api.world.client if n % 2 else api.world.other_client
        make_assignment(owner, api.exercise, start_date=start)


def add_completions(api: ApiWorld, count: int) -> None:
    today = local_today(api.world.client)
    assignment = make_assignment(api.world.client, api.exercise, start_date=today - timedelta(400))
    for n in range(count):
        make_completion(assignment, today - timedelta(days=n + 1), distress_before=n % 11)


def add_clients(api: ApiWorld, count: int) -> None:
    start = local_today(api.world.client) - timedelta(days=30)
    for n in range(count):
        client = make_client(f"caseload-{uuid.uuid4().hex}@client.test", api.world.clinician)
        assignment = make_assignment(client, api.exercise, start_date=start)
        make_completion(assignment, start + timedelta(days=n % 20), distress_after=n % 11)


def add_invitations(api: ApiWorld, count: int) -> None:
    for _n in range(count):
        account_services.invitation_create(
            clinic=api.world.clinic,
            email=f"invited-{uuid.uuid4().hex}@client.test",
            role=Role.CLIENT,
            clinician=api.world.clinician,
            invited_by=api.world.clinician,
        )


def add_feedback(api: ApiWorld, count: int) -> None:
    for n in range(count):
        Feedback.objects.create(
            completion=api.completion, clinician=api.world.clinician, text=f"Reply {n}"
        )


def add_progress(api: ApiWorld, count: int) -> None:
    add_completions(api, count)
    add_assignments(api, count)


def add_phrases(api: ApiWorld, count: int) -> None:
    today = local_today(api.world.client)
    assignment = make_assignment(api.world.client, api.exercise, start_date=today - timedelta(400))
    for n in range(count):
        make_completion(assignment, today - timedelta(days=n + 1), answers={"phrase": f"Kind {n}"})


def add_caseload_and_history(api: ApiWorld, count: int) -> None:
    # One client's figures are computed with the whole caseload's.
    add_clients(api, count)
    add_completions(api, count)


def add_measure_assignments(api: ApiWorld, count: int, *, status: str = "ended") -> None:
    for n in range(count):
        owner = api.world.client if n % 2 else api.world.other_client
        make_measure(
            owner,
            start_date=local_today(owner) - timedelta(days=n),
            every_weeks=1 + n % 4,
            status=status,
        )


def add_running_measures(api: ApiWorld, count: int) -> None:
    add_measure_assignments(api, count, status="active")


def add_measure_responses(api: ApiWorld, count: int) -> None:
    today = local_today(api.world.client)
    for n in range(count):
        make_measure_response(
            client=api.world.client,
            answers={item: 1 + (item + n) % 5 for item in range(1, 13)},
            local_date=today - timedelta(days=n),
        )


def add_risk_flags(api: ApiWorld, count: int) -> None:
    from measures.models import RiskFlag

    for _n in range(count):
        response = make_measure_response(
            client=api.world.client, instrument="PHQ-9", answers=dict.fromkeys(range(1, 10), 1)
        )
        RiskFlag.objects.create(client=api.world.client, response=response, item=9)


@dataclass(frozen=True)
class Case:
    route: str
    caller: str
    grow: Callable[[ApiWorld, int], None]
    kwargs: Callable[[ApiWorld], dict] = lambda api: {}
    query: str = ""


def add_programs(api: ApiWorld, count: int) -> None:
    from programs.models import Program
    from programs.services import program_copy

    builtin = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
    for _n in range(count):
        program_copy(clinician=api.world.clinician, program=builtin)


def add_groups(api: ApiWorld, count: int) -> None:
    from programs.services import group_save

    members = [api.world.client.pk, api.world.other_client.pk]
    for n in range(count):
        group_save(clinician=api.world.clinician, name=f"Group {n}", member_ids=members)


def add_enrolments(api: ApiWorld, count: int) -> None:
    from programs.models import Enrolment, Program
    from programs.services import program_publish

    builtin = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
    version = program_publish(program=builtin)
    today = local_today(api.world.client)
    # Past enrolments (taken out) pile up; the list shows them all.
    Enrolment.objects.bulk_create(
        Enrolment(
            program=builtin,
            version=version,
            client=api.world.client,
            clinician=api.world.clinician,
            start_date=today,
            status="removed",
        )
        for _n in range(count)
    )


CASES = [
    Case("api:v1:exercise-list", "clinician", add_exercises),
    Case("api:v1:exercise-list", "client", add_exercises),
    Case("api:v1:assignment-list", "clinician", add_assignments),
    Case("api:v1:assignment-list", "client", add_assignments),
    Case("api:v1:completion-list", "clinician", add_completions),
    Case("api:v1:completion-list", "client", add_completions, query="?date_from=2000-01-01"),
    Case("api:v1:client-list", "clinician", add_clients),
    Case("api:v1:invitation-list", "clinician", add_invitations),
    Case("api:v1:risk-flag-list", "clinician", add_risk_flags),
    Case(
        "api:v1:completion-feedback",
        "client",
        add_feedback,
        kwargs=lambda api: {"pk": api.completion.pk},
    ),
    Case("api:v1:today", "client", add_assignments),
    Case("api:v1:me-phrases", "client", add_phrases),
    Case("api:v1:me-progress", "client", add_progress),
    Case(
        "api:v1:client-progress",
        "clinician",
        add_progress,
        kwargs=lambda api: {"pk": api.world.client.pk},
    ),
    # Questionnaires (issue 6).
    Case("api:v1:measure-assignment-list", "clinician", add_measure_assignments),
    Case("api:v1:measure-assignment-list", "client", add_measure_assignments),
    Case("api:v1:measure-response-list", "clinician", add_measure_responses),
    Case("api:v1:measure-response-list", "client", add_measure_responses),
    Case("api:v1:program-list", "clinician", add_programs),
    Case("api:v1:group-list", "clinician", add_groups),
    Case("api:v1:enrolment-list", "clinician", add_enrolments),
    Case("api:v1:enrolment-list", "client", add_enrolments),
    Case("api:v1:me-measures", "client", add_running_measures),
    Case("api:v1:me-what-helps", "client", add_completions),
    Case("api:v1:what-helps", "clinician", add_clients),
    Case(
        "api:v1:client-detail",
        "clinician",
        add_caseload_and_history,
        kwargs=lambda api: {"pk": api.world.client.pk},
    ),
    Case("api:v1:push-subscription-list", "client", add_push_devices),
]


def test_it_has_a_case_for_every_list() -> None:
    lists = {name for name in ROUTE_NAMES if name.endswith("-list")}
    assert lists <= {case.route for case in CASES}


def _count(api: ApiWorld, case: Case) -> tuple[int, dict]:
    browser = api.as_user(case.caller)
    url = reverse(case.route, kwargs=case.kwargs(api)) + case.query
    browser.get(url)  # warm up: the first request of a test loads per-process caches
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries), response.json()


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.route}-{case.caller}")
def test_it_needs_no_more_queries_for_fifty_rows_than_for_five(
    api, case: Case, django_assert_max_num_queries
) -> None:
    case.grow(api, 5)
    with_five, first = _count(api, case)
    case.grow(api, 45)
    browser = api.as_user(case.caller)
    url = reverse(case.route, kwargs=case.kwargs(api)) + case.query
    browser.get(url)
    with django_assert_max_num_queries(with_five):
        response = browser.get(url)
    assert response.status_code == 200
    body = response.json()
    # The answer really grew with the data.
    assert body != first
    if isinstance(body, dict) and "count" in body:
        assert body["count"] >= first["count"] + 20
