"""Questionnaire reminders: one per occurrence at the client's time, honouring quiet hours and
pauses, never doubled, never sent once answered, and with no clinical content."""

from datetime import UTC, date, datetime, time

import pytest

from accounts.models import ClientProfile
from measures.models import MeasureAssignment
from measures.services import measure_response_submit
from notifications.models import Notification
from notifications.services import PermanentSendError, notification_render
from outreach import questionnaire_reminders as reminders
from outreach.questionnaire_reminders import measure_reminders_create_due
from tests.factories import make_measure

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
MONDAY = date(2026, 3, 2)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_publish(monkeypatch):
    published: list[list[int]] = []
    monkeypatch.setattr(reminders, "notifications_enqueue", lambda *, ids: published.append(ids))
    return published


@pytest.fixture
def client(world):
    """A client in New York with reminders at 18:00 local (23:00 UTC in early March)."""
    world.client.timezone = "America/New_York"
    world.client.save(update_fields=["timezone"])
    ClientProfile.objects.filter(user=world.client).update(reminder_time=time(18, 0))
    world.client.refresh_from_db()
    return world.client


def schedule(client, **fields) -> MeasureAssignment:
    """A questionnaire from Monday 2 March, scheduled long before any tick runs."""
    return make_measure(client, **({"start_date": MONDAY, "created_at": LONG_AGO} | fields))


def keys() -> list[str]:
    return sorted(Notification.objects.values_list("idempotency_key", flat=True))


def test_it_reminds_once_when_the_questionnaire_falls_due_at_the_clients_time(client):
    measure = schedule(client, every_weeks=2)
    assert measure_reminders_create_due(now=utc(2026, 3, 2, 22, 59)) == []
    [created] = measure_reminders_create_due(now=utc(2026, 3, 2, 23, 0))
    notification = Notification.objects.get(pk=created)
    assert notification.kind == Notification.Kind.QUESTIONNAIRE_REMINDER
    assert notification.recipient == client
    assert notification.idempotency_key == f"measure-reminder:{measure.pk}:2026-03-02"
    assert notification.context["local_date"] == "2026-03-02"
    # Runs twice, writes once; no daily nagging while the occurrence stays open.
    assert measure_reminders_create_due(now=utc(2026, 3, 2, 23, 30)) == []
    assert measure_reminders_create_due(now=utc(2026, 3, 5, 23, 30)) == []
    # The next occurrence, two weeks later, gets its own reminder.
    assert len(measure_reminders_create_due(now=utc(2026, 3, 16, 23, 0))) == 1
    assert keys() == [
        f"measure-reminder:{measure.pk}:2026-03-02",
        f"measure-reminder:{measure.pk}:2026-03-16",
    ]


def test_it_does_not_remind_an_answered_or_ended_questionnaire(client):
    answered = schedule(client)
    measure_response_submit(
        client=client,
        measure=answered,
        answers=dict.fromkeys(range(1, 13), 3),
        now=utc(2026, 3, 2, 15, 0),
    )
    schedule(client, instrument="SCS-SF", status="ended")
    assert measure_reminders_create_due(now=utc(2026, 3, 2, 23, 30)) == []


def test_it_reminds_a_schedule_made_after_todays_time_tomorrow(client):
    measure = schedule(client, created_at=utc(2026, 3, 3, 0, 30))  # 19:30 in New York
    assert measure_reminders_create_due(now=utc(2026, 3, 3, 1, 0)) == []
    [created] = measure_reminders_create_due(now=utc(2026, 3, 3, 23, 0))
    notification = Notification.objects.get(pk=created)
    assert notification.context["local_date"] == "2026-03-03"
    assert notification.idempotency_key == f"measure-reminder:{measure.pk}:2026-03-02"


def test_it_honours_quiet_hours_and_paused_reminders(client):
    ClientProfile.objects.filter(user=client).update(
        quiet_hours_start=time(17, 0), quiet_hours_end=time(19, 0)
    )
    client.refresh_from_db()
    schedule(client)
    # 18:00 is quiet: moved to 19:00 local = 00:00 UTC the next day.
    assert measure_reminders_create_due(now=utc(2026, 3, 2, 23, 30)) == []
    assert len(measure_reminders_create_due(now=utc(2026, 3, 3, 0, 0))) == 1
    Notification.objects.all().delete()
    ClientProfile.objects.filter(user=client).update(
        quiet_hours_start=None,
        quiet_hours_end=None,
        reminders_paused_until=utc(2026, 3, 10),
    )
    assert measure_reminders_create_due(now=utc(2026, 3, 2, 23, 30)) == []


def test_it_renders_its_own_email_without_clinical_content(client, monkeypatch):
    schedule(client)
    [created] = measure_reminders_create_due(now=utc(2026, 3, 2, 23, 0))
    notification = Notification.objects.get(pk=created)
    context = dict(notification.context)
    assert set(context) == {"measure_assignment_id", "local_date", "due_date", "batch"}
    # Rendered on the client's day (the send path checks it is still wanted).
    monkeypatch.setattr(reminders.timezone, "now", lambda: utc(2026, 3, 2, 23, 5))
    message = notification_render(notification)
    (html, _), *_ = message.alternatives
    assert message.subject == "You have a short questionnaire waiting"
    assert "You have a short questionnaire from your clinician waiting" in message.body
    assert "/portal/" in message.body and "/portal/" in html
    # The kind is named ("a questionnaire"), never which one, nor anything it measures.
    for text in (message.subject.lower(), message.body.lower(), html.lower()):
        for clinical in ("self-compassion", "scs", "score", "alex", "dana", "practice"):
            assert clinical not in text


def test_it_drops_a_reminder_answered_before_it_was_sent(client, monkeypatch):
    measure = schedule(client)
    [created] = measure_reminders_create_due(now=utc(2026, 3, 2, 23, 0))
    measure_response_submit(
        client=client,
        measure=measure,
        answers=dict.fromkeys(range(1, 13), 3),
        now=utc(2026, 3, 2, 23, 1),
    )
    monkeypatch.setattr(reminders.timezone, "now", lambda: utc(2026, 3, 2, 23, 5))
    with pytest.raises(PermanentSendError, match="already answered"):
        notification_render(Notification.objects.get(pk=created))


def test_it_drops_a_reminder_whose_day_is_over(client, monkeypatch):
    schedule(client)
    [created] = measure_reminders_create_due(now=utc(2026, 3, 2, 23, 0))
    monkeypatch.setattr(reminders.timezone, "now", lambda: utc(2026, 3, 3, 6, 0))
    with pytest.raises(PermanentSendError, match="day is over"):
        notification_render(Notification.objects.get(pk=created))


@pytest.mark.parametrize("clients", [1, 8])
def test_it_finds_due_reminders_in_a_fixed_number_of_queries(
    world, clients, django_assert_max_num_queries
):
    from tests.conftest import make_client

    for index in range(clients):
        someone = make_client(f"m{index}@client.test", world.clinician)
        schedule(someone)
    with django_assert_max_num_queries(2):
        due = reminders.measure_reminders_due(now=utc(2026, 3, 2, 23, 0))
    assert len(due) == clients
