"""The installable app's manifest, service worker and per-person offline key."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from homework.models import Exercise
from homework.views.app import OFFLINE_KEY_HEADER, offline_cache_key
from tests.factories import make_assignment

ICONS = Path(settings.BASE_DIR) / "static" / "icons"


def test_the_manifest_names_the_clients_clinic_and_opens_on_today(world):
    response = world.login(world.client).get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == world.clinic.name
    assert manifest["start_url"] == reverse("homework:today") == "/portal/"
    assert manifest["display"] == "standalone"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}


def test_the_manifest_says_kindwork_before_anyone_logs_in(client, settings):
    settings.SITE_NAME = "Kindwork"
    manifest = json.loads(client.get("/manifest.webmanifest").content)
    assert manifest["name"] == "Kindwork"


@pytest.mark.parametrize(
    ("name", "size"),
    [("icon-192.png", 192), ("icon-512.png", 512), ("icon-maskable-512.png", 512)],
)
def test_the_icons_are_real_pngs_of_their_stated_size(name, size):
    with Image.open(ICONS / name) as image:
        assert (image.format, image.size) == ("PNG", (size, size))


def test_the_service_worker_is_served_at_the_root_as_javascript(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert f'const KEY_HEADER = "{OFFLINE_KEY_HEADER}";' in body
    assert "{%" not in body and "{{" not in body
    # Only the portal and static files are ever kept; never the API or staff pages.
    assert 'const NEVER = ["/api/", "/clinician/", "/admin/", "/accounts/"];' in body


def test_the_service_worker_refuses_anything_but_get(client):
    assert client.post("/sw.js").status_code == 405
    assert client.post("/manifest.webmanifest").status_code == 405


def test_a_clients_pages_carry_their_own_offline_key(world):
    assignment = make_assignment(world.client)
    mine = world.login(world.client)
    key = offline_cache_key(world.client)
    assert key and str(world.client.pk) != key
    for url in (
        reverse("homework:today"),
        reverse("homework:practice", args=[assignment.pk]),
        reverse("homework:log", args=[assignment.pk]),
    ):
        response = mine.get(url)
        assert response[OFFLINE_KEY_HEADER] == key
        assert f'<meta name="kindwork-offline-key" content="{key}">' in response.content.decode()
    assert offline_cache_key(world.other_client) not in (key, "")


def test_no_one_elses_pages_are_marked_for_keeping(world):
    assignment = make_assignment(world.client)
    # A clinician's pages, the API, an anonymous visitor, someone else's plan, a POST.
    clinician = world.login(world.clinician)
    for response in (
        clinician.get(reverse("homework:dashboard")),
        clinician.get(reverse("homework:client-detail", args=[world.client.pk])),
        world.login(None).get(reverse("homework:today")),
        world.login(world.other_client).get(reverse("homework:practice", args=[assignment.pk])),
        world.login(world.stranger_client).get(reverse("homework:log", args=[assignment.pk])),
        world.login(world.client).post(reverse("homework:log", args=[assignment.pk]), {}),
    ):
        assert OFFLINE_KEY_HEADER not in response
    page = clinician.get(reverse("homework:dashboard")).content.decode()
    assert '<meta name="kindwork-offline-key" content="">' in page


def test_a_clinician_marks_their_exercise_any_time(world):
    browser = world.login(world.clinician)
    response = browser.post(
        reverse("homework:exercise-create"),
        {
            "title": "Three breaths",
            "category": "soothing",
            "summary": "Three slow breaths.",
            "steps": "Breathe in slowly.\nBreathe out slowly.",
            "prompts": "",
            "typical_minutes": "2",
            "any_time": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert Exercise.objects.get(title="Three breaths").any_time is True
