"""One client's page for their clinician: assignments, charts, and the timeline of logs."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from homework.forms.completions import FeedbackForm
from homework.models import Feedback
from homework.views.clinician import _blank_reply_fields, _reply_fields
from tests.conftest import make_client
from tests.factories import local_today, make_assignment, make_completion, make_exercise


@pytest.fixture
def assignment(world):
    return make_assignment(world.client, start_date=local_today(world.client) - timedelta(days=30))


def url_for(client) -> str:
    return reverse("homework:client-detail", args=[client.pk])


def test_it_refuses_anonymous_clients_and_admins(world):
    response = world.login(None).get(url_for(world.client))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.client).get(url_for(world.client)).status_code == 403
    assert world.login(world.admin).get(url_for(world.client)).status_code == 403


def test_it_answers_404_for_a_colleagues_or_another_clinics_client(world):
    colleagues = make_client("robin@client.test", world.colleague)
    browser = world.login(world.clinician)
    assert browser.get(url_for(colleagues)).status_code == 404
    assert browser.get(url_for(world.stranger_client)).status_code == 404
    assert browser.get(url_for(world.clinician)).status_code == 404
    assert browser.get(reverse("homework:client-detail", args=[987654])).status_code == 404
    assert world.login(world.colleague).get(url_for(world.client)).status_code == 404
    assert world.login(world.stranger_clinician).get(url_for(world.client)).status_code == 404


def test_it_shows_assignments_with_links_to_manage_them(world, assignment):
    paused = make_assignment(
        world.client,
        make_exercise(world.clinic, title="Soothing touch"),
        start_date=assignment.start_date,
        status="paused",
    )
    page = world.login(world.clinician).get(url_for(world.client)).content.decode()
    assert reverse("homework:assignment-create", args=[world.client.pk]) in page
    assert reverse("homework:assignment-edit", args=[assignment.pk]) in page
    assert reverse("homework:assignment-pause", args=[assignment.pk]) in page
    assert reverse("homework:assignment-end", args=[assignment.pk]) in page
    assert reverse("homework:assignment-resume", args=[paused.pk]) in page
    assert reverse("homework:assignment-pause", args=[paused.pk]) not in page
    assert "Self-compassion break" in page and "Soothing touch" in page


def test_it_shows_shared_reflections_and_answers(world, assignment):
    make_completion(
        assignment,
        local_today(world.client) - timedelta(days=1),
        reflection="I felt lighter afterwards.",
        answers={"moment": "The school run"},
        distress_before=7,
        distress_after=3,
        reflection_shared=True,
    )
    page = world.login(world.clinician).get(url_for(world.client)).content.decode()
    assert "I felt lighter afterwards." in page
    assert "The school run" in page
    assert "<dt>Distress before</dt><dd>7 / 10</dd>" in page


def test_it_never_shows_an_unshared_reflection_or_its_answers(world, assignment):
    make_completion(
        assignment,
        local_today(world.client) - timedelta(days=1),
        reflection="PRIVATE-REFLECTION-CANARY",
        answers={"moment": "PRIVATE-ANSWER-CANARY", "phrase": "PRIVATE-PHRASE-CANARY"},
        distress_before=6,
        distress_after=2,
        reflection_shared=False,
    )
    page = world.login(world.clinician).get(url_for(world.client)).content.decode()
    assert "CANARY" not in page
    assert "Reflection kept private" in page
    # Ratings and the practice itself are always visible.
    assert "<dt>Distress after</dt><dd>2 / 10</dd>" in page


def test_it_draws_the_adherence_and_ratings_charts(world, assignment):
    today = local_today(world.client)
    for days_ago in range(1, 15):
        make_completion(
            assignment, today - timedelta(days=days_ago), distress_before=6, distress_after=3
        )
    response = world.login(world.clinician).get(url_for(world.client))
    page = response.content.decode()
    assert page.count("<svg") == 2
    assert "Practice done as planned, by week" in page
    assert "Distress before and after practice, weekly average" in page
    assert response.context["adherence_chart"].rows[-2][2] == "7"  # last full week: 7 done


def test_it_shows_existing_feedback_and_a_feedback_form_per_log(world, assignment):
    completion = make_completion(assignment, local_today(world.client) - timedelta(days=1))
    Feedback.objects.create(completion=completion, clinician=world.clinician, text="Keep going.")
    page = world.login(world.clinician).get(url_for(world.client)).content.decode()
    assert "Keep going." in page
    assert reverse("homework:feedback-create", args=[completion.pk]) in page
    assert f'<label for="feedback-{completion.pk}-text">' in page


def test_it_never_shows_another_clients_logs(world, assignment):
    theirs = make_assignment(
        world.other_client, make_exercise(world.clinic), start_date=assignment.start_date
    )
    make_completion(
        theirs, local_today(world.other_client) - timedelta(days=1), reflection="Blair only."
    )
    page = world.login(world.clinician).get(url_for(world.client)).content.decode()
    assert "Blair only." not in page


# --- The cached empty reply form (homework.views.clinician._blank_reply_fields) ---


def _fresh_reply_fields(completion_id: int) -> str:
    """The reply form as Django renders it, without the per-process cache."""
    form = FeedbackForm(auto_id=f"feedback-{completion_id}-%s")
    return render_to_string("form_fields.html", {"form": form})


def test_the_cached_reply_form_is_byte_for_byte_a_fresh_render():
    _blank_reply_fields.cache_clear()
    first = _reply_fields(3)  # renders and caches
    assert first.encode() == _fresh_reply_fields(3).encode()
    for completion_id in (1, 10, 42, 2026, 987654321):  # from the cache
        assert _reply_fields(completion_id).encode() == _fresh_reply_fields(completion_id).encode()
    assert _blank_reply_fields.cache_info().hits == 5


def test_it_puts_a_fresh_render_of_the_reply_form_under_every_log(world, assignment):
    today = local_today(world.client)
    logs = [make_completion(assignment, today - timedelta(days=n)) for n in (1, 2, 3)]
    page = world.login(world.clinician).get(url_for(world.client)).content.decode()
    for log in logs:
        assert _fresh_reply_fields(log.pk) in page
