"""A full disk, or a store that went read-only, while an upload is saved: the clinic's
logo (the admin) and an exercise's audio guide (the clinician's page and the API).

The disk is real: a 64 KB tmpfs mounted for the test, filled to the last byte (or mounted
read-only), so the write fails inside Django's storage as it would in production. The
person uploading gets a message, no row changes, and no partial file is left; once there
is room again the same upload is stored whole.

Needs root (mount); elsewhere these tests skip, saying why.
"""

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Clinic, Role
from homework.models import Exercise
from tests.accounts.test_branding import _clinic_form, picture
from tests.api.conftest import client_with_token, token_for
from tests.conftest import make_user
from tests.factories import make_exercise
from tests.homework.test_audio_guides import a_wav

pytestmark = pytest.mark.django_db

FILLER = "filler"


@contextlib.contextmanager
def small_disk(where: Path, *, read_only: bool) -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    where.mkdir()
    options = "size=64k" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        if not read_only:
            with (where / FILLER).open("wb") as filler, contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * 4096)
                    filler.flush()
            with pytest.raises(OSError) as full:
                (where / "probe").write_bytes(b"x" * 4096)
            assert full.value.errno == errno.ENOSPC
            (where / "probe").unlink(missing_ok=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture(params=["full", "read-only"])
def broken_disk(request, tmp_path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", read_only=request.param == "read-only") as where:
        yield where


def files_on(disk: Path) -> list[str]:
    return sorted(
        str(path.relative_to(disk))
        for path in disk.rglob("*")
        if path.is_file() and path.name != FILLER
    )


def make_room(disk: Path) -> bool:
    """Free the full disk; False for the read-only one, which stays unusable."""
    filler = disk / FILLER
    if not filler.exists():
        return False
    filler.unlink()
    return True


@pytest.fixture
def audio_on(monkeypatch):
    def point(disk: Path) -> None:
        storage = FileSystemStorage(location=disk, base_url=None)
        monkeypatch.setattr(Exercise._meta.get_field("audio"), "storage", storage)

    return point


def test_an_audio_guide_on_a_broken_disk_is_refused_with_a_message(world, broken_disk, audio_on):
    audio_on(broken_disk)
    exercise = make_exercise(world.clinic)
    url = reverse("homework:exercise-audio-attach", args=[exercise.pk])
    browser = world.login(world.clinician)

    response = browser.post(url, {"audio": SimpleUploadedFile("voice.wav", a_wav(seconds=1))})

    assert response.status_code == 400
    assert "our storage is unavailable just now" in response.content.decode()
    exercise.refresh_from_db()
    assert (exercise.audio.name, exercise.audio_content_type) == ("", "")
    assert files_on(broken_disk) == []

    if make_room(broken_disk):
        again = browser.post(url, {"audio": SimpleUploadedFile("voice.wav", a_wav(seconds=1))})
        assert again.status_code == 302
        exercise.refresh_from_db()
        assert files_on(broken_disk) == [exercise.audio.name]


def test_the_api_answers_a_broken_disk_with_a_field_message(world, broken_disk, audio_on):
    audio_on(broken_disk)
    exercise = make_exercise(world.clinic)
    clinician = client_with_token(token_for(world.clinician))
    url = f"/api/v1/exercises/{exercise.pk}/audio/"

    response = clinician.post(
        url, {"audio": SimpleUploadedFile("voice.wav", a_wav(seconds=1))}, format="multipart"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "our storage is unavailable just now" in str(response.json()["audio"])
    exercise.refresh_from_db()
    assert not exercise.audio
    assert files_on(broken_disk) == []


def test_a_replaced_audio_guide_survives_a_broken_disk(world, tmp_path, audio_on):
    # The old recording lives on a disk that works; the new one meets a full one.
    exercise = make_exercise(world.clinic)
    browser = world.login(world.clinician)
    url = reverse("homework:exercise-audio-attach", args=[exercise.pk])
    good = tmp_path / "good"
    audio_on(good)
    assert browser.post(url, {"audio": SimpleUploadedFile("a.wav", a_wav())}).status_code == 302
    exercise.refresh_from_db()
    before = (exercise.audio.name, exercise.audio_content_type)

    with small_disk(tmp_path / "disk", read_only=False) as disk:
        audio_on(disk)
        response = browser.post(url, {"audio": SimpleUploadedFile("b.wav", a_wav(seconds=1))})
        assert response.status_code == 400
        assert files_on(disk) == []
    exercise.refresh_from_db()
    assert (exercise.audio.name, exercise.audio_content_type) == before
    assert (good / before[0]).is_file()


def test_a_logo_on_a_broken_disk_is_refused_and_the_whole_change_rolled_back(
    world, broken_disk, settings
):
    from django.contrib.auth.models import Permission

    settings.MEDIA_ROOT = broken_disk
    office = make_user("office@harbour.test", Role.ADMIN, world.clinic, is_staff=True)
    office.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    url = reverse("admin:accounts_clinic_change", args=[world.clinic.pk])
    browser = world.login(office)

    def upload():
        return browser.post(
            url,
            _clinic_form(
                world.clinic,
                name="Renamed",
                display_name="Harbour Wellbeing",
                logo_upload=SimpleUploadedFile("logo.png", picture(), content_type="image/png"),
            ),
            follow=True,
        )

    response = upload()

    assert response.status_code == 200
    assert response.redirect_chain == [(url, 302)]
    assert "The logo could not be saved: our storage is unavailable just now" in (
        response.content.decode()
    )
    clinic = Clinic.objects.get(pk=world.clinic.pk)
    assert (clinic.name, clinic.display_name, clinic.logo.name) == ("Harbour Clinic", "", "")
    assert files_on(broken_disk) == []

    if make_room(broken_disk):
        assert upload().status_code == 200
        clinic.refresh_from_db()
        assert clinic.name == "Renamed"
        assert files_on(broken_disk) == [clinic.logo.name]
