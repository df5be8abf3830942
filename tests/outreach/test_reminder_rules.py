"""The two rules every reminder goes through, each written once and checked here row by row:
which time a client's reminder comes, and whether a written reminder is still wanted when
the outbox sends it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from accounts.models import DEFAULT_REMINDER_TIME, ClientProfile, User
from homework.models import Assignment
from measures.models import MeasureAssignment
from measures.services import measure_response_submit
from notifications.models import Notification
from notifications.services import PermanentSendError
from outreach.calendar import practice_calendar
from outreach.emails import reminders_still_wanted_at_send
from outreach.questionnaire_reminders import CONTEXT_KEY, measure_reminders_due
from outreach.reminders import effective_reminder_time, effective_reminder_time_sql, reminders_due
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion, make_exercise

pytestmark = pytest.mark.django_db

DAY = date(2026, 5, 6)  # a Wednesday
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
# The profile's time as a new client gets it, never chosen.
UNCHOSEN = "unchosen"
NO_PROFILE = "no profile"


def profile_becomes(client: User, profile: time | str) -> User:
    """The client, reloaded, with a chosen reminder time, the unchosen one, or no profile."""
    if profile == NO_PROFILE:
        ClientProfile.objects.filter(user=client).delete()
    elif profile != UNCHOSEN:
        ClientProfile.objects.filter(user=client).update(reminder_time=profile)
    return User.objects.select_related("client_profile").get(pk=client.pk)


# --- Which time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment_time", "profile", "expected"),
    [
        (time(7, 15), time(20, 30), time(7, 15)),
        (time(7, 15), UNCHOSEN, time(7, 15)),
        (time(7, 15), NO_PROFILE, time(7, 15)),
        (None, time(20, 30), time(20, 30)),
        (None, UNCHOSEN, DEFAULT_REMINDER_TIME),
        (None, NO_PROFILE, DEFAULT_REMINDER_TIME),
        # Midnight is a time like any other, not "no time".
        (time(0, 0), time(20, 30), time(0, 0)),
        (None, time(0, 0), time(0, 0)),
    ],
)
def test_it_gives_one_reminder_time_in_python_in_sql_in_reminders_and_in_the_calendar(
    world, assignment_time, profile, expected
):
    client = make_client("rule@client.test", world.clinician, timezone="UTC")
    assignment = make_assignment(
        client,
        make_exercise(client.clinic),
        reminder_time=assignment_time,
        start_date=DAY - timedelta(days=7),
        created_at=LONG_AGO,
    )
    # After the plan is made: a plan is made by the client's clinician, found on the profile.
    client = profile_becomes(client, profile)
    stored = getattr(client, "client_profile", None)

    in_python = effective_reminder_time(
        assignment_time=assignment.reminder_time,
        preferred_time=stored.reminder_time if stored else None,
    )
    in_sql = (
        Assignment.objects.filter(pk=assignment.pk)
        .annotate(at=effective_reminder_time_sql())
        .values_list("at", flat=True)
        .get()
    )
    assert in_python == in_sql == expected
    # The practice reminder falls due at that time ...
    [due] = reminders_due(now=datetime.combine(DAY, time(23, 59), tzinfo=UTC))
    assert due.due_at == datetime.combine(DAY, expected, tzinfo=UTC)
    # ... and the calendar feed shows the practice at it.
    [event] = Calendar.from_ical(practice_calendar(client=client, now=LONG_AGO)).walk("VEVENT")
    assert event.decoded("dtstart").time() == expected


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (time(20, 30), time(20, 30)),
        (UNCHOSEN, DEFAULT_REMINDER_TIME),
        (NO_PROFILE, DEFAULT_REMINDER_TIME),
    ],
)
def test_it_reminds_of_a_questionnaire_at_the_same_time_with_no_time_of_its_own(
    world, profile, expected
):
    client = profile_becomes(
        make_client("rule@client.test", world.clinician, timezone="UTC"), profile
    )
    MeasureAssignment.objects.create(
        client=client,
        clinician=world.clinician,
        instrument="SCS-SF",
        start_date=DAY,
        created_at=LONG_AGO,
    )
    due_at = datetime.combine(DAY, expected, tzinfo=UTC)

    assert measure_reminders_due(now=due_at - timedelta(minutes=1)) == []
    [due] = measure_reminders_due(now=due_at)
    assert (due.client_id, due.day) == (client.pk, DAY)


# --- Still wanted at send time --------------------------------------------------------------

NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
PRACTICE = Notification.Kind.REMINDER
QUESTIONNAIRE = Notification.Kind.QUESTIONNAIRE_REMINDER
NOTHING_READABLE = {"local_date": "yesterday"}


def _row(world, *, kind: str, names: str, since: str | None) -> Notification:
    """A written reminder of `kind` naming a plan, a questionnaire or nothing readable, and
    what happened `since` it was written."""
    name = f"{kind}-{names}-{since or 'nothing-since'}".replace(" ", "-")
    client = make_client(f"{name}@client.test", world.clinician, timezone="UTC")
    day = TODAY - timedelta(days=1) if since == "the day ended" else TODAY
    if since == "reminders were paused":
        ClientProfile.objects.filter(user=client).update(
            reminders_paused_until=NOW + timedelta(hours=1)
        )
    context: dict = dict(NOTHING_READABLE)
    if names == "plan":
        plan = make_assignment(client, make_exercise(client.clinic), created_at=LONG_AGO)
        if since == "it was done":
            make_completion(plan, TODAY)
        context = {"assignment_id": plan.pk, "local_date": day.isoformat()}
    elif names == "questionnaire":
        measure = MeasureAssignment.objects.create(
            client=client,
            clinician=world.clinician,
            instrument="SCS-SF",
            start_date=TODAY,
            created_at=LONG_AGO,
        )
        if since == "it was done":
            measure_response_submit(
                client=client, measure=measure, answers=dict.fromkeys(range(1, 13), 3), now=NOW
            )
        context = {CONTEXT_KEY: measure.pk, "local_date": day.isoformat()}
        context["due_date"] = TODAY.isoformat()
    return Notification.objects.create(
        kind=kind,
        recipient=client,
        to_email=client.email,
        idempotency_key=f"rule:{kind}:{names}:{since}",
        context=context,
    )


STILL_WANTED_ROWS = [
    # kind, what its row names, what happened since it was written, the answer
    (PRACTICE, "plan", None, ""),
    (PRACTICE, "plan", "it was done", "the practice is already logged"),
    (PRACTICE, "plan", "reminders were paused", "reminders are paused"),
    (PRACTICE, "plan", "the day ended", "the client's day is over"),
    (PRACTICE, "nothing", None, PermanentSendError("The reminder names no practice.")),
    (QUESTIONNAIRE, "questionnaire", None, ""),
    (QUESTIONNAIRE, "questionnaire", "it was done", "the questionnaire is already answered"),
    (QUESTIONNAIRE, "questionnaire", "reminders were paused", "reminders are paused"),
    (QUESTIONNAIRE, "questionnaire", "the day ended", "the client's day is over"),
    (
        QUESTIONNAIRE,
        "nothing",
        None,
        PermanentSendError("Reminder no longer needed: the reminder names no questionnaire."),
    ),
    (
        QUESTIONNAIRE,
        "plan",
        None,
        PermanentSendError("Reminder no longer needed: the reminder names no questionnaire."),
    ),
    # Written before questionnaire reminders had their own kind: the questionnaire's rules.
    (PRACTICE, "questionnaire", None, ""),
    (PRACTICE, "questionnaire", "it was done", "the questionnaire is already answered"),
    (PRACTICE, "questionnaire", "reminders were paused", "reminders are paused"),
]


def _comparable(answer: str | Exception) -> str | tuple:
    return (type(answer), str(answer)) if isinstance(answer, Exception) else answer


@pytest.mark.parametrize(("kind", "names", "since", "expected"), STILL_WANTED_ROWS)
def test_it_decides_whether_a_reminder_is_still_wanted_by_one_rule(
    world, kind, names, since, expected
):
    row = _row(world, kind=kind, names=names, since=since)

    answers = reminders_still_wanted_at_send(notifications=[row], now=NOW)

    assert _comparable(answers[row.pk]) == _comparable(expected)


def test_it_gives_each_row_of_a_mixed_batch_its_own_answer_in_two_queries(
    world, django_assert_num_queries
):
    rows = [
        _row(world, kind=kind, names=names, since=since)
        for kind, names, since, _ in STILL_WANTED_ROWS
    ]

    with django_assert_num_queries(2):  # the plans, the questionnaires
        answers = reminders_still_wanted_at_send(notifications=rows, now=NOW)

    assert [_comparable(answers[row.pk]) for row in rows] == [
        _comparable(expected) for *_, expected in STILL_WANTED_ROWS
    ]
