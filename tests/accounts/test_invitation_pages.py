"""The clinician's invitations page, resend and withdraw, and the invitee's accept page."""

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ClientProfile, Invitation, Role, User
from notifications.models import Notification
from tests.accounts.helpers import (
    NEW_PASSWORD,
    accept_data,
    assert_not_stored,
    link_in,
    token_from,
)

INVITATIONS = reverse("accounts:invitations")


def _resend_url(invitation: Invitation) -> str:
    return reverse("accounts:invitation-resend", args=[invitation.pk])


def _revoke_url(invitation: Invitation) -> str:
    return reverse("accounts:invitation-revoke", args=[invitation.pk])


# --- who gets the pages -------------------------------------------------------


def test_it_shows_the_invitations_page_to_a_clinician(world, invitation):
    response = world.login(world.clinician).get(INVITATIONS)
    assert response.status_code == 200
    assert b"new.client@example.test" in response.content
    assert b"Resend" in response.content


def test_it_links_the_invitations_page_from_the_clinician_pages(world):
    response = world.login(world.clinician).get(reverse("homework:dashboard"))
    assert f'href="{INVITATIONS}"'.encode() in response.content


def test_it_shows_a_clinician_only_their_own_invitations(world, invitation):
    response = world.login(world.colleague).get(INVITATIONS)
    assert response.status_code == 200
    assert b"new.client@example.test" not in response.content


def test_it_sends_anonymous_visitors_of_invitation_pages_to_login(world, invitation):
    created, _ = invitation
    browser = world.login(None)
    for url in [INVITATIONS, _resend_url(created), _revoke_url(created)]:
        response = browser.post(url) if url != INVITATIONS else browser.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")


@pytest.mark.parametrize("who", ["client", "admin", "stranger_client"])
def test_it_refuses_invitation_pages_to_other_roles(world, invitation, who):
    created, _ = invitation
    browser = world.login(getattr(world, who))
    assert browser.get(INVITATIONS).status_code == 403
    assert browser.post(INVITATIONS, {"email": "x@example.test"}).status_code == 403
    assert browser.post(_resend_url(created)).status_code == 403
    assert browser.post(_revoke_url(created)).status_code == 403
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize("who", ["colleague", "stranger_clinician"])
def test_it_answers_404_for_someone_elses_invitation(world, invitation, who, send_outbox):
    created, token = invitation
    browser = world.login(getattr(world, who))
    with send_outbox():
        assert browser.post(_resend_url(created)).status_code == 404
        assert browser.post(_revoke_url(created)).status_code == 404
    created.refresh_from_db()
    assert created.revoked_at is None
    assert created.send_count == 1
    assert services.invitation_for_token(token=token) == created


def test_it_answers_404_for_an_invitation_that_does_not_exist(world):
    browser = world.login(world.clinician)
    assert browser.post(reverse("accounts:invitation-resend", args=[999999])).status_code == 404
    assert browser.post(reverse("accounts:invitation-revoke", args=[999999])).status_code == 404


def test_it_refuses_get_on_resend_and_revoke(world, invitation):
    created, _ = invitation
    browser = world.login(world.clinician)
    assert browser.get(_resend_url(created)).status_code == 405
    assert browser.get(_revoke_url(created)).status_code == 405


def test_it_keeps_the_invitations_page_queries_flat(world, django_assert_max_num_queries):
    browser = world.login(world.clinician)
    for number in range(15):
        services.invitation_create(
            clinic=world.clinic,
            email=f"person{number}@example.test",
            role=Role.CLIENT,
            clinician=world.clinician,
            invited_by=world.clinician,
        )
    # Session, user, invitations: the count does not depend on how many there are.
    with django_assert_max_num_queries(4):
        response = browser.get(INVITATIONS)
    text = response.content.decode()
    assert all(f"person{number}@example.test" in text for number in range(15))
    assert text.count("person") == 45  # the address three times in each of the 15 rows


# --- inviting, resending, withdrawing -------------------------------------------


