"""The conversation, inbox, notes, next session and report over the API: behaviour and bad input."""

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import ClientProfile
from homework.models import ClientNote, Feedback
from notifications.models import Notification
from records import reports


def messages_url(api) -> str:
    return reverse("api:v1:completion-messages", args=[api.completion.pk])


def test_a_client_replies_and_the_clinician_sees_it_in_the_inbox(api) -> None:
    response = api.as_user("client").post(messages_url(api), {"text": "It helped."}, format="json")
    assert response.status_code == 201
    assert response.json()["from_client"] is True
    inbox = api.as_user("clinician").get(reverse("api:v1:inbox")).json()["results"]
    assert [(item["completion"], item["text"]) for item in inbox] == [
        (api.completion.pk, "It helped.")
    ]
    assert api.as_user("colleague").get(reverse("api:v1:inbox")).json()["results"] == []
    read = reverse("api:v1:completion-messages-read", args=[api.completion.pk])
    assert api.as_user("clinician").post(read).status_code == 204
    assert api.as_user("clinician").get(reverse("api:v1:inbox")).json()["results"] == []
    thread = api.as_user("client").get(messages_url(api)).json()["results"]
    assert [m["from_client"] for m in thread] == [False, True]
    assert Notification.objects.filter(kind="message", recipient=api.world.clinician).count() == 1


@pytest.mark.parametrize(
    "body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 20_000}, {"text": ["a"]}]
)
def test_it_refuses_bad_messages_with_field_messages_and_writes_nothing(api, body) -> None:
    before = Feedback.objects.count()
    for key in ("client", "clinician"):
        response = api.as_user(key).post(messages_url(api), body, format="json")
        assert response.status_code == 400
        assert response.json()["text"], response.json()
    assert Feedback.objects.count() == before
    assert (
        not Notification.objects.filter(kind="message")
        .exclude(idempotency_key=f"message:{api.feedback.pk}")
        .exists()
    )


def test_it_answers_404_for_an_unknown_thread_and_anothers(api) -> None:
    unknown = reverse("api:v1:completion-messages", args=[999_999])
    assert api.as_user("client").post(unknown, {"text": "Hi"}, format="json").status_code == 404
    for key in ("other_client", "stranger_client", "colleague", "stranger_clinician"):
        response = api.as_user(key).post(messages_url(api), {"text": "Hi"}, format="json")
        assert response.status_code == 404
    assert not Feedback.objects.filter(from_client=True).exists()


def test_notes_are_kept_encrypted_and_refused_to_the_client(api) -> None:
    url = reverse("api:v1:client-notes", args=[api.world.client.pk])
    response = api.as_user("clinician").post(url, {"text": "Canary-Api-Note"}, format="json")
    assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM homework_clientnote")
        assert "Canary-Api-Note" not in cursor.fetchone()[0]
    assert api.as_user("client").get(url).status_code == 403
    too_long = api.as_user("clinician").post(url, {"text": "x" * 20_000}, format="json")
    assert too_long.status_code == 400
    assert ClientNote.objects.count() == 1


def test_the_next_session_is_set_and_bad_dates_refused(api) -> None:
    url = reverse("api:v1:client-next-session", args=[api.world.client.pk])
    browser = api.as_user("clinician")
    assert browser.put(url, {"next_session_on": "2020-01-01"}, format="json").status_code == 400
    assert browser.put(url, {"next_session_on": "soon"}, format="json").status_code == 400
    assert ClientProfile.objects.get(user=api.world.client).next_session_on is None
    far = "2099-01-01"
    assert browser.put(url, {"next_session_on": far}, format="json").status_code == 400
    assert browser.put(url, {"next_session_on": None}, format="json").json() == {
        "next_session_on": None,
        "last_session_on": None,
    }


def test_the_report_answers_figures_and_a_pdf(api) -> None:
    url = reverse("api:v1:client-report", args=[api.world.client.pk])
    body = api.as_user("clinician").get(url).json()
    assert body["client"] == api.world.client.pk
    assert body["practice_days"] == 1
    if reports.pdf_available():
        pdf = api.as_user("clinician").get(
            reverse("api:v1:client-report-pdf", args=[api.world.client.pk])
        )
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")


def test_the_pdf_answers_503_without_pango(api, monkeypatch) -> None:
    monkeypatch.setattr("records.api.pdf_available", lambda: False)
    url = reverse("api:v1:client-report-pdf", args=[api.world.client.pk])
    response = api.as_user("clinician").get(url)
    assert response.status_code == 503
    assert "libpango" in str(response.json())
