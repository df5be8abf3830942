"""The installable app's manifest, service worker and per-person offline key."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from accounts.offline import OFFLINE_KEY_HEADER, offline_cache_key
from homework.models import Exercise
from homework.services.exercises import exercise_audio_attach, exercise_library_load
from homework.views.app import OFFLINE_MAX_PAGES, cache_version
from tests.factories import make_assignment, make_exercise
from tests.homework.test_audio_guides import a_wav

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


def test_the_crisis_help_page_is_kept_for_a_client_only(world):
    url = reverse("accounts:crisis-help")
    mine = world.login(world.client).get(url)
    assert mine.status_code == 200
    assert mine[OFFLINE_KEY_HEADER] == offline_cache_key(world.client)
    assert f'href="{url}" data-offline-keep' in mine.content.decode()
    clinician = world.login(world.clinician).get(url)
    assert clinician.status_code == 200 and OFFLINE_KEY_HEADER not in clinician


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


# --- "I need a moment", always on Today ---


def test_today_always_offers_a_moment_and_it_opens_a_built_in_practice(world):
    exercise_library_load()
    make_assignment(world.client)  # a planned practice, not an "any time" one
    browser = world.login(world.client)
    today = browser.get(reverse("homework:today")).content.decode()
    assert "I need a moment" in today
    assert f'href="{reverse("homework:moment")}" data-offline-keep' in today

    response = browser.get(reverse("homework:moment"))
    assert response.status_code == 200
    assert response[OFFLINE_KEY_HEADER] == offline_cache_key(world.client)
    page = response.content.decode()
    built_in = Exercise.objects.get(clinic__isnull=True, slug="self-compassion-break")
    assert built_in.title in page
    assert all(escape(step) in page for step in built_in.steps)
    assert "any time you need it" in page
    # Nothing to log against a plan: no log form, no log link.
    assert "data-offline-log" not in page and "/log/" not in page


def test_a_moment_with_no_plans_at_all_still_opens(world):
    exercise_library_load()
    today = world.login(world.client).get(reverse("homework:today")).content.decode()
    assert "I need a moment" in today
    page = world.login(world.client).get(reverse("homework:moment")).content.decode()
    assert "Self-compassion break" in page


def test_a_moment_offers_the_clients_own_any_time_practices_when_they_have_them(world):
    exercise_library_load()
    mine = make_assignment(world.client, make_exercise(title="Three breaths", any_time=True))
    theirs = make_assignment(
        world.other_client, make_exercise(title="Hand on heart", any_time=True)
    )
    page = world.login(world.client).get(reverse("homework:moment")).content.decode()
    assert reverse("homework:practice", args=[mine.pk]) in page
    assert "Three breaths" in page
    assert (
        "Hand on heart" not in page and reverse("homework:practice", args=[theirs.pk]) not in page
    )
    assert "Self-compassion break" not in page  # their own practice, not the built-in one
    today = world.login(world.client).get(reverse("homework:today")).content.decode()
    assert reverse("homework:practice", args=[mine.pk]) in today


def test_only_a_client_opens_a_moment(world):
    url = reverse("homework:moment")
    response = world.login(None).get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    for person in (world.clinician, world.colleague, world.stranger_clinician, world.admin):
        response = world.login(person).get(url)
        assert response.status_code in (302, 403, 404)
        assert OFFLINE_KEY_HEADER not in response
        assert b"Self-compassion break" not in response.content


# --- Audio guides kept offline for current plans ---


@pytest.fixture
def audio_store(tmp_path, monkeypatch) -> FileSystemStorage:
    storage = FileSystemStorage(location=tmp_path / "audio", base_url=None)
    monkeypatch.setattr(Exercise._meta.get_field("audio"), "storage", storage)
    return storage


def _with_recording(exercise: Exercise) -> Exercise:
    exercise_audio_attach(
        exercise=exercise, upload=SimpleUploadedFile("voice.wav", a_wav(), "audio/wav")
    )
    exercise.refresh_from_db()
    return exercise


def test_today_lists_the_recordings_of_the_clients_current_plans_only(world, audio_store):
    current = _with_recording(make_exercise(world.clinic, title="Soothing touch"))
    paused = _with_recording(make_exercise(world.clinic, title="Kind phrases"))
    ended = _with_recording(make_exercise(world.clinic, title="Old practice"))
    theirs = _with_recording(make_exercise(world.clinic, title="Blair's practice"))
    make_assignment(world.client, current)
    make_assignment(world.client, paused, status="paused")
    make_assignment(world.client, ended, status="ended")
    make_assignment(world.other_client, theirs)
    page = world.login(world.client).get(reverse("homework:today")).content.decode()
    listed = page.split('<meta name="kindwork-offline-audio" content="')[1].split('"')[0].split()
    assert sorted(listed) == sorted([current.audio_url, paused.audio_url])


def test_a_recording_is_marked_for_keeping_for_the_client_only(world, audio_store):
    exercise = _with_recording(make_exercise(world.clinic, title="Soothing touch"))
    make_assignment(world.client, exercise)
    mine = world.login(world.client).get(exercise.audio_url)
    assert mine.status_code == 200
    assert mine[OFFLINE_KEY_HEADER] == offline_cache_key(world.client)
    clinician = world.login(world.clinician).get(exercise.audio_url)
    assert clinician.status_code == 200 and OFFLINE_KEY_HEADER not in clinician
    # A range (how a phone seeks) is never kept: the app keeps the whole file.
    part = world.login(world.client).get(exercise.audio_url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and OFFLINE_KEY_HEADER not in part
    for person in (world.other_client, world.stranger_client, world.stranger_clinician):
        assert world.login(person).get(exercise.audio_url).status_code == 404


def test_a_replaced_recording_gets_a_new_address(world, audio_store):
    exercise = _with_recording(make_exercise(world.clinic, title="Soothing touch"))
    first = exercise.audio_url
    assert first.startswith(reverse("homework:exercise-audio", args=[exercise.pk]) + "?v=")
    assert _with_recording(exercise).audio_url != first
    assert make_exercise(world.clinic).audio_url == ""


# --- Versioned, bounded caches ---


def test_the_worker_carries_the_cache_version_and_the_page_bound(client):
    body = client.get("/sw.js").content.decode()
    assert f'const VERSION = "{cache_version()}";' in body
    assert f"const MAX_PAGES = {OFFLINE_MAX_PAGES};" in body
    assert len(cache_version()) == 12


def test_the_cache_version_changes_with_the_static_files(settings, tmp_path):
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "app.js").write_text("one")
    settings.STATICFILES_DIRS = [folder]
    cache_version.cache_clear()
    try:
        before = cache_version()
        (folder / "app.js").write_text("two")
        cache_version.cache_clear()
        assert cache_version() != before
    finally:
        cache_version.cache_clear()
