"""Reminders at send time: still wanted? decided for a whole claim in one query, by the same
rules as for one reminder, and each email's signed preferences link made once."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ClientProfile, User
from homework.models import Assignment, AssignmentStatus
from measures.models import MeasureAssignment
from measures.services import measure_response_submit
from notifications.models import Notification
from notifications.services import notifications_send
from outreach import emails
from outreach.questionnaire_reminders import (
    CONTEXT_KEY,
    measure_reminder_item,
    measure_reminder_still_wanted,
    measure_reminders_still_wanted,
)
from outreach.reminders import reminder_still_wanted, reminders_create_due, reminders_still_wanted
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion, make_exercise, make_measure

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)  # Wednesday; 13:00 in London
TODAY = date(2026, 5, 6)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def client_in(world, name: str, zone: str = "Europe/London", **profile) -> User:
    client = make_client(f"{name}@client.test", world.clinician, timezone=zone)
    ClientProfile.objects.filter(user=client).update(**profile)
    return client


def plan_for(client: User, **fields) -> Assignment:
    fields.setdefault("created_at", LONG_AGO)
    return make_assignment(client, make_exercise(client.clinic), **fields)


# --- The rules, for a batch ---------------------------------------------------------------


def test_it_gives_each_reminder_of_a_batch_the_reason_it_would_get_alone(world):
    wanted = plan_for(client_in(world, "wanted"))
    logged = plan_for(client_in(world, "logged"))
    make_completion(logged, TODAY)
    logged_yesterday = plan_for(client_in(world, "yesterday"))
    make_completion(logged_yesterday, TODAY - timedelta(days=1))
    paused_plan = plan_for(client_in(world, "paused-plan"), status=AssignmentStatus.PAUSED)
    ended_plan = plan_for(client_in(world, "ended-plan"), status=AssignmentStatus.ENDED)
    gone = plan_for(client_in(world, "gone"))
    User.objects.filter(pk=gone.client_id).update(is_active=False)
    resting = plan_for(client_in(world, "resting", reminders_paused_until=NOW + timedelta(hours=1)))
    rested = plan_for(client_in(world, "rested", reminders_paused_until=NOW - timedelta(hours=1)))
    # Already Thursday in Auckland: Wednesday's reminder is too late there.
    far = plan_for(client_in(world, "far", zone="Pacific/Auckland"))
    unknown = plan_for(client_in(world, "unknown", zone="Mars/Olympus_Mons"))
    items = [
        (wanted.pk, TODAY),
        (logged.pk, TODAY),
        (logged_yesterday.pk, TODAY),
        (logged_yesterday.pk, TODAY - timedelta(days=1)),
        (paused_plan.pk, TODAY),
        (ended_plan.pk, TODAY),
        (gone.pk, TODAY),
        (999_999, TODAY),
        (resting.pk, TODAY),
        (rested.pk, TODAY),
        (far.pk, TODAY),
        (unknown.pk, TODAY),
    ]

    reasons = reminders_still_wanted(items=items, now=NOW)

    assert reasons == [
        "",
        "the practice is already logged",
        "",  # practised yesterday, not today: the batch's other date must not leak in
        "the client's day is over",
        "the plan is paused or ended",
        "the plan is paused or ended",
        "the plan or the account no longer exists",
        "the plan or the account no longer exists",
        "reminders are paused",
        "",
        "the client's day is over",
        "the client's day is over",
    ]
    assert reasons == [
        reminder_still_wanted(assignment_id=assignment_id, day=day, now=NOW)
        for assignment_id, day in items
    ]


@pytest.mark.parametrize("count", [2, 20])
def test_it_decides_a_batch_in_one_query(world, count, django_assert_num_queries):
    clients = [client_in(world, f"batch{i}") for i in range(count)]
    plans = [plan_for(client) for client in clients]
    for assignment in plans[::2]:
        make_completion(assignment, TODAY)
    # Two dates in the batch, as after an outage.
    items = [(a.pk, TODAY) for a in plans] + [(plans[0].pk, TODAY - timedelta(days=1))]

    with django_assert_num_queries(1):
        reasons = reminders_still_wanted(items=items, now=NOW)

    assert reasons.count("") == count // 2
    assert reasons[-1] == "the client's day is over"


def test_it_asks_nothing_of_the_database_for_an_empty_batch(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert reminders_still_wanted(items=[], now=NOW) == []


def _measure_context(measure: MeasureAssignment, day: date = TODAY) -> dict:
    return {CONTEXT_KEY: measure.pk, "local_date": day.isoformat(), "due_date": day.isoformat()}


def test_it_decides_questionnaire_reminders_in_one_query(world, django_assert_num_queries):
    client = client_in(world, "questionnaires")
    measures = [
        make_measure(client, start_date=TODAY, created_at=LONG_AGO, status=status)
        for status in ["active", "active", "ended"]
    ]
    measure_response_submit(
        client=client, measure=measures[1], answers=dict.fromkeys(range(1, 13), 3), now=NOW
    )
    contexts = [_measure_context(m) for m in measures] + [{CONTEXT_KEY: "not a number"}]
    *items, unreadable = [measure_reminder_item(context) for context in contexts]

    with django_assert_num_queries(1):
        reasons = measure_reminders_still_wanted(items=items, now=NOW)

    assert reasons == [
        "",
        "the questionnaire is already answered",
        "the questionnaire was ended",
    ]
    assert unreadable is None  # the send path fails such a row without asking (see below)
    assert reasons == [
        measure_reminder_still_wanted(measure_id=measure_id, day=day, due_date=due_date, now=NOW)
        for measure_id, day, due_date in items
    ]


# --- The send path ------------------------------------------------------------------------


def due_reminders(world, count: int) -> list[int]:
    """`count` reminders written for today (UTC clients, reminders at 00:00: already due)."""
    now = timezone.now()
    first = User.objects.count()
    for index in range(first, first + count):
        client = client_in(world, f"due{index}", zone="UTC", reminder_time=time(0, 0))
        plan_for(client, start_date=now.date() - timedelta(days=7))
    ids = reminders_create_due(now=now)
    assert len(ids) == count
    return ids


def send_counting_queries(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        report = notifications_send(ids=ids)
    assert sorted(report.sent) == sorted(ids)
    return len(queries)


def test_it_sends_a_claim_of_reminders_in_a_constant_number_of_queries(world):
    few = send_counting_queries(due_reminders(world, 2))
    mail.outbox.clear()
    many = send_counting_queries(due_reminders(world, 15))

    # claim (4), still wanted? (1), the recipients' clinics for their look (1), record sent (1)
    assert many == few <= 7
    assert len(mail.outbox) == 15


def test_it_signs_each_reminders_preferences_link_once(world, monkeypatch):
    signed: list[int] = []
    sign = emails.preferences_token_make

    def counting(*, user_id: int, scope: str) -> str:
        signed.append(user_id)
        return sign(user_id=user_id, scope=scope)

    monkeypatch.setattr(emails, "preferences_token_make", counting)
    ids = due_reminders(world, 3)

    notifications_send(ids=ids)

    assert len(signed) == len(mail.outbox) == 3
    for message in mail.outbox:
        link = message.extra_headers["List-Unsubscribe"].strip("<>")
        assert link in message.body  # the footer's link and the header's are one


def test_it_fails_only_the_reminders_of_a_claim_that_are_no_longer_wanted(world):
    waiting, practised = due_reminders(world, 2)
    practised_row = Notification.objects.get(pk=practised)
    assignment = Assignment.objects.get(pk=practised_row.context["assignment_id"])
    make_completion(assignment, timezone.now().date())
    malformed = Notification.objects.create(
        kind=Notification.Kind.REMINDER,
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="reminder:malformed",
        context={"local_date": "yesterday"},
    )

    report = notifications_send(ids=[waiting, practised, malformed.pk])

    assert report.sent == [waiting]
    assert sorted(report.failed) == sorted([practised, malformed.pk])
    errors = dict(Notification.objects.values_list("pk", "last_error"))
    assert "already logged" in errors[practised]
    assert errors[malformed.pk] == "PermanentSendError: The reminder names no practice."
    assert [message.to for message in mail.outbox] == [
        [Notification.objects.get(pk=waiting).to_email]
    ]


def _questionnaire_reminder(world, client: User, kind: str, **measure) -> Notification:
    measure = make_measure(client, start_date=timezone.now().date(), created_at=LONG_AGO, **measure)
    return Notification.objects.create(
        kind=kind,
        recipient=client,
        to_email=client.email,
        idempotency_key=f"measure-reminder:{measure.pk}:{kind}",
        context=_measure_context(measure, timezone.now().date()),
    )


def test_it_sends_practice_and_questionnaire_reminders_of_one_claim_each_with_its_text(world):
    (practice,) = due_reminders(world, 1)
    client = Notification.objects.get(pk=practice).recipient
    questionnaire = _questionnaire_reminder(world, client, Notification.Kind.QUESTIONNAIRE_REMINDER)

    report = notifications_send(ids=[practice, questionnaire.pk])

    assert report.sent == [practice, questionnaire.pk]
    assert [message.subject for message in mail.outbox] == [
        "You have practice waiting",
        "You have a short questionnaire waiting",
    ]


def test_it_still_sends_a_questionnaire_reminder_written_under_the_practice_kind(world):
    """Rows written before questionnaire reminders had their own kind keep the practice
    email, and are still checked by the questionnaire's rules."""
    (practice,) = due_reminders(world, 1)
    client = Notification.objects.get(pk=practice).recipient
    questionnaire = _questionnaire_reminder(world, client, Notification.Kind.REMINDER)
    ended = _questionnaire_reminder(world, client, Notification.Kind.REMINDER, status="ended")

    report = notifications_send(ids=[practice, questionnaire.pk, ended.pk])

    assert report.sent == [practice, questionnaire.pk]
    assert report.failed == [ended.pk]
    assert Notification.objects.get(pk=ended.pk).last_error == (
        "PermanentSendError: Reminder no longer needed: the questionnaire was ended."
    )
    assert all(message.subject == "You have practice waiting" for message in mail.outbox)


def test_it_fails_a_questionnaire_reminder_that_names_no_questionnaire(world):
    unreadable = Notification.objects.create(
        kind=Notification.Kind.QUESTIONNAIRE_REMINDER,
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="measure-reminder:unreadable",
        context={CONTEXT_KEY: "not a number", "local_date": TODAY.isoformat()},
    )

    report = notifications_send(ids=[unreadable.pk])

    assert report.failed == [unreadable.pk]
    assert Notification.objects.get(pk=unreadable.pk).last_error == (
        "PermanentSendError: Reminder no longer needed: the reminder names no questionnaire."
    )
    assert mail.outbox == []
