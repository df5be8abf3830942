"""What a newcomer sees running bin/run (DEBUG on): our 404 page, a favicon, a quiet
console."""

import logging

import pytest
from django.test import override_settings
from django.urls import reverse

from core.logging import QuietRequestsFilter

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/no-such-page/", "/clinician/clients/999999/"])
def test_a_missing_page_with_debug_on_is_ours_not_djangos_url_list(world, path) -> None:
    from django.conf import settings

    assert "core.not_found.NotFoundPageMiddleware" in settings.MIDDLEWARE
    response = world.login(world.clinician).get(path)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Page not found" in text and "Kindwork" in text
    assert "URLconf" not in text and "DEBUG = True" not in text


def test_a_missing_slash_still_redirects(world) -> None:
    response = world.login(world.clinician).get("/clinician")
    assert response.status_code == 301
    assert response["Location"] == "/clinician/"


def test_every_page_has_a_favicon(client) -> None:
    text = client.get(reverse("accounts:login")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in text
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"


def _record(name: str, message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)
    try:
        raise PermissionError("refused")
    except PermissionError:
        import sys

        record.exc_info = sys.exc_info()
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_the_console_drops_static_and_favicon_lines_but_keeps_pages_and_failures() -> None:
    quiet = QuietRequestsFilter()
    fmt = '"%s" %s %s'
    assert not quiet.filter(
        _record(
            "django.server",
            fmt,
            "GET /static/css/kindwork.css HTTP/1.1",
            "200",
            "9",
            status_code=200,
        )
    )
    assert not quiet.filter(
        _record("django.server", fmt, "GET /favicon.ico HTTP/1.1", "301", "0", status_code=301)
    )
    assert quiet.filter(
        _record("django.server", fmt, "GET /portal/ HTTP/1.1", "200", "9", status_code=200)
    )
    assert quiet.filter(
        _record(
            "django.server", fmt, "GET /static/missing.css HTTP/1.1", "404", "9", status_code=404
        )
    )


def test_a_refusal_is_one_line_without_a_traceback() -> None:
    record = _record("django.request", "Forbidden (Permission denied): /x/", status_code=403)
    assert QuietRequestsFilter().filter(record)
    assert record.exc_info is None
    error = _record("django.request", "Internal Server Error: /x/", status_code=500)
    assert QuietRequestsFilter().filter(error)
    assert error.exc_info is not None
