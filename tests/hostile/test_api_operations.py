"""Every API operation in the OpenAPI schema, as each kind of caller, with hostile bodies
and query strings (hypothesis, fixed seed, bounded budget): never a 5xx, always JSON, and
a refused request writes nothing.

HOSTILE_EXAMPLES (default 5) sets the examples per operation, caller and kind of input.
"""

import json
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given
from hypothesis import strategies as st

from tests.api.conftest import ApiWorld, client_with_token, token_for
from tests.conftest import PASSWORD
from tests.factories import local_today
from tests.hostile.kit import (
    RAW_BODIES,
    SEED_SETTINGS,
    Tally,
    dumps,
    hostile_body,
    hostile_value,
    row_counts,
)

pytestmark = pytest.mark.django_db

# They would end the suite's own login; tests/api/test_auth.py covers them.
SKIPPED = ("/api/v1/auth/token/logout/", "/api/v1/auth/token/logoutall/", "/api/v1/auth/logout/")
BODY_METHODS = ("post", "put", "patch")


def operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, methods in sorted(schema["paths"].items()):
        if path in SKIPPED:
            continue
        for method, operation in sorted(methods.items()):
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            if "$ref" in body:
                body = components[body["$ref"].rsplit("/", 1)[1]]
            found.append(
                (
                    method,
                    path,
                    {
                        "body": sorted(body.get("properties", {})),
                        "query": sorted(
                            p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
                        ),
                    },
                )
            )
    return found


def plausible(api: ApiWorld) -> dict[str, object]:
    """Values that reach past the first check, so hostile fields meet deeper code too."""
    today = local_today(api.world.client)
    return {
        "assignment": api.assignment.pk,
        "client": api.world.client.pk,
        "exercise": api.exercise.pk,
        "measure_assignment": 1,
        "minutes": 5,
        "schedule_kind": "daily",
        "start_date": str(today),
        "end_date": str(today + timedelta(days=30)),
        "title": "A kind practice",
        "category": "soothing",
        "summary": "Short.",
        "steps": ["Breathe."],
        "typical_minutes": 5,
        "email": api.world.client.email,
        "password": PASSWORD,
        "text": "Thank you.",
        "instrument": "scs-sf",
        "answers": {},
        "reflection": "It helped.",
        "format": "json",
    }


def path_for(api: ApiWorld, path: str) -> str:
    ids = {
        "/api/v1/exercises/": api.exercise.pk,
        "/api/v1/clients/": api.world.client.pk,
        "/api/v1/invitations/": api.invitation.pk,
        "/api/v1/assignments/": api.assignment.pk,
        "/api/v1/completions/": api.completion.pk,
    }
    pk = next((value for prefix, value in ids.items() if path.startswith(prefix)), 1)
    return path.replace("{id}", str(pk))


def send(browser, method: str, url: str, *, body: bytes | None = None, query=None):
    """One request in a savepoint, so a database error inside it cannot end the test's
    transaction; returns (status, content type, problem or None)."""
    before = row_counts()
    try:
        with transaction.atomic():
            if body is None:
                response = getattr(browser, method)(url, query or {})
            else:
                response = browser.generic(method.upper(), url, body, "application/json")
    except DatabaseError as error:
        return 500, "", f"database error {type(error).__name__}"
    problem = None
    if response.status_code >= 500:
        problem = f"{response.status_code} {response.content[:200]!r}"
    elif response.status_code != 204 and response["Content-Type"] != "application/json":
        problem = f"answered {response['Content-Type']}, not JSON"
    elif response.status_code >= 400 and row_counts() != before:
        problem = f"refused with {response.status_code} but rows changed"
    return response.status_code, response.get("Content-Type", ""), problem


def callers_for(path: str) -> list[str]:
    return ["anonymous", "client"] if path.startswith("/api/v1/auth/") else ["client", "clinician"]


def drive(strategy: st.SearchStrategy, request, label: str, tally: Tally) -> None:
    """Send what the strategy makes, a bounded number of times with a fixed seed."""

    @SEED_SETTINGS
    @given(value=strategy)
    def run(value) -> None:
        status, _kind, problem = request(value)
        tally.record(label, status, problem)

    run()


def hostile_walk(api: ApiWorld, tally: Tally) -> None:
    base = plausible(api)
    real_ids = [api.assignment.pk, api.world.client.pk, api.exercise.pk, api.completion.pk]
    for method, path, shape in operations():
        url = path_for(api, path)
        for who in callers_for(path):
            user = api.user(who)
            browser = client_with_token(token_for(user) if user else None)
            browser.raise_request_exception = False
            label = f"{method.upper()} {path} [{who}]"
            if method in BODY_METHODS:
                names = shape["body"]
                start = {name: base[name] for name in names if name in base}
                for raw in RAW_BODIES:
                    status, _kind, problem = send(browser, method, url, body=raw)
                    tally.record(label, status, problem)

                drive(
                    hostile_body(names, start, real_ids).map(dumps),
                    lambda body, browser=browser, method=method, url=url: send(
                        browser, method, url, body=body
                    ),
                    label,
                    tally,
                )
            if shape["query"]:
                values = hostile_value(real_ids).map(
                    lambda value: value if isinstance(value, str) else json.dumps(value)
                )
                queries = st.dictionaries(
                    st.sampled_from(shape["query"]), values, min_size=1, max_size=3
                )

                drive(
                    queries,
                    lambda query, browser=browser, method=method, url=url: send(
                        browser, method, url, query=query
                    ),
                    label,
                    tally,
                )


def test_no_api_operation_errs_or_writes_on_hostile_input(api: ApiWorld, capsys):
    tally = Tally()
    hostile_walk(api, tally)
    with capsys.disabled():
        print(f"\nhostile API input: {tally.summary()}")
    assert len(tally.operations) >= 30, "the schema lost its operations"
    assert tally.requests > 500
    assert not tally.failures, "\n".join(tally.lines())
