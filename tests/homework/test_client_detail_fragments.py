"""The client page's logs, plan cards and notes, rendered by Jinja2 fragments
(templates/clinician/_client_*.jinja): escaped, in the reader's and the client's time
zones, with working forms for a clinician and none for a supervisor."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse

from homework.models import ClientNote, Feedback
from tests.factories import local_today, make_assignment, make_completion, make_exercise

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script> & more\nsecond line"
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more<br>second line"


@pytest.fixture
def assignment(world):
    return make_assignment(world.client, start_date=local_today(world.client) - timedelta(days=30))


def page_for(browser, client) -> str:
    response = browser.get(reverse("homework:client-detail", args=[client.pk]))
    assert response.status_code == 200
    return response.content.decode()


def log_entry(page: str, completion) -> str:
    """The markup of one log on the page, from its <li> to its end."""
    start = page.index(f'<li class="card log-entry" id="log-{completion.pk}">')
    return page[start : page.index("</li>", start)]


def plan_card(page: str, plan) -> str:
    start = page.index(f'<li class="card plan-card" id="plan-{plan.pk}">')
    return page[start : page.index("</li>", start)]


def test_what_the_client_and_clinician_wrote_is_escaped(world, assignment):
    log = make_completion(
        assignment,
        local_today(world.client) - timedelta(days=1),
        reflection=HOSTILE,
        answers={"moment": HOSTILE},
    )
    Feedback.objects.create(completion=log, clinician=world.clinician, text=HOSTILE)
    Feedback.objects.create(
        completion=log, clinician=world.clinician, from_client=True, text=HOSTILE
    )
    ClientNote.objects.create(client=world.client, author=world.clinician, text=HOSTILE)
    assignment.note = HOSTILE
    assignment.save()
    page = page_for(world.login(world.clinician), world.client)
    assert "<script>alert" not in page
    entry = log_entry(page, log)
    assert f"<dt>What was the moment?</dt><dd>{HOSTILE_ESCAPED}</dd>" in entry
    assert f"<p><strong>Reflection:</strong> {HOSTILE_ESCAPED}</p>" in entry
    assert entry.count(f"<p>{HOSTILE_ESCAPED}</p>") == 2  # the feedback and the reply
    assert f"<p>{HOSTILE_ESCAPED}</p></li>" in page  # the note
    assert "Your note: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more\nsecond line</p>" in (
        plan_card(page, assignment)
    )


def test_names_are_escaped_in_the_thread_and_the_notes(world, assignment):
    world.client.full_name = "<i>Alex</i>"
    world.client.save()
    world.clinician.full_name = "<b>Dana</b>"
    world.clinician.save()
    log = make_completion(assignment, local_today(world.client) - timedelta(days=1))
    Feedback.objects.create(completion=log, clinician=world.clinician, text="Well done.")
    Feedback.objects.create(
        completion=log, clinician=world.clinician, from_client=True, text="Thanks."
    )
    ClientNote.objects.create(client=world.client, author=world.clinician, text="Seen.")
    page = page_for(world.login(world.clinician), world.client)
    entry = log_entry(page, log)
    assert "<strong>&lt;i&gt;Alex&lt;/i&gt; replied</strong>" in entry
    assert "<strong>&lt;b&gt;Dana&lt;/b&gt;</strong>" in entry
    assert " · &lt;b&gt;Dana&lt;/b&gt;</p><p>Seen.</p>" in page
    assert "<i>Alex</i>" not in page and "<b>Dana</b>" not in page


def test_an_unread_reply_is_marked_new_once_and_read_feedback_says_so(world, assignment):
    log = make_completion(assignment, local_today(world.client) - timedelta(days=1))
    Feedback.objects.create(
        completion=log,
        clinician=world.clinician,
        text="Try it after lunch.",
        read_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    Feedback.objects.create(
        completion=log, clinician=world.clinician, from_client=True, text="I will."
    )
    quiet = make_completion(assignment, local_today(world.client) - timedelta(days=2))
    browser = world.login(world.clinician)
    entry = log_entry(page_for(browser, world.client), log)
    assert '<div class="feedback from-client">' in entry
    assert '<strong>Alex Client replied</strong> <span class="badge">New</span>' in entry
    assert " · read</span>" in entry
    assert "<summary>Write in this conversation</summary>" in entry
    # Opening the page read the reply: the next view shows it without the mark.
    again = log_entry(page_for(browser, world.client), log)
    assert "<strong>Alex Client replied</strong> <span" in again
    assert '<span class="badge">New</span>' not in again
    # A log without messages offers to start one; nothing in it is marked read.
    other = log_entry(page_for(browser, world.client), quiet)
    assert "<summary>Reply with feedback</summary>" in other
    assert '<div class="feedback' not in other


def test_times_read_in_the_clients_and_the_readers_zones(world, assignment):
    world.client.timezone = "Asia/Kolkata"
    world.client.save()
    world.clinician.timezone = "America/New_York"
    world.clinician.save()
    moment = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)
    later = make_completion(
        assignment, date(2026, 3, 1), minutes=12, logged_later=True, created_at=moment
    )
    on_time = make_completion(assignment, date(2026, 2, 27), minutes=7, created_at=moment)
    Feedback.objects.create(
        completion=later, clinician=world.clinician, text="Noted.", created_at=moment
    )
    Feedback.objects.create(
        completion=later,
        clinician=world.clinician,
        from_client=True,
        text="Thanks.",
        created_at=moment + timedelta(hours=1),
    )
    ClientNote.objects.create(
        client=world.client, author=world.clinician, text="Call back.", created_at=moment
    )
    page = page_for(world.login(world.clinician), world.client)
    entry = log_entry(page, later)
    assert "<h3>Sunday 1 March 2026: Self-compassion break</h3>" in entry
    # Logged at 08:45 on 2 March in Kolkata, read by a clinician in New York (22:15 on 1 March).
    assert (
        '12 min · practised Sunday 1 March, <span class="badge">logged later</span> '
        "on Monday 2 March, 08:45</p>"
    ) in entry
    assert '<span class="muted">1 Mar, 22:15</span>' in entry
    assert '<span class="muted">1 Mar, 23:15</span>' in entry  # the client's reply
    assert '<p class="muted">1 Mar 2026, 22:15 · Dana Clinician</p><p>Call back.</p>' in page
    assert '<p class="muted">7 min</p>' in log_entry(page, on_time)


def test_a_hard_practice_is_flagged_and_a_private_reflection_stays_private(world, assignment):
    today = local_today(world.client)
    told = make_completion(
        assignment,
        today - timedelta(days=1),
        stirred_up=True,
        clinician_told_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        reflection="SHARED-REFLECTION",
        answers={"phrase": "May I be kind", "moment": "The meeting"},
        distress_before=8,
        self_kindness_after=3,
    )
    ticked = make_completion(
        assignment,
        today - timedelta(days=2),
        stirred_up=True,
        reflection="PRIVATE-CANARY",
        answers={"moment": "PRIVATE-CANARY"},
        reflection_shared=False,
    )
    page = page_for(world.login(world.clinician), world.client)
    first = log_entry(page, told)
    assert "The client asked you to look at this log" in first
    assert "ticked" not in first
    assert (
        "<dl><dt>Distress before</dt><dd>8 / 10</dd>"
        "<dt>Self-kindness after</dt><dd>3 / 10</dd></dl>"
    ) in first
    # The answers in the exercise's order, with its labels.
    assert (
        "<dl><dt>What was the moment?</dt><dd>The meeting</dd>"
        "<dt>Which phrase did you use?</dt><dd>May I be kind</dd></dl>"
    ) in first
    assert "<strong>Reflection:</strong> SHARED-REFLECTION" in first
    second = log_entry(page, ticked)
    assert "The client ticked “this stirred up something hard”." in second
    assert "asked you to look" not in second
    assert "<em>Reflection kept private.</em>" in second
    assert "CANARY" not in page
    assert "<dl>" not in second  # no ratings, and the answers are private


def test_plan_cards_show_their_dates_note_and_actions(world, assignment):
    exercise = make_exercise(world.clinic, title="Soothing touch")
    paused = make_assignment(
        world.client,
        exercise,
        start_date=date(2026, 1, 5),
        end_date=date(2026, 12, 20),
        status="paused",
        reminder_time=time(7, 45),
        note="x" * 200,
    )
    ended = make_assignment(
        world.client, make_exercise(world.clinic, title="Kind letter"), status="ended"
    )
    page = page_for(world.login(world.clinician), world.client)
    card = plan_card(page, paused)
    assert '<span class="badge">Paused</span>' in card
    assert "· from 5 Jan 2026 to 20 Dec 2026 · reminder at 07:45</p>" in card
    assert f"Your note: {'x' * 159}…</p>" in card
    assert reverse("homework:assignment-resume", args=[paused.pk]) in card
    assert reverse("homework:assignment-pause", args=[paused.pk]) not in card
    assert reverse("homework:assignment-end", args=[paused.pk]) in card
    active = plan_card(page, assignment)
    assert '<span class="badge badge-ok">Active</span>' in active
    assert "reminder at 18:00 (the client's own time)</p>" in active
    assert " to " not in active.split("· reminder")[0]
    assert "Your note:" not in active
    assert reverse("homework:assignment-pause", args=[assignment.pk]) in active
    assert active.count('<input type="hidden" name="return_to" value="client">') == 2
    closed = plan_card(page, ended)
    assert '<span class="badge">Ended</span>' in closed
    assert "<form" not in closed and "Edit</a>" not in closed


def test_a_supervisor_reads_the_logs_and_plans_without_any_form(world, supervisor, assignment):
    log = make_completion(assignment, local_today(world.client) - timedelta(days=1))
    Feedback.objects.create(completion=log, clinician=world.clinician, text="Keep going.")
    ClientNote.objects.create(client=world.client, author=world.clinician, text="NOTE-CANARY")
    page = page_for(world.login(supervisor), world.client)
    entry = log_entry(page, log)
    assert "<p>Keep going.</p>" in entry
    assert "<details>" not in entry and "<form" not in entry
    card = plan_card(page, assignment)
    assert "Self-compassion break" in card
    assert "<form" not in card and "Edit</a>" not in card
    assert "NOTE-CANARY" not in page


def test_the_forms_in_the_fragments_carry_a_working_csrf_token(world, assignment):
    log = make_completion(assignment, local_today(world.client) - timedelta(days=1))
    browser = world.login(world.clinician)
    browser.handler.enforce_csrf_checks = True
    page = page_for(browser, world.client)
    entry, card = log_entry(page, log), plan_card(page, assignment)
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', entry + card)
    assert len(tokens) == 3  # the reply; pause and end
    # Made once per fragment, not once per form.
    assert len(set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', card))) == 1
    url = reverse("homework:feedback-create", args=[log.pk])
    refused = browser.post(url, {"text": "Lovely.", "csrfmiddlewaretoken": "x" * 64})
    assert refused.status_code == 403
    sent = browser.post(url, {"text": "Lovely.", "csrfmiddlewaretoken": tokens[0]})
    assert sent.status_code == 302
    assert Feedback.objects.get(completion=log).text == "Lovely."
    paused = browser.post(
        reverse("homework:assignment-pause", args=[assignment.pk]),
        {"return_to": "client", "csrfmiddlewaretoken": tokens[1]},
    )
    assert paused.status_code == 302
    assignment.refresh_from_db()
    assert assignment.status == "paused"
