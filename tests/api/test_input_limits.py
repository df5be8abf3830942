"""Bodies no client should send, on every kind of endpoint: refused with a 400 that
names the problem, in JSON, and nothing written."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from core.api import UNKNOWN_FIELD_MESSAGE
from core.parsers import MAX_JSON_DEPTH, json_depth
from core.validation import DATE_RANGE_MESSAGE, TEXT_MESSAGE
from homework.models import Assignment, Completion
from tests.api.conftest import ApiWorld
from tests.api.test_bad_input import assert_refused, counts, new_assignment
from tests.factories import local_today

pytestmark = pytest.mark.django_db

JSON_ENDPOINTS = [
    ("post", "api:v1:completion-list", "client"),
    ("post", "api:v1:assignment-list", "clinician"),
    ("patch", "api:v1:me", "client"),
    ("post", "api:v1:token", "anonymous"),
    ("post", "api:v1:session-login", "anonymous"),
]


def deep(levels: int, *, kind: str = "array") -> str:
    return (
        ("[" * levels + "]" * levels)
        if kind == "array"
        else ('{"a":' * levels + "1" + "}" * levels)
    )


@pytest.mark.parametrize(("method", "name", "who"), JSON_ENDPOINTS)
@pytest.mark.parametrize("kind", ["array", "object"])
def test_it_refuses_deeply_nested_json_on_every_endpoint(api: ApiWorld, method, name, who, kind):
    before = counts()
    response = getattr(api.as_user(who), method)(
        reverse(name), data=deep(5000, kind=kind), content_type="application/json"
    )
    body = assert_refused(response, 400, "detail")
    assert "nested" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize(("method", "name", "who"), JSON_ENDPOINTS)
def test_it_refuses_a_body_past_the_size_limit(api: ApiWorld, settings, method, name, who):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = counts()
    response = getattr(api.as_user(who), method)(
        reverse(name), data=json.dumps({"reflection": "x" * 2000}), content_type="application/json"
    )
    body = assert_refused(response, 400, "detail")
    assert "larger than 1000 bytes" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize(
    "raw",
    [b'{"minutes": 5, "reflection": "\xff\xfe"}', b'{"minutes": NaN}', b'{"minutes": 5'],
)
def test_it_refuses_bodies_that_are_not_json(api: ApiWorld, raw):
    before = counts()
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"), data=raw, content_type="application/json"
    )
    assert_refused(response, 400, "detail")
    assert counts() == before


def test_json_depth_skips_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth(b'"\\"[["') == 0
    assert json_depth(deep(MAX_JSON_DEPTH).encode()) == MAX_JSON_DEPTH


def test_nesting_up_to_the_limit_reaches_the_serializer(api: ApiWorld):
    # 32 levels are parsed; the serializer then says what is wrong with the shape.
    data = {"assignment": api.assignment.pk, "minutes": 5, "answers": json.loads(deep(30))}
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"), data=json.dumps(data), content_type="application/json"
    )
    assert_refused(response, 400, "answers")


def test_an_unknown_rating_is_refused_not_dropped(api: ApiWorld):
    before = counts()
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"),
        data={"assignment": api.assignment.pk, "minutes": 5, "ratings": {"joy": 3}},
        format="json",
    )
    body = assert_refused(response, 400, "ratings")
    assert body["ratings"] == {"joy": [UNKNOWN_FIELD_MESSAGE]}
    assert counts() == before


@pytest.mark.parametrize(
    ("method", "name", "who", "data"),
    [
        ("post", "api:v1:completion-list", "client", {"minutes": 5, "mood": 3}),
        ("patch", "api:v1:me", "client", {"nickname": "x"}),
        ("post", "api:v1:token", "anonymous", {"email": "a@b.c", "password": "x", "x": 1}),
        ("post", "api:v1:assignment-list", "clinician", {"schedul_kind": "daily"}),
    ],
)
def test_unknown_top_level_fields_are_named(api: ApiWorld, method, name, who, data):
    if name == "api:v1:completion-list":
        data = {**data, "assignment": api.assignment.pk}
    if name == "api:v1:assignment-list":
        data = {**new_assignment(api), **data}
    before = counts()
    response = getattr(api.as_user(who), method)(reverse(name), data=data, format="json")
    body = assert_refused(response, 400)
    unknown = [key for key in data if key in body]
    assert unknown and all(body[key] == [UNKNOWN_FIELD_MESSAGE] for key in unknown)
    assert counts() == before


def test_read_only_fields_sent_back_as_read_are_ignored(api: ApiWorld):
    browser = api.as_user("client")
    me = browser.get(reverse("api:v1:me")).json()
    response = browser.patch(reverse("api:v1:me"), data=me, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "text",
    ["bad\x00text", "bell\x07", "\u202eevil", "isolate\u2066x\u2069", "\ud800", "broken \ufffd"],
)
def test_unacceptable_text_is_refused_with_a_message(api: ApiWorld, text):
    before = counts()
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"),
        # As JSON text with \u escapes, the way a lone surrogate can arrive at all.
        data=json.dumps({"assignment": api.assignment.pk, "minutes": 5, "reflection": text}),
        content_type="application/json",
    )
    body = assert_refused(response, 400, "reflection")
    # NUL also gets DRF's own message; the portal's forms say both the same way.
    assert TEXT_MESSAGE in body["reflection"]
    assert counts() == before


@pytest.mark.parametrize(
    "text", ["Kind to myself 💛🧘🏽‍♀️", "café naïve e\u0301", "שלום עליכם", "line one\nline\ttwo"]
)
def test_legitimate_text_is_kept_exactly(api: ApiWorld, text):
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"),
        data={"assignment": api.assignment.pk, "minutes": 5, "reflection": text},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    assert Completion.objects.get(pk=response.json()["id"]).reflection == text


@pytest.mark.parametrize("day", ["9999-12-30", "1999-12-31", "2101-01-01", "0001-01-01"])
def test_plan_dates_outside_the_range_are_refused(api: ApiWorld, day):
    before = Assignment.objects.count()
    for field in ("start_date", "end_date"):
        response = api.as_user("clinician").post(
            reverse("api:v1:assignment-list"),
            data=new_assignment(api, **{field: day}),
            format="json",
        )
        body = assert_refused(response, 400, field)
        assert DATE_RANGE_MESSAGE in body[field] or body[field], body
    assert Assignment.objects.count() == before


def test_a_far_future_end_inside_the_range_is_accepted(api: ApiWorld):
    response = api.as_user("clinician").post(
        reverse("api:v1:assignment-list"),
        data=new_assignment(api, end_date="2100-12-31"),
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_query_dates_outside_the_range_are_refused(api: ApiWorld, day):
    response = api.as_user("clinician").get(reverse("api:v1:completion-list"), {"date_from": day})
    body = assert_refused(response, 400, "date_from")
    assert body["date_from"] == [DATE_RANGE_MESSAGE]


def test_an_unexpected_error_under_api_answers_json(api: ApiWorld, monkeypatch):
    from homework.api import practice

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(practice, "today_for_client", broken)
    browser = api.as_user("client")
    browser.raise_request_exception = False
    response = browser.get(reverse("api:v1:today"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "boom" not in response.content.decode()


def test_a_today_for_a_client_far_in_the_range_still_works(api: ApiWorld):
    assert local_today(api.world.client)  # the world is a normal one; see test_calendar for feeds
    assert Client().get("/api/v1/nope/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/v1/assignments/%C2%B9D%0A%C2%B6%08/", "/api/%0A/", "/api/v1/x%0Ay/"]
)
def test_any_unknown_path_under_api_answers_json(api: ApiWorld, path):
    response = api.as_user("clinician").patch(path, data={}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
