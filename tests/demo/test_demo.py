"""The first-run demo: people, eight weeks of history, lost passwords and DEMO_MODE."""

import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import mfa
from accounts.models import Role, User
from homework.models import Assignment, Completion, Feedback
from homework.selectors.progress import caseload_for_clinician, client_progress
from measures.insights import what_helps_for_client
from measures.models import MeasureResponse
from measures.selectors import measure_history

DASHBOARD = reverse("homework:dashboard")


@pytest.fixture
def demo(db) -> dict[str, str]:
    """The demo loaded as bin/run loads it; the passwords it printed."""
    out = StringIO()
    call_command("setup_demo", stdout=out)
    call_command("demo_history", stdout=StringIO())
    return dict(re.findall(r"^\s+(\S+@demo\.kindwork)\s+(\S+)$", out.getvalue(), re.M))


def test_every_demo_client_has_a_plan_practice_and_charts_to_show(demo):
    clients = list(User.objects.filter(role=Role.CLIENT))
    assert len(clients) == 10
    for client in clients:
        progress = client_progress(client=client)
        assert any(week.adherence.planned for week in progress.weeks), client.email
        assert Completion.objects.filter(client=client).exists(), client.email
        assert measure_history(client=client), client.email
    steady = User.objects.get(email="client1@demo.kindwork")
    progress = client_progress(client=steady)
    assert progress.rating_series, "the ratings chart has data"
    assert sum(1 for week in progress.weeks if week.adherence.done) >= 6
    assert any(insight.seems_to_help for insight in what_helps_for_client(client=steady))
    # The SCS-SF trend: the latest total is higher than the first.
    scores = [item.scores.total.value for item in measure_history(client=steady)]
    assert scores[0] > scores[-1]


# Every day of a week, early and late in the UTC day: the clients' zones run from
# UTC-8 to UTC+11, so each of them sees every weekday, and the day turning, somewhere.
INSTANTS = [
    datetime(2026, 12, day, hour, 5, tzinfo=UTC) for day in range(7, 14) for hour in (3, 19)
]


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda instant: f"{instant:%a %H:%M}")
def test_only_the_fading_client_is_flagged_whatever_the_day(db, monkeypatch, instant):
    """The demo tells the same story whenever it is loaded: a client who practises a few
    times a week never looks a week idle because two planned days in a row were skipped."""
    monkeypatch.setattr(timezone, "now", lambda: instant)
    call_command("setup_demo", stdout=StringIO())
    call_command("demo_history", stdout=StringIO())

    for email, expected in [
        ("clinician@demo.kindwork", ["client2@demo.kindwork"]),
        ("clinician2@demo.kindwork", []),
    ]:
        rows = caseload_for_clinician(clinician=User.objects.get(email=email), now=instant)
        assert [row.client.email for row in rows if row.needs_attention] == expected


def test_the_stories_show_one_fading_client_flagged_and_one_just_started(demo):
    robin = User.objects.get(email="clinician@demo.kindwork")
    rows = {row.client.email: row for row in caseload_for_clinician(clinician=robin)}
    flagged = [email for email, row in rows.items() if row.needs_attention]
    assert flagged == ["client2@demo.kindwork"]
    new = Assignment.objects.get(client__email="client5@demo.kindwork")
    assert (rows["client5@demo.kindwork"].local_date - new.start_date).days == 2
    sasha = User.objects.get(email="clinician2@demo.kindwork")
    assert not any(row.needs_attention for row in caseload_for_clinician(clinician=sasha))


def test_it_has_shared_and_private_reflections_and_feedback(demo):
    # Encrypted at rest, so compared in Python rather than in SQL.
    written = {log.reflection_shared for log in Completion.objects.all() if log.reflection}
    assert written == {True, False}
    assert Feedback.objects.exists()
    assert Feedback.objects.filter(read_at__isnull=True).count() < Feedback.objects.count()


def test_running_it_again_adds_nothing(demo):
    counts = (
        Assignment.objects.count(),
        Completion.objects.count(),
        MeasureResponse.objects.count(),
    )
    call_command("setup_demo", stdout=StringIO())
    call_command("demo_history", stdout=StringIO())
    assert counts == (
        Assignment.objects.count(),
        Completion.objects.count(),
        MeasureResponse.objects.count(),
    )
    assert User.objects.count() == 14


def test_the_clinicians_client_page_draws_non_empty_charts(demo, settings):
    settings.DEMO_MODE = settings.DEBUG = True
    browser = Client()
    browser.force_login(User.objects.get(email="clinician@demo.kindwork"))
    client = User.objects.get(email="client1@demo.kindwork")
    page = browser.get(reverse("homework:client-detail", args=[client.pk])).content.decode()
    assert page.count('<figure class="chart"') >= 3  # adherence, ratings, questionnaire
    assert "No before and after ratings" not in page


# --- lost passwords -------------------------------------------------------------------


def test_demo_passwords_prints_new_ones_that_work(demo, settings):
    settings.DEMO_MODE = settings.DEBUG = True
    out = StringIO()
    call_command("demo_passwords", stdout=out)
    fresh = dict(re.findall(r"^\s+(\S+@demo\.kindwork)\s+(\S+)$", out.getvalue(), re.M))
    assert set(fresh) == set(demo)
    client = User.objects.get(email="client3@demo.kindwork")
    assert client.check_password(fresh[client.email])
    assert not client.check_password(demo[client.email])


def test_demo_passwords_refuses_outside_demo_mode(demo, settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO_MODE"):
        call_command("demo_passwords", stdout=StringIO())
    client = User.objects.get(email="client3@demo.kindwork")
    assert client.check_password(demo[client.email])


# --- DEMO_MODE ------------------------------------------------------------------------


def test_a_system_check_refuses_demo_mode_without_debug(settings):
    settings.DEMO_MODE, settings.DEBUG = True, False
    assert "kindwork.E001" in {message.id for message in run_checks()}
    settings.DEBUG = True
    assert "kindwork.E001" not in {message.id for message in run_checks()}


def test_demo_staff_skip_the_authenticator_only_in_demo_mode(demo, settings):
    robin = User.objects.get(email="clinician@demo.kindwork")
    settings.DEMO_MODE = settings.DEBUG = True
    assert not mfa.mfa_required(robin)
    browser = Client()
    login = browser.post(
        reverse("accounts:login"), {"username": robin.email, "password": demo[robin.email]}
    )
    assert login.status_code == 302
    page = browser.get(DASHBOARD)
    assert page.status_code == 200
    assert "Demo:" in page.content.decode()
    settings.DEMO_MODE = False
    assert mfa.mfa_required(robin)
    settings.DEMO_MODE, settings.DEBUG = True, False  # a server that skipped the checks
    assert mfa.mfa_required(robin)
    settings.DEMO_MODE, settings.DEBUG = False, True
    assert browser.get(DASHBOARD)["Location"].startswith(reverse("accounts:mfa-setup"))


def test_demo_mode_does_not_excuse_other_staff(world, settings):
    settings.DEMO_MODE = settings.DEBUG = True
    assert mfa.mfa_required(world.clinician)


def test_the_login_page_says_it_is_a_demo_only_in_demo_mode(db, settings, client):
    settings.DEMO_MODE = settings.DEBUG = True
    assert "Demo:" in client.get(reverse("accounts:login")).content.decode()
    settings.DEMO_MODE = False
    assert "Demo:" not in client.get(reverse("accounts:login")).content.decode()
