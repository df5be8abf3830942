"""The key pages with the first run's demo (eight weeks of practice): audited, and pictured
for the README.

Runs in every test run (the pages must pass the audit with full charts, not only with the
journeys' single log). The pictures go to a temporary folder, or, with
KINDWORK_SCREENSHOTS=1, to docs/screenshots/ for the README:

    KINDWORK_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py
"""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import User
from homework.models import Assignment
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def practice(db, settings):
    """The first run's demo (bin/run): the README shows what a newcomer sees."""
    settings.DEMO_MODE = settings.DEBUG = True
    call_command("setup_demo", stdout=StringIO())
    call_command("demo_history", stdout=StringIO())
    robin = User.objects.get(email="clinician@demo.kindwork")
    jamie = User.objects.get(email="client1@demo.kindwork")
    for person in (robin, jamie):
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    return robin, jamie, Assignment.objects.get(client=jamie)


def _folder(tmp_path: Path) -> Path:
    if os.getenv("KINDWORK_SCREENSHOTS") == "1":
        folder = Path(settings.BASE_DIR) / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def test_it_pictures_the_key_pages_with_weeks_of_practice(
    live_server, practice, new_context, audit, tmp_path
):
    dana, alex, plan_alex = practice  # the demo's Robin, Jamie and Jamie's plan
    folder = _folder(tmp_path)

    clinician = new_context().new_page()
    log_in(clinician, dana)
    clinician.wait_for_url("**/clinician/")
    assert "may need attention" in clinician.inner_text("main")
    audit(clinician)
    clinician.screenshot(path=folder / "clinician-dashboard.png")

    clinician.get_by_role("link", name="Jamie Demo").click()
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
