"""Beyond the journeys: every page a client, a clinician or a visitor can open passes the audit.

The journeys audit the pages on their way; this opens the rest (library, plan editing,
settings, weekly pages, measures, export, calendar) with a little data behind them, a
client on a phone and a clinician on a clinic PC, and audits each one.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from homework.models import Exercise
from homework.schedule import local_date
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.factories import make_assignment, make_completion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _pages(names_and_args: list[tuple]) -> list[str]:
    return [reverse(name, args=args) for name, *args in names_and_args]


def _audit_each(page, audit, paths: list[str]) -> None:
    """Open each page, unfold its <details> (the charts' tables are in them), and audit it."""
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        audit(page)


def test_it_audits_every_page_a_client_opens(live_server, world, new_context, audit):
    today = local_date(timezone.now(), world.client.zone)
    exercise = Exercise.objects.get(slug="self-compassion-break", clinic__isnull=True)
    assignment = make_assignment(world.client, exercise, start_date=today - timedelta(days=10))
    make_completion(assignment, today - timedelta(days=1), distress_before=6, distress_after=3)
    monday = today - timedelta(days=today.weekday() + 7)
    page = new_context(PHONE).new_page()
    log_in(page, world.client)

    _audit_each(
        page,
        audit,
        _pages(
            [
                ("homework:today",),
                ("homework:moment",),
                ("homework:practice", assignment.pk),
                ("homework:log", assignment.pk),
                ("homework:history",),
                ("homework:progress",),
                ("homework:phrases",),
                ("outreach:reminder-preferences",),
                ("outreach:client-week", monday.isoformat()),
                ("measures:measures",),
                ("measures:what-helps",),
                ("records:export",),
                ("outreach:calendar",),
                ("accounts:settings",),
                ("accounts:password-change",),
                ("accounts:mfa",),
            ]
        ),
    )


def test_it_audits_every_page_a_clinician_opens(live_server, world, new_context, audit):
    today = local_date(timezone.now(), world.client.zone)
    exercise = Exercise.objects.get(slug="self-compassion-break", clinic__isnull=True)
    assignment = make_assignment(world.client, exercise, start_date=today - timedelta(days=10))
    make_completion(assignment, today - timedelta(days=1), distress_before=6, distress_after=3)
    monday = today - timedelta(days=today.weekday() + 7)
    two_step_enrolled(world.clinician)
    page = new_context().new_page()
    log_in(page, world.clinician)

    _audit_each(
        page,
        audit,
        _pages(
            [
                ("homework:dashboard",),
                ("homework:client-detail", world.client.pk),
                ("homework:exercise-list",),
                ("homework:exercise-detail", exercise.pk),
                ("homework:exercise-create",),
                ("homework:assignment-create", world.client.pk),
                ("homework:assignment-edit", assignment.pk),
                ("measures:clinician-measures", world.client.pk),
                ("measures:insights",),
                ("outreach:clinician-week", monday.isoformat()),
                ("outreach:clinician-notifications",),
                ("accounts:invitations",),
                ("accounts:settings",),
                ("accounts:mfa",),
            ]
        ),
    )


def test_it_audits_the_pages_before_logging_in(live_server, new_context, audit):
    page = new_context(PHONE).new_page()
    _audit_each(page, audit, _pages([("accounts:login",), ("accounts:password-reset",)]))
    page.get_by_label("Email address").fill("someone@example.test")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    audit(page)
