"""Who gets what: every API route x every method x every kind of caller.

The routes come from the URL conf itself (clinic.api_urls), so a new route
without a row in MATRIX fails `test_it_has_a_row_for_every_route`, and every
route is exercised by `test_it_answers_every_caller_as_the_matrix_says`.

Detail routes point at objects of world.client (on world.clinician's caseload in
world.clinic). Write methods send an empty JSON body: an allowed caller then gets
a validation answer (400) or a no-op success, a refused one 401/403/404. An
object that exists but is not the caller's answers 404, like a missing one.
"""

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.api.conftest import USER_KEYS
from tests.factories import local_today, make_measure, make_measure_response

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Callers run in this order: the refused ones first, so a write the allowed
# caller makes (pause, revoke, log out) cannot change what the others see.
CALLER_ORDER = (
    "anonymous",
    "admin",
    "stranger_client",
    "stranger_clinician",
    "other_client",
    "colleague",
    "supervisor",
    "client",
    "clinician",
)
assert sorted(CALLER_ORDER) == sorted(USER_KEYS)


def expect(
    *,
    anonymous: int = 401,
    client: int = 403,
    other_client: int | None = None,
    stranger_client: int | None = None,
    clinician: int = 403,
    colleague: int | None = None,
    stranger_clinician: int | None = None,
    admin: int = 403,
    supervisor: int = 403,
) -> dict[str, int]:
    """Expected statuses; the other client / colleague / strangers default to their role's.

    The supervisor (world.supervisor, who supervises world.clinician) is refused unless
    a row says otherwise: they read a caseload and never write.
    """
    return {
        "anonymous": anonymous,
        "client": client,
        "other_client": client if other_client is None else other_client,
        "stranger_client": client if stranger_client is None else stranger_client,
        "clinician": clinician,
        "colleague": clinician if colleague is None else colleague,
        "stranger_clinician": clinician if stranger_clinician is None else stranger_clinician,
        "admin": admin,
        "supervisor": supervisor,
    }


def everyone(status: int) -> dict[str, int]:
    """Public endpoints (logging in): the same answer for all, anonymous included."""
    return expect(
        anonymous=status, client=status, clinician=status, admin=status, supervisor=status
    )


def signed_in(status: int) -> dict[str, int]:
    return expect(client=status, clinician=status, admin=status, supervisor=status)


def clinicians(status: int, *, others: int | None = None, supervisor: int = 403) -> dict[str, int]:
    """A clinician-only endpoint. `others`: the colleague and other clinic (404 for objects).

    `supervisor`: what world.supervisor gets, when they may read (a GET).
    """
    return expect(
        clinician=status, colleague=others, stranger_clinician=others, supervisor=supervisor
    )


def clients(status: int) -> dict[str, int]:
    """A client-only endpoint about the caller themself."""
    return expect(client=status)


def readers(status: int) -> dict[str, int]:
    """Clients, clinicians and supervisors, each for what they may see (a list)."""
    return expect(client=status, clinician=status, supervisor=status)


def own_object(
    *, client: int, clinician: int, colleague: int = 404, supervisor: int = 403
) -> dict[str, int]:
    """An object of world.client: theirs and their clinician's, nobody else's (404).

    A role refused outright (403) is refused before any lookup, for all its users.
    world.supervisor reads it when the row says so (a GET), like the clinician.
    """

    def others(status: int) -> int:
        return 403 if status == 403 else 404

    return expect(
        client=client,
        other_client=others(client),
        stranger_client=others(client),
        clinician=clinician,
        colleague=403 if clinician == 403 else colleague,
        stranger_clinician=others(clinician),
        supervisor=supervisor,
    )


# For each route: the object it points at (a key of TARGETS) and the answers.
@dataclass(frozen=True)
class Row:
    methods: dict[str, dict[str, int]]
    target: str | None = None
    kwargs: dict[str, str] | None = None


