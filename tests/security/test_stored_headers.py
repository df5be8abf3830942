"""Headers the product stores (the audit log's user agent, django-axes' login attempts)
hold printable text: a NUL or a line break in one is dropped, never a server error."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from core.headers import printable
from tests.api.conftest import client_with_token, token_for
from tests.conftest import PASSWORD, mfa_verify_session

ODD = [
    ("Mozilla/5.0\x00 (X11)", "Mozilla/5.0 (X11)"),
    ("agent\r\nX-Injected: yes", "agentX-Injected: yes"),
    ("\x00\x01\x02", ""),
    ("Ünïcode ✓ agent", "Ünïcode ✓ agent"),
]


@pytest.mark.parametrize(("sent", "kept"), ODD)
def test_an_audited_page_keeps_the_printable_part_of_the_user_agent(world, client, sent, kept):
    client.force_login(world.clinician)
    mfa_verify_session(client, world.clinician)

    response = client.get(
        reverse("homework:client-detail", args=[world.client.pk]), HTTP_USER_AGENT=sent
    )

    assert response.status_code == 200
    viewed = AuditEvent.objects.filter(actor=world.clinician, client=world.client).latest("id")
    assert viewed.user_agent == kept


@pytest.mark.parametrize(("sent", "kept"), ODD)
def test_a_failed_login_is_recorded_with_the_printable_part_of_its_headers(world, sent, kept):
    response = Client().post(
        reverse("accounts:login"),
        {"username": world.client.email, "password": "not the password"},
        HTTP_USER_AGENT=sent,
        HTTP_ACCEPT=f"text/html{sent}",
    )

    assert response.status_code == 200  # the form again, with its message
    attempt = AccessAttempt.objects.get()
    assert (attempt.user_agent, attempt.http_accept) == (kept, f"text/html{kept}")


@pytest.mark.parametrize("sent", [sent for sent, _kept in ODD])
def test_the_api_answers_whatever_the_user_agent(world, sent):
    response = client_with_token(token_for(world.client)).get(
        reverse("api:v1:me"), HTTP_USER_AGENT=sent
    )
    assert response.status_code == 200
    issued = Client().post(
        reverse("api:v1:token"),
        {"email": world.client.email, "password": PASSWORD},
        content_type="application/json",
        HTTP_USER_AGENT=sent,
    )
    assert issued.status_code == 201


def test_printable_text_is_left_as_it_is():
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
    assert printable(agent) is agent
    assert printable("a\tb\x7fc\u2028d") == "abcd"


ODD_HEADERS = {
    "HTTP_USER_AGENT": ["ua\x00", "\r\n"],
    "HTTP_COOKIE": [
        "csrftoken=ab\x00cd; sessionid=\x00",
        "sessionid=" + "a" * 5000,
        "messages=\x00garbage",
        "messages=W10:1abc:def",
    ],
    "HTTP_ACCEPT": [
        "application/json; indent=abc",
        "application/json; indent=999999",
        "*/*; q=x",
        "text/\x00html",
    ],
    "HTTP_AUTHORIZATION": ["Token", "Token a b", "Bearer x", "Basic !!!", "Token " + "a" * 10000],
    "HTTP_IF_MODIFIED_SINCE": ["not a date", "Mon, 99 Zzz 9999 99:99:99 GMT"],
    "HTTP_IF_NONE_MATCH": ["\x00"],
    "HTTP_X_FORWARDED_FOR": ["\x00", "::::::", "1.1.1.1" * 500],
    "HTTP_X_REQUEST_ID": ["\r\nfoo"],
    "HTTP_ORIGIN": ["null", "http://\x00"],
    "HTTP_REFERER": ["http://[::1", "\x00"],
}


@pytest.mark.parametrize(
    ("header", "value"), [(h, v) for h, values in ODD_HEADERS.items() for v in values]
)
def test_no_page_or_endpoint_errs_on_an_odd_header(world, header, value):
    """Each header a client controls, sent odd, to pages of each role, the login, the API
    (with and without a token), a static file and the health check: never a 5xx."""
    clin = Client()
    clin.force_login(world.clinician)
    mfa_verify_session(clin, world.clinician)
    cl = Client()
    cl.force_login(world.client)
    api = client_with_token(token_for(world.client))
    calls = [
        (clin, "get", reverse("homework:dashboard")),
        (clin, "get", reverse("homework:client-detail", args=[world.client.pk])),
        (cl, "get", reverse("homework:today")),
        (Client(), "get", reverse("accounts:login")),
        (Client(), "post", reverse("accounts:login")),
        (api, "get", "/api/v1/today/"),
        (api, "get", "/api/v1/completions/"),
        (Client(), "get", "/api/v1/today/"),
        (Client(), "get", "/static/css/app.css"),
        (Client(), "get", "/healthz/"),
    ]
    bad = []
    for browser, method, url in calls:
        r = getattr(browser, method)(url, **{header: value})
        if r.status_code >= 500:
            bad.append((url, method, r.status_code))
    assert not bad
