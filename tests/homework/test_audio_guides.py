"""Audio guides: attached by the clinic's clinicians, checked by content, stored privately,
played on the client's practice page and served with byte ranges to those who may see
the exercise only."""

import io
import math
import os
import struct
import wave

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from homework.audio import RangeNotSatisfiable, audio_kind, byte_range
from homework.models import Exercise
from tests.api.conftest import client_with_token, token_for
from tests.factories import make_assignment, make_exercise

pytestmark = pytest.mark.django_db


def a_wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A real, small WAV: a quiet 440 Hz tone, 16-bit mono."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = int(seconds * rate)
        out.writeframes(
            b"".join(
                struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * n / rate)))
                for n in range(frames)
            )
        )
    return buffer.getvalue()


@pytest.fixture
def audio_store(tmp_path, monkeypatch) -> FileSystemStorage:
    """Audio in a folder of the test's own, so what is stored (or not) can be counted."""
    storage = FileSystemStorage(location=tmp_path / "audio", base_url=None)
    monkeypatch.setattr(Exercise._meta.get_field("audio"), "storage", storage)
    return storage


def stored_files(storage: FileSystemStorage) -> list[str]:
    root = storage.location
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    )


@pytest.fixture
def guided(world, audio_store):
    """A clinic exercise with a recording, on a plan of world.client."""
    exercise = make_exercise(world.clinic, title="Soothing touch")
    make_assignment(world.client, exercise)
    browser = world.login(world.clinician)
    data = a_wav()
    response = browser.post(
        reverse("homework:exercise-audio-attach", args=[exercise.pk]),
        {"audio": SimpleUploadedFile("my voice.wav", data, content_type="audio/wav")},
    )
    assert response.status_code == 302
    exercise.refresh_from_db()
    return exercise, data


def test_a_clinician_attaches_a_recording_and_the_client_plays_it(world, guided, audio_store):
    exercise, data = guided
    assert exercise.audio_content_type == "audio/wav"
    assert exercise.audio.name.endswith(".wav")
    assert "my voice" not in exercise.audio.name
    assert len(stored_files(audio_store)) == 1

    assignment = exercise.assignments.get(client=world.client)
    page = world.login(world.client).get(reverse("homework:practice", args=[assignment.pk]))
    html = page.content.decode()
    audio_url = reverse("homework:exercise-audio", args=[exercise.pk])
    assert f'<audio controls preload="none" src="{escape(exercise.audio_url)}"' in html
    assert exercise.audio_url.startswith(f"{audio_url}?v=")
    assert "the steps below are its transcript" in html

    whole = world.login(world.client).get(audio_url)
    assert whole.status_code == 200
    assert whole["Content-Type"] == "audio/wav"
    assert whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == data


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-10", None, None)],
)
def test_it_serves_byte_ranges_so_a_phone_can_seek(world, guided, header, start, end):
    exercise, data = guided
    size = len(data)
    if start is None:
        start, end = size - 10, size - 1
    end = size - 1 if end is None else end
    response = world.login(world.client).get(
        reverse("homework:exercise-audio", args=[exercise.pk]), HTTP_RANGE=header
    )
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    body = b"".join(response.streaming_content)
    assert body == data[start : end + 1]
    assert response["Content-Length"] == str(len(body))