def test_it_invites_a_client_and_the_client_lands_on_the_portal(world, send_outbox):
    browser = world.login(world.clinician)
    with send_outbox():
        response = browser.post(
            INVITATIONS, {"email": " New.Client@Example.test ", "full_name": "Nico New"}
        )
    assert response.status_code == 302
    assert response["Location"] == INVITATIONS
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.client@example.test"]
    path = link_in(message, "/invite/")
    token = token_from(path)

    invitee = world.login(None)
    page = invitee.get(path)
    assert page.status_code == 200
    assert b"new.client@example.test" in page.content
    assert b"Harbour Clinic" in page.content

    response = invitee.post(path, accept_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("homework:today")
    user = User.objects.get(email="new.client@example.test")
    assert user.password != NEW_PASSWORD
    identify_hasher(user.password)  # a real hash, not the raw password
    assert user.check_password(NEW_PASSWORD)
    assert user.timezone == "Europe/Berlin"
    assert user.client_profile.clinician == world.clinician
    assert user.clinic == world.clinic
    assert invitee.session["_auth_user_id"] == str(user.pk)
    assert invitee.get(reverse("homework:today")).status_code == 200
    assert_not_stored(token)
    notification = Notification.objects.get(kind=Notification.Kind.INVITATION)
    assert notification.status == Notification.Status.SENT
    # The link is spent now.
    assert invitee.get(path).status_code == 404


def test_it_resends_an_invitation_from_the_page(world, invitation, send_outbox):
    created, old_token = invitation
    browser = world.login(world.clinician)
    with send_outbox():
        response = browser.post(_resend_url(created), follow=True)
    assert b"A new link is on its way" in response.content
    assert len(mail.outbox) == 2
    new_path = link_in(mail.outbox[-1], "/invite/")
    invitee = world.login(None)
    assert invitee.get(reverse("accounts:invitation-accept", args=[old_token])).status_code == 404
    assert invitee.get(new_path).status_code == 200


def test_it_withdraws_an_invitation_from_the_page(world, invitation):
    created, token = invitation
    browser = world.login(world.clinician)
    before = timezone.now()
    response = browser.post(_revoke_url(created), follow=True)
    assert b"was withdrawn" in response.content
    created.refresh_from_db()
    assert before <= created.revoked_at <= timezone.now()
    page = world.login(None).get(reverse("accounts:invitation-accept", args=[token]))
    assert page.status_code == 404
    assert b"withdrawn" in page.content
    # Withdrawing again says so instead of pretending.
    again = browser.post(_revoke_url(created), follow=True)
    assert b"no longer open" in again.content


def test_it_says_so_when_resending_a_withdrawn_invitation(world, invitation):
    created, _ = invitation
    services.invitation_revoke(invitation=created)
    response = world.login(world.clinician).post(_resend_url(created), follow=True)
    assert b"Only an open invitation can be resent" in response.content
    assert Notification.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "alex@client.test"}, b"An account with this email address already exists."),
        ({"email": "ALEX@CLIENT.TEST"}, b"An account with this email address already exists."),
        ({"email": "not-an-address"}, b"Enter a valid email address."),
        ({"email": ""}, b"This field is required."),
        ({}, b"This field is required."),
        ({"email": "ok@example.test", "full_name": "x" * 201}, b"at most 200 characters"),
    ],
)
def test_it_writes_nothing_for_a_bad_invitation(world, data, message):
    response = world.login(world.clinician).post(INVITATIONS, data)
    assert response.status_code == 200
    assert message in response.content
    assert Invitation.objects.count() == 0
    assert Notification.objects.count() == 0


# --- the accept page ------------------------------------------------------------


def test_it_shows_a_clear_page_for_a_tampered_link(world, invitation):
    _, token = invitation
    response = world.login(None).get(reverse("accounts:invitation-accept", args=[token + "x"]))
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_a_link_cut_short_says_it_may_be_incomplete_not_used(world, invitation):
    """Issue 17, defect 2: a link wrapped by a console or mail program, opened in part."""
    _, token = invitation
    cut = token[: len(token) // 2]
    response = world.login(None).get(reverse("accounts:invitation-accept", args=[cut]))
    assert response.status_code == 404
    text = response.content.decode()
    assert "may be incomplete" in text
    assert "already" not in text


def test_it_shows_a_clear_page_for_an_expired_link(world, invitation):
    created, token = invitation
    Invitation.objects.filter(pk=created.pk).update(expires_at=created.created_at)
    response = world.login(None).get(reverse("accounts:invitation-accept", args=[token]))
    assert response.status_code == 404
    assert b"expired" in response.content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "is not a known time zone"),
        ({"timezone": ""}, "This field is required."),
        ({"password1": "short", "password2": "short"}, "too short"),
        ({"password1": "password1234", "password2": "password1234"}, "too common"),
        ({"password1": "8472619305", "password2": "8472619305"}, "entirely numeric"),
        (
            {"password1": "new.client.example", "password2": "new.client.example"},
            "too similar",
        ),
        ({"password2": "a-different-long-pass-9"}, "The two passwords do not match."),
        ({"password1": "", "password2": ""}, "This field is required."),
    ],
)
def test_it_writes_nothing_for_a_bad_acceptance(world, invitation, overrides, message):
    created, token = invitation
    users = User.objects.count()
    url = reverse("accounts:invitation-accept", args=[token])
    browser = world.login(None)
    response = browser.post(url, accept_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == users
    assert ClientProfile.objects.count() == 3
    created.refresh_from_db()
    assert created.accepted_at is None
    assert "_auth_user_id" not in browser.session
    # The same link still works once the person corrects it.
    assert browser.post(url, accept_data()).status_code == 302


def test_it_refuses_an_acceptance_that_lost_the_race(world, invitation):
    _, token = invitation
    url = reverse("accounts:invitation-accept", args=[token])
    first, second = world.login(None), world.login(None)
    assert first.get(url).status_code == 200
    assert second.get(url).status_code == 200
    assert first.post(url, accept_data()).status_code == 302
    response = second.post(url, accept_data())
    assert response.status_code == 404  # the link is spent by the time the second arrives
    assert User.objects.filter(email="new.client@example.test").count() == 1


def test_it_replaces_whoever_was_logged_in_with_the_new_account(world, invitation):
    _, token = invitation
    browser = world.login(world.other_client)
    response = browser.post(reverse("accounts:invitation-accept", args=[token]), accept_data())
    assert response.status_code == 302
    new_user = User.objects.get(email="new.client@example.test")
    assert browser.session["_auth_user_id"] == str(new_user.pk)
