"""The benchmarks' floor views exist only when KINDWORK_BENCH_FLOOR is on."""

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches

import clinic.urls
from accounts.models import Role, User

FLOOR_URLS = ["/bench/floor/plain/", "/bench/floor/drf/", "/bench/floor/list/"]


@pytest.fixture
def floor_on(settings):
    """Rebuild the URLconf with the floor mounted; put the normal one back afterwards."""
    settings.BENCH_FLOOR = True
    importlib.reload(clinic.urls)
    clear_url_caches()
    yield
    settings.BENCH_FLOOR = False
    importlib.reload(clinic.urls)
    clear_url_caches()


@pytest.mark.django_db
@pytest.mark.parametrize("url", FLOOR_URLS)
def test_it_does_not_route_the_floor_by_default(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("url", FLOOR_URLS)
def test_it_serves_the_floor_when_switched_on(client, floor_on, url):
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_it_runs_one_query_in_the_drf_floor(client, floor_on):
    User.objects.create_user(email="floor@example.org", role=Role.ADMIN)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/bench/floor/drf/")
    assert response.status_code == 200
    assert len(queries) == 1
    assert "user" in response.json()
