"""Private notes and the next session date, kept by the clinician on the client page."""

import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClientProfile, User
from homework.models import ClientNote
from homework.schedule import local_date
from homework.selectors.practice import next_session_for_client
from homework.services.clients import next_session_set, note_create
from records.exports import client_data, export_client_record
from tests.conftest import make_client

CANARY = "Canary-Note-Bramble"


def notes_url(client) -> str:
    return reverse("homework:note-create", args=[client.pk])


def session_url(client) -> str:
    return reverse("homework:next-session", args=[client.pk])


def test_it_saves_a_note_shown_on_the_client_page(world):
    browser = world.login(world.clinician)
    response = browser.post(notes_url(world.client), {"text": f"  {CANARY}  "})
    assert response.status_code == 302
    note = ClientNote.objects.get()
    assert (note.client, note.author, note.text) == (world.client, world.clinician, CANARY)
    page = browser.get(reverse("homework:client-detail", args=[world.client.pk]))
    assert CANARY in page.content.decode()


def test_it_stores_notes_encrypted(world):
    note_create(clinician=world.clinician, client=world.client, text=CANARY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM homework_clientnote")
        (raw,) = cursor.fetchone()
    assert CANARY not in raw


def test_the_client_never_sees_a_note_in_the_portal_or_their_export(world):
    note_create(clinician=world.clinician, client=world.client, text=CANARY)
    browser = world.login(world.client)
    for name in ("homework:today", "homework:history", "homework:progress"):
        assert CANARY not in browser.get(reverse(name)).content.decode()
    assert CANARY not in str(client_data(client=world.client))


def test_notes_are_not_in_the_clinicians_export_of_the_client_either(world):
    """The rule in the README: an export is what is handed on; notes stay on the page."""
    note_create(clinician=world.clinician, client=world.client, text=CANARY)
    export = export_client_record(clinician=world.clinician, client=world.client, fmt="fhir")
    export.file.seek(0)
    assert CANARY.encode() not in export.file.read()
    export = export_client_record(clinician=world.clinician, client=world.client, fmt="zip")
    export.file.seek(0)
    with zipfile.ZipFile(export.file) as archive:
        contents = b"".join(archive.read(name) for name in archive.namelist())
    assert b"feedback_id" in contents  # the files were read, not just their packaging
    assert CANARY.encode() not in contents


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Write a few words before saving."), ("x" * 20_000, "at most 4,000 characters")],
)
def test_it_refuses_bad_notes_and_writes_nothing(world, text, message):
    response = world.login(world.clinician).post(notes_url(world.client), {"text": text})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClientNote.objects.exists()


def test_notes_refuse_anonymous_clients_colleagues_and_other_clinics(world):
    note_create(clinician=world.clinician, client=world.client, text=CANARY)
    response = world.login(None).post(notes_url(world.client), {"text": "x"})
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.client).post(notes_url(world.client), {"text": "x"}).status_code == 403
    make_client("robin@client.test", world.colleague)
    for someone in (world.colleague, world.stranger_clinician):
        assert world.login(someone).post(notes_url(world.client), {"text": "x"}).status_code == 404
        page = world.login(someone).get(reverse("homework:client-detail", args=[world.client.pk]))
        assert page.status_code == 404
    assert ClientNote.objects.count() == 1


def test_it_sets_the_next_session_and_the_client_sees_its_weekday_on_today(world):
    today = local_date(timezone.now(), world.client.zone)
    day = today + timedelta(days=3)
    response = world.login(world.clinician).post(
        session_url(world.client), {"next_session_on": day.isoformat()}
    )
    assert response.status_code == 302
    assert ClientProfile.objects.get(user=world.client).next_session_on == day
    page = world.login(world.client).get(reverse("homework:today")).content.decode()
    assert f"Before your next session on {day:%A}" in page


@pytest.mark.parametrize("days", [None, -1, 0, 4])
def test_the_next_session_reads_the_same_from_a_loaded_profile_and_from_the_database(world, days):
    today = local_date(timezone.now(), world.client.zone)
    on = None if days is None else today + timedelta(days=days)
    ClientProfile.objects.filter(user=world.client).update(next_session_on=on)
    expected = on if days is not None and days >= 0 else None
    loaded = User.objects.select_related("client_profile").get(pk=world.client.pk)
    with CaptureQueriesContext(connection) as queries:
        assert next_session_for_client(client=loaded, today=today) == expected
    assert len(queries) == 0
    bare = User.objects.get(pk=world.client.pk)
    assert next_session_for_client(client=bare, today=today) == expected
    # A staff member has no profile: nothing, whether the join found none or not.
    staff = User.objects.select_related("client_profile").get(pk=world.clinician.pk)
    assert next_session_for_client(client=staff, today=today) is None


def test_the_today_page_reads_the_profile_with_the_signed_in_client(world):
    browser = world.login(world.client)
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(reverse("homework:today")).status_code == 200
    profile_reads = [q for q in queries if 'FROM "accounts_clientprofile"' in q["sql"]]
    assert profile_reads == []


def test_a_passed_next_session_becomes_the_last_one(world):
    now = timezone.now()
    today = local_date(now, world.client.zone)
    ClientProfile.objects.filter(user=world.client).update(
        next_session_on=today - timedelta(days=2)
    )
    profile = next_session_set(
        clinician=world.clinician, client=world.client, on=today + timedelta(days=5), now=now
    )
    assert profile.last_session_on == today - timedelta(days=2)
    assert profile.next_session_on == today + timedelta(days=5)


@pytest.mark.parametrize("value", ["2020-01-01", "2999-01-01", "not a date"])
def test_it_refuses_a_past_far_or_unreadable_date(world, value):
    response = world.login(world.clinician).post(
        session_url(world.client), {"next_session_on": value}
    )
    assert response.status_code == 400
    assert "field-invalid" in response.content.decode()
    assert ClientProfile.objects.get(user=world.client).next_session_on is None


def test_next_session_refuses_anonymous_clients_colleagues_and_other_clinics(world):
    data = {"next_session_on": "2099-01-01"}
    response = world.login(None).post(session_url(world.client), data)
    assert response["Location"].startswith(reverse("accounts:login"))
    assert world.login(world.client).post(session_url(world.client), data).status_code == 403
    for someone in (world.colleague, world.stranger_clinician):
        assert world.login(someone).post(session_url(world.client), data).status_code == 404
    assert ClientProfile.objects.get(user=world.client).next_session_on is None


def test_today_says_nothing_of_a_session_that_has_passed(world):
    today = local_date(timezone.now(), world.client.zone)
    ClientProfile.objects.filter(user=world.client).update(
        next_session_on=today - timedelta(days=1)
    )
    page = world.login(world.client).get(reverse("homework:today")).content.decode()
    assert "next session" not in page
    ClientProfile.objects.filter(user=world.client).update(next_session_on=today)
    page = world.login(world.client).get(reverse("homework:today")).content.decode()
    assert "Your session with your clinician is today." in page
