"""Deeply nested JSON, as a class: every operation of the schema that takes a body (the
token and session logins included), as every kind of caller, answers a JSON refusal. A
caller who may use the operation gets the parser's 400 naming the nesting; the others are
refused before the body is read. Never a 2xx, never a 5xx, nothing written by a refusal.

tests/api/test_input_limits.py covers the endpoints the outside report named; this walks
every one the schema has, so a new endpoint is covered the day it is added. Actions that
take no body (mark as read, acknowledge) never read one, and may succeed."""

import pytest

from tests.api.conftest import ApiWorld, client_with_token, token_for
from tests.hostile.kit import row_counts
from tests.hostile.test_api_operations import BODY_METHODS, operations, path_for

pytestmark = pytest.mark.django_db

DEEP = {
    "array": b"[" * 5000 + b"]" * 5000,
    "object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
}
CALLERS = ["anonymous", "client", "clinician", "supervisor"]
# Refused before the body is read because of the object the path names: id 1 is a
# built-in course (read-only), or names no questionnaire or group in this world (404).
REFUSED_BEFORE_READING = {
    "PUT /api/v1/programs/{id}/",
    "PATCH /api/v1/programs/{id}/",
    "POST /api/v1/measure-assignments/{id}/answer/",
    "PUT /api/v1/groups/{id}/",
}


def test_every_body_operation_refuses_deep_json(api: ApiWorld, capsys):
    parsed: set[str] = set()
    takes_json: set[str] = set()
    problems: list[str] = []
    requests = 0
    for method, path, shape in operations():
        if method not in BODY_METHODS:
            continue
        # An action that takes no body (mark as read, acknowledge) never reads it.
        ignored = (200, 201, 204) if not shape["body"] else ()
        label = f"{method.upper()} {path}"
        if shape["body"] and "/audio/" not in path:
            takes_json.add(label)
        url = path_for(api, path)
        for who in CALLERS:
            user = api.user(who)
            browser = client_with_token(token_for(user) if user else None)
            browser.raise_request_exception = False
            for kind, body in DEEP.items():
                before = row_counts()
                response = browser.generic(method.upper(), url, body, "application/json")
                requests += 1
                if response.status_code in ignored:
                    continue
                if row_counts() != before:
                    problems.append(f"{label} [{who}, {kind}]: refused but rows changed")
                if response.get("Content-Type") != "application/json":
                    problems.append(f"{label} [{who}, {kind}]: {response.get('Content-Type')}")
                elif response.status_code == 400:
                    if "nested" in str(response.json().get("detail", "")):
                        parsed.add(label)
                elif response.status_code not in (401, 403, 404, 405, 415, 429):
                    problems.append(f"{label} [{who}, {kind}]: {response.status_code}")
    with capsys.disabled():
        print(f"\ndeep JSON: {requests} requests, {len(parsed)} operations answered the 400")
    assert not problems, "\n".join(problems)
    # Every operation that reads a JSON body was reached by someone allowed to use it.
    assert sorted(takes_json - parsed - REFUSED_BEFORE_READING) == []