def test_a_range_outside_the_file_is_not_satisfiable(world, guided):
    exercise, data = guided
    response = world.login(world.client).get(
        reverse("homework:exercise-audio", args=[exercise.pk]), HTTP_RANGE=f"bytes={len(data)}-"
    )
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("who", ["stranger_client", "other_client", "stranger_clinician"])
def test_people_who_may_not_see_the_exercise_get_not_found(world, guided, who):
    exercise, _ = guided
    response = world.login(getattr(world, who)).get(
        reverse("homework:exercise-audio", args=[exercise.pk])
    )
    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(world, guided):
    exercise, _ = guided
    response = world.login(None).get(reverse("homework:exercise-audio", args=[exercise.pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_file_renamed_to_mp3_that_is_not_audio_is_refused(world, audio_store):
    exercise = make_exercise(world.clinic)
    response = world.login(world.clinician).post(
        reverse("homework:exercise-audio-attach", args=[exercise.pk]),
        {
            "audio": SimpleUploadedFile(
                "guide.mp3", b"%PDF-1.7 not a recording at all", content_type="audio/mpeg"
            )
        },
    )
    assert response.status_code == 400
    assert "not a recording we can play" in response.content.decode()
    exercise.refresh_from_db()
    assert not exercise.audio
    assert stored_files(audio_store) == []


def test_a_recording_over_the_size_limit_is_refused(world, audio_store, settings):
    settings.AUDIO_MAX_BYTES = 1000
    exercise = make_exercise(world.clinic)
    response = world.login(world.clinician).post(
        reverse("homework:exercise-audio-attach", args=[exercise.pk]),
        {"audio": SimpleUploadedFile("long.wav", a_wav(seconds=1))},
    )
    assert response.status_code == 400
    assert "at most 1 MB" in response.content.decode()
    assert stored_files(audio_store) == []


def test_replacing_and_removing_leave_no_file_behind(world, guided, audio_store):
    exercise, _ = guided
    browser = world.login(world.clinician)
    browser.post(
        reverse("homework:exercise-audio-attach", args=[exercise.pk]),
        {"audio": SimpleUploadedFile("again.wav", a_wav(seconds=0.1))},
    )
    exercise.refresh_from_db()
    assert stored_files(audio_store) == [exercise.audio.name]

    browser.post(reverse("homework:exercise-audio-remove", args=[exercise.pk]))
    exercise.refresh_from_db()
    assert not exercise.audio
    assert stored_files(audio_store) == []


@pytest.mark.parametrize("who", ["client", "stranger_clinician"])
def test_only_the_clinics_clinicians_attach(world, audio_store, who):
    exercise = make_exercise(world.clinic)
    make_assignment(world.client, exercise)
    response = world.login(getattr(world, who)).post(
        reverse("homework:exercise-audio-attach", args=[exercise.pk]),
        {"audio": SimpleUploadedFile("x.wav", a_wav())},
    )
    assert response.status_code in (403, 404)
    assert stored_files(audio_store) == []


def test_a_built_in_exercise_takes_no_recording(world, audio_store):
    builtin = make_exercise(None, slug="audio-builtin")
    response = world.login(world.clinician).post(
        reverse("homework:exercise-audio-attach", args=[builtin.pk]),
        {"audio": SimpleUploadedFile("x.wav", a_wav())},
    )
    assert response.status_code == 403
    assert stored_files(audio_store) == []


# --- The API ---


def test_the_api_uploads_and_plays_a_recording_with_ranges(world, audio_store):
    exercise = make_exercise(world.clinic)
    make_assignment(world.client, exercise)
    url = f"/api/v1/exercises/{exercise.pk}/audio/"
    clinician = client_with_token(token_for(world.clinician))
    data = a_wav()

    created = clinician.post(url, {"audio": io.BytesIO(data)}, format="multipart")
    assert created.status_code == 201, created.content
    assert created.json()["has_audio"] is True

    client = client_with_token(token_for(world.client))
    ranged = client.get(url, HTTP_RANGE="bytes=4-11")
    assert ranged.status_code == 206
    assert b"".join(ranged.streaming_content) == data[4:12]
    stranger = client_with_token(token_for(world.stranger_client))
    assert stranger.get(url).status_code == 404
    assert client.delete(url).status_code == 403
    assert clinician.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_the_api_refuses_a_renamed_file_with_a_field_message(world, audio_store):
    exercise = make_exercise(world.clinic)
    clinician = client_with_token(token_for(world.clinician))
    fake = SimpleUploadedFile("voice.mp3", b"<html>hello</html>", content_type="audio/mpeg")
    response = clinician.post(
        f"/api/v1/exercises/{exercise.pk}/audio/", {"audio": fake}, format="multipart"
    )
    assert response.status_code == 400
    assert "audio" in str(response.json())
    assert stored_files(audio_store) == []


# --- What a file is ---


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"OggS\x00\x02" + b"\x00" * 10, "audio/ogg"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + b"\x00" * 8, "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", "audio/mp4"),
        (b"%PDF-1.7\n", None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"\x00\x00\x00\x20ftypavif", None),
        (b"", None),
    ],
)
def test_it_knows_audio_by_its_first_bytes(head, kind):
    found = audio_kind(head)
    assert (found[0] if found else None) == kind


def test_it_reads_range_headers_as_the_standard_says():
    assert byte_range("", 100) is None
    assert byte_range("bytes=0-0,5-6", 100) is None  # several: the whole file
    assert byte_range("bytes=10-500", 100).end == 99
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=5-2", 100)
