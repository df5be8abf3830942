"""Reminder preferences: the service, the portal page and the signed link from the emails."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClientProfile, User
from outreach import services as preferences
from outreach.forms import ClinicianSummaryPreferencesForm
from outreach.services import (
    SCOPE_REMINDERS,
    SCOPE_WEEKLY,
    client_preferences_update,
    clinician_weekly_summary_set,
    clinician_weekly_summary_wanted,
    preferences_token_make,
)
from tests.factories import make_assignment, make_exercise

NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)


def profile_of(user: User) -> ClientProfile:
    return ClientProfile.objects.get(user=user)


def snapshot(user: User) -> tuple:
    p = profile_of(user)
    return (
        p.reminder_time,
        p.quiet_hours_start,
        p.quiet_hours_end,
        p.reminders_paused_until,
        p.weekly_summary,
    )


# --- The service ---


def test_it_updates_every_preference(world):
    client_preferences_update(
        profile=profile_of(world.client),
        reminder_time=time(7, 30),
        quiet_hours_start=time(22, 0),
        quiet_hours_end=time(6, 0),
        pause_days=7,
        weekly_summary=False,
        now=NOW,
    )
    assert snapshot(world.client) == (
        time(7, 30),
        time(22, 0),
        time(6, 0),
        NOW + timedelta(days=7),
        False,
    )


def test_it_leaves_out_what_it_is_not_given(world):
    client_preferences_update(
        profile=profile_of(world.client),
        quiet_hours_start=time(21),
        quiet_hours_end=time(7),
        now=NOW,
    )
    client_preferences_update(profile=profile_of(world.client), reminder_time=time(8), now=NOW)
    assert snapshot(world.client) == (time(8), time(21), time(7), None, True)


def test_it_resumes_reminders(world):
    profile = profile_of(world.client)
    client_preferences_update(profile=profile, pause_days=3, now=NOW)
    client_preferences_update(profile=profile, paused_until=None, now=NOW)
    assert profile_of(world.client).reminders_paused_until is None


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"quiet_hours_start": time(22, 0), "quiet_hours_end": None}, "quiet_hours_end"),
        ({"quiet_hours_start": None, "quiet_hours_end": time(7, 0)}, "quiet_hours_start"),
        ({"quiet_hours_start": time(22, 0), "quiet_hours_end": time(22, 0)}, "quiet_hours_end"),
        ({"quiet_hours_start": "22:00", "quiet_hours_end": time(7, 0)}, "quiet_hours_start"),
        ({"reminder_time": None}, "reminder_time"),
        ({"reminder_time": "18:00"}, "reminder_time"),
        ({"paused_until": NOW - timedelta(minutes=1)}, "pause"),
        ({"paused_until": NOW + timedelta(days=91)}, "pause"),
        ({"paused_until": datetime(2026, 5, 7, 12, 0)}, "pause"),  # naive: which zone?
        ({"pause_days": 0}, "pause"),
        ({"pause_days": 91}, "pause"),
        ({"pause_days": 3, "paused_until": NOW + timedelta(days=1)}, "pause"),
        ({"weekly_summary": "no"}, "weekly_summary"),
    ],
)
def test_it_refuses_bad_preferences_and_changes_nothing(world, arguments, field):
    before = snapshot(world.client)
    with pytest.raises(ValidationError) as caught:
        client_preferences_update(profile=profile_of(world.client), **arguments, now=NOW)
    assert field in caught.value.message_dict
    assert snapshot(world.client) == before


def test_it_accepts_a_pause_of_exactly_ninety_days(world):
    client_preferences_update(
        profile=profile_of(world.client), paused_until=NOW + timedelta(days=90), now=NOW
    )
    assert profile_of(world.client).reminders_paused_until == NOW + timedelta(days=90)


# --- The portal page ---


def test_it_shows_the_client_their_preferences(world):
    ClientProfile.objects.filter(user=world.client).update(reminder_time=time(7, 45))
    response = world.login(world.client).get(reverse("outreach:reminder-preferences"))
    assert response.status_code == 200
    assert 'value="07:45"' in response.text
    assert '<label for="id_reminder_time">' in response.text
    assert 'aria-current="page">Reminders<' in response.text


def test_it_saves_the_form(world):
    response = world.login(world.client).post(
        reverse("outreach:reminder-preferences"),
        {
            "reminder_time": "06:15",
            "quiet_hours_start": "23:00",
            "quiet_hours_end": "06:00",
            "pause": "14",
            "weekly_summary": "",
        },
    )
    assert response.status_code == 302
    reminder_time, start, end, paused_until, weekly = snapshot(world.client)
    assert (reminder_time, start, end, weekly) == (time(6, 15), time(23), time(6), False)
    assert timedelta(days=13, hours=23) < paused_until - timezone.now() <= timedelta(days=14)
    # Another client's settings are untouched.
    assert snapshot(world.other_client) == (time(18), None, None, None, True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reminder_time": "06:15", "quiet_hours_start": "23:00"}, "both a start and an end"),
        ({"reminder_time": "25:99"}, "Enter a time such as 18:00."),
        ({"reminder_time": ""}, "Choose a time of day"),
        ({"reminder_time": "06:15", "pause": "365"}, "Select a valid choice"),
        (
            {"reminder_time": "06:15", "quiet_hours_start": "22:00", "quiet_hours_end": "22:00"},
            "different time",
        ),
    ],
)
def test_it_redisplays_bad_input_with_a_message_and_saves_nothing(world, data, message):
    before = snapshot(world.client)
    response = world.login(world.client).post(reverse("outreach:reminder-preferences"), data)
    assert response.status_code == 400
    assert message in response.text
    assert snapshot(world.client) == before


def test_it_offers_resume_while_paused(world):
    ClientProfile.objects.filter(user=world.client).update(
        reminders_paused_until=timezone.now() + timedelta(days=2)
    )
    browser = world.login(world.client)
    page = browser.get(reverse("outreach:reminder-preferences"))
    assert "Reminders are paused until" in page.text
    browser.post(
        reverse("outreach:reminder-preferences"),
        {"reminder_time": "18:00", "pause": "resume", "weekly_summary": "on"},
    )
    assert profile_of(world.client).reminders_paused_until is None


def test_it_sends_anonymous_visitors_to_login(world):
    response = world.login(None).get(reverse("outreach:reminder-preferences"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["clinician", "stranger_clinician", "admin"])
def test_it_refuses_other_roles(world, who):
    browser = world.login(getattr(world, who))
    assert browser.get(reverse("outreach:reminder-preferences")).status_code == 403
    assert (
        browser.post(
            reverse("outreach:reminder-preferences"), {"reminder_time": "01:00"}
        ).status_code
        == 403
    )


def test_it_changes_only_the_logged_in_clients_own_settings(world):
    before = snapshot(world.client)
    world.login(world.stranger_client).post(
        reverse("outreach:reminder-preferences"), {"reminder_time": "05:00"}
    )
    assert snapshot(world.client) == before
    assert profile_of(world.stranger_client).reminder_time == time(5, 0)


# --- The signed link ---


def signed_url(user: User, scope: str = SCOPE_REMINDERS) -> str:
    token = preferences_token_make(user_id=user.pk, scope=scope)
    return reverse("outreach:reminder-preferences-signed", args=[token])


def test_it_opens_the_preferences_from_an_email_link_without_login(world):
    exercise = make_exercise(world.clinic, title="Canary-Title-Quokka")
    make_assignment(world.client, exercise, note="Canary-Note")
    response = Client().get(signed_url(world.client))
    assert response.status_code == 200
    assert 'name="reminder_time"' in response.text
    # The preference form only: nothing of the client's practice, not even their name.
    for secret in ["Canary-Title-Quokka", "Canary-Note", world.client.full_name]:
        assert secret not in response.text
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_it_saves_preferences_from_the_email_link(world):
    browser = Client(enforce_csrf_checks=True)
    url = signed_url(world.client)
    before = timezone.now()
    response = browser.post(url, {"reminder_time": "20:30", "pause": "3", "weekly_summary": "on"})
    assert response.status_code == 302
    assert response["Location"] == url
    assert profile_of(world.client).reminder_time == time(20, 30)
    paused_until = profile_of(world.client).reminders_paused_until
    assert before + timedelta(days=3) <= paused_until <= timezone.now() + timedelta(days=3)
    # Still not logged in: the link granted this one action only.
    assert browser.get(reverse("homework:today")).status_code == 302
    assert snapshot(world.other_client) == (time(18), None, None, None, True)


def test_it_redisplays_bad_input_on_the_email_link_page(world):
    before = snapshot(world.client)
    response = Client().post(
        signed_url(world.client), {"reminder_time": "06:00", "quiet_hours_end": "07:00"}
    )
    assert response.status_code == 400
    assert "both a start and an end" in response.text
    assert snapshot(world.client) == before


def _tampered(token: str) -> str:
    value, signature = token.rsplit(":", 1)
    return f"{value}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda user: _tampered(preferences_token_make(user_id=user.pk, scope=SCOPE_REMINDERS)),
        lambda user: signing.TimestampSigner(salt="another.purpose").sign_object(
            {"u": user.pk, "s": SCOPE_REMINDERS}
        ),
        lambda user: signing.TimestampSigner(salt=preferences.LINK_SALT).sign_object(
            {"u": user.pk, "s": "everything"}
        ),
        lambda user: "not-a-token",
    ],
    ids=["tampered", "other-salt", "unknown-scope", "garbage"],
)
def test_it_refuses_a_bad_link_and_changes_nothing(world, make_token):
    before = snapshot(world.client)
    url = reverse("outreach:reminder-preferences-signed", args=[make_token(world.client)])
    for response in [
        Client().get(url),
        Client().post(url, {"reminder_time": "03:00"}),
        Client().post(url, {"List-Unsubscribe": "One-Click"}),
    ]:
        assert response.status_code == 404
    assert "This link is not valid" in Client().get(url).text
    assert snapshot(world.client) == before


def test_it_refuses_an_expired_link_and_changes_nothing(world, monkeypatch):
    issued = timezone.now() - timedelta(days=31)
    monkeypatch.setattr(signing.time, "time", lambda: issued.timestamp())
    url = signed_url(world.client)
    monkeypatch.undo()
    before = snapshot(world.client)
    response = Client().post(url, {"reminder_time": "03:00"})
    assert response.status_code == 400
    assert "This link has expired" in response.text
    assert snapshot(world.client) == before


def test_it_accepts_a_link_within_thirty_days(world, monkeypatch):
    issued = timezone.now() - timedelta(days=29)
    monkeypatch.setattr(signing.time, "time", lambda: issued.timestamp())
    url = signed_url(world.client)
    monkeypatch.undo()
    assert Client().get(url).status_code == 200


def test_it_refuses_the_link_of_a_deactivated_account(world):
    url = signed_url(world.client)
    User.objects.filter(pk=world.client.pk).update(is_active=False)
    assert Client().get(url).status_code == 404


def test_it_pauses_reminders_on_one_click_from_a_reminder(world):
    response = Client(enforce_csrf_checks=True).post(
        signed_url(world.client, SCOPE_REMINDERS), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    paused_until = profile_of(world.client).reminders_paused_until
    assert timedelta(days=89) < paused_until - timezone.now() <= timedelta(days=90)
    assert profile_of(world.client).weekly_summary is True


def test_it_stops_summaries_on_one_click_from_a_summary(world):
    response = Client(enforce_csrf_checks=True).post(
        signed_url(world.client, SCOPE_WEEKLY), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert profile_of(world.client).weekly_summary is False
    assert profile_of(world.client).reminders_paused_until is None


def test_it_lets_a_clinician_stop_the_caseload_summary(world):
    url = signed_url(world.clinician, SCOPE_WEEKLY)
    page = Client().get(url)
    assert page.status_code == 200
    assert "weekly caseload summary" in page.text
    assert 'name="reminder_time"' not in page.text
    Client().post(url, {})  # the box unticked
    world.clinician.refresh_from_db()
    assert not clinician_weekly_summary_wanted(user=world.clinician)
    assert world.clinician.weekly_summary_email is False
    Client().post(url, {"weekly_summary": "on"})
    world.clinician.refresh_from_db()
    assert clinician_weekly_summary_wanted(user=world.clinician)
    # One click works for clinicians too, and only for the clinician named in the link.
    Client().post(url, {"List-Unsubscribe": "One-Click"})
    world.clinician.refresh_from_db()
    world.colleague.refresh_from_db()
    assert not clinician_weekly_summary_wanted(user=world.clinician)
    assert clinician_weekly_summary_wanted(user=world.colleague)


def test_it_shows_the_clinicians_summary_box_as_stored(world):
    url = signed_url(world.clinician, SCOPE_WEEKLY)
    assert Client().get(url).context["form"]["weekly_summary"].value() is True
    User.objects.filter(pk=world.clinician.pk).update(weekly_summary_email=False)
    assert Client().get(url).context["form"]["weekly_summary"].value() is False


@pytest.mark.parametrize(
    ("data", "wanted"), [({}, False), ({"weekly_summary": "on"}, True)], ids=["unticked", "ticked"]
)
def test_it_reads_the_clinicians_summary_form(data, wanted):
    form = ClinicianSummaryPreferencesForm(data)
    assert form.is_valid()
    assert form.cleaned_data == {"weekly_summary": wanted}


def test_it_keeps_the_caseload_summary_setting_for_clinicians_only(world):
    with pytest.raises(ValidationError, match="Only clinicians"):
        clinician_weekly_summary_set(user=world.client, enabled=False)
    world.client.refresh_from_db()
    assert world.client.weekly_summary_email is True


def test_it_refuses_a_reminder_link_one_click_for_a_clinician(world):
    response = Client().post(
        signed_url(world.clinician, SCOPE_REMINDERS), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 404
