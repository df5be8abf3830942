"""Invitations at the service level: single use, expiry, tampering, resend, revoke, races."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import services
from accounts.models import ClientProfile, Clinic, Invitation, Role, User
from notifications.models import Notification
from tests.accounts.helpers import NEW_PASSWORD, assert_not_stored, link_in, token_from

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _create(world, now=None, **overrides) -> Invitation:
    fields = {
        "clinic": world.clinic,
        "email": "new.client@example.test",
        "role": Role.CLIENT,
        "clinician": world.clinician,
        "invited_by": world.clinician,
        "now": now,
    }
    fields.update(overrides)
    return services.invitation_create(**fields)


def _accept(token: str, **overrides) -> User:
    fields = {"token": token, "password": NEW_PASSWORD, "timezone_name": "Europe/Berlin"}
    fields.update(overrides)
    return services.invitation_accept(**fields)


def test_it_stores_only_a_hash_of_the_token(invitation):
    created, token = invitation
    created.refresh_from_db()
    assert created.token_hash == services.token_hash(token)
    assert token not in created.token_hash
    assert_not_stored(token)


def test_it_queues_the_email_without_the_token_or_clinical_content(world, send_outbox):
    with send_outbox():
        _create(world, full_name="Nico New")
    notification = Notification.objects.get(kind=Notification.Kind.INVITATION)
    assert set(notification.context) == {"invitation_id", "send"}
    assert notification.status == Notification.Status.SENT
    message = mail.outbox[-1]
    assert message.to == ["new.client@example.test"]
    assert "Harbour Clinic" in message.body


def test_the_email_names_the_clinician_says_what_kindwork_is_and_greets_by_name(world, send_outbox):
    with send_outbox():
        _create(world, full_name="Nico New")
    message = mail.outbox[-1]
    html = message.alternatives[0].content
    for text in (message.body, html):
        assert "Hello Nico New," in text
        assert "Dana Clinician at Harbour Clinic has invited you to Kindwork" in text
        assert "practice you agreed on between sessions" in text
        assert "because Dana Clinician added your address" in text


def test_the_email_greets_plainly_when_the_name_is_not_known(world, send_outbox):
    with send_outbox():
        _create(world)
    assert mail.outbox[-1].body.startswith("Hello,\n")


def test_it_accepts_an_open_invitation(invitation, world):
    created, token = invitation
    accepted = datetime.now(UTC)
    user = _accept(token, full_name="  Nico N.  ", now=accepted)
    assert user.role == Role.CLIENT
    assert user.clinic == world.clinic
    assert user.timezone == "Europe/Berlin"
    assert user.full_name == "Nico N."
    assert user.check_password(NEW_PASSWORD)
    assert user.client_profile.clinician == world.clinician
    created.refresh_from_db()
    assert created.accepted_user == user
    assert created.accepted_at == accepted


def test_it_refuses_an_expired_invitation(world):
    created = _create(world, now=T0)
    token = services.invitation_issue_token(invitation=created, now=T0)
    with pytest.raises(services.InvitationError, match="expired"):
        _accept(token, now=T0 + timedelta(days=7))
    assert not User.objects.filter(email="new.client@example.test").exists()
    # One second before the seven days are up, it still works.
    assert _accept(token, now=T0 + timedelta(days=7, seconds=-1)).pk


def test_it_refuses_a_second_accept(invitation):
    _, token = invitation
    _accept(token)
    with pytest.raises(services.InvitationError, match="already been used"):
        _accept(token, password="another-long-password-7")
    assert User.objects.filter(email="new.client@example.test").count() == 1


@pytest.mark.parametrize("tamper", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), str.upper])
def test_it_refuses_a_tampered_token(invitation, tamper):
    _, token = invitation
    with pytest.raises(services.InvitationError, match="not valid"):
        _accept(tamper(token))
    assert not User.objects.filter(email="new.client@example.test").exists()


@pytest.mark.parametrize("token", ["", "x" * 201])
def test_it_refuses_an_empty_or_oversized_token(world, token):
    with pytest.raises(services.InvitationError):
        services.invitation_for_token(token=token)


def test_it_refuses_a_revoked_invitation(invitation):
    created, token = invitation
    assert services.invitation_revoke(invitation=created) is True
    with pytest.raises(services.InvitationError, match="withdrawn"):
        _accept(token)
    assert services.invitation_revoke(invitation=created) is False
    assert not User.objects.filter(email="new.client@example.test").exists()


def test_it_makes_the_old_link_stop_working_when_resent(invitation, send_outbox):
    created, old_token = invitation
    with send_outbox():
        services.invitation_resend(invitation=created)
    new_token = token_from(link_in(mail.outbox[-1], "/invite/"))
    assert new_token != old_token
    with pytest.raises(services.InvitationError):
        _accept(old_token)
    assert _accept(new_token).email == "new.client@example.test"


def test_it_kills_the_old_link_at_resend_even_before_the_new_email_leaves(invitation):
    created, old_token = invitation
    services.invitation_resend(invitation=created)  # worker has not run yet
    with pytest.raises(services.InvitationError):
        services.invitation_for_token(token=old_token)


def test_it_extends_the_expiry_when_resent(world):
    created = _create(world, now=T0)
    services.invitation_resend(invitation=created, now=T0 + timedelta(days=10))
    created.refresh_from_db()
    assert created.expires_at == T0 + timedelta(days=17)
    assert created.send_count == 2


def test_it_refuses_to_resend_an_accepted_or_revoked_invitation(invitation, world):
    created, token = invitation
    _accept(token)
    with pytest.raises(ValidationError):
        services.invitation_resend(invitation=created)
    other = _create(world, email="second@example.test")
    services.invitation_revoke(invitation=other)
    with pytest.raises(ValidationError):
        services.invitation_resend(invitation=other)
    assert Notification.objects.filter(kind=Notification.Kind.INVITATION).count() == 2


def test_it_does_not_let_an_older_email_retried_late_steal_the_newer_link(invitation, send_outbox):
    created, _ = invitation
    with send_outbox():
        services.invitation_resend(invitation=created)
    newest = token_from(link_in(mail.outbox[-1], "/invite/"))
    first = Notification.objects.get(idempotency_key=f"invitation:{created.pk}:1")
    # The first email comes round again (a retry after a lost acknowledgement).
    Notification.objects.filter(pk=first.pk).update(status=Notification.Status.PENDING)
    from notifications.services import notifications_send

    sent_before = len(mail.outbox)
    notifications_send(ids=[first.pk])
    first.refresh_from_db()
    assert first.status == Notification.Status.FAILED
    assert "newer" in first.last_error
    assert len(mail.outbox) == sent_before
    assert services.invitation_for_token(token=newest) == created


def test_it_does_not_send_an_invitation_revoked_before_the_worker_ran(world, send_outbox):
    with send_outbox():
        created = _create(world)
        services.invitation_revoke(invitation=created)
    assert mail.outbox == []
    assert Notification.objects.get().status == Notification.Status.FAILED
    assert Invitation.objects.get().token_hash is None


def test_it_refuses_a_clinician_of_another_clinic(world):
    with pytest.raises(ValidationError) as error:
        _create(world, clinician=world.stranger_clinician)
    assert "clinician" in error.value.message_dict
    assert Invitation.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("clinician", [None, "client", "inactive"])
def test_it_refuses_a_client_invitation_without_an_active_clinician(world, clinician):
    if clinician == "client":
        clinician = world.client
    elif clinician == "inactive":
        clinician = world.colleague
        services.user_deactivate(user=clinician)
    with pytest.raises(ValidationError):
        _create(world, clinician=clinician)
    assert Invitation.objects.count() == 0


def test_it_refuses_an_address_that_already_has_an_account(world):
    with pytest.raises(ValidationError) as error:
        _create(world, email="ALEX@client.test")
    assert "email" in error.value.message_dict
    assert Invitation.objects.count() == 0


def test_it_refuses_to_invite_an_admin(world):
    with pytest.raises(ValidationError):
        _create(world, role=Role.ADMIN)
    assert Invitation.objects.count() == 0


def test_it_withdraws_an_earlier_open_invitation_for_the_same_address(world):
    first = _create(world)
    later = datetime.now(UTC)
    second = _create(world, email="New.Client@example.test", now=later)
    first.refresh_from_db()
    assert first.revoked_at == later
    assert second.revoked_at is None
    assert second.email == "new.client@example.test"


def test_it_refuses_an_invitation_whose_address_got_an_account_meanwhile(world):
    from_harbour = _create(world)
    harbour_token = services.invitation_issue_token(invitation=from_harbour)
    from_hillside = _create(
        world,
        clinic=world.other_clinic,
        clinician=world.stranger_clinician,
        invited_by=world.stranger_clinician,
    )
    hillside_token = services.invitation_issue_token(invitation=from_hillside)
    _accept(hillside_token)
    with pytest.raises(services.InvitationError, match="already exists"):
        _accept(harbour_token)
    assert User.objects.get(email="new.client@example.test").clinic == world.other_clinic


def test_it_creates_a_clinician_without_a_profile(world):
    created = _create(world, role=Role.CLINICIAN, clinician=None, invited_by=world.admin)
    token = services.invitation_issue_token(invitation=created)
    user = _accept(token)
    assert user.role == Role.CLINICIAN
    assert not ClientProfile.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"timezone_name": "Mars/Olympus_Mons"}, ValidationError),
        ({"password": "short"}, ValidationError),
        ({"password": "password123"}, ValidationError),
    ],
)
def test_it_writes_nothing_for_bad_input(invitation, overrides, error):
    created, token = invitation
    users = User.objects.count()
    with pytest.raises(error):
        _accept(token, **overrides)
    assert User.objects.count() == users
    assert ClientProfile.objects.count() == 3
    created.refresh_from_db()
    assert created.accepted_at is None


@pytest.mark.django_db(transaction=True)
def test_it_creates_one_user_when_two_accepts_race():
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's in-memory test database cannot serve two threads' transactions; "
            "the race is tested on PostgreSQL, where select_for_update serialises them."
        )
    clinic = Clinic.objects.create(name="Race Clinic")
    clinician = User.objects.create_user(
        email="race.clinician@example.test", role=Role.CLINICIAN, clinic=clinic
    )
    created = services.invitation_create(
        clinic=clinic,
        email="racer@example.test",
        role=Role.CLIENT,
        clinician=clinician,
        invited_by=clinician,
    )
    token = services.invitation_issue_token(invitation=created)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def accept() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(_accept(token))
        except services.InvitationError as error:
            outcomes.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2
    assert sum(isinstance(outcome, User) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, services.InvitationError) for outcome in outcomes) == 1
    assert User.objects.filter(email="racer@example.test").count() == 1
    assert ClientProfile.objects.filter(user__email="racer@example.test").count() == 1
