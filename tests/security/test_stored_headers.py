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
