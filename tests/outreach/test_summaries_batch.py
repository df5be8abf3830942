"""Weekly client summaries in batches: the same figures as one client at a time, each in the
client's own zone and week, in a constant number of queries; and the send path to match."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ClientProfile, User
from homework.models import AssignmentEvent, AssignmentStatus
from homework.selectors.progress import client_progress
from notifications.models import Notification
from notifications.services import notifications_send
from outreach.summaries import client_week, client_weeks
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion, make_exercise

pytestmark = pytest.mark.django_db

WEEK = date(2026, 5, 4)  # Monday
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def client_in(world, name: str, zone: str) -> User:
    return make_client(f"{name}@client.test", world.clinician, timezone=zone)


def give_plan(client: User, **fields):
    fields.setdefault("created_at", LONG_AGO)
    fields.setdefault("start_date", date(2026, 4, 6))
    return make_assignment(client, make_exercise(client.clinic), **fields)


def log_days(assignment, *days: date, minutes: int = 10) -> None:
    for day in days:
        make_completion(assignment, day, minutes=minutes)


@pytest.fixture
def mixed_clients(world) -> list[User]:
    """Zones on both sides of UTC; running, paused, ended, weekday and N-a-week plans; no plan."""
    week = [WEEK + timedelta(days=offset) for offset in range(7)]

    auckland = client_in(world, "auckland", "Pacific/Auckland")
    daily = give_plan(auckland)
    log_days(daily, WEEK - timedelta(days=1), week[0], week[6], week[6] + timedelta(days=1))
    flexible = give_plan(auckland, schedule_kind="times_per_week", times_per_week=3)
    log_days(flexible, week[1], week[2], minutes=0)  # a day logged with 0 minutes counts

    los_angeles = client_in(world, "los-angeles", "America/Los_Angeles")
    paused = give_plan(los_angeles, status=AssignmentStatus.PAUSED)
    AssignmentEvent.objects.create(
        assignment=paused, action="paused", created_at=utc(2026, 5, 6, 18, 0)
    )
    log_days(paused, week[0], week[1])
    weekdays = give_plan(los_angeles, schedule_kind="weekdays", weekdays=0b0010101)
    log_days(weekdays, week[0], week[4], minutes=25)

    kolkata = client_in(world, "kolkata", "Asia/Kolkata")
    ended = give_plan(kolkata, status=AssignmentStatus.ENDED, end_date=week[3])
    AssignmentEvent.objects.create(assignment=ended, action="ended", created_at=utc(2026, 5, 5, 9))
    log_days(ended, week[0], week[2])
    give_plan(kolkata, start_date=week[5])  # starts within the week
    give_plan(kolkata, start_date=date(2026, 3, 2), end_date=date(2026, 4, 26))  # over before

    honolulu = client_in(world, "honolulu", "Pacific/Honolulu")
    resumed = give_plan(honolulu)
    AssignmentEvent.objects.create(assignment=resumed, action="paused", created_at=utc(2026, 5, 1))
    AssignmentEvent.objects.create(assignment=resumed, action="resumed", created_at=utc(2026, 5, 7))
    log_days(resumed, week[4], week[5], week[6])

    no_plan = client_in(world, "no-plan", "UTC")
    return [auckland, los_angeles, kolkata, honolulu, no_plan]


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 5, 6, 12, 0),  # Wednesday everywhere: the current week for all
        utc(2026, 5, 11, 5, 0),  # Monday in Auckland and Kolkata, still Sunday in the Americas
        utc(2026, 5, 20, 12, 0),  # a past week for all
    ],
)
def test_it_computes_the_same_weeks_in_a_batch_as_one_client_at_a_time(mixed_clients, now):
    batch = client_weeks(clients=mixed_clients, monday=WEEK, now=now)

    assert set(batch) == {client.pk for client in mixed_clients}
    for client in mixed_clients:
        alone = client_week(client=client, monday=WEEK, now=now)
        assert batch[client.pk] == alone, client.email
    # Each client's own today decides whether the week is the current one.
    if now == utc(2026, 5, 11, 5, 0):
        current = {client.timezone for client in mixed_clients if batch[client.pk].is_current}
        assert current == {"America/Los_Angeles", "Pacific/Honolulu"}


def test_it_matches_the_progress_page_as_the_week_ended_in_each_zone(mixed_clients):
    batch = client_weeks(clients=mixed_clients, monday=WEEK, now=utc(2026, 5, 20, 12, 0))

    for client in mixed_clients:
        ended = datetime.combine(
            WEEK + timedelta(days=7), time(0), tzinfo=ZoneInfo(client.timezone)
        )
        (row,) = [r for r in client_progress(client=client, now=ended).weeks if r.monday == WEEK]
        week = batch[client.pk]
        assert week.adherence == row.adherence, client.email
        assert (week.practice_days, week.minutes) == (row.practice_days, row.minutes)


def test_it_figures_a_mixed_week_as_expected(mixed_clients):
    auckland, los_angeles, *_, no_plan = mixed_clients
    weeks = client_weeks(clients=mixed_clients, monday=WEEK, now=utc(2026, 5, 20, 12, 0))

    assert (weeks[auckland.pk].practice_days, weeks[auckland.pk].minutes) == (4, 20)
    assert (weeks[los_angeles.pk].practice_days, weeks[los_angeles.pk].minutes) == (3, 70)
    assert (weeks[no_plan.pk].practice_days, weeks[no_plan.pk].planned) == (0, 0)
    assert weeks[no_plan.pk].plans == []


def test_it_reads_many_clients_weeks_in_a_constant_number_of_queries(world):
    clients = []
    for index in range(30):
        client = client_in(world, f"many{index}", ["Pacific/Auckland", "America/Denver"][index % 2])
        plan = give_plan(client)
        log_days(plan, WEEK + timedelta(days=index % 7))
        AssignmentEvent.objects.create(assignment=plan, action="paused", created_at=LONG_AGO)
        clients.append(client)

    def queries_for(batch: list[User]) -> int:
        with CaptureQueriesContext(connection) as queries:
            weeks = client_weeks(clients=batch, monday=WEEK, now=utc(2026, 5, 20))
        assert len(weeks) == len(batch)
        return len(queries)

    assert queries_for(clients[:3]) == queries_for(clients) == 3


def test_it_reads_nothing_for_no_clients(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client_weeks(clients=[], monday=WEEK) == {}


# --- The send path ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def summary_rows(clients: list[User], week: str = WEEK.isoformat()) -> list[int]:
    return [
        Notification.objects.create(
            kind=Notification.Kind.WEEKLY_CLIENT,
            recipient=client,
            to_email=client.email,
            idempotency_key=f"weekly_client:{client.pk}:{week}",
            context={"week": week},
        ).pk
        for client in clients
    ]


def test_it_sends_a_claim_of_client_summaries_in_a_constant_number_of_queries(world):
    clients = []
    for index in range(15):
        client = client_in(world, f"summary{index}", ["Europe/London", "Asia/Tokyo"][index % 2])
        log_days(give_plan(client), WEEK + timedelta(days=index % 7))
        clients.append(client)

    def queries_sending(batch: list[User]) -> int:
        ids = summary_rows(batch)
        with CaptureQueriesContext(connection) as queries:
            assert notifications_send(ids=ids).sent == ids
        return len(queries)

    few, many = queries_sending(clients[:3]), queries_sending(clients[3:])
    # Claim (4), recipients (1), their weeks (3), record sent (1): nothing per email.
    # 9, and 1 for the course weeks of the batch (programs.selectors), 1 for the
    # recipients' clinics (how the emails look: accounts.emails.email_brands).
    assert many == few <= 11
    assert len(mail.outbox) == 15
    body = next(m.body for m in mail.outbox if m.to == [clients[4].email])
    assert "you practised on 1 day" in body


def test_it_fails_only_the_summaries_of_a_claim_that_cannot_go(world):
    wanted = client_in(world, "wanted", "Europe/London")
    opted_out = client_in(world, "opted-out", "Europe/London")
    ClientProfile.objects.filter(user=opted_out).update(weekly_summary=False)
    gone = client_in(world, "gone", "Europe/London")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    lost = client_in(world, "lost", "Europe/London")
    User.objects.filter(pk=lost.pk).update(timezone="Mars/Olympus_Mons")
    (no_week,) = summary_rows([client_in(world, "no-week", "UTC")], week="last week")
    ids = [*summary_rows([wanted, opted_out, gone, lost]), no_week]

    report = notifications_send(ids=ids)

    assert report.sent == ids[:1]
    assert report.failed == ids[1:]
    errors = dict(Notification.objects.values_list("pk", "last_error"))
    assert [errors[pk] for pk in ids[1:]] == [
        "PermanentSendError: The client turned weekly summaries off.",
        "PermanentSendError: The account is not active.",
        "PermanentSendError: The account's time zone is unknown.",
        "PermanentSendError: The summary names no week.",
    ]
    assert [m.to for m in mail.outbox] == [[wanted.email]]
