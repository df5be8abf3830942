"""Any-time practices, logs for earlier days (the grace window) and exactly-once logs
carrying an id made on the client's device: service, portal, API and the figures."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from homework.models import Completion, Exercise
from homework.schedule import local_date
from homework.selectors.practice import today_for_client
from homework.selectors.progress import client_progress
from homework.services.completions import Logged, completion_log, completion_log_outcome
from homework.services.exercises import exercise_library_load
from measures.insights import what_helps_for_client
from tests.factories import make_assignment, make_completion, make_exercise

# Tuesday 10 March 2026, 12:00 UTC (London: the same day).
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


@pytest.fixture
def any_time(world):
    return make_assignment(world.client, make_exercise(any_time=True), start_date=date(2026, 3, 1))


@pytest.fixture
def daily(world):
    return make_assignment(world.client, start_date=date(2026, 3, 1))


def log(world, assignment, **fields):
    arguments = {"minutes": 5, "now": NOW}
    arguments.update(fields)
    return completion_log(client=world.client, assignment=assignment, **arguments)


# --- Any-time practices ---


def test_the_library_marks_the_break_and_the_phrase_as_any_time(db):
    exercise_library_load()
    any_time = set(
        Exercise.objects.filter(clinic__isnull=True, any_time=True).values_list("slug", flat=True)
    )
    assert any_time == {"self-compassion-break", "my-compassionate-phrase"}


def test_it_logs_an_any_time_practice_several_times_a_day(world, any_time):
    logs = [log(world, any_time, minutes=n) for n in (2, 3, 4)]
    assert len({c.pk for c in logs}) == 3
    assert sorted(Completion.objects.values_list("minutes", flat=True)) == [2, 3, 4]
    assert all(c.repeatable for c in logs)


def test_it_still_keeps_one_log_a_day_for_a_planned_practice(world, daily):
    first = log(world, daily, minutes=5)
    second = log(world, daily, minutes=9)
    assert first.pk == second.pk
    assert Completion.objects.count() == 1


def test_the_database_refuses_a_second_log_of_a_once_a_day_plan(world, daily):
    make_completion(daily, TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_completion(daily, TODAY)


def test_adherence_counts_a_day_once_and_what_helps_counts_every_log(world, any_time):
    # Monday 2 .. Sunday 8 March, a daily plan. Logs: Mon x3, Tue x1, Thu x2.
    # Hand computation: 3 of 7 planned days done; 6 practices; distress eased
    # 6 -> 3 on every log, so the mean change is -3.
    for day, count in ((date(2026, 3, 2), 3), (date(2026, 3, 3), 1), (date(2026, 3, 5), 2)):
        for _ in range(count):
            make_completion(
                any_time, day, repeatable=True, distress_before=6, distress_after=3, minutes=4
            )
    progress = client_progress(client=world.client, now=NOW)
    week = next(row for row in progress.weeks if row.monday == date(2026, 3, 2))
    assert (week.adherence.planned, week.adherence.done) == (7, 3)
    assert week.practice_days == 3
    assert week.minutes == 24  # every log's minutes
    insight = what_helps_for_client(client=world.client)[0]
    assert insight.practices == 6
    assert insight.mean_change == pytest.approx(-3.0)


def test_today_offers_the_any_time_practice_as_a_moment_even_when_done(world, any_time, daily):
    log(world, any_time)
    today = today_for_client(client=world.client, now=NOW)
    assert [item.assignment.pk for item in today.moment_items] == [any_time.pk]


# --- Earlier days, within the grace window ---


def test_it_logs_yesterday_marked_as_logged_later(world, daily):
    completion = log(world, daily, practised_on=TODAY - timedelta(days=1))
    completion.refresh_from_db()
    assert completion.local_date == date(2026, 3, 9)
    assert completion.logged_later is True
    assert local_date(completion.created_at, world.client.zone) == TODAY


def test_todays_log_is_not_logged_later(world, daily):
    assert log(world, daily, practised_on=TODAY).logged_later is False


@pytest.mark.parametrize(
    ("practised_on", "message"),
    [
        (date(2026, 3, 7), "up to 48 hours"),  # 3 days back: 10 March 12:00 - 48 h = 8 March
        (date(2026, 3, 11), "hasn't come yet"),
    ],
)
def test_it_refuses_days_outside_the_window_and_writes_nothing(world, daily, practised_on, message):
    with pytest.raises(ValidationError) as refused:
        log(world, daily, practised_on=practised_on)
    assert message in str(refused.value.message_dict["practised_on"])
    assert not Completion.objects.exists()


def test_the_window_follows_the_setting(world, daily, settings):
    settings.LOG_GRACE_HOURS = 0
    with pytest.raises(ValidationError):
        log(world, daily, practised_on=TODAY - timedelta(days=1))
    settings.LOG_GRACE_HOURS = 96
    assert log(world, daily, practised_on=date(2026, 3, 6)).local_date == date(2026, 3, 6)


def test_an_earlier_days_log_never_rewrites_that_days_log(world, daily):
    make_completion(daily, date(2026, 3, 9), minutes=5)
    with pytest.raises(ValidationError) as refused:
        log(world, daily, minutes=30, practised_on=date(2026, 3, 9))
    assert "already logged" in str(refused.value)
    assert Completion.objects.get().minutes == 5


def test_an_ended_plan_takes_no_log_for_an_earlier_day(world, daily):
    daily.status = "ended"
    daily.save()
    with pytest.raises(ValidationError):
        log(world, daily, practised_on=date(2026, 3, 9))
    assert not Completion.objects.exists()


# --- Exactly once ---


def test_a_replayed_id_answers_with_the_log_already_written(world, any_time):
    key = uuid.uuid4()
    first = log(world, any_time, client_uuid=key, minutes=3)
    again = log(world, any_time, client_uuid=key, minutes=9, now=NOW + timedelta(hours=30))
    assert again.pk == first.pk
    assert Completion.objects.get().minutes == 3


def test_the_same_id_may_be_used_by_another_client(world, any_time):
    key = uuid.uuid4()
    log(world, any_time, client_uuid=key)
    theirs = make_assignment(world.other_client, make_exercise(any_time=True))
    completion_log(
        client=world.other_client, assignment=theirs, minutes=1, client_uuid=key, now=NOW
    )
    assert Completion.objects.filter(client_uuid=key).count() == 2


def test_an_id_reused_for_another_plan_is_refused(world, any_time, daily):
    key = uuid.uuid4()
    log(world, any_time, client_uuid=key)
    with pytest.raises(ValidationError):
        log(world, daily, client_uuid=key)
    assert Completion.objects.count() == 1


def outcome(world, assignment, **fields):
    arguments = {"minutes": 5, "now": NOW}
    arguments.update(fields)
    return completion_log_outcome(client=world.client, assignment=assignment, **arguments)


def test_it_says_whether_it_wrote_corrected_or_answered_with_the_log(world, daily):
    key = uuid.uuid4()
    first, created = outcome(world, daily, client_uuid=key, minutes=3)
    again, corrected = outcome(world, daily, client_uuid=uuid.uuid4(), minutes=8)
    replay, replayed = outcome(world, daily, client_uuid=key, minutes=1)
    assert (created, corrected, replayed) == (Logged.CREATED, Logged.CORRECTED, Logged.REPLAYED)
    assert first.pk == again.pk == replay.pk
    assert Completion.objects.get().minutes == 8  # corrected once, not by the replay


def _write_marks(completion):
    completion.refresh_from_db()
    return completion.updated_at, completion.minutes, AuditEvent.objects.count()


@pytest.mark.parametrize(
    "change",
    ["nothing", "plan ended", "day left the window", "exercise asks less", "answer too long"],
)
def test_a_replay_writes_nothing_whatever_changed_since(world, change):
    """However the log would be refused or corrected now, its replay is answered with
    it as it is: no correction, no audit event, no error."""
    exercise = make_exercise(ratings=["distress_before"])
    assignment = make_assignment(world.client, exercise, start_date=date(2026, 3, 1))
    key = uuid.uuid4()
    first, _ = outcome(world, assignment, client_uuid=key, ratings={"distress_before": 6})
    later, answers = NOW + timedelta(minutes=5), {}
    if change == "plan ended":
        assignment.status = "ended"
        assignment.save()
    elif change == "day left the window":
        later = NOW + timedelta(days=4)
    elif change == "exercise asks less":
        exercise.ratings = []
        exercise.save()
    elif change == "answer too long":
        answers = {"moment": "x" * 50_000}
    before = _write_marks(first)
    replay, said = outcome(
        world,
        assignment,
        client_uuid=key,
        minutes=30,
        ratings={"distress_before": 1},
        answers=answers,
        now=later,
        practised_on=TODAY,
    )
    assert (replay.pk, said) == (first.pk, Logged.REPLAYED)
    assert _write_marks(first) == before


def test_a_new_log_with_an_id_reads_nothing_before_it_writes(world, daily, any_time):
    """The id is looked up only when the log cannot be written as asked: a new log
    costs the same statements with an id as without, and none of them a read."""
    for plan in (daily, any_time):
        with CaptureQueriesContext(connection) as without:
            log(world, plan, practised_on=TODAY - timedelta(days=1))
        with CaptureQueriesContext(connection) as carrying:
            log(world, plan, client_uuid=uuid.uuid4())
        assert len(carrying) == len(without) > 0
        assert not [q for q in carrying if q["sql"].lstrip().upper().startswith("SELECT")]


# --- The portal ---


def _post_log(browser, assignment, **data):
    form = {"minutes": "5", "reflection_shared": "on", **data}
    return browser.post(reverse("homework:log", args=[assignment.pk]), form)


def test_the_portal_logs_yesterday_and_a_double_submit_writes_one_log(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    browser = world.login(world.client)
    today = local_date(datetime.now(tz=UTC), world.client.zone)
    page = browser.get(reverse("homework:log", args=[assignment.pk]))
    assert page.status_code == 200
    assert "When did you practise?" in page.content.decode()
    key = str(page.context["form"].initial["client_uuid"])
    yesterday = (today - timedelta(days=1)).isoformat()
    for _ in range(2):
        response = _post_log(browser, assignment, client_uuid=key, practised_on=yesterday)
        assert response.status_code == 302
    completion = Completion.objects.get()
    assert (completion.local_date.isoformat(), completion.logged_later) == (yesterday, True)


def test_the_portal_refuses_a_day_outside_the_window_with_a_message(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    browser = world.login(world.client)
    today = local_date(datetime.now(tz=UTC), world.client.zone)
    response = _post_log(browser, assignment, practised_on=(today - timedelta(days=5)).isoformat())
    assert response.status_code == 400
    assert "older days can&#x27;t be logged" in response.content.decode()
    assert not Completion.objects.exists()


def test_the_portal_takes_several_logs_of_an_any_time_practice(world):
    assignment = make_assignment(
        world.client, make_exercise(any_time=True), start_date=date(2026, 1, 5)
    )
    browser = world.login(world.client)
    for _ in range(2):
        assert _post_log(browser, assignment, client_uuid=str(uuid.uuid4())).status_code == 302
    assert Completion.objects.filter(assignment=assignment).count() == 2
    today = browser.get(reverse("homework:today")).content.decode()
    assert "I need a moment" in today


def test_the_clinician_sees_when_it_was_practised_and_when_logged(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    now = datetime.now(tz=UTC)
    completion_log(
        client=world.client,
        assignment=assignment,
        minutes=5,
        practised_on=local_date(now, world.client.zone) - timedelta(days=1),
        now=now,
    )
    page = world.login(world.clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert "logged later" in page.content.decode()


@pytest.mark.parametrize("who", ["other_client", "stranger_client", "clinician", None])
def test_others_cannot_log_on_the_clients_plan(world, who):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    browser = world.login(getattr(world, who) if who else None)
    response = _post_log(browser, assignment, client_uuid=str(uuid.uuid4()))
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert "/login" in response["Location"] or "accounts" in response["Location"]
    assert not Completion.objects.exists()


def test_one_of_several_any_time_logs_is_corrected_on_its_own(world):
    assignment = make_assignment(
        world.client, make_exercise(any_time=True), start_date=date(2026, 1, 5)
    )
    now = datetime.now(tz=UTC)
    first, second = (
        completion_log(client=world.client, assignment=assignment, minutes=m, now=now)
        for m in (2, 3)
    )
    browser = world.login(world.client)
    url = reverse("homework:completion-edit", args=[first.pk])
    page = browser.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["completion_id"] == first.pk
    response = browser.post(url, {"minutes": "9", "completion_id": str(first.pk)})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.minutes, second.minutes) == (9, 3)
    assert Completion.objects.filter(assignment=assignment).count() == 2


# --- A log the phone sends again after it arrived (its answer lost on the way) ---


def _arrived(world, assignment, practised_on):
    key = uuid.uuid4()
    now = datetime.now(tz=UTC)
    completion_log(
        client=world.client,
        assignment=assignment,
        minutes=4,
        practised_on=practised_on,
        client_uuid=key,
        now=now,
    )
    return key


def test_a_resent_log_is_answered_as_arrived_after_its_plan_ended(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    today = local_date(datetime.now(tz=UTC), world.client.zone)
    key = _arrived(world, assignment, today)
    assignment.status = "ended"
    assignment.save()
    browser = world.login(world.client)
    asked = browser.get(reverse("homework:log", args=[assignment.pk]), {"client_uuid": str(key)})
    assert (asked.status_code, asked["Location"]) == (302, reverse("homework:today"))
    sent = _post_log(browser, assignment, client_uuid=str(key), practised_on=today.isoformat())
    assert (sent.status_code, sent["Location"]) == (302, reverse("homework:today"))
    assert Completion.objects.get().minutes == 4


def test_a_resent_log_is_answered_as_arrived_after_its_day_left_the_window(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    today = local_date(datetime.now(tz=UTC), world.client.zone)
    key = _arrived(world, assignment, today - timedelta(days=1))
    long_ago = (today - timedelta(days=6)).isoformat()  # as if sent days later
    response = _post_log(
        world.login(world.client), assignment, client_uuid=str(key), practised_on=long_ago
    )
    assert response.status_code == 302
    assert Completion.objects.count() == 1


def test_asking_with_an_id_that_did_not_arrive_shows_the_form(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    today = local_date(datetime.now(tz=UTC), world.client.zone)
    theirs = make_assignment(world.other_client, start_date=date(2026, 1, 5))
    other_key = uuid.uuid4()
    completion_log(client=world.other_client, assignment=theirs, minutes=2, client_uuid=other_key)
    elsewhere = _arrived(world, make_assignment(world.client, start_date=date(2026, 1, 5)), today)
    browser = world.login(world.client)
    url = reverse("homework:log", args=[assignment.pk])
    # Unknown, someone else's, another plan's, not an id at all: the ordinary form.
    for value in (str(uuid.uuid4()), str(other_key), str(elsewhere), "not-an-id", "x" * 5000):
        response = browser.get(url, {"client_uuid": value})
        assert response.status_code == 200, value
        assert "data-offline-log" in response.content.decode()
    # Someone else's id is not theirs to use: a new log is written for this client.
    assert _post_log(browser, assignment, client_uuid=str(other_key)).status_code == 302
    assert Completion.objects.filter(client=world.client, assignment=assignment).count() == 1


def test_a_correction_is_never_taken_for_a_resend(world):
    assignment = make_assignment(world.client, start_date=date(2026, 1, 5))
    today = local_date(datetime.now(tz=UTC), world.client.zone)
    key = _arrived(world, assignment, today)
    completion = Completion.objects.get()
    response = _post_log(
        world.login(world.client),
        assignment,
        client_uuid=str(key),
        completion_id=str(completion.pk),
        minutes="9",
    )
    assert response.status_code == 302
    completion.refresh_from_db()
    assert completion.minutes == 9


def _completion_reads(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and '"homework_completion"' in q["sql"]
    ]


def test_a_new_log_from_the_form_reads_no_log_first(world):
    """The form's new log, id and all, is written without reading a log
    first (the id and today's log are looked for only when the write cannot go ahead),
    and still answered as a new log."""
    plans = [make_assignment(world.client, start_date=date(2026, 1, 5)) for _ in range(2)]
    browser = world.login(world.client)
    with CaptureQueriesContext(connection) as queries:
        response = _post_log(browser, plans[0], client_uuid=str(uuid.uuid4()))
    assert (response.status_code, response["Location"]) == (302, reverse("homework:today"))
    assert _completion_reads(queries) == []
    thanks = [str(m) for m in browser.get(reverse("homework:today")).context["messages"]]
    assert thanks == ["Your practice is logged. Thank you for taking this time for yourself."]
