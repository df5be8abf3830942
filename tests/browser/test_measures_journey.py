"""Questionnaires in a real browser (issue 6): one question per screen on a phone with
measure.js, the whole list on a clinic PC, and every page with scores passes the audit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from homework.schedule import local_date
from measures.models import MeasureResponse
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.factories import (
    make_assignment,
    make_completion,
    make_measure,
    make_measure_response,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _history(world, today):
    """A questionnaire due today, one earlier answer, and some practice."""
    measure = make_measure(world.client, start_date=today, every_weeks=2)
    make_measure_response(
        measure=measure,
        answers=dict.fromkeys(range(1, 13), 2),
        due_date=None,
        local_date=today - timedelta(days=20),
        answered_at=timezone.now() - timedelta(days=20),
    )
    assignment = make_assignment(world.client, start_date=today - timedelta(days=30))
    for day in range(1, 25, 2):
        make_completion(
            assignment, today - timedelta(days=day), distress_before=7, distress_after=4
        )
    return measure


_LEGEND_INSIDE = """(n) => {
  const fieldset = document.querySelector(`#q-${n} fieldset`);
  const legend = fieldset.querySelector("legend");
  const box = fieldset.getBoundingClientRect(), text = legend.getBoundingClientRect();
  const style = getComputedStyle(fieldset);
  return {
    below_top_border: text.top >= box.top + parseFloat(style.borderTopWidth),
    within_sides: text.left >= box.left && text.right <= box.right,
  };
}"""


def _question_inside_its_card(page, n: int) -> None:
    """Issue 17, defect 7: the question (a legend) sits inside its card on a phone, below
    the card's top border, not drawn across it as a fieldset's legend is by default."""
    assert page.evaluate(_LEGEND_INSIDE, n) == {"below_top_border": True, "within_sides": True}


def _open_details(page) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def test_it_steps_through_the_questions_one_per_screen_on_a_phone(
    live_server, world, new_context, audit
):
    today = local_date(timezone.now(), world.client.zone)
    measure = _history(world, today)
    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.get_by_role("link", name="Answer now").click()
    expect(page.locator(".step-counter")).to_have_text("Question 1 of 12")
    expect(page.locator("#q-2")).to_be_hidden()
    expect(page.get_by_role("button", name="Save my answers")).to_be_hidden()
    audit(page)
    # Moving on needs an answer; the keyboard can choose one.
    page.get_by_role("button", name="Next question").click()
    expect(page.get_by_text("Choose an answer to go on.")).to_be_visible()
    for n in range(1, 13):
        _question_inside_its_card(page, n)
        page.get_by_role("group", name=f"{n}.").get_by_label("3: Sometimes").check()
        if n < 12:
            page.get_by_role("button", name="Next question").click()
            expect(page.locator(".step-counter")).to_have_text(f"Question {n + 1} of 12")
            expect(page.locator(f"#q-{n + 1} fieldset")).to_be_focused()
    page.get_by_role("button", name="Back").click()
    expect(page.locator(".step-counter")).to_have_text("Question 11 of 12")
    page.get_by_role("button", name="Next question").click()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("Thank you. Your answers are saved.")).to_be_visible()
    assert MeasureResponse.objects.filter(measure_assignment=measure, due_date=today).count() == 1
    _open_details(page)
    audit(page)
    for name in ("measures:measures", "homework:progress", "measures:what-helps"):
        page.goto(reverse(name))
        _open_details(page)
        audit(page)


def test_it_shows_every_question_on_a_desktop_and_the_clinicians_pages_pass(
    live_server, world, new_context, audit
):
    today = local_date(timezone.now(), world.client.zone)
    measure = _history(world, today)
    client_page = new_context().new_page()
    log_in(client_page, world.client)
    client_page.goto(reverse("measures:measure-answer", args=[measure.pk]))
    expect(client_page.locator(".step-counter")).to_have_count(0)
    expect(client_page.locator("fieldset")).to_have_count(12)
    expect(client_page.locator("#q-12")).to_be_visible()
    audit(client_page)

    two_step_enrolled(world.clinician)
    page = new_context().new_page()
    log_in(page, world.clinician)
    answer = MeasureResponse.objects.get()
    for url in (
        reverse("homework:client-detail", args=[world.client.pk]),
        reverse("measures:clinician-measures", args=[world.client.pk]),
        reverse("measures:clinician-measure-response", args=[answer.pk]),
        reverse("measures:insights"),
    ):
        page.goto(url)
        _open_details(page)
        audit(page)
