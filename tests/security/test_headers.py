"""Security headers on EVERY URL of the URL conf, for the person each page is for and for
an anonymous visitor: an enforced CSP with a nonce and no inline script, HSTS, nosniff,
frame denial, referrer policy, and no-store on everything personal."""

import re
import time
from datetime import date

import pytest
from django.apps import apps
from django.contrib.admin import site as admin_site
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Invitation
from clinic.metrics import periodic_task_names
from core.metrics import TASK_SUCCESS_KEY
from homework.models import Feedback
from tests.conftest import mfa_verify_session
from tests.factories import make_assignment, make_completion, make_exercise

# Placeholders matched by a path converter: <int:client_id>, <str:token>, <path:object_id>.
CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# Named groups of regex routes: (?P<app_label>auth|accounts|...)
NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def all_routes() -> list[str]:
    """Every route of the URL conf as a string, with its placeholders."""

    def walk(patterns, prefix: str) -> list[str]:
        routes = []
        for pattern in patterns:
            text = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                routes += walk(pattern.url_patterns, prefix + text)
            elif isinstance(pattern, URLPattern):
                routes.append(prefix + text)
        return routes

    return walk(get_resolver().url_patterns, "")


@pytest.fixture
def objects(world) -> dict:
    """One existing object of each kind a URL can name, all reachable by the world's people."""
    exercise = make_exercise(clinic=world.clinic)
    assignment = make_assignment(world.client, exercise)
    completion = make_completion(assignment, date(2026, 1, 6), reflection="kind words")
    feedback = Feedback.objects.create(completion=completion, clinician=world.clinician, text="ok")
    invitation = Invitation.objects.create(
        clinic=world.clinic,
        email="invitee@client.test",
        role="client",
        clinician=world.clinician,
        expires_at=date(2099, 1, 1).isoformat() + "T00:00:00Z",
    )
    found = {
        "exercise_id": exercise.pk,
        "assignment_id": assignment.pk,
        "completion_id": completion.pk,
        "feedback_id": feedback.pk,
        "client_id": world.client.pk,
        "invitation_id": invitation.pk,
        "monday": "2026-01-05",
        "token": "not-a-real-token",
        "uidb64": "MQ",
        "app_label": "accounts",
        "content_type_id": ContentType.objects.get_for_model(type(world.client)).pk,
        "path": "nowhere",
        "url": "nowhere/",
    }
    # Measures (issue 6) when present: the first of each kind, for the named ids.
    for label, key in [
        ("measures.MeasureAssignment", "measure_id"),
        ("measures.MeasureResponse", "response_id"),
    ]:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        first = model.objects.order_by("pk").first()
        found[key] = first.pk if first else 1
    return found


def fill(route: str, objects: dict, world) -> str:
    """A concrete path for a route: ids of existing objects, admin ids of the model's first row."""
    route = route.lstrip("^").rstrip("$").replace("\\", "")

    def admin_object_id() -> str:
        # admin/<app>/<model>/<path:object_id>/...: the first row of that model.
        match = re.match(r"admin/(\w+)/(\w+)/", route)
        if match:
            model = apps.get_model(match.group(1), match.group(2))
            if model in admin_site._registry:
                first = model._default_manager.order_by("pk").first()
                if first is not None:
                    return str(first.pk)
        return str(world.client.pk)

    def value(name: str, converter: str | None) -> str:
        if name in ("object_id", "id"):
            return admin_object_id()
        if name in objects:
            return str(objects[name])
        if name == "pk":
            return str(_api_pk(route, objects))
        return "1" if converter == "int" else "x"

    route = CONVERTER.sub(lambda m: value(m["name"], m["converter"]), route)
    route = NAMED_GROUP.sub(lambda m: value(m["name"], None), route)
    return "/" + route


def _api_pk(route: str, objects: dict) -> int:
    for prefix, key in [
        ("api/v1/exercises/", "exercise_id"),
        ("api/v1/clients/", "client_id"),
        ("api/v1/assignments/", "assignment_id"),
        ("api/v1/completions/", "completion_id"),
        ("api/v1/invitations/", "invitation_id"),
    ]:
        if route.startswith(prefix):
            return objects[key]
    return 1


def person_for(path: str, world):
    if path.startswith(("/admin/",)):
        return world.admin
    if path.startswith(("/clinician/", "/api/")):
        return world.clinician
    return world.client


def browser_for(user, world) -> Client:
    browser = Client(raise_request_exception=False)
    if user is not None:
        browser.force_login(user)
        if user.role != "client":
            mfa_verify_session(browser, user)
    return browser


def script_src(policy: str) -> str:
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "script-src":
            return value
    return ""


def check_headers(response, path: str, personal: bool) -> list[str]:
    problems = []
    policy = response.get("Content-Security-Policy", "")
    scripts = script_src(policy)
    if not policy or "'self'" not in scripts:
        problems.append(f"{path}: no enforced CSP with script-src: {policy!r}")
    if "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        problems.append(f"{path}: script-src allows inline or eval: {scripts!r}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{path}: no nosniff")
    if response.get("X-Frame-Options") != "DENY":
        problems.append(f"{path}: frames not denied")
    if response.get("Referrer-Policy") != "same-origin":
        problems.append(f"{path}: referrer policy {response.get('Referrer-Policy')!r}")
    if not response.get("Strict-Transport-Security", "").startswith("max-age=31536000"):
        problems.append(f"{path}: no HSTS")
    if (personal or path.startswith("/api/")) and "no-store" not in response.get(
        "Cache-Control", ""
    ):
        problems.append(f"{path}: personal response without no-store")
    if response.status_code >= 500:
        problems.append(f"{path}: server error {response.status_code}")
    if response.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode(errors="replace")
        nonce = re.search(r"'nonce-([^']+)'", scripts)
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" not in tag and not (nonce and f'nonce="{nonce.group(1)}"' in tag):
                problems.append(f"{path}: inline script without the response's nonce: {tag}")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", html):
            problems.append(f"{path}: inline event handler")
    return problems


@pytest.fixture
def production_headers(settings):
    """Production's header settings on a TLS request (HSTS is sent only over HTTPS)."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = False


def test_it_sends_the_security_headers_on_every_url(world, objects, production_headers):
    # /healthz/ready answers 200 only after the beat has ticked (clinic/health.py).
    cache.set(TASK_SUCCESS_KEY.format(name=periodic_task_names()[0]), time.time(), None)
    routes = all_routes()
    assert len(routes) > 50  # the admin, the API, the portal: the real URL conf
    problems = []
    for route in routes:
        path = fill(route, objects, world)
        for user in (None, person_for(path, world)):
            response = browser_for(user, world).get(path, secure=True)
            problems += check_headers(
                response, f"{path} as {user or 'anonymous'}", user is not None
            )
    assert problems == []


def test_it_puts_the_nonce_on_the_pages_own_script(world):
    response = world.login(world.clinician).get("/clinician/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'src="/static/js/session-timeout.js" defer nonce="{nonce}"' in response.content.decode()
    # A fresh nonce per response.
    again = world.login(world.clinician).get("/clinician/")
    assert nonce not in again["Content-Security-Policy"]


def test_it_marks_session_and_csrf_cookies_secure_and_httponly_in_production(world, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    browser = Client()
    page = browser.get("/accounts/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]
    from tests.conftest import PASSWORD

    login = browser.post(
        "/accounts/login/",
        {"username": world.client.email, "password": PASSWORD},
        secure=True,
    )
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"
