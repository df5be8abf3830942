"""The admin without dead ends: clinics are closed not deleted, people leave only through
erasure, deactivating asks first and can be undone, and the admin speaks our names."""

import pytest
from django.urls import reverse

from accounts.models import Clinic, Invitation, User
from homework.models import Completion
from tests.factories import local_today, make_assignment, make_completion

pytestmark = pytest.mark.django_db

USERS = reverse("admin:accounts_user_changelist")
CLINICS = reverse("admin:accounts_clinic_changelist")


def test_the_admin_says_kindwork_and_hides_raw_and_unused_sections(world) -> None:
    text = world.login(world.admin).get(reverse("admin:index")).content.decode()
    assert "Kindwork administration" in text
    assert "Django administration" not in text
    # Django's permission groups are hidden (programs' client groups are a different thing).
    assert "/admin/auth/group/" not in text
    for raw in (">Axes<", ">AXES<", ">Knox<", ">Otp_Totp<", ">OTP_TOTP<"):
        assert raw not in text
    assert "Login lockouts" in text
    assert "Two-step verification: authenticator apps" in text


def test_a_clinic_cannot_be_deleted(world) -> None:
    browser = world.login(world.admin)
    page = browser.get(reverse("admin:accounts_clinic_change", args=[world.clinic.pk]))
    assert reverse("admin:accounts_clinic_delete", args=[world.clinic.pk]) not in (
        page.content.decode()
    )
    response = browser.post(reverse("admin:accounts_clinic_delete", args=[world.clinic.pk]))
    assert response.status_code == 403
    assert Clinic.objects.filter(pk=world.clinic.pk).exists()


def test_closing_a_clinic_asks_first_then_deactivates_everyone_and_keeps_the_data(world) -> None:
    plan = make_assignment(world.client, start_date=local_today(world.client))
    make_completion(plan, local_today(world.client))
    browser = world.login(world.admin)
    selected = {"action": "close", "_selected_action": [world.clinic.pk]}
    asked = browser.post(CLINICS, selected)
    assert asked.status_code == 200
    assert "Yes, close" in asked.content.decode()
    assert User.objects.filter(clinic=world.clinic, is_active=True).count() == 4

    done = browser.post(CLINICS, {**selected, "confirm": "yes"}, follow=True)
    assert "1 clinic(s) closed; 4 account(s) deactivated" in done.content.decode()
    world.clinic.refresh_from_db()
    assert world.clinic.closed_at is not None
    assert not User.objects.filter(clinic=world.clinic, is_active=True).exists()
    assert Completion.objects.filter(client=world.client).count() == 1
    # The other clinic is untouched.
    assert User.objects.filter(clinic=world.other_clinic, is_active=True).count() == 2
    assert not Invitation.objects.filter(clinic=world.clinic, revoked_at__isnull=True).exists()


def test_a_clinics_own_admin_cannot_close_it(world) -> None:
    staff = User.objects.create_user(
        email="office@harbour.test", role="admin", clinic=world.clinic, is_staff=True
    )
    from django.contrib.auth.models import Permission

    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_clinic", "change_clinic"])
    )
    response = world.login(staff).post(
        CLINICS, {"action": "close", "_selected_action": [world.clinic.pk], "confirm": "yes"}
    )
    world.clinic.refresh_from_db()
    assert world.clinic.closed_at is None
    assert response.status_code in (200, 302)


def test_users_cannot_be_deleted_in_bulk_or_one_by_one(world) -> None:
    browser = world.login(world.admin)
    changelist = browser.get(USERS).content.decode()
    assert 'value="delete_selected"' not in changelist
    assert 'value="erase"' in changelist
    response = browser.post(
        USERS, {"action": "delete_selected", "_selected_action": [world.client.pk], "post": "yes"}
    )
    assert User.objects.filter(pk=world.client.pk).exists()
    assert response.status_code in (200, 302)
    delete = browser.post(reverse("admin:accounts_user_delete", args=[world.client.pk]))
    assert delete.status_code == 403
    assert User.objects.filter(pk=world.client.pk).exists()


def test_deactivate_asks_first_and_reactivate_undoes_it(world) -> None:
    browser = world.login(world.admin)
    selected = {"action": "deactivate", "_selected_action": [world.client.pk]}
    asked = browser.post(USERS, selected)
    assert asked.status_code == 200
    assert "Yes, deactivate" in asked.content.decode()
    world.client.refresh_from_db()
    assert world.client.is_active

    browser.post(USERS, {**selected, "confirm": "yes"})
    world.client.refresh_from_db()
    assert not world.client.is_active

    browser.post(USERS, {"action": "reactivate", "_selected_action": [world.client.pk]})
    world.client.refresh_from_db()
    assert world.client.is_active
