"""The admin's delivery log covers reminders and summaries: status, attempts, error, retry."""

from django.urls import reverse

from notifications.models import Notification


def failed(kind: str, key: str, recipient) -> Notification:
    return Notification.objects.create(
        kind=kind,
        recipient=recipient,
        to_email=recipient.email,
        idempotency_key=key,
        context={"assignment_id": 1, "local_date": "2026-05-06"},
        status=Notification.Status.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )


def test_it_lists_failed_reminders_and_summaries_for_the_admin(world):
    failed(Notification.Kind.REMINDER, "reminder:1:2026-05-06", world.client)
    failed(Notification.Kind.WEEKLY_CLINICIAN, "weekly_clinician:1:2026-05-04", world.clinician)
    browser = world.login(world.admin)
    response = browser.get(
        reverse("admin:notifications_notification_changelist"), {"status__exact": "failed"}
    )
    assert response.status_code == 200
    assert "Practice reminder" in response.text
    assert "Weekly summary (clinician)" in response.text
    assert "SMTPServerDisconnected" in response.text


def test_it_lets_the_admin_retry_a_failed_reminder(world, monkeypatch):
    from notifications import services

    published: list[list[int]] = []
    monkeypatch.setattr(services, "notifications_publish", lambda *, ids: published.append(ids))
    row = failed(Notification.Kind.REMINDER, "reminder:1:2026-05-06", world.client)
    response = world.login(world.admin).post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "retry_failed", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Notification.Status.PENDING, 0, "")


def test_it_keeps_the_delivery_log_from_clinicians(world):
    response = world.login(world.clinician).get(
        reverse("admin:notifications_notification_changelist")
    )
    assert response.status_code == 302  # to the admin login
