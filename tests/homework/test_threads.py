"""The conversation on a log: client replies, the clinician's inbox, read markers, the
content-free message emails, and who is refused."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClientProfile
from audit.models import AuditEvent
from homework.models import Feedback
from homework.services.clients import note_create
from homework.services.feedback import client_reply_create, feedback_create
from notifications.models import Notification
from notifications.services import PermanentSendError, notification_render
from outreach.emails import message_deliver_at
from records.exports import client_data
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion

CANARY = "Canary-Message-Wren"


@pytest.fixture
def completion(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    return make_completion(assignment, date(2026, 2, 3))


@pytest.fixture
def feedback(world, completion):
    return feedback_create(clinician=world.clinician, completion=completion, text="How was it?")


def thread_url(completion) -> str:
    return reverse("homework:thread", args=[completion.pk])


def test_it_lets_the_client_reply_and_tells_the_clinician_without_the_text(
    world, completion, feedback
):
    response = world.login(world.client).post(thread_url(completion), {"text": f" {CANARY} "})
    assert response.status_code == 302
    reply = Feedback.objects.get(from_client=True)
    assert (reply.completion, reply.clinician, reply.text) == (completion, world.clinician, CANARY)
    notification = Notification.objects.get(recipient=world.clinician)
    assert notification.kind == Notification.Kind.MESSAGE
    assert notification.context == {"message_id": reply.pk}
    rendered = notification_render(notification)
    (html, _), *_ = rendered.alternatives
    for part in (rendered.subject, rendered.body, html):
        assert CANARY not in part
        assert "How was it" not in part
    assert reverse("homework:inbox") in rendered.body


def test_it_tells_the_client_of_feedback_without_the_text(world, completion):
    feedback_create(clinician=world.clinician, completion=completion, text=CANARY)
    notification = Notification.objects.get(recipient=world.client)
    rendered = notification_render(notification)
    (html, _), *_ = rendered.alternatives
    assert thread_url(completion) in rendered.body
    for part in (rendered.subject, rendered.body, html, str(notification.context)):
        assert CANARY not in part


def test_it_stores_messages_encrypted(world, completion, feedback):
    client_reply_create(client=world.client, completion=completion, text=CANARY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM homework_feedback WHERE from_client")
        (raw,) = cursor.fetchone()
    assert CANARY not in raw
    assert raw.startswith("gAAAAA")


def test_it_shows_the_thread_and_marks_the_clinicians_messages_read(world, completion, feedback):
    client_reply_create(client=world.client, completion=completion, text="It helped a bit.")
    page = world.login(world.client).get(thread_url(completion)).content.decode()
    assert "How was it?" in page and "It helped a bit." in page
    feedback.refresh_from_db()
    assert feedback.read_at is not None
    # The client's own reply is not theirs to read: it waits for the clinician.
    assert Feedback.objects.get(from_client=True).read_at is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write a few words before sending."),
        ("   ", "Write a few words before sending."),
        ("x" * 20_000, "A message can be at most 4,000 characters."),
    ],
)
def test_it_refuses_bad_replies_with_a_message_and_writes_nothing(
    world, completion, feedback, text, message
):
    response = world.login(world.client).post(thread_url(completion), {"text": text})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Feedback.objects.filter(from_client=True).exists()
    assert not Notification.objects.filter(recipient=world.client.client_profile.clinician).exists()


def test_it_refuses_a_reply_before_the_clinician_has_written(world, completion):
    response = world.login(world.client).post(thread_url(completion), {"text": "Hello"})
    assert response.status_code == 400
    assert "once your clinician has written" in response.content.decode()
    assert not Feedback.objects.exists()


def test_it_answers_404_for_an_unknown_thread_and_anothers(world, completion, feedback):
    browser = world.login(world.client)
    assert browser.get(reverse("homework:thread", args=[999_999])).status_code == 404
    for someone in (world.other_client, world.stranger_client):
        response = world.login(someone).post(thread_url(completion), {"text": "Hi"})
        assert response.status_code == 404
        assert world.login(someone).get(thread_url(completion)).status_code == 404
    assert not Feedback.objects.filter(from_client=True).exists()


def test_it_refuses_anonymous_and_clinicians_on_the_clients_thread(world, completion, feedback):
    response = world.login(None).get(thread_url(completion))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.clinician).post(thread_url(completion), {"text": "x"}).status_code == (
        403
    )
    assert not Feedback.objects.filter(from_client=True).exists()


def test_the_inbox_lists_unread_replies_until_the_client_page_is_opened(
    world, completion, feedback
):
    client_reply_create(client=world.client, completion=completion, text="It helped a bit.")
    browser = world.login(world.clinician)
    page = browser.get(reverse("homework:inbox")).content.decode()
    assert "It helped a bit." in page and "Alex Client" in page
    assert "1 unread reply" in browser.get(reverse("homework:dashboard")).content.decode()
    detail = browser.get(reverse("homework:client-detail", args=[world.client.pk]))
    assert "It helped a bit." in detail.content.decode()
    assert "No unread replies." in browser.get(reverse("homework:inbox")).content.decode()


def test_the_client_page_writes_no_read_marks_when_no_reply_is_unread(world, completion, feedback):
    client_reply_create(client=world.client, completion=completion, text="It helped a bit.")
    browser = world.login(world.clinician)
    url = reverse("homework:client-detail", args=[world.client.pk])
    browser.get(url)
    read_at = Feedback.objects.get(from_client=True).read_at
    assert read_at is not None
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(url).status_code == 200
    assert not [q for q in queries if 'UPDATE "homework_feedback"' in q["sql"]]
    assert Feedback.objects.get(from_client=True).read_at == read_at


def test_the_inbox_shows_nothing_of_other_caseloads(world, completion, feedback):
    client_reply_create(client=world.client, completion=completion, text="It helped a bit.")
    make_client("robin@client.test", world.colleague)
    for someone in (world.colleague, world.stranger_clinician):
        page = world.login(someone).get(reverse("homework:inbox")).content.decode()
        assert "It helped a bit." not in page
        assert "No unread replies." in page
    # Another clinician opening nothing of theirs leaves the reply unread.
    assert Feedback.objects.get(from_client=True).read_at is None


def test_the_inbox_refuses_clients_and_anonymous(world):
    assert world.login(world.client).get(reverse("homework:inbox")).status_code == 403
    response = world.login(None).get(reverse("homework:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_clinician_continues_the_conversation(world, completion, feedback):
    client_reply_create(client=world.client, completion=completion, text="It helped a bit.")
    response = world.login(world.clinician).post(
        reverse("homework:feedback-create", args=[completion.pk]), {"text": "Glad to hear."}
    )
    assert response.status_code == 302
    texts = [message.text for message in Feedback.objects.filter(completion=completion)]
    assert texts == ["How was it?", "It helped a bit.", "Glad to hear."]


@pytest.mark.parametrize("size", [3, 30])
def test_the_inbox_costs_the_same_queries_for_any_caseload(
    world, size, django_assert_max_num_queries
):
    for index in range(size):
        client = make_client(f"c{index}@client.test", world.clinician, full_name=f"C {index}")
        log = make_completion(make_assignment(client), date(2026, 2, 3))
        feedback_create(clinician=world.clinician, completion=log, text="How was it?")
        client_reply_create(client=client, completion=log, text=f"Reply {index}")
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(8):
        response = browser.get(reverse("homework:inbox"))
    assert response.content.decode().count("Reply ") == size


@pytest.mark.parametrize("size", [2, 40])
def test_a_thread_costs_the_same_queries_for_any_length(
    world, completion, size, django_assert_max_num_queries
):
    feedback_create(clinician=world.clinician, completion=completion, text="How was it?")
    for index in range(size):
        client_reply_create(client=world.client, completion=completion, text=f"Note {index}")
    browser = world.login(world.client)
    with django_assert_max_num_queries(9):
        response = browser.get(thread_url(completion))
    assert response.content.decode().count("Note ") == size


def test_a_message_email_waits_for_the_end_of_quiet_hours(world):
    ClientProfile.objects.filter(user=world.client).update(
        quiet_hours_start=time(21, 0), quiet_hours_end=time(7, 30)
    )
    world.client.timezone = "UTC"
    world.client.save(update_fields=["timezone"])
    late = datetime(2026, 2, 3, 23, 0, tzinfo=UTC)
    assert message_deliver_at(world.client.pk, late) == datetime(2026, 2, 4, 7, 30, tzinfo=UTC)
    early = datetime(2026, 2, 4, 6, 0, tzinfo=UTC)
    assert message_deliver_at(world.client.pk, early) == datetime(2026, 2, 4, 7, 30, tzinfo=UTC)
    noon = datetime(2026, 2, 4, 12, 0, tzinfo=UTC)
    assert message_deliver_at(world.client.pk, noon) == noon
    # Clinicians have no quiet hours here: their email goes at once.
    assert message_deliver_at(world.clinician.pk, late) == late


def test_a_message_email_is_dropped_when_paused_or_already_read(world, completion):
    message = feedback_create(clinician=world.clinician, completion=completion, text="Hi")
    notification = Notification.objects.get(recipient=world.client)
    ClientProfile.objects.filter(user=world.client).update(
        reminders_paused_until=timezone.now() + timedelta(days=3)
    )
    with pytest.raises(PermanentSendError, match="paused"):
        notification_render(notification)
    ClientProfile.objects.filter(user=world.client).update(reminders_paused_until=None)
    Feedback.objects.filter(pk=message.pk).update(read_at=timezone.now())
    with pytest.raises(PermanentSendError, match="already read"):
        notification_render(notification)


def test_messages_are_in_the_clients_own_export_with_who_wrote_them(world, completion, feedback):
    client_reply_create(client=world.client, completion=completion, text=CANARY)
    rows = client_data(client=world.client)["feedback"]
    assert [(row["from"], row["text"]) for row in rows] == [
        ("clinician", "How was it?"),
        ("client", CANARY),
    ]


def test_messages_and_notes_join_the_audit_trail(world, completion, feedback):
    reply = client_reply_create(client=world.client, completion=completion, text="Thanks.")
    note = note_create(clinician=world.clinician, client=world.client, text="Private.")
    created = set(
        AuditEvent.objects.filter(action="create").values_list("object_type", "object_id")
    )
    assert ("homework.feedback", str(reply.pk)) in created
    assert ("homework.clientnote", str(note.pk)) in created


def test_feedback_in_the_clients_quiet_hours_waits_in_the_outbox(
    world, completion, django_capture_on_commit_callbacks
):
    world.client.timezone = "UTC"
    world.client.save(update_fields=["timezone"])
    ClientProfile.objects.filter(user=world.client).update(
        quiet_hours_start=time(21, 0), quiet_hours_end=time(7, 30)
    )
    late = datetime(2026, 2, 3, 23, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks() as callbacks:
        feedback_create(clinician=world.clinician, completion=completion, text="Hi", now=late)
    notification = Notification.objects.get(recipient=world.client)
    assert notification.next_attempt_at == datetime(2026, 2, 4, 7, 30, tzinfo=UTC)
    # Nothing is published now: the sweep sends it once it is due.
    assert callbacks == []


def test_no_message_text_reaches_a_log_line_or_a_task_argument(
    world, completion, caplog, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    published: list[object] = []
    monkeypatch.setattr(
        "notifications.tasks.send_notifications.apply_async",
        lambda *args, **kwargs: published.append((args, kwargs.get("args"))),
    )
    caplog.set_level("DEBUG")
    with django_capture_on_commit_callbacks(execute=True):
        feedback_create(clinician=world.clinician, completion=completion, text=f"{CANARY} one")
    with django_capture_on_commit_callbacks(execute=True):
        world.login(world.client).post(thread_url(completion), {"text": f"{CANARY} two"})
    assert len(published) == 2  # one send task per message, after commit
    assert all(isinstance(i, int) for _, args in published for i in args[0])
    assert CANARY not in repr(published)
    assert CANARY not in caplog.text