MATRIX: dict[str, Row] = {
    # --- Logging in: public, throttled; an empty body is refused with field messages.
    "api:v1:token": Row(
        {
            "GET": everyone(405),
            "POST": everyone(400),
            "PUT": everyone(405),
            "PATCH": everyone(405),
            "DELETE": everyone(405),
        }
    ),
    "api:v1:session-login": Row(
        {
            "GET": everyone(405),
            "POST": everyone(400),
            "PUT": everyone(405),
            "PATCH": everyone(405),
            "DELETE": everyone(405),
        }
    ),
    # Token logouts need the token they revoke.
    "api:v1:token-logout": Row(
        {
            "GET": signed_in(405),
            "POST": signed_in(204),
            "PUT": signed_in(405),
            "PATCH": signed_in(405),
            "DELETE": signed_in(405),
        }
    ),
    "api:v1:token-logoutall": Row(
        {
            "GET": signed_in(405),
            "POST": signed_in(204),
            "PUT": signed_in(405),
            "PATCH": signed_in(405),
            "DELETE": signed_in(405),
        }
    ),
    "api:v1:session-logout": Row(
        {
            "GET": signed_in(405),
            "POST": signed_in(204),
            "PUT": signed_in(405),
            "PATCH": signed_in(405),
            "DELETE": signed_in(405),
        }
    ),
    # --- Me
    "api:v1:me": Row(
        {
            "GET": signed_in(200),
            "POST": signed_in(405),
            "PUT": signed_in(405),
            "PATCH": signed_in(200),
            "DELETE": signed_in(405),
        }
    ),
    "api:v1:me-preferences": Row(
        {
            "GET": clients(200),
            "POST": clients(405),
            "PUT": clients(405),
            "PATCH": clients(200),
            "DELETE": clients(405),
        }
    ),
    "api:v1:me-progress": Row(
        {
            "GET": clients(200),
            "POST": clients(405),
            "PUT": clients(405),
            "PATCH": clients(405),
            "DELETE": clients(405),
        }
    ),
    "api:v1:me-phrases": Row(
        {
            "GET": clients(200),
            "POST": clients(405),
            "PUT": clients(405),
            "PATCH": clients(405),
            "DELETE": clients(405),
        }
    ),
    "api:v1:today": Row(
        {
            "GET": clients(200),
            "POST": clients(405),
            "PUT": clients(405),
            "PATCH": clients(405),
            "DELETE": clients(405),
        }
    ),
    # --- Exercises: clinicians of the clinic share its library; a client sees what
    # was assigned to them. Only clinicians write (clients: 403 before any lookup).
    "api:v1:exercise-list": Row(
        {
            "GET": readers(200),
            "POST": clinicians(400),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        }
    ),
    "api:v1:exercise-detail": Row(
        {
            "GET": own_object(client=200, clinician=200, colleague=200, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(400, others=None) | {"stranger_clinician": 404},
            "PATCH": clinicians(200) | {"stranger_clinician": 404},
            "DELETE": clinicians(405),
        },
        target="exercise",
    ),
    **{
        f"api:v1:exercise-{name}": Row(
            {
                "GET": readers(405),
                "POST": clinicians(status) | {"stranger_clinician": 404},
                "PUT": clinicians(405),
                "PATCH": clinicians(405),
                "DELETE": clinicians(405),
            },
            target="exercise",
        )
        for name, status in (("archive", 200), ("restore", 200), ("copy", 201))
    },
    # The exercise has no recording here: whoever may see it is told so (404), like
    # anyone who may not. An upload must be multipart (415 for the empty JSON body).
    "api:v1:exercise-audio": Row(
        {
            "GET": readers(404),
            "POST": clinicians(415) | {"stranger_clinician": 404},
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(404),
        },
        target="exercise",
    ),
    # --- The caseload: clinicians only; a colleague's client is not found.
    "api:v1:client-list": Row(
        {
            "GET": clinicians(200, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        }
    ),
    "api:v1:client-detail": Row(
        {
            "GET": clinicians(200, others=404, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="client",
    ),
    "api:v1:client-progress": Row(
        {
            "GET": clinicians(200, others=404, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="client",
    ),
    # --- Invitations: the inviting clinician's.
    "api:v1:invitation-list": Row(
        {
            "GET": clinicians(200),
            "POST": clinicians(400),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        }
    ),
    "api:v1:invitation-detail": Row(
        {
            "GET": clinicians(200, others=404),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="invitation",
    ),
    **{
        f"api:v1:invitation-{name}": Row(
            {
                "GET": clinicians(405),
                "POST": clinicians(200, others=404),
                "PUT": clinicians(405),
                "PATCH": clinicians(405),
                "DELETE": clinicians(405),
            },
            target="invitation",
        )
        for name in ("resend", "revoke")
    },
    # --- Assignments: the clinician writes, the client reads their own.
    "api:v1:assignment-list": Row(
        {
            "GET": readers(200),
            "POST": clinicians(400),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        }
    ),
    "api:v1:assignment-detail": Row(
        {
            "GET": own_object(client=200, clinician=200, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(400, others=404),
            "PATCH": clinicians(200, others=404),
            "DELETE": clinicians(405),
        },
        target="assignment",
    ),
    **{
        f"api:v1:assignment-{name}": Row(
            {
                "GET": readers(405),
                "POST": clinicians(200, others=404),
                "PUT": clinicians(405),
                "PATCH": clinicians(405),
                "DELETE": clinicians(405),
            },
            target=target,
        )
        for name, target in (
            ("pause", "assignment"),
            ("resume", "paused_assignment"),
            ("end", "assignment"),
        )
    },
    # --- Practice logs: the client writes, the clinician reads (and replies).
    "api:v1:completion-list": Row(
        {
            "GET": readers(200),
            "POST": clients(400),
            "PUT": clients(405),
            "PATCH": clients(405),
            "DELETE": clients(405),
        }
    ),
    "api:v1:completion-detail": Row(
        {
            "GET": own_object(client=200, clinician=200, supervisor=200),
            "POST": clients(405),
            "PUT": clients(405),
            "PATCH": own_object(client=200, clinician=403),
            "DELETE": clients(405),
        },
        target="completion",
    ),
    "api:v1:completion-feedback": Row(
        {
            "GET": own_object(client=200, clinician=200, supervisor=200),
            "POST": own_object(client=403, clinician=400),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="completion",
    ),
    "api:v1:completion-feedback-read": Row(
        {
            "GET": clients(405),
            "POST": own_object(client=204, clinician=403),
            "PUT": clients(405),
            "PATCH": clients(405),
            "DELETE": clients(405),
        },
        target="completion",
    ),
    # --- Questionnaires, what helps and exports (issue 6). Clinicians schedule and read,
    # clients answer and read their own; instruments are for both roles.
    "api:v1:instruments": Row(
        {m: readers(200) if m == "GET" else clinicians(405) for m in METHODS}
    ),
    "api:v1:measure-assignment-list": Row(
        {
            "GET": readers(200),
            "POST": clinicians(400),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        }
    ),
    "api:v1:measure-assignment-detail": Row(
        {
            "GET": own_object(client=200, clinician=200, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="measure_assignment",
    ),
    "api:v1:measure-assignment-end": Row(
        {
            "GET": clinicians(405),
            "POST": clinicians(200, others=404),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="measure_assignment",
    ),
    "api:v1:measure-assignment-answer": Row(
        {
            "GET": clients(405),
            "POST": own_object(client=400, clinician=403),
            "PUT": clients(405),
            "PATCH": clients(405),
            "DELETE": clients(405),
        },
        target="measure_assignment",
    ),
    "api:v1:measure-response-list": Row(
        {
            "GET": readers(200),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        }
    ),
    "api:v1:measure-response-detail": Row(
        {
            "GET": own_object(client=200, clinician=200, supervisor=200),
            "POST": clinicians(405),
            "PUT": clinicians(405),
            "PATCH": clinicians(405),
            "DELETE": clinicians(405),
        },
        target="measure_response",
    ),
    "api:v1:me-measures": Row({m: clients(200 if m == "GET" else 405) for m in METHODS}),
    "api:v1:me-what-helps": Row({m: clients(200 if m == "GET" else 405) for m in METHODS}),
    "api:v1:me-export": Row({m: clients(400 if m == "POST" else 405) for m in METHODS}),
    # A supervisor reads what helps across the caseloads they supervise, and only reads.
    "api:v1:what-helps": Row(
        {m: clinicians(200, supervisor=200) if m == "GET" else clinicians(405) for m in METHODS}
    ),
    "api:v1:exports": Row({m: clinicians(400 if m == "POST" else 405) for m in METHODS}),
    # --- The caller's own devices for notifications (clients' reminders, clinicians'
    # urgent notices): nobody else's, whoever asks. The target is world.client's device.
    "api:v1:push-subscription-list": Row(
        {
            m: expect(
                client={"GET": 200, "POST": 400}.get(m, 405),
                clinician={"GET": 200, "POST": 400}.get(m, 405),
            )
            for m in METHODS
        }
    ),
    "api:v1:push-subscription-detail": Row(
        {
            **{m: expect(client=405, clinician=405) for m in ("GET", "POST", "PUT", "PATCH")},
            "DELETE": own_object(client=204, clinician=404),
        },
        target="push_subscription",
    ),
    # --- Programs, groups and enrolments: clinicians; a client reads their own enrolments.
    "api:v1:program-list": Row(
        {m: clinicians({"GET": 200, "POST": 400}.get(m, 405)) for m in METHODS}
    ),
    "api:v1:program-detail": Row(
        {
            m: expect(
                clinician={"GET": 200, "PUT": 400}.get(m, 405),
                colleague={"GET": 200, "PUT": 400}.get(m, 405),
                stranger_clinician=404 if m in ("GET", "PUT") else 405,
            )
            for m in METHODS
        },
        target="program",
    ),
    "api:v1:program-copy": Row(
        {
            m: expect(clinician=201, colleague=201, stranger_clinician=404)
            if m == "POST"
            else clinicians(405)
            for m in METHODS
        },
        target="program",
    ),
    "api:v1:group-list": Row(
        {m: clinicians({"GET": 200, "POST": 400}.get(m, 405)) for m in METHODS}
    ),
    "api:v1:group-detail": Row(
        {
            m: clinicians(200, others=404)
            if m == "GET"
            else clinicians(400, others=404)
            if m == "PUT"
            else clinicians(405)
            for m in METHODS
        },
        target="group",
    ),
    "api:v1:enrolment-list": Row(
        {
            m: readers(200) if m == "GET" else clinicians(400 if m == "POST" else 405)
            for m in METHODS
        }
    ),
    "api:v1:enrolment-detail": Row(
        {
            m: own_object(client=200, clinician=200, supervisor=200)
            if m == "GET"
            else clinicians(405)
            for m in METHODS
        },
        target="enrolment",
    ),
    **{
        f"api:v1:enrolment-{name}": Row(
            {
                m: readers(405)
                if m == "GET"
                else clinicians(status, others=404)
                if m == "POST"
                else clinicians(405)
                for m in METHODS
            },
            target="enrolment",
        )
        for name, status in (
            ("forward", 200),
            ("back", 400),  # the enrolment is in week 1
            ("pause", 200),
            ("resume", 400),  # it is not paused
            ("remove", 200),
            ("newest-version", 200),
        )
    },
    "api:v1:bulk-assignments": Row({m: clinicians(400 if m == "POST" else 405) for m in METHODS}),
    # --- The OpenAPI schema and its docs are public: they describe, never contain, data.
    "api:schema": Row({m: everyone(200 if m == "GET" else 405) for m in METHODS}),
    "api:docs": Row({m: everyone(200 if m == "GET" else 405) for m in METHODS}),
    # Any other URL under /api/: a JSON 404, whoever asks.
    "api:not-found": Row({m: everyone(404) for m in METHODS}, kwargs={"path": "v1/no-such/"}),
    # --- The conversation on a log, the inbox, notes, sessions and the report (issue 16).
    # Both roles write in a conversation: an empty body is refused with field messages.
    "api:v1:completion-messages": Row(
        {
            m: {
                "GET": own_object(client=200, clinician=200),
                "POST": own_object(client=400, clinician=400),
            }.get(m, {**readers(405), "supervisor": 403})
            for m in METHODS
        },
        target="completion",
    ),
    # A supervisor reads the caseload's pages, not the conversation's endpoints.
    "api:v1:completion-messages-read": Row(
        {
            m: own_object(client=204, clinician=204)
            if m == "POST"
            else {**readers(405), "supervisor": 403}
            for m in METHODS
        },
        target="completion",
    ),
    "api:v1:inbox": Row({m: clinicians(200 if m == "GET" else 405) for m in METHODS}),
    "api:v1:client-notes": Row(
        {
            m: {
                "GET": clinicians(200, others=404),
                "POST": clinicians(400, others=404),
            }.get(m, clinicians(405))
            for m in METHODS
        },
        target="client",
    ),
    "api:v1:client-next-session": Row(
        {
            m: {
                "GET": clinicians(200, others=404, supervisor=200),
                "PUT": clinicians(400, others=404),
            }.get(m, clinicians(405))
            for m in METHODS
        },
        target="client",
    ),
    **{
        f"api:v1:{name}": Row(
            {m: clinicians(200, others=404) if m == "GET" else clinicians(405) for m in METHODS},
            target="client",
        )
        for name in ("client-report", "client-report-pdf")
    },
    # --- Safety: every signed-in person reads their own clinic's crisis resources.
    "api:v1:me-crisis-resources": Row({m: signed_in(200 if m == "GET" else 405) for m in METHODS}),
    # Urgent flags: clinicians only; a colleague or another clinic cannot see the flag.
    "api:v1:risk-flag-list": Row({m: clinicians(200 if m == "GET" else 405) for m in METHODS}),
    "api:v1:risk-flag-acknowledge": Row(
        {m: clinicians(200, others=404) if m == "POST" else clinicians(405) for m in METHODS},
        target="risk_flag",
    ),
}


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    routes = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            routes += _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            routes.append((prefix + str(pattern.pattern), f"{namespace}{pattern.name}"))
    return routes


def api_routes() -> list[tuple[str, str]]:
    """(pattern, name) of every route under /api/, straight from the URL conf."""
    return [
        (pattern, name)
        for pattern, name in _walk(get_resolver().url_patterns)
        if pattern.startswith("api/")
    ]


ROUTE_NAMES = sorted({name for _pattern, name in api_routes()})


def test_it_has_a_row_for_every_route() -> None:
    routes = api_routes()
    assert all(not name.endswith(":None") for _pattern, name in routes), "unnamed API route"
    assert len(routes) == len(ROUTE_NAMES), "two API routes share a name"
    assert any(pattern.startswith("api/v1/") for pattern, _ in routes)
    assert set(ROUTE_NAMES) - set(MATRIX) == set(), "routes without a row in MATRIX"
    assert set(MATRIX) - set(ROUTE_NAMES) == set(), "rows for routes that no longer exist"


def test_it_lists_every_method_for_every_route() -> None:
    incomplete = {name: sorted(set(METHODS) - set(row.methods)) for name, row in MATRIX.items()}
    assert {name: missing for name, missing in incomplete.items() if missing} == {}
    for name, row in MATRIX.items():
        for method, statuses in row.methods.items():
            assert set(statuses) == set(USER_KEYS), (name, method)


TARGETS = {
    "exercise": lambda api: api.exercise.pk,
    "client": lambda api: api.world.client.pk,
    "invitation": lambda api: api.invitation.pk,
    "assignment": lambda api: api.assignment.pk,
    "paused_assignment": lambda api: api.paused_assignment.pk,
    "completion": lambda api: api.completion.pk,
    "measure_assignment": lambda api: _measure_assignment(api).pk,
    "measure_response": lambda api: _measure_response(api).pk,
    "risk_flag": lambda api: _risk_flag(api).pk,
    "push_subscription": lambda api: _push_subscription(api).pk,
    "program": lambda api: _program(api).pk,
    "group": lambda api: _group(api).pk,
    "enrolment": lambda api: _enrolment(api).pk,
}


def _push_subscription(api):
    """A device of world.client's."""
    from notifications.models import PushSubscription

    return PushSubscription.objects.create(
        user=api.world.client,
        endpoint="https://fcm.googleapis.com/fcm/send/matrix",
        p256dh="B" + "A" * 86,
        auth="A" * 22,
    )


def _program(api):
    """world.clinic's own copy of the built-in course."""
    from programs.models import Program
    from programs.services import program_copy

    builtin = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
    return program_copy(clinician=api.world.clinician, program=builtin)


def _group(api):
    """world.clinician's group of world.client."""
    from programs.services import group_save

    return group_save(clinician=api.world.clinician, name="Group", member_ids=[api.world.client.pk])


def _enrolment(api):
    """world.client in the built-in course from today: in week 1."""
    from programs.models import Program
    from programs.services import enrolments_create

    builtin = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
    (enrolment,) = enrolments_create(
        clinician=api.world.clinician,
        program=builtin,
        clients=[api.world.client],
        start_date=local_today(api.world.client),
    )
    return enrolment


def _measure_assignment(api):
    """world.client's questionnaire, due today."""
    return make_measure(api.world.client)


def _measure_response(api):
    """world.client's answer of today, given outside any schedule."""
    return make_measure_response(client=api.world.client, answers=dict.fromkeys(range(1, 13), 3))


def _risk_flag(api):
    """An urgent flag on world.client's PHQ-9 answer."""
    from measures.models import RiskFlag

    response = make_measure_response(
        client=api.world.client, instrument="PHQ-9", answers=dict.fromkeys(range(1, 10), 1)
    )
    return RiskFlag.objects.create(client=api.world.client, response=response, item=9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("route", ROUTE_NAMES)
def test_it_answers_every_caller_as_the_matrix_says(api, route: str, method: str) -> None:
    row = MATRIX.get(route)
    assert row is not None, f"{route} has no row in MATRIX"
    kwargs = {"pk": TARGETS[row.target](api)} if row.target else dict(row.kwargs or {})
    url = reverse(route, kwargs=kwargs)

    answers = {}
    for key in CALLER_ORDER:
        response = api.as_user(key).generic(method, url, "{}", content_type="application/json")
        answers[key] = response.status_code
        assert response.status_code < 500, (key, response.content[:500])
        if route != "api:docs" and response.status_code >= 400:
            assert "json" in response["Content-Type"], (key, response.content[:200])
    assert answers == row.methods[method]


# --- A discharged client: the same routes, and every new write for them is refused ----

# (route, caller, path kwargs from the ApiWorld, body): each a write that succeeds for an
# open client and must answer 400 with a message once world.client is discharged.
DISCHARGED_WRITES = [
    (
        "api:v1:assignment-list",
        "clinician",
        lambda api: {},
        lambda api: {
            "client": api.world.client.pk,
            "exercise": api.builtin.pk,
            "schedule_kind": "daily",
            "start_date": local_today(api.world.client).isoformat(),
        },
    ),
    (
        "api:v1:assignment-resume",
        "clinician",
        lambda api: {"pk": api.paused_assignment.pk},
        lambda api: {},
    ),
    (
        "api:v1:completion-list",
        "client",
        lambda api: {},
        lambda api: {"assignment": api.paused_assignment.pk, "minutes": 5},
    ),
    (
        "api:v1:completion-feedback",
        "clinician",
        lambda api: {"pk": api.completion.pk},
        lambda api: {"text": "Well done."},
    ),
    (
        "api:v1:measure-assignment-list",
        "clinician",
        lambda api: {},
        lambda api: {
            "client": api.world.client.pk,
            "instrument": "SCS-SF",
            "start_date": local_today(api.world.client).isoformat(),
        },
    ),
]


def _discharge(api) -> None:
    from homework.services.caseload import client_discharge

    client_discharge(clinician=api.world.clinician, client=api.world.client)


@pytest.mark.parametrize(
    "route, caller, kwargs, body", DISCHARGED_WRITES, ids=[row[0] for row in DISCHARGED_WRITES]
)
def test_a_discharged_clients_writes_are_refused(api, route, caller, kwargs, body) -> None:
    from audit.models import AuditEvent

    _discharge(api)
    events = AuditEvent.objects.count()
    response = api.as_user(caller).post(
        reverse(route, kwargs=kwargs(api)), body(api), format="json"
    )
    assert response.status_code == 400, response.content[:300]
    assert "json" in response["Content-Type"]
    assert "discharged" in response.content.decode() or "ended" in response.content.decode()
    assert AuditEvent.objects.count() == events


def test_a_discharged_client_still_reads_and_exports_their_own_record(api) -> None:
    _discharge(api)
    client = api.as_user("client")
    for route in ("api:v1:me", "api:v1:today", "api:v1:completion-list", "api:v1:me-progress"):
        assert client.get(reverse(route)).status_code == 200, route
    exported = client.post(reverse("api:v1:me-export"), {"format": "json"}, format="json")
    assert exported.status_code == 200
    listed = api.as_user("clinician").get(reverse("api:v1:client-list")).json()["results"]
    row = next(row for row in listed if row["id"] == api.world.client.pk)
    assert row["discharged"] is True and row["needs_attention"] is False
