"""In Debian's Chromium under the enforced CSP: the Reminders page's channel choice
(push.js runs and says what this browser can do), an audio guide a clinician attached
and a client plays (Chromium fetches it with range requests), and the audit on each page."""

import io
import math
import struct
import wave

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ClientProfile
from homework.models import Exercise
from homework.services.exercises import exercise_audio_attach
from tests.browser.conftest import PHONE
from tests.browser.helpers import log_in, two_step_enrolled
from tests.factories import make_assignment, make_exercise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(
            b"".join(
                struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * n / rate)))
                for n in range(int(seconds * rate))
            )
        )
    return buffer.getvalue()


def test_the_reminders_page_offers_the_channels_under_the_policy(
    live_server, world, new_context, audit
):
    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.goto(reverse("outreach:reminder-preferences"))
    status = page.locator("#push-status")
    # The script replaced the no-JavaScript sentence with what this browser can do.
    page.wait_for_function(
        "() => !document.getElementById('push-status').textContent.includes('need JavaScript')"
    )
    assert "JavaScript" not in status.inner_text()
    audit(page)

    page.get_by_label("Email").check()
    page.get_by_role("button", name="Save how we remind you").click()
    page.wait_for_load_state()
    assert "How we remind you is saved." in page.content()
    assert ClientProfile.objects.get(user=world.client).email_reminders is True
    audit(page)


def test_a_clinician_chooses_notifications_on_this_device_under_the_policy(
    live_server, world, new_context, audit
):
    two_step_enrolled(world.clinician)
    page = new_context().new_page()
    log_in(page, world.clinician)
    page.goto(reverse("accounts:settings"))
    page.get_by_role("link", name="Notifications on this device").click()
    page.wait_for_load_state()
    # push.js found the clinician's section and replaced the no-JavaScript sentence.
    page.wait_for_function(
        "() => !document.getElementById('push-status').textContent.includes('need JavaScript')"
    )
    status = page.locator("#push-status").inner_text()
    # In the clinician's words (the section's data-text-*), never the client's reminders.
    assert "reminders" not in status
    assert "Email still comes" in status or "can show notifications" in status
    audit(page)
    # No worker of the site controls a clinician's page: nothing of it is kept offline.
    assert page.evaluate("() => navigator.serviceWorker.controller === null")

    page.get_by_label("Email only").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "Notifications on this device are saved." in page.content()
    audit(page)


def test_a_client_plays_the_audio_guide_their_clinician_attached(
    live_server, world, new_context, audit, tmp_path, monkeypatch
):
    storage = FileSystemStorage(location=tmp_path / "audio", base_url=None)
    monkeypatch.setattr(Exercise._meta.get_field("audio"), "storage", storage)
    exercise = make_exercise(world.clinic, title="Soothing touch")
    assignment = make_assignment(world.client, exercise)
    exercise_audio_attach(
        exercise=exercise, upload=SimpleUploadedFile("voice.wav", a_wav(), "audio/wav")
    )

    two_step_enrolled(world.clinician)
    clinician = new_context().new_page()
    log_in(clinician, world.clinician)
    clinician.goto(reverse("homework:exercise-detail", args=[exercise.pk]))
    audit(clinician)

    page = new_context(PHONE).new_page()
    log_in(page, world.client)
    page.goto(reverse("homework:practice", args=[assignment.pk]))
    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.querySelector('audio');
            audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
            audio.addEventListener('error', () => reject(new Error('audio error')));
            audio.preload = 'metadata';
            audio.load();
        })"""
    )
    assert duration == pytest.approx(1.0, abs=0.05)
    audit(page)
