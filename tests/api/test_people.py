"""Me, reminder preferences, invitations, the caseload and progress over the API."""

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation
from homework.selectors.progress import caseload_for_clinician, client_progress
from notifications.models import Notification
from tests.factories import local_today, make_completion


def test_it_says_who_i_am(api) -> None:
    body = api.as_user("clinician").get(reverse("api:v1:me")).json()
    assert body["email"] == api.world.clinician.email
    assert body["role"] == "clinician"
    assert body["clinic"] == {
        "id": api.world.clinic.pk,
        "name": "Harbour Clinic",
        "timezone": "Europe/London",
    }
    assert body["timezone"] == api.world.clinician.timezone

    admin = api.as_user("admin").get(reverse("api:v1:me")).json()
    assert admin["role"] == "admin"
    assert admin["clinic"] is None


def test_it_changes_my_name_and_time_zone(api) -> None:
    response = api.as_user("client").patch(
        reverse("api:v1:me"), {"timezone": "Asia/Tokyo"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["timezone"] == "Asia/Tokyo"
    api.world.client.refresh_from_db()
    assert api.world.client.timezone == "Asia/Tokyo"
    assert api.world.client.full_name == "Alex Client"  # left as it was

    api.as_user("client").patch(reverse("api:v1:me"), {"full_name": " Alex C "}, format="json")
    api.world.client.refresh_from_db()
    assert api.world.client.full_name == "Alex C"
    assert api.world.client.timezone == "Asia/Tokyo"


def test_it_ignores_attempts_to_change_my_role_or_email(api) -> None:
    api.as_user("client").patch(
        reverse("api:v1:me"), {"role": "clinician", "email": "me@evil.test"}, format="json"
    )
    api.world.client.refresh_from_db()
    assert api.world.client.role == "client"
    assert api.world.client.email == "alex@client.test"


def test_it_reads_and_changes_reminder_preferences(api) -> None:
    url = reverse("api:v1:me-preferences")
    browser = api.as_user("client")
    assert browser.get(url).json() == {
        "reminder_time": "18:00",
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "paused_until": None,
        "weekly_summary": True,
        "email_reminders": True,
        "push_devices": 0,
    }

    response = browser.patch(
        url,
        {
            "reminder_time": "07:30",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
            "pause_days": 3,
            "weekly_summary": False,
        },
        format="json",
    )
    assert response.status_code == 200
    profile = api.world.client.client_profile
    profile.refresh_from_db()
    assert profile.reminder_time.isoformat() == "07:30:00"
    assert profile.quiet_hours_start.isoformat() == "22:00:00"
    assert profile.weekly_summary is False
    paused_for = profile.reminders_paused_until - timezone.now()
    assert timedelta(days=2, hours=23) < paused_for <= timedelta(days=3)
    paused_until = datetime.fromisoformat(response.json()["paused_until"])
    assert paused_until == profile.reminders_paused_until

    browser.patch(url, {"paused_until": None}, format="json")
    profile.refresh_from_db()
    assert profile.reminders_paused_until is None


def test_it_invites_a_client_to_my_caseload_through_the_outbox(api) -> None:
    response = api.as_user("clinician").post(
        reverse("api:v1:invitation-list"),
        {"email": "Newcomer@Client.test", "full_name": "Nia New"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "newcomer@client.test"
    assert body["status"] == "pending"
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.clinician == api.world.clinician
    assert invitation.role == "client"
    assert Notification.objects.filter(to_email="newcomer@client.test").count() == 1


def test_it_lists_resends_and_revokes_my_invitations(api) -> None:
    browser = api.as_user("clinician")
    listed = browser.get(reverse("api:v1:invitation-list")).json()
    assert [row["id"] for row in listed["results"]] == [api.invitation.pk]
    assert api.as_user("colleague").get(reverse("api:v1:invitation-list")).json()["count"] == 0

    resent = browser.post(reverse("api:v1:invitation-resend", kwargs={"pk": api.invitation.pk}))
    assert resent.status_code == 200
    assert resent.json()["send_count"] == 2

    before = timezone.now()
    revoked = browser.post(reverse("api:v1:invitation-revoke", kwargs={"pk": api.invitation.pk}))
    assert revoked.json()["status"] == "revoked"
    api.invitation.refresh_from_db()
    assert before <= api.invitation.revoked_at <= timezone.now()


def test_it_lists_my_caseload_with_the_dashboards_figures(api) -> None:
    rows = api.as_user("clinician").get(reverse("api:v1:client-list")).json()["results"]
    expected = caseload_for_clinician(clinician=api.world.clinician)
    assert [row["id"] for row in rows] == [row.client.pk for row in expected]
    alex = next(row for row in rows if row["id"] == api.world.client.pk)
    figures = next(row for row in expected if row.client.pk == api.world.client.pk)
    assert alex["adherence_28"] == {
        "planned": figures.adherence_28.planned,
        "done": figures.adherence_28.done,
        "percent": figures.adherence_28.percent,
    }
    assert alex["last_practice"] == local_today(api.world.client).isoformat()
    assert alex["active_assignments"] == 1
    assert api.world.stranger_client.pk not in [row["id"] for row in rows]


def test_it_shows_one_client_with_adherence(api) -> None:
    body = (
        api.as_user("clinician")
        .get(reverse("api:v1:client-detail", kwargs={"pk": api.world.client.pk}))
        .json()
    )
    assert body["id"] == api.world.client.pk
    # The daily plan asks for all 7 days and was logged once (today); the paused plan was
    # paused today (its last change), so it still asked for the 6 days before: 1 of 13.
    assert body["adherence_7"] == {"planned": 13, "done": 1, "percent": 8}


def test_it_shows_a_clients_progress_as_the_portal_does(api) -> None:
    yesterday = local_today(api.world.client) - timedelta(days=1)
    make_completion(api.assignment, yesterday, distress_before=8, distress_after=3)
    clinician_view = (
        api.as_user("clinician")
        .get(reverse("api:v1:client-progress", kwargs={"pk": api.world.client.pk}))
        .json()
    )
    own_view = api.as_user("client").get(reverse("api:v1:me-progress")).json()
    assert clinician_view == own_view

    progress = client_progress(client=api.world.client)
    assert own_view["client"] == api.world.client.pk
    assert len(own_view["weeks"]) == len(progress.weeks)
    assert own_view["weeks"][-1]["is_current"] is True
    assert own_view["practice_days_total"] == progress.practice_days_total == 2
    distress = next(
        change
        for exercise in own_view["exercises"]
        if exercise["exercise_id"] == api.exercise.pk
        for change in exercise["changes"]
        if change["key"] == "distress"
    )
    assert distress["mean_before"] == 7.5
    assert distress["mean_after"] == 3.5
    assert distress["change"] == -4.0
    assert any(series["key"] == "distress" for series in own_view["rating_series"])
