"""Every POST form of the portal and the clinician's pages, found by walking the URL
patterns and reading the pages, sent hostile values (hypothesis, fixed seed, bounded
budget) and bodies no browser sends: never a 5xx, and a refused form writes nothing."""

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.db import DatabaseError, transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.api.conftest import ApiWorld
from tests.factories import local_today, make_measure
from tests.hostile.kit import HOSTILE_NUMBERS, HOSTILE_TEXT, SEED_SETTINGS, Tally, row_counts

pytestmark = pytest.mark.django_db

# Pages of other interfaces (the admin has its own, Django's) and forms that end the
# suite's own session.
SKIPPED_PREFIXES = ("admin/", "api/", "healthz")
SKIPPED_ACTIONS = ("logout", "turn-off", "keep-alive")

RAW_FORM_BODIES = [
    (b'{"minutes": 7}', "application/json"),
    (b"minutes=7&text=%FF%FE&title=%C0%80", "application/x-www-form-urlencoded"),
    (b"--XyZ\r\nContent-Disposition: form-data; name=", "multipart/form-data; boundary=XyZ"),
    (b"a=1", "multipart/form-data"),
    (b"<x/>", "text/xml"),
]


class FormReader(HTMLParser):
    """The POST forms of a page: their action and the names and default values of fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form" and attr.get("method", "get").lower() == "post":
            self._form = {"action": attr.get("action", ""), "fields": {}, "choices": {}}
            self.forms.append(self._form)
        elif self._form is None or "name" not in attr:
            if tag == "option" and self._form is not None and self._select:
                self._form["choices"].setdefault(self._select, []).append(attr.get("value", ""))
            return
        elif tag in ("input", "textarea"):
            kind = attr.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attr:
                self._form["choices"].setdefault(attr["name"], []).append(attr.get("value", "on"))
                return
            self._form["fields"][attr["name"]] = attr.get("value", "")
        elif tag == "select":
            self._select = attr["name"]
            self._form["fields"].setdefault(attr["name"], "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def page_routes() -> list[tuple[str, str]]:
    def walk(patterns, prefix: str = "", namespace: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield prefix + str(pattern.pattern), namespace + pattern.name

    return [
        (route, name)
        for route, name in walk(get_resolver().url_patterns)
        if not route.startswith(SKIPPED_PREFIXES)
    ]


def page_urls(api: ApiWorld, measure_id: int) -> list[str]:
    ids = {
        "invitation_id": api.invitation.pk,
        "exercise_id": api.exercise.pk,
        "client_id": api.world.client.pk,
        "assignment_id": api.assignment.pk,
        "completion_id": api.completion.pk,
        "measure_id": measure_id,
    }
    today = local_today(api.world.client)
    monday = today.fromordinal(today.toordinal() - today.weekday())
    urls = []
    for route, name in page_routes():
        kwargs = {}
        for part in route.split("<")[1:]:
            key = part.split(">")[0].split(":")[-1]
            if key in ids:
                kwargs[key] = ids[key]
            elif key == "monday":
                kwargs[key] = str(monday)
            else:
                kwargs = None
                break
        if kwargs is not None:
            urls.append(reverse(name, kwargs=kwargs))
    return urls


def forms_on(browser, urls: list[str]) -> list[tuple[str, dict, dict]]:
    found = {}
    for url in urls:
        response = browser.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        reader = FormReader()
        reader.feed(response.content.decode())
        for form in reader.forms:
            action = urljoin(url, form["action"] or url)
            if any(word in action for word in SKIPPED_ACTIONS):
                continue
            found.setdefault(action, (action, form["fields"], form["choices"]))
    return list(found.values())


def post(browser, url: str, **kwargs) -> tuple[int, str | None]:
    before = row_counts()
    try:
        with transaction.atomic():
            response = browser.post(url, **kwargs)
    except DatabaseError as error:
        return 500, f"database error {type(error).__name__}"
    if response.status_code >= 500:
        return response.status_code, f"{response.status_code}"
    if response.status_code >= 400 and row_counts() != before:
        return response.status_code, f"refused with {response.status_code} but rows changed"
    return response.status_code, None


FORM_VALUE = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_NUMBERS).map(str),
    st.text(max_size=40),
    st.integers().map(str),
    st.dates().map(str),
)


def drive_form(browser, action: str, fields: dict, choices: dict, tally: Tally) -> None:
    names = sorted({*fields, *choices} - {"csrfmiddlewaretoken"}) or ["unknown"]
    base = {name: value for name, value in fields.items() if name != "csrfmiddlewaretoken"}
    for name, options in choices.items():
        base.setdefault(name, options[0])
    changes = st.dictionaries(
        st.sampled_from([*names, "unknown_field"]),
        st.one_of(FORM_VALUE, st.lists(FORM_VALUE, max_size=3)),
        min_size=1,
        max_size=3,
    )

    @SEED_SETTINGS
    @given(change=changes)
    def run(change) -> None:
        status, problem = post(browser, action, data={**base, **change})
        tally.record(f"POST {action}", status, problem)

    run()
    for body, content_type in RAW_FORM_BODIES:
        status, problem = post(browser, action, data=body, content_type=content_type)
        if problem is None and status != 400 and status < 500:
            problem = f"{content_type} body answered {status}, not 400"
        tally.record(f"POST {action}", status, problem)


def test_no_form_errs_or_writes_on_hostile_input(api: ApiWorld, capsys):
    world = api.world
    measure = make_measure(world.client)
    urls = page_urls(api, measure.pk)
    tally = Tally()
    for user in (world.client, world.clinician):
        browser = world.login(user)
        browser.raise_request_exception = False
        for action, fields, choices in forms_on(browser, urls):
            drive_form(browser, action, fields, choices, tally)
    with capsys.disabled():
        print(f"\nhostile form input: {tally.summary()}")
    assert len(tally.operations) >= 15, sorted(tally.operations)
    assert not tally.failures, "\n".join(tally.lines())
