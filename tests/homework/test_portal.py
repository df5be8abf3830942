"""The client portal pages: today, practice, log, history, phrases and progress."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from homework.models import Completion, Feedback
from homework.schedule import week_start
from tests.factories import local_today, make_assignment, make_completion, make_exercise


def started(user, days_ago: int = 14) -> date:
    return local_today(user) - timedelta(days=days_ago)


@pytest.fixture
def assignment(world):
    return make_assignment(
        world.client,
        start_date=started(world.client),
        note="Try this after work, when the day has been long.",
    )


def html(response) -> str:
    return response.content.decode()


# --- Refusals shared by every page ---

CLIENT_PAGES = ["homework:today", "homework:history", "homework:progress", "homework:phrases"]


@pytest.mark.parametrize("name", CLIENT_PAGES)
def test_it_sends_anonymous_visitors_to_login(world, name):
    response = world.login(None).get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", CLIENT_PAGES)
def test_it_refuses_clinicians_and_admins(world, name):
    assert world.login(world.clinician).get(reverse(name)).status_code == 403
    assert world.login(world.admin).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["homework:practice", "homework:log"])
def test_it_refuses_anonymous_and_other_roles_on_a_practice(world, assignment, name):
    url = reverse(name, args=[assignment.pk])
    assert world.login(None).get(url).status_code == 302
    assert world.login(world.clinician).get(url).status_code == 403
    assert world.login(world.admin).get(url).status_code == 403


@pytest.mark.parametrize("name", ["homework:practice", "homework:log"])
def test_it_answers_404_for_another_clients_practice(world, assignment, name):
    url = reverse(name, args=[assignment.pk])
    assert world.login(world.other_client).get(url).status_code == 404
    assert world.login(world.stranger_client).get(url).status_code == 404
    assert world.login(world.client).get(reverse(name, args=[987654])).status_code == 404


# --- Today ---


def test_it_shows_a_gentle_empty_state(world):
    response = world.login(world.client).get(reverse("homework:today"))
    assert response.status_code == 200
    assert "Nothing is planned for you yet" in html(response)


def test_it_shows_whats_due_today(world, assignment):
    response = world.login(world.client).get(reverse("homework:today"))
    page = html(response)
    assert "To practise today" in page
    assert "Self-compassion break" in page
    assert reverse("homework:practice", args=[assignment.pk]) in page
    assert reverse("homework:log", args=[assignment.pk]) in page
    assert response.context["today"].due[0].assignment == assignment


def test_it_shows_whats_done_today_in_the_clients_own_time_zone(world, assignment):
    world.client.timezone = "Pacific/Kiritimati"  # UTC+14: often a different date from UTC
    world.client.save()
    make_completion(assignment, local_today(world.client), minutes=9)
    response = world.login(world.client).get(reverse("homework:today"))
    today = response.context["today"]
    assert today.local_date == local_today(world.client)
    assert [item.assignment for item in today.done] == [assignment]
    assert not today.due
    assert "Done today" in html(response)
    assert "enough for today" in html(response)


def test_it_shows_what_is_left_this_week_for_a_flexible_plan(world):
    flexible = make_assignment(
        world.client,
        make_exercise(world.clinic),
        start_date=started(world.client, 30),
        schedule_kind="times_per_week",
        times_per_week=7,
    )
    today = local_today(world.client)
    monday = week_start(today)
    for offset in range((today - monday).days):
        make_completion(flexible, monday + timedelta(days=offset))
    response = world.login(world.client).get(reverse("homework:today"))
    item = response.context["today"].due[0]
    done = (today - monday).days
    assert (item.done_this_week, item.week_quota, item.left_this_week) == (done, 7, 7 - done)
    assert f"{done} of 7 this week · {7 - done} left" in html(response)


def test_it_does_not_show_paused_or_ended_plans_as_due(world):
    paused = make_assignment(world.client, start_date=started(world.client), status="paused")
    ended = make_assignment(
        world.client,
        make_exercise(world.clinic, title="An ended practice"),
        start_date=started(world.client),
        status="ended",
    )
    over = make_assignment(
        world.client,
        make_exercise(world.clinic, title="A finished practice"),
        start_date=started(world.client, 20),
        end_date=started(world.client, 2),
    )
    response = world.login(world.client).get(reverse("homework:today"))
    today = response.context["today"]
    assert not today.due
    assert [item.assignment for item in today.paused] == [paused]
    page = html(response)
    assert "Paused by your clinician" in page
    assert "An ended practice" not in page
    assert "A finished practice" not in page
    assert ended.pk and over.pk


def test_it_never_shows_another_clients_plans(world):
    make_assignment(
        world.other_client,
        make_exercise(world.clinic, title="Blair's private practice"),
        start_date=started(world.other_client),
    )
    response = world.login(world.client).get(reverse("homework:today"))
    assert "Blair's private practice" not in html(response)
    assert not response.context["today"].has_plans


def test_it_tells_the_client_about_unread_feedback(world, assignment):
    completion = make_completion(assignment, started(world.client, 1))
    Feedback.objects.create(completion=completion, clinician=world.clinician, text="Well done.")
    response = world.login(world.client).get(reverse("homework:today"))
    assert "Your clinician replied to your practice" in html(response)


def test_it_counts_unread_feedback_exactly_as_the_orm_does(world, assignment):
    """The count is compiled once per process (core.compiled): it equals the ORM's count
    through every change, for this client and a client without any."""
    from django.utils import timezone

    from homework.models import Assignment, AssignmentStatus
    from homework.selectors.practice import today_for_client, unread_feedback_count
    from tests.conftest import make_client

    def orm(client) -> int:
        return Feedback.objects.filter(
            completion__client_id=client.pk, from_client=False, read_at__isnull=True
        ).count()

    other = make_client("robin@client.test", world.clinician)
    logs = [make_completion(assignment, started(world.client, days)) for days in (1, 2)]
    seen = []
    for step in range(5):
        if step == 1:
            first = Feedback.objects.create(
                completion=logs[0], clinician=world.clinician, text="One."
            )
        if step == 2:
            for text in ("Two.", "Three."):
                Feedback.objects.create(completion=logs[1], clinician=world.clinician, text=text)
            Feedback.objects.create(
                completion=logs[1], clinician=world.clinician, text="Mine.", from_client=True
            )
        if step == 3:
            Feedback.objects.filter(pk=first.pk).update(read_at=timezone.now())
        if step == 4:
            Feedback.objects.filter(from_client=False).update(read_at=timezone.now())
        for client in (world.client, other):
            assert unread_feedback_count(client.pk) == orm(client)
        seen.append(today_for_client(client=world.client).unread_feedback)
    assert seen == [0, 1, 3, 2, 0]
    # Read with the open plans, and by its own query when no plan is open: the same count.
    Feedback.objects.create(completion=logs[0], clinician=world.clinician, text="Four.")
    with_plans = today_for_client(client=world.client)
    assert with_plans.unread_feedback == 1 == orm(world.client) and with_plans.due
    Assignment.objects.filter(pk=assignment.pk).update(status=AssignmentStatus.ENDED)
    without = today_for_client(client=world.client)
    assert without.unread_feedback == 1 and not (without.due or without.done or without.later)


# --- Practice ---


def test_it_shows_the_note_and_every_step_without_javascript(world, assignment):
    response = world.login(world.client).get(reverse("homework:practice", args=[assignment.pk]))
    page = html(response)
    assert response.status_code == 200
    assert "A note from your clinician" in page
    assert "Try this after work" in page
    for step in assignment.exercise.steps:
        assert f'<li class="step" data-step>{step}</li>' in page
    assert reverse("homework:log", args=[assignment.pk]) in page


def test_it_enhances_the_practice_with_a_script_file_and_no_inline_script(world, assignment):
    page = html(world.login(world.client).get(reverse("homework:practice", args=[assignment.pk])))
    assert '<script src="/static/js/practice.js" defer></script>' in page
    assert "<script>" not in page
    assert "onclick" not in page


def test_it_says_why_an_ended_practice_cannot_be_logged(world):
    ended = make_assignment(world.client, start_date=started(world.client), status="ended")
    page = html(world.login(world.client).get(reverse("homework:practice", args=[ended.pk])))
    assert "This practice has ended" in page
    assert reverse("homework:log", args=[ended.pk]) not in page


# --- Log ---


def log_data(**overrides) -> dict:
    data = {
        "minutes": "6",
        "rating_distress_before": "7",
        "rating_distress_after": "4",
        "answer_0": "Before a difficult call",
        "answer_1": "May I be kind to myself",
        "reflection": "Calmer than I expected.",
        "reflection_shared": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_it_offers_only_the_ratings_and_prompts_the_exercise_asks_for(world, assignment):
    page = html(world.login(world.client).get(reverse("homework:log", args=[assignment.pk])))
    assert "<legend>Distress before</legend>" in page
    assert "<legend>Distress after</legend>" in page
    assert "Self-kindness after" not in page
    assert "Belief in the critical thought" not in page
    for value in range(11):
        assert f'<label for="id_rating_distress_before_{value}">' in page
    assert '<label for="id_answer_0">What was the moment?</label>' in page
    assert '<label for="id_answer_1">Which phrase did you use?</label>' in page


def test_it_keeps_private_by_default_and_says_what_the_clinician_always_sees(world, assignment):
    response = world.login(world.client).get(reverse("homework:log", args=[assignment.pk]))
    form = response.context["form"]
    assert form["reflection_shared"].value() is False
    assert re.search(r'<input type="checkbox" name="reflection_shared"[^>]*>', html(response))
    assert not re.search(
        r'<input type="checkbox" name="reflection_shared"[^>]* checked>', html(response)
    )
    assert "always sees that you practised, the minutes and your ratings" in html(response)


def test_it_prefills_minutes_from_the_timer(world, assignment):
    response = world.login(world.client).get(
        reverse("homework:log", args=[assignment.pk]) + "?minutes=12"
    )
    assert response.context["form"]["minutes"].value() == 12


def test_it_logs_practice_and_returns_to_today(world, assignment):
    response = world.login(world.client).post(
        reverse("homework:log", args=[assignment.pk]), log_data()
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("homework:today")
    completion = Completion.objects.get()
    assert completion.local_date == local_today(world.client)
    assert (completion.minutes, completion.distress_before, completion.distress_after) == (6, 7, 4)
    assert completion.answers == {
        "moment": "Before a difficult call",
        "phrase": "May I be kind to myself",
    }
    assert completion.reflection_shared is True


def test_it_keeps_the_reflection_private_when_unticked(world, assignment):
    world.login(world.client).post(
        reverse("homework:log", args=[assignment.pk]), log_data(reflection_shared=None)
    )
    assert Completion.objects.get().reflection_shared is False


def test_it_corrects_todays_log_when_logging_again(world, assignment):
    browser = world.login(world.client)
    url = reverse("homework:log", args=[assignment.pk])
    browser.post(url, log_data(minutes="6"))
    response = browser.get(url)
    assert "Correct today's log" in html(response)
    assert response.context["form"]["minutes"].value() == 6
    completion_id = response.context["form"]["completion_id"].value()
    browser.post(url, log_data(minutes="15", completion_id=str(completion_id)))
    assert Completion.objects.count() == 1
    assert Completion.objects.get().minutes == 15


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rating_distress_after": "11"}, "Choose a number from 0 to 10."),
        ({"minutes": "-3"}, "Minutes can&#x27;t be negative."),
        ({"minutes": "601"}, "Minutes can be at most 600."),
        ({"minutes": "lots"}, "Minutes must be a whole number."),
        ({"rating_self_kindness_after": "5"}, "does not ask for"),
        ({"answer_7": "an answer to nothing"}, "does not ask for"),
    ],
)
def test_it_refuses_bad_input_with_a_message_and_writes_nothing(
    world, assignment, overrides, message
):
    response = world.login(world.client).post(
        reverse("homework:log", args=[assignment.pk]), log_data(**overrides)
    )
    assert response.status_code == 400
    assert message in html(response)
    assert not Completion.objects.exists()


def test_it_refuses_a_log_for_an_ended_plan_and_writes_nothing(world):
    ended = make_assignment(world.client, start_date=started(world.client), status="ended")
    browser = world.login(world.client)
    url = reverse("homework:log", args=[ended.pk])
    assert "This practice has ended" in html(browser.get(url))
    response = browser.post(url, log_data())
    assert response.status_code == 400
    assert "This practice has ended" in html(response)
    assert not Completion.objects.exists()


def test_it_refuses_to_log_another_clients_practice(world, assignment):
    response = world.login(world.other_client).post(
        reverse("homework:log", args=[assignment.pk]), log_data()
    )
    assert response.status_code == 404
    assert not Completion.objects.exists()


def test_it_refuses_to_correct_yesterdays_log(world, assignment):
    yesterday = make_completion(
        assignment, local_today(world.client) - timedelta(days=1), minutes=5, reflection="Kept."
    )
    browser = world.login(world.client)
    response = browser.post(
        reverse("homework:completion-edit", args=[yesterday.pk]), log_data(minutes="40")
    )
    assert response.status_code == 403
    assert "Logs from earlier days can&#x27;t be changed" in html(response)
    # The log form cannot be pointed at yesterday's log either.
    response = browser.post(
        reverse("homework:log", args=[assignment.pk]),
        log_data(minutes="40", completion_id=str(yesterday.pk)),
    )
    assert response.status_code == 403
    yesterday.refresh_from_db()
    assert (yesterday.minutes, yesterday.reflection) == (5, "Kept.")
    assert Completion.objects.count() == 1


def test_it_sends_todays_correct_link_to_the_log_form(world, assignment):
    todays = make_completion(assignment, local_today(world.client))
    response = world.login(world.client).get(reverse("homework:completion-edit", args=[todays.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("homework:log", args=[assignment.pk])


def test_it_answers_404_when_correcting_another_clients_log(world, assignment):
    todays = make_completion(assignment, local_today(world.client), minutes=5)
    url = reverse("homework:completion-edit", args=[todays.pk])
    assert world.login(world.other_client).post(url, log_data()).status_code == 404
    assert world.login(world.stranger_client).get(url).status_code == 404
    todays.refresh_from_db()
    assert todays.minutes == 5


# --- History ---


def test_it_lists_past_logs_with_the_clinicians_feedback(world, assignment):
    completion = make_completion(
        assignment, started(world.client, 3), reflection="A quiet evening.", distress_after=3
    )
    Feedback.objects.create(
        completion=completion, clinician=world.clinician, text="Lovely to see this."
    )
    before = timezone.now()
    response = world.login(world.client).get(reverse("homework:history"))
    page = html(response)
    assert "A quiet evening." in page
    assert "Lovely to see this." in page
    assert "Dana Clinician replied" in page
    assert '<span class="badge">New</span>' in page
    assert before <= Feedback.objects.get().read_at <= timezone.now()


def test_it_offers_to_correct_only_todays_log(world, assignment):
    old = make_completion(assignment, started(world.client, 2))
    todays = make_completion(assignment, local_today(world.client))
    page = html(world.login(world.client).get(reverse("homework:history")))
    assert reverse("homework:completion-edit", args=[todays.pk]) in page
    assert reverse("homework:completion-edit", args=[old.pk]) not in page


def test_it_never_shows_another_clients_history(world):
    theirs = make_assignment(world.other_client, start_date=started(world.other_client))
    make_completion(theirs, started(world.other_client, 1), reflection="Blair's own words.")
    page = html(world.login(world.client).get(reverse("homework:history")))
    assert "Blair's own words." not in page
    assert "Nothing logged yet" in page


# --- Phrases ---


def test_it_collects_the_phrase_bank_from_phrase_prompts_only(world, assignment):
    make_completion(
        assignment,
        started(world.client, 3),
        answers={"moment": "Not a phrase, a moment", "phrase": "I am doing what I can."},
    )
    make_completion(
        assignment, started(world.client, 2), answers={"phrase": "i am  doing what I can."}
    )
    make_completion(assignment, started(world.client, 1), answers={"phrase": "This will pass."})
    response = world.login(world.client).get(reverse("homework:phrases"))
    page = html(response)
    assert "This will pass." in page
    assert "I am doing what I can." in page or "i am  doing what I can." in page
    assert "Not a phrase, a moment" not in page
    texts = [p.text for p in response.context["phrases"]]
    assert len(texts) == 2
    assert response.context["phrases"][1].times == 2


def test_it_never_shows_another_clients_phrases(world):
    theirs = make_assignment(world.other_client, start_date=started(world.other_client))
    make_completion(theirs, started(world.other_client, 1), answers={"phrase": "Blair's phrase"})
    page = html(world.login(world.client).get(reverse("homework:phrases")))
    assert "Blair's phrase" not in page
    assert "No phrases yet" in page


# --- Progress ---


def test_it_shows_progress_with_a_chart_and_kind_words(world, assignment):
    for days_ago in range(1, 8):
        make_completion(
            assignment, started(world.client, days_ago), distress_before=7, distress_after=4
        )
    response = world.login(world.client).get(reverse("homework:progress"))
    page = html(response)
    assert response.status_code == 200
    assert page.count("<svg") == 2  # adherence, and distress before/after
    assert "Practice done as planned, by week" in page
    assert "Distress: 7.0 → 4.0 (7 logs)" in page
    assert "never resets the count" in page
    for unkind in ("failed", "broke your", "lost your streak", "you missed"):
        assert unkind not in page.lower()


def test_it_never_shows_another_clients_progress(world):
    theirs = make_assignment(
        world.other_client,
        make_exercise(world.clinic, title="Blair's exercise"),
        start_date=started(world.other_client),
    )
    make_completion(theirs, started(world.other_client, 1), minutes=44)
    response = world.login(world.client).get(reverse("homework:progress"))
    assert "Blair's exercise" not in html(response)
    assert response.context["progress"].minutes_total == 0
