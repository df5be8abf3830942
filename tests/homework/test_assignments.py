"""Assigning homework and changing a plan: pages, services, history, refusals, bad input."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from homework.models import Assignment, AssignmentEvent, Exercise
from homework.services import assignments as services
from tests.factories import make_assignment, make_exercise

pytestmark = pytest.mark.django_db


def builtin(slug: str = "self-compassion-break") -> Exercise:
    return Exercise.objects.get(clinic__isnull=True, slug=slug)


def today_for(client) -> date:
    return services.client_today(client=client)


def assign_url(client) -> str:
    return reverse("homework:assignment-create", args=[client.pk])


def valid_post(client, **overrides) -> dict:
    data = {
        "exercise": str(builtin().pk),
        "note": "Try it after work, even once.",
        "schedule_kind": "daily",
        "start_date": today_for(client).isoformat(),
        "end_date": "",
        "reminder_time": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts() -> tuple[int, int]:
    return Assignment.objects.count(), AssignmentEvent.objects.count()


def assert_login_redirect(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def running_assignment(world, **fields) -> Assignment:
    """A plan made through the service, so it has its "created" event."""
    values = {
        "exercise": builtin(),
        "schedule_kind": "daily",
        "start_date": today_for(world.client),
    }
    values.update(fields)
    return services.assignment_create(clinician=world.clinician, client=world.client, **values)


# --- Assigning ---


def test_it_shows_the_assign_form_with_today_in_the_client_zone(world):
    response = world.login(world.clinician).get(assign_url(world.client))

    assert response.status_code == 200
    form = response.context["form"]
    assert form["start_date"].value() == today_for(world.client)
    body = response.content.decode()
    assert "Europe/London" in body
    assert "18:00" in body  # the client's own reminder time, used when left empty
    assert "<legend>How often" in body
    assert "Kindness phrases meditation" in body


def test_it_preselects_the_exercise_from_the_query_string(world):
    exercise = builtin("soothing-touch")

    response = world.login(world.clinician).get(assign_url(world.client), {"exercise": exercise.pk})

    assert response.context["form"]["exercise"].value() == exercise.pk


def test_it_does_not_preselect_another_clinic_exercise_or_an_archived_one(world):
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    archived = make_exercise(
        clinic=world.clinic, title="Old one", archived_at=timezone.now(), slug="old"
    )
    browser = world.login(world.clinician)

    for exercise in (theirs, archived):
        response = browser.get(assign_url(world.client), {"exercise": exercise.pk})
        assert response.status_code == 200
        assert response.context["form"]["exercise"].value() is None
        assert "Hillside secret" not in response.content.decode()
        assert "Old one" not in response.content.decode()


def test_it_assigns_an_every_day_plan_and_records_it(world):
    response = world.login(world.clinician).post(
        assign_url(world.client), valid_post(world.client, reminder_time="07:45")
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("homework:client-detail", args=[world.client.pk])
    assignment = Assignment.objects.get(client=world.client)
    assert assignment.clinician == world.clinician
    assert assignment.exercise == builtin()
    assert assignment.note == "Try it after work, even once."
    assert assignment.schedule_kind == "daily"
    assert assignment.start_date == today_for(world.client)
    assert assignment.end_date is None
    assert assignment.reminder_time == time(7, 45)
    assert assignment.status == "active"
    event = assignment.events.get()
    assert event.action == "created"
    assert event.actor == world.clinician
    assert event.changes["reminder_time"] == {"from": None, "to": "07:45"}


def test_it_assigns_chosen_weekdays_as_a_bit_mask(world):
    world.login(world.clinician).post(
        assign_url(world.client),
        valid_post(world.client, schedule_kind="weekdays", weekdays=["0", "2", "4"]),
    )

    assignment = Assignment.objects.get(client=world.client)
    assert assignment.schedule_kind == "weekdays"
    assert assignment.weekdays == 0b10101
    assert assignment.times_per_week is None


def test_it_assigns_n_times_a_week_with_an_end_date_and_ignores_stray_weekdays(world):
    end = today_for(world.client) + timedelta(days=27)

    world.login(world.clinician).post(
        assign_url(world.client),
        valid_post(
            world.client,
            schedule_kind="times_per_week",
            times_per_week="3",
            weekdays=["1"],
            end_date=end.isoformat(),
        ),
    )

    assignment = Assignment.objects.get(client=world.client)
    assert (assignment.times_per_week, assignment.weekdays) == (3, 0)
    assert assignment.end_date == end


def test_it_assigns_a_clinic_own_exercise(world):
    own = make_exercise(clinic=world.clinic, title="Harbour breathing")

    world.login(world.clinician).post(
        assign_url(world.client), valid_post(world.client, exercise=str(own.pk))
    )

    assert Assignment.objects.get(client=world.client).exercise == own


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"end_date": "YESTERDAY"}, "end_date", "on or after the start date"),
        ({"schedule_kind": "weekdays"}, "weekdays", "at least one day"),
        ({"schedule_kind": "times_per_week", "times_per_week": "0"}, "times_per_week", "1 and 7"),
        ({"schedule_kind": "times_per_week", "times_per_week": "8"}, "times_per_week", "1 and 7"),
        ({"schedule_kind": "times_per_week", "times_per_week": ""}, "times_per_week", "1 to 7"),
        ({"schedule_kind": "times_per_week", "times_per_week": "x"}, "times_per_week", "1 and 7"),
        ({"schedule_kind": "hourly"}, "schedule_kind", "Select a valid choice"),
        ({"weekdays": ["9"], "schedule_kind": "weekdays"}, "weekdays", "Select a valid choice"),
        ({"exercise": "999999"}, "exercise", "Choose an exercise from your library."),
        ({"exercise": ""}, "exercise", "Choose an exercise."),
        ({"exercise": "abc"}, "exercise", "Choose an exercise from your library."),
        ({"start_date": ""}, "start_date", "Choose a start date."),
        ({"start_date": "PAST"}, "start_date", "cannot be in the past"),
        ({"start_date": "2026-02-30"}, "start_date", "Enter a date."),
        ({"reminder_time": "25:00"}, "reminder_time", "Enter a time"),
        ({"note": "n" * 2001}, "note", "at most 2000 characters"),
    ],
)
def test_it_refuses_bad_assignment_input_and_writes_nothing(world, overrides, field, message):
    today = today_for(world.client)
    replacements = {
        "YESTERDAY": (today - timedelta(days=1)).isoformat(),
        "PAST": (today - timedelta(days=1)).isoformat(),
    }
    overrides = {
        key: replacements.get(value, value) if isinstance(value, str) else value
        for key, value in overrides.items()
    }
    before = counts()

    response = world.login(world.clinician).post(
        assign_url(world.client), valid_post(world.client, **overrides)
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert counts() == before


def test_it_shows_schedule_problems_together_with_other_form_errors(world):
    response = world.login(world.clinician).post(
        assign_url(world.client),
        valid_post(world.client, exercise="", schedule_kind="weekdays"),
    )

    errors = response.context["form"].errors
    assert errors["exercise"] == ["Choose an exercise."]
    assert errors["weekdays"] == ["Choose at least one day of the week."]


def test_it_refuses_to_assign_another_clinic_exercise_and_writes_nothing(world):
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    before = counts()

    response = world.login(world.clinician).post(
        assign_url(world.client), valid_post(world.client, exercise=str(theirs.pk))
    )

    assert response.status_code == 200
    assert response.context["form"].errors["exercise"] == ["Choose an exercise from your library."]
    assert "Hillside secret" not in response.content.decode()
    assert counts() == before


def test_it_refuses_to_assign_an_archived_exercise_and_writes_nothing(world):
    archived = make_exercise(clinic=world.clinic, title="Old one", archived_at=timezone.now())
    before = counts()

    response = world.login(world.clinician).post(
        assign_url(world.client), valid_post(world.client, exercise=str(archived.pk))
    )

    assert response.status_code == 200
    assert "is archived" in response.context["form"].errors["exercise"][0]
    assert counts() == before


def test_it_refuses_the_assign_page_to_anonymous_visitors_and_clients(world):
    url = assign_url(world.client)
    before = counts()

    assert_login_redirect(world.login(None).get(url))
    assert_login_redirect(world.login(None).post(url, valid_post(world.client)))
    assert world.login(world.client).get(url).status_code == 403
    assert world.login(world.client).post(url, valid_post(world.client)).status_code == 403
    assert world.login(world.admin).get(url).status_code == 403
    assert counts() == before


@pytest.mark.parametrize(
    ("who", "whom"),
    [
        ("colleague", "client"),  # a colleague's client, same clinic
        ("stranger_clinician", "client"),  # the other clinic
        ("clinician", "stranger_client"),
        ("clinician", "clinician"),  # not a client at all
    ],
)
def test_it_answers_404_for_a_client_not_on_the_caseload(world, who, whom):
    browser = world.login(getattr(world, who))
    client = getattr(world, whom)
    before = counts()

    assert browser.get(assign_url(client)).status_code == 404
    assert browser.post(assign_url(client), valid_post(world.client)).status_code == 404
    assert browser.get(reverse("homework:assignment-create", args=[999999])).status_code == 404
    assert counts() == before


# --- The services, directly (the API will call them the same way) ---


def test_it_refuses_a_client_not_on_the_caseload_in_the_service(world):
    before = counts()
    with pytest.raises(ValidationError) as raised:
        services.assignment_create(
            clinician=world.colleague,
            client=world.client,
            exercise=builtin(),
            schedule_kind="daily",
            start_date=today_for(world.client),
        )
    assert "client" in raised.value.message_dict
    assert counts() == before


def test_it_collects_every_schedule_problem_at_once(world):
    today = today_for(world.client)
    with pytest.raises(ValidationError) as raised:
        services.assignment_create(
            clinician=world.clinician,
            client=world.client,
            exercise=make_exercise(clinic=world.other_clinic),
            schedule_kind="weekdays",
            weekdays=[],
            start_date=today + timedelta(days=3),
            end_date=today,
        )
    assert set(raised.value.message_dict) == {"exercise", "weekdays", "end_date"}


def test_it_refuses_weekday_numbers_outside_monday_to_sunday(world):
    with pytest.raises(ValidationError) as raised:
        running_assignment(world, schedule_kind="weekdays", weekdays=[7])
    assert "weekdays" in raised.value.message_dict


def test_it_takes_today_from_the_client_time_zone(world):
    world.client.timezone = "Pacific/Auckland"
    world.client.save()
    # 23:30 UTC on 1 March is already 2 March in Auckland.
    now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    arguments = {
        "clinician": world.clinician,
        "client": world.client,
        "exercise": builtin(),
        "schedule_kind": "daily",
        "now": now,
    }

    with pytest.raises(ValidationError) as raised:
        services.assignment_create(start_date=date(2026, 3, 1), **arguments)
    assert "2 March 2026" in raised.value.message_dict["start_date"][0]

    assignment = services.assignment_create(start_date=date(2026, 3, 2), **arguments)
    assert assignment.start_date == date(2026, 3, 2)


# --- Editing ---


def test_it_shows_the_edit_page_with_the_plan_and_its_history(world):
    assignment = running_assignment(world, reminder_time=time(8, 0))

    response = world.login(world.clinician).get(
        reverse("homework:assignment-edit", args=[assignment.pk])
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Self-compassion break for Alex Client" in body
    assert "Assigned" in body and "Dana Clinician" in body
    assert "Reminder time: 08:00" in body
    assert response.context["form"]["schedule_kind"].value() == "daily"
    assert reverse("homework:assignment-pause", args=[assignment.pk]) in body


def test_it_changes_the_schedule_and_records_what_changed(world):
    assignment = running_assignment(world, note="Old note")
    data = valid_post(
        world.client,
        schedule_kind="weekdays",
        weekdays=["1", "3"],
        note="New note",
        start_date=assignment.start_date.isoformat(),
    )
    del data["exercise"]

    response = world.login(world.clinician).post(
        reverse("homework:assignment-edit", args=[assignment.pk]), data
    )

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.schedule_kind, assignment.weekdays, assignment.note) == (
        "weekdays",
        0b1010,
        "New note",
    )
    event = assignment.events.order_by("-id").first()
    assert event.action == "edited"
    assert event.changes["schedule_kind"] == {"from": "daily", "to": "weekdays"}
    assert event.changes["weekdays"] == {"from": 0, "to": 10}
    assert event.changes["note"] == {"from": "Old note", "to": "New note"}
    assert "start_date" not in event.changes
    history = world.login(world.clinician).get(response["Location"]).content.decode()
    assert "How often: Every day → Chosen weekdays" in history
    assert "Days: none → Tuesday, Thursday" in history
    assert "Note changed" in history


def test_it_writes_no_event_when_an_edit_changes_nothing(world):
    assignment = running_assignment(world)
    data = valid_post(world.client, note="", start_date=assignment.start_date.isoformat())

    world.login(world.clinician).post(
        reverse("homework:assignment-edit", args=[assignment.pk]), data
    )

    assert assignment.events.count() == 1


def test_it_keeps_a_past_start_date_but_refuses_moving_it_into_the_past(world):
    today = today_for(world.client)
    assignment = make_assignment(world.client, builtin(), start_date=today - timedelta(days=30))
    url = reverse("homework:assignment-edit", args=[assignment.pk])
    browser = world.login(world.clinician)

    kept = browser.post(
        url,
        valid_post(
            world.client,
            start_date=assignment.start_date.isoformat(),
            schedule_kind="times_per_week",
            times_per_week="2",
        ),
    )
    assert kept.status_code == 302

    moved = browser.post(
        url, valid_post(world.client, start_date=(today - timedelta(days=2)).isoformat())
    )
    assert moved.status_code == 200
    assert "cannot be in the past" in moved.context["form"].errors["start_date"][0]
    assignment.refresh_from_db()
    assert assignment.start_date == today - timedelta(days=30)
    assert assignment.times_per_week == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end_date": "YESTERDAY"}, "end_date"),
        ({"schedule_kind": "weekdays"}, "weekdays"),
        ({"schedule_kind": "times_per_week", "times_per_week": "0"}, "times_per_week"),
        ({"schedule_kind": "times_per_week", "times_per_week": "8"}, "times_per_week"),
    ],
)
def test_it_refuses_bad_input_on_edit_and_changes_nothing(world, overrides, field):
    assignment = running_assignment(world)
    if overrides.get("end_date") == "YESTERDAY":
        overrides["end_date"] = (assignment.start_date - timedelta(days=1)).isoformat()
    before = counts()

    response = world.login(world.clinician).post(
        reverse("homework:assignment-edit", args=[assignment.pk]),
        valid_post(world.client, start_date=assignment.start_date.isoformat(), **overrides),
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert counts() == before
    assignment.refresh_from_db()
    assert (assignment.schedule_kind, assignment.end_date) == ("daily", None)


def test_it_refuses_to_edit_an_ended_plan(world):
    assignment = running_assignment(world)
    services.assignment_end(assignment=assignment, actor=world.clinician)
    before = counts()

    response = world.login(world.clinician).post(
        reverse("homework:assignment-edit", args=[assignment.pk]),
        valid_post(world.client, note="Changed after the end"),
    )

    assert response.status_code == 400
    assert "has ended" in response.content.decode()
    assert counts() == before
    assignment.refresh_from_db()
    assert assignment.note == ""


def test_it_refuses_the_edit_page_to_everyone_but_the_caseload_clinician(world):
    assignment = running_assignment(world)
    url = reverse("homework:assignment-edit", args=[assignment.pk])
    data = valid_post(world.client, note="Hijacked")
    before = counts()

    assert_login_redirect(world.login(None).get(url))
    assert world.login(world.client).get(url).status_code == 403
    assert world.login(world.client).post(url, data).status_code == 403
    assert world.login(world.colleague).get(url).status_code == 404
    assert world.login(world.colleague).post(url, data).status_code == 404
    assert world.login(world.stranger_clinician).get(url).status_code == 404
    missing = reverse("homework:assignment-edit", args=[999999])
    assert world.login(world.clinician).get(missing).status_code == 404
    assert counts() == before


def test_it_lets_the_new_clinician_manage_a_reassigned_client_plan(world):
    assignment = running_assignment(world)
    world.client.client_profile.clinician = world.colleague
    world.client.client_profile.save()

    response = world.login(world.colleague).post(
        reverse("homework:assignment-pause", args=[assignment.pk])
    )

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.status == "paused"
    assert assignment.events.order_by("-id").first().actor == world.colleague
    assert (
        world.login(world.clinician)
        .get(reverse("homework:assignment-edit", args=[assignment.pk]))
        .status_code
        == 404
    )


# --- Pause, resume, end ---


def test_it_pauses_resumes_and_ends_a_plan_with_history(world):
    assignment = running_assignment(world)
    browser = world.login(world.clinician)

    for name, status in [("pause", "paused"), ("resume", "active"), ("end", "ended")]:
        response = browser.post(reverse(f"homework:assignment-{name}", args=[assignment.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("homework:assignment-edit", args=[assignment.pk])
        assignment.refresh_from_db()
        assert assignment.status == status

    actions = list(assignment.events.values_list("action", flat=True))
    assert actions == ["created", "paused", "resumed", "ended"]
    page = browser.get(reverse("homework:assignment-edit", args=[assignment.pk]))
    body = page.content.decode()
    assert "Status: Active → Paused" in body
    assert "Status: Paused → Ended" not in body
    assert "Status: Active → Ended" in body
    assert "assign it again" in body


def test_it_keeps_the_planned_dates_when_a_plan_ends(world):
    end = today_for(world.client) + timedelta(days=20)
    assignment = running_assignment(world, end_date=end)

    services.assignment_end(assignment=assignment, actor=world.clinician)

    assignment.refresh_from_db()
    assert (assignment.status, assignment.end_date) == ("ended", end)


@pytest.mark.parametrize(
    ("setup", "action", "message"),
    [
        ([], "resume", "Only a paused assignment can be resumed."),
        (["pause"], "pause", "Only an active assignment can be paused."),
        (["end"], "resume", "Only a paused assignment can be resumed."),
        (["end"], "pause", "Only an active assignment can be paused."),
        (["end"], "end", "already ended"),
    ],
)
def test_it_refuses_status_changes_that_do_not_apply(world, setup, action, message):
    assignment = running_assignment(world)
    for step in setup:
        getattr(services, f"assignment_{step}")(assignment=assignment, actor=world.clinician)
    status, before = Assignment.objects.get(pk=assignment.pk).status, counts()

    response = world.login(world.clinician).post(
        reverse(f"homework:assignment-{action}", args=[assignment.pk]), follow=True
    )

    assert message in response.content.decode()
    assert counts() == before
    assert Assignment.objects.get(pk=assignment.pk).status == status


@pytest.mark.parametrize("action", ["pause", "resume", "end"])
def test_it_refuses_status_changes_to_everyone_but_the_caseload_clinician(world, action):
    assignment = running_assignment(world)
    if action == "resume":
        services.assignment_pause(assignment=assignment, actor=world.clinician)
    url = reverse(f"homework:assignment-{action}", args=[assignment.pk])
    status, before = Assignment.objects.get(pk=assignment.pk).status, counts()

    assert world.login(world.clinician).get(url).status_code == 405
    assert_login_redirect(world.login(None).post(url))
    assert world.login(world.client).post(url).status_code == 403
    assert world.login(world.colleague).post(url).status_code == 404
    assert world.login(world.stranger_clinician).post(url).status_code == 404
    missing = reverse(f"homework:assignment-{action}", args=[999999])
    assert world.login(world.clinician).post(missing).status_code == 404
    assert counts() == before
    assert Assignment.objects.get(pk=assignment.pk).status == status


def test_it_lets_current_plans_of_an_archived_exercise_carry_on(world):
    own = make_exercise(clinic=world.clinic, title="Harbour breathing")
    assignment = running_assignment(world, exercise=own)
    own.archived_at = timezone.now()
    own.save()

    changed = services.assignment_update(
        assignment=assignment,
        actor=world.clinician,
        schedule_kind="times_per_week",
        times_per_week=4,
        start_date=assignment.start_date,
    )

    assert changed == ["schedule_kind", "times_per_week"]
    with pytest.raises(ValidationError, match="archived"):
        running_assignment(world, exercise=own)
