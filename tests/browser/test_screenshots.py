"""The key pages with a few weeks of realistic practice: audited, and pictured for the README.

Runs in every test run (the pages must pass the audit with full charts, not only with the
journeys' single log). The pictures go to a temporary folder, or, with
KINDWORK_SCREENSHOTS=1, to docs/screenshots/ for the README:

    KINDWORK_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py
"""

import os
import random
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Clinic, Role
from homework.models import Assignment, Exercise
from homework.schedule import local_date
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.conftest import make_client, make_user
from tests.factories import make_assignment, make_completion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEEKS = 10
REFLECTIONS = [
    "Hard to start, but the second step landed: other people feel this too.",
    "Said the phrase out loud in the car. Felt silly, then a bit lighter.",
    "Didn't feel much today. Did it anyway.",
    "Caught the critical voice earlier than usual.",
]


def _practice_history(assignment: Assignment, today: date, *, every: int, improving: bool) -> None:
    """A practice every `every` days until yesterday, distress after easing over the weeks."""
    rng = random.Random(assignment.pk)
    start = assignment.start_date
    for offset in range(0, (today - start).days, every):
        day = start + timedelta(days=offset)
        progress = offset / max(1, (today - start).days)
        before = min(10, max(0, round(7 + rng.uniform(-1, 1))))
        after = min(before, max(0, round(before - 1 - (3 * progress if improving else 0))))
        make_completion(
            assignment,
            day,
            minutes=rng.choice([5, 5, 6, 8, 10]),
            distress_before=before,
            distress_after=after,
            answers={"moment": "A hard moment at work.", "phrase": "May I be kind to myself."},
            reflection=REFLECTIONS[offset % len(REFLECTIONS)],
        )


@pytest.fixture
def practice(db):
    clinic = Clinic.objects.create(name="Harbour Clinic", timezone="Europe/London")
    dana = make_user("dana@harbour.test", Role.CLINICIAN, clinic, full_name="Dana Rivers")
    two_step_enrolled(dana)
    today = local_date(timezone.now(), ZoneInfo(clinic.timezone))
    started = today - timedelta(weeks=WEEKS)
    exercise = Exercise.objects.get(slug="self-compassion-break", clinic__isnull=True)
    other = Exercise.objects.filter(clinic__isnull=True).exclude(pk=exercise.pk).first()

    alex = make_client("alex@client.test", dana, full_name="Alex Morgan", timezone="Europe/London")
    plan_alex = make_assignment(
        alex,
        exercise,
        start_date=started,
        reminder_time=time(18, 30),
        note="Try it when the inner critic gets loud; a minute or two is plenty.",
    )
    _practice_history(plan_alex, today, every=1, improving=True)
    # Most days, not all: a few gaps make the weekly bars honest.
    alex.completions.filter(
        local_date__in=[started + timedelta(days=d) for d in (3, 9, 17, 24)]
    ).delete()

    sam = make_client("sam@client.test", dana, full_name="Sam Okafor", timezone="Europe/London")
    plan_sam = make_assignment(sam, other, start_date=started)
    _practice_history(plan_sam, today - timedelta(days=6), every=2, improving=False)

    priya = make_client("priya@client.test", dana, full_name="Priya Shah", timezone="Asia/Kolkata")
    plan_priya = make_assignment(
        priya, exercise, schedule_kind="times_per_week", times_per_week=3, start_date=started
    )
    _practice_history(plan_priya, today, every=2, improving=True)

    make_client("jordan@client.test", dana, full_name="Jordan Blake", timezone="Europe/London")
    return dana, alex, plan_alex


def _folder(tmp_path: Path) -> Path:
    if os.getenv("KINDWORK_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def test_it_pictures_the_key_pages_with_weeks_of_practice(
    live_server, practice, new_context, audit, tmp_path
):
    dana, alex, plan_alex = practice
    folder = _folder(tmp_path)

    clinician = new_context().new_page()
    log_in(clinician, dana)
    clinician.wait_for_url("**/clinician/")
    assert "may need attention" in clinician.inner_text("main")
    audit(clinician)
    clinician.screenshot(path=folder / "clinician-dashboard.png")

    clinician.get_by_role("link", name="Alex Morgan").click()
    audit(clinician)
    charts = clinician.locator("section[aria-labelledby=charts-heading]")
    assert charts.locator("figure.chart svg").count() >= 2
    bottom = charts.bounding_box()
    clinician.screenshot(
        path=folder / "clinician-client-charts.png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": bottom["y"] + bottom["height"] + 16},
    )

    client = new_context(PHONE).new_page()
    log_in(client, alex)
    client.wait_for_url("**/portal/")
    assert client.get_by_role("link", name="Start practice").is_visible()
    audit(client)
    client.screenshot(path=folder / "client-today-phone.png")

    client.goto(f"/portal/practice/{plan_alex.pk}/log/")
    audit(client)
    # Half filled in, as a client sees it while logging.
    client.get_by_role("group", name="Distress before").get_by_label("7", exact=True).check()
    client.get_by_role("group", name="Distress after").get_by_label("4", exact=True).check()
    client.get_by_label("What was the hard moment?").fill("Replaying a mistake from work.")
    client.screenshot(path=folder / "client-log-phone.png", full_page=True)

    client.goto("/portal/progress/")
    audit(client)
    client.screenshot(path=folder / "client-progress-phone.png", full_page=True)

    for name in [
        "clinician-dashboard",
        "clinician-client-charts",
        "client-today-phone",
        "client-log-phone",
        "client-progress-phone",
    ]:
        picture = folder / f"{name}.png"
        assert picture.read_bytes().startswith(b"\x89PNG"), name
