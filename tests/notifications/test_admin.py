"""The admin's delivery log: every email's status, and a retry for failed ones."""

from django.core import mail
from django.urls import reverse

from notifications.models import Notification
from tests.notifications.conftest import make_notification

CHANGELIST = reverse("admin:notifications_notification_changelist")


def test_it_shows_every_email_and_its_status_to_the_admin(world, outbox_kind):
    make_notification(to_email="pending@example.test")
    make_notification(to_email="sent@example.test", status="sent", attempts=1)
    make_notification(
        to_email="failed@example.test",
        status="failed",
        attempts=5,
        last_error="SMTPRecipientsRefused: 550 5.1.1 No such user",
    )

    response = world.login(world.admin).get(CHANGELIST)

    assert response.status_code == 200
    content = response.content.decode()
    for address in ("pending@example.test", "sent@example.test", "failed@example.test"):
        assert address in content
    for status in ("Pending", "Sent", "Failed"):
        assert f'<td class="field-status">{status}</td>' in content
    assert "550 5.1.1 No such user" in content


def test_it_keeps_the_changelist_queries_constant(
    world, outbox_kind, django_assert_max_num_queries
):
    for i in range(30):
        make_notification(to_email=f"reader{i}@example.test", recipient=world.client)
    browser = world.login(world.admin)

    with django_assert_max_num_queries(12):
        response = browser.get(CHANGELIST)

    assert response.status_code == 200


def test_it_refuses_the_delivery_log_to_everyone_but_staff(world):
    for user in (None, world.clinician, world.client, world.stranger_clinician):
        response = world.login(user).get(CHANGELIST)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_it_shows_an_email_read_only(world, outbox_kind):
    notification = make_notification(to_email="reader@example.test")
    url = reverse("admin:notifications_notification_change", args=[notification.pk])
    browser = world.login(world.admin)

    assert browser.get(url).status_code == 200
    browser.post(url, {"to_email": "someone-else@example.test"})

    notification.refresh_from_db()
    assert notification.to_email == "reader@example.test"
    assert browser.get(reverse("admin:notifications_notification_add")).status_code == 403


def test_it_retries_failed_emails_from_the_admin(
    world, outbox_kind, scripted_mail, django_capture_on_commit_callbacks
):
    failed = make_notification(
        to_email="failed@example.test",
        status="failed",
        attempts=5,
        last_error="SMTPDataError: 451 4.3.0 Temporary failure",
    )
    sent = make_notification(to_email="sent@example.test", status="sent", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = world.login(world.admin).post(
            CHANGELIST,
            {"action": "retry_failed", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 email(s) queued again." in page
    assert "1 email(s) were not failed and were left alone." in page
    assert [m.to for m in mail.outbox] == [["failed@example.test"]]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (
        Notification.Status.SENT,
        1,
        "",
    )
    sent.refresh_from_db()
    assert sent.attempts == 1
