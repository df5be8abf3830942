"""The caseload searched, filtered, sorted and paged, on the page and in the API, in a
number of queries that does not grow with the caseload."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ClientProfile
from tests.factories import local_today, make_assignment, make_clients, make_completion

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("homework:dashboard")
API = "/api/v1/clients/"
# Auth, MFA and the page's own fixed handful (clients, plans, history, logs, distress,
# handovers both ways) with 2 of headroom, as tests/homework/test_progress_query_counts.py;
# not yet in the page cache, also the record versions and the clients again after them.
DASHBOARD_QUERIES = 13
API_QUERIES = 10


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def names(response) -> list[str]:
    return [row.client.full_name for row in response.context["rows"]]


def test_it_searches_by_name_or_email_case_blind(world) -> None:
    browser = world.login(world.clinician)
    assert names(browser.get(DASHBOARD, {"q": "alex"})) == ["Alex Client"]
    assert names(browser.get(DASHBOARD, {"q": "BLAIR@"})) == ["Blair Client"]
    empty = browser.get(DASHBOARD, {"q": "nobody"})
    assert names(empty) == []
    assert "No client matches" in empty.content.decode()


def test_it_never_finds_another_clinicians_client(world) -> None:
    assert names(world.login(world.clinician).get(DASHBOARD, {"q": "casey"})) == []


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["Alex Client", "Blair Client"]),
        ("-name", ["Blair Client", "Alex Client"]),
        ("-active_plans", ["Alex Client", "Blair Client"]),
        ("active_plans", ["Blair Client", "Alex Client"]),
        ("-last_practice", ["Alex Client", "Blair Client"]),  # Blair never practised: last
        ("last_practice", ["Alex Client", "Blair Client"]),
    ],
)
def test_it_sorts_by_any_column_with_missing_figures_last(world, sort, expected) -> None:
    plan = make_assignment(world.client, start_date=local_today(world.client))
    make_completion(plan, local_today(world.client))
    assert names(world.login(world.clinician).get(DASHBOARD, {"sort": sort})) == expected


def test_it_filters_discharged_inactive_current_and_attention(world) -> None:
    ClientProfile.objects.filter(user=world.client).update(discharged_at=timezone.now())
    browser = world.login(world.clinician)
    assert names(browser.get(DASHBOARD, {"status": "discharged"})) == ["Alex Client"]
    assert names(browser.get(DASHBOARD, {"status": "open"})) == ["Blair Client"]
    assert names(browser.get(DASHBOARD, {"status": "inactive"})) == []
    assert names(browser.get(DASHBOARD, {"status": "attention"})) == []


@pytest.mark.parametrize(
    "params, message",
    [
        ({"status": "someday"}, "Choose one of the listed filters."),
        ({"sort": "email"}, "Choose one of the listed orders."),
        ({"q": "x" * 101}, "Search with at most 100 characters."),
    ],
)
def test_bad_page_input_is_a_form_message_with_everyone_shown(world, params, message) -> None:
    response = world.login(world.clinician).get(DASHBOARD, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert len(names(response)) == 2


def test_pages_keep_the_search_and_order(world) -> None:
    make_clients(world.clinician, 60)
    response = world.login(world.clinician).get(DASHBOARD, {"q": "bulk", "sort": "-name"})
    assert len(names(response)) == 50
    text = response.content.decode()
    assert "Page 1 of 2" in text
    assert 'href="?q=bulk&amp;sort=-name&amp;page=2"' in text
    second = world.login(world.clinician).get(DASHBOARD, {"q": "bulk", "sort": "-name", "page": 2})
    assert len(names(second)) == 10


@pytest.mark.parametrize("who", ["client", "admin", "stranger_client"])
def test_other_roles_are_refused_the_caseload(world, who) -> None:
    assert world.login(getattr(world, who)).get(DASHBOARD, {"q": "alex"}).status_code == 403


def test_anonymous_visitors_go_to_login(world) -> None:
    response = world.login(None).get(DASHBOARD, {"q": "alex"})
    assert response.status_code == 302


@pytest.mark.parametrize("size", [10, 200])
def test_the_page_costs_the_same_queries_for_10_or_200_clients(
    world, size, django_assert_max_num_queries
) -> None:
    clients = make_clients(world.clinician, size, zones=["Europe/London", "Asia/Tokyo"])
    for client in clients[::3]:
        make_completion(
            make_assignment(client, start_date=local_today(client)), local_today(client)
        )
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = browser.get(DASHBOARD, {"q": "client", "sort": "-adherence_7", "status": "open"})
    assert response.status_code == 200
    assert response.context["matching"] == size + 2


@pytest.mark.parametrize("size", [10, 200])
def test_the_api_costs_the_same_queries_for_10_or_200_clients(
    world, size, django_assert_max_num_queries
) -> None:
    make_clients(world.clinician, size)
    api = api_for(world.clinician)
    with django_assert_max_num_queries(API_QUERIES):
        response = api.get(API, {"search": "bulk", "ordering": "name", "page_size": 100})
    assert response.status_code == 200
    assert response.json()["count"] == size


# --- the API --------------------------------------------------------------------------


def test_the_api_searches_filters_and_sorts(world) -> None:
    ClientProfile.objects.filter(user=world.client).update(discharged_at=timezone.now())
    api = api_for(world.clinician)
    body = api.get(API, {"search": "ALEX"}).json()
    assert [row["full_name"] for row in body["results"]] == ["Alex Client"]
    assert body["results"][0]["discharged"] is True
    body = api.get(API, {"status": "open"}).json()
    assert [row["full_name"] for row in body["results"]] == ["Blair Client"]
    body = api.get(API, {"ordering": "-name"}).json()
    assert [row["full_name"] for row in body["results"]] == ["Blair Client", "Alex Client"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"sort": "name"}, "sort"),
        ({"q": "alex"}, "q"),
        ({"status": "someday"}, "status"),
        ({"ordering": "email"}, "ordering"),
        ({"search": "x" * 101}, "search"),
        ({"search": ""}, "search"),
        ({"status": " "}, "status"),
        ({"page": "0"}, "page"),
    ],
)
def test_the_api_refuses_unknown_and_bad_parameters_with_a_400(world, params, field) -> None:
    response = api_for(world.clinician).get(API, params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("who", ["client", "admin"])
def test_the_api_refuses_other_roles(world, who) -> None:
    assert api_for(getattr(world, who)).get(API, {"search": "a"}).status_code == 403


def test_the_api_refuses_anonymous_callers(world) -> None:
    assert APIClient().get(API, {"search": "a"}).status_code == 401


def test_the_api_search_never_reaches_another_clinic(world) -> None:
    body = api_for(world.stranger_clinician).get(API, {"search": "alex"}).json()
    assert body["results"] == []


@pytest.mark.parametrize(
    "query", ["", "page=2", "q=", "q=+", "q=ann", "q=<b>", "status=bogus", "sort=bogus"]
)
def test_the_search_form_reused_across_views_renders_as_a_fresh_one(query):
    """The dashboard renders its search form once per filter and order when nothing is
    searched (homework.views.clinician._query_fields): the same HTML as a fresh form."""
    from django.http import QueryDict
    from django.template.loader import render_to_string

    from homework.forms.caseload import CASELOAD_FILTERS, CASELOAD_SORTS, CaseloadQueryForm
    from homework.views.clinician import _query_fields

    queries = [query] + [
        f"status={status}&sort={sort}"
        for status in ["", *CASELOAD_FILTERS]
        for sort in ["", *CASELOAD_SORTS]
    ]
    for text in queries:
        fresh = CaseloadQueryForm(QueryDict(text))
        fresh.is_valid()
        expected = render_to_string("form_fields.html", {"form": fresh})
        assert _query_fields(CaseloadQueryForm(QueryDict(text))) == expected, text


SEARCHES = [
    "ann",
    " ann ",
    "   ",
    "<script>alert(1)</script>",
    "\"quoted\" & 'single'",
    "0000Q0000",
    "O'Brien & Søn",
    "a" * 80,
    "émile@example.org",
    "{{ form }}",
    "%s %(q)s",
]


@pytest.mark.parametrize("search", SEARCHES)
def test_a_searched_form_renders_as_a_fresh_one(search):
    """A search fills the typed text into fields rendered once per filter and order
    (homework.views.clinician._searched_query_fields): the same HTML as a fresh form,
    escaped the same way, for text that looks like markup, the mark itself or a format."""
    from django.http import QueryDict
    from django.template.loader import render_to_string

    from homework.forms.caseload import CASELOAD_FILTERS, CaseloadQueryForm
    from homework.views.clinician import _query_fields

    for status in ["", *CASELOAD_FILTERS]:
        for sort in ["", "name", "-last_practice"]:
            data = QueryDict(mutable=True)
            data.update({"q": search, "status": status, "sort": sort})
            fresh = CaseloadQueryForm(data)
            fresh.is_valid()
            expected = render_to_string("form_fields.html", {"form": fresh})
            assert _query_fields(CaseloadQueryForm(data)) == expected, (search, status, sort)


def test_the_typed_search_is_escaped_in_the_page(world):
    response = world.login(world.clinician).get(DASHBOARD, {"q": '"><script>x</script>'})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>x</script>" not in body
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in body
