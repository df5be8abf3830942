"""An admin moves a client to another clinician directly: the client is told, the move audited.

The same content-free "your clinician is now X" email a handover sends, and one audit
event naming who moved them, from whom and to whom (through the move's Handover row).
"""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Handover, Role
from audit.models import AuditAction, AuditEvent
from notifications.models import Notification
from tests.accounts.helpers import admin_change_data
from tests.accounts.test_admin import _profile_change, _user_change
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def clinic_admin(world):
    from django.contrib.auth.models import Permission

    staff = make_user("office@harbour.test", Role.ADMIN, world.clinic, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    return staff


def _move_on_profile_page(world, admin, clinician) -> int:
    browser = world.login(admin)
    data = admin_change_data(browser.get(_profile_change(world.client)))
    data["clinician"] = clinician.pk
    return browser.post(_profile_change(world.client), data).status_code


def _reassign_events(client) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.REASSIGN, client_id=client.pk))


def test_a_move_on_the_caseload_page_tells_the_client_and_is_audited(
    world, clinic_admin, send_outbox
):
    with send_outbox():
        assert _move_on_profile_page(world, clinic_admin, world.colleague) == 302

    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.colleague
    # From and to, kept as a handover accepted when it was made.
    move = Handover.objects.get(client=world.client)
    assert (move.from_clinician, move.to_clinician) == (world.clinician, world.colleague)
    assert move.accepted_at is not None and move.cancelled_at is None
    # Who: the admin, as an admin; what: that move.
    (event,) = _reassign_events(world.client)
    assert (event.actor_id, event.actor_role) == (clinic_admin.pk, Role.ADMIN)
    assert (event.object_type, event.object_id) == ("accounts.handover", str(move.pk))
    # The handover's own email, ids only in the row.
    notification = Notification.objects.get(kind=Notification.Kind.CLINICIAN_CHANGED)
    assert notification.recipient_id == world.client.pk
    assert notification.context == {"handover_id": move.pk}
    (message,) = [m for m in mail.outbox if m.to == [world.client.email]]
    assert "Your clinician is now Lee Colleague at Harbour Clinic" in message.body
    assert "Lee Colleague" in message.alternatives[0][0]


def test_a_move_from_the_user_page_does_the_same(world, send_outbox):
    browser = world.login(world.admin)
    data = admin_change_data(browser.get(_user_change(world.client)))
    data["client_profile-0-clinician"] = world.colleague.pk
    with send_outbox():
        assert browser.post(_user_change(world.client), data).status_code == 302
    (event,) = _reassign_events(world.client)
    assert event.actor_id == world.admin.pk
    assert Notification.objects.filter(
        kind=Notification.Kind.CLINICIAN_CHANGED, recipient=world.client
    ).exists()
    assert [m.to for m in mail.outbox] == [[world.client.email]]


def test_saving_the_profile_without_a_new_clinician_tells_no_one(world, clinic_admin):
    browser = world.login(clinic_admin)
    data = admin_change_data(browser.get(_profile_change(world.client)))
    data["weekly_summary"] = ""  # another preference changes, the clinician does not
    assert browser.post(_profile_change(world.client), data).status_code == 302
    assert not Handover.objects.exists()
    assert _reassign_events(world.client) == []
    assert not Notification.objects.filter(kind=Notification.Kind.CLINICIAN_CHANGED).exists()


def test_a_refused_move_writes_nothing_and_sends_nothing(world):
    with pytest.raises(ValidationError):
        services.client_reassign(
            client=world.client, clinician=world.stranger_clinician, actor=world.admin
        )
    assert not Handover.objects.exists()
    assert _reassign_events(world.client) == []
    assert not Notification.objects.exists()


def test_a_waiting_handover_is_cancelled_by_the_move(world):
    from homework.services.caseload import handover_accept, handover_offer

    waiting = handover_offer(
        clinician=world.clinician, client=world.client, to_clinician=world.colleague
    )
    third = make_user("kim@harbour.test", Role.CLINICIAN, world.clinic, full_name="Kim Third")
    services.client_reassign(client=world.client, clinician=third, actor=world.admin)
    waiting.refresh_from_db()
    assert waiting.cancelled_at is not None
    with pytest.raises(ValidationError):
        handover_accept(clinician=world.colleague, handover_id=waiting.pk)
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == third


def test_a_deactivated_client_is_moved_and_audited_but_not_emailed(world):
    services.user_deactivate(user=world.client)
    world.client.refresh_from_db()
    services.client_reassign(client=world.client, clinician=world.colleague, actor=world.admin)
    assert len(_reassign_events(world.client)) == 1
    assert not Notification.objects.filter(kind=Notification.Kind.CLINICIAN_CHANGED).exists()


def test_the_email_carries_no_clinical_content(world, send_outbox):
    """Names only: who the client works with now, never their practice."""
    from tests.factories import local_today, make_assignment, make_completion, make_exercise

    exercise = make_exercise(world.clinic, title="Canary-Title-Quokka")
    plan = make_assignment(world.client, exercise, note="Canary-Note-Juniper")
    make_completion(plan, local_today(world.client), reflection="Canary-Reflection-Pebble")
    with send_outbox():
        services.client_reassign(client=world.client, clinician=world.colleague, actor=world.admin)
    (message,) = mail.outbox
    everything = message.subject + message.body + message.alternatives[0][0]
    for canary in ["Quokka", "Juniper", "Pebble"]:
        assert canary not in everything
