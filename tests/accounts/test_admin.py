"""The admin: invite a clinician, create accounts, deactivate, move clients, invitations log."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import ClientProfile, Clinic, Invitation, Role, User, UserSession
from notifications.models import Notification
from tests.accounts.helpers import (
    accept_data,
    admin_change_data,
    assert_not_stored,
    link_in,
    token_from,
)
from tests.conftest import PASSWORD, make_user

INVITE = reverse("admin:accounts_invitation_add")
USER_ADD = reverse("admin:accounts_user_add")
USERS = reverse("admin:accounts_user_changelist")
INVITATIONS = reverse("admin:accounts_invitation_changelist")


def _user_change(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _profile_change(client: User) -> str:
    return reverse("admin:accounts_clientprofile_change", args=[client.client_profile.pk])


def _session_count(user: User) -> int:
    return sum(
        1
        for session in UserSession.objects.all()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    )


# --- who gets the admin ------------------------------------------------------------


ADMIN_PAGES = [
    reverse("admin:index"),
    reverse("admin:accounts_clinic_changelist"),
    USERS,
    USER_ADD,
    INVITATIONS,
    INVITE,
    reverse("admin:accounts_clientprofile_changelist"),
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_it_shows_the_admin_pages_to_the_admin(world, url):
    assert world.login(world.admin).get(url).status_code == 200


@pytest.mark.parametrize("who", [None, "clinician", "client", "stranger_clinician"])
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_it_sends_everyone_else_to_the_admin_login(world, who, url):
    response = world.login(getattr(world, who) if who else None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_shows_changed_pages_to_the_admin(world):
    browser = world.login(world.admin)
    for url in [
        reverse("admin:accounts_clinic_change", args=[world.clinic.pk]),
        _user_change(world.client),
        _user_change(world.clinician),
        _profile_change(world.client),
    ]:
        assert browser.get(url).status_code == 200, url


# --- inviting a clinician ---------------------------------------------------------------


def test_it_offers_to_invite_a_clinician_from_the_clinic_and_people_pages(world):
    browser = world.login(world.admin)
    clinic_page = browser.get(reverse("admin:accounts_clinic_change", args=[world.clinic.pk]))
    link = f"{INVITE}?role=clinician&amp;clinic={world.clinic.pk}"
    assert link.encode() in clinic_page.content
    assert link.encode() in browser.get(reverse("admin:accounts_clinic_changelist")).content
    assert f"{INVITE}?role=clinician".encode() in browser.get(USERS).content
    assert f"{INVITE}?role=clinician".encode() in browser.get(INVITATIONS).content


def test_it_points_to_the_invitation_after_adding_a_clinic(world):
    browser = world.login(world.admin)
    response = browser.post(
        reverse("admin:accounts_clinic_add"),
        {
            "name": "Seaside",
            "timezone": "Europe/Dublin",
            # The crisis contacts inline, left empty.
            "crisis_contacts-TOTAL_FORMS": "0",
            "crisis_contacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    clinic = Clinic.objects.get(name="Seaside")
    page = browser.get(response["Location"])
    assert f"{INVITE}?role=clinician&amp;clinic={clinic.pk}".encode() in page.content


def test_it_prefills_the_invite_form_from_the_link(world):
    response = world.login(world.admin).get(f"{INVITE}?role=clinician&clinic={world.clinic.pk}")
    form = response.context["adminform"].form
    assert str(form["clinic"].value()) == str(world.clinic.pk)
    assert form["role"].value() == "clinician"
    assert b"token hash" not in response.content.lower()
    assert b"token_hash" not in response.content


def test_it_invites_a_clinician_who_sets_a_password_and_lands_on_the_clinician_home(
    world, send_outbox
):
    admin = world.login(world.admin)
    with send_outbox():
        response = admin.post(
            INVITE,
            {
                "clinic": world.clinic.pk,
                "role": "clinician",
                "email": "robin@harbour.test",
                "full_name": "Robin New",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == f"{INVITATIONS}?clinic__id__exact={world.clinic.pk}"
    invitation = Invitation.objects.get(email="robin@harbour.test")
    assert invitation.invited_by == world.admin
    assert invitation.role == Role.CLINICIAN
    assert LogEntry.objects.filter(object_id=str(invitation.pk)).exists()
    listing = admin.get(response["Location"])
    assert b"robin@harbour.test" in listing.content
    assert b"Invitation on its way" in listing.content

    assert len(mail.outbox) == 1
    path = link_in(mail.outbox[0], "/invite/")
    assert_not_stored(token_from(path))
    invitee = world.login(None)
    assert b"as a clinician" in invitee.get(path).content
    response = invitee.post(path, accept_data(full_name="Robin New", timezone="Europe/London"))
    assert response["Location"] == reverse("homework:dashboard")
    clinician = User.objects.get(email="robin@harbour.test")
    assert clinician.role == Role.CLINICIAN
    assert clinician.clinic == world.clinic
    assert clinician.has_usable_password()
    assert not ClientProfile.objects.filter(user=clinician).exists()
    # A new clinician sets up two-step verification before the first clinical page.
    landing = invitee.get(reverse("homework:dashboard"))
    assert landing.status_code == 302
    assert landing["Location"].startswith(reverse("accounts:mfa-setup"))


def test_it_invites_a_client_for_a_clinician_from_the_admin(world, send_outbox):
    with send_outbox():
        response = world.login(world.admin).post(
            INVITE,
            {
                "clinic": world.clinic.pk,
                "role": "client",
                "email": "kit@client.test",
                "clinician": world.colleague.pk,
            },
        )
    assert response.status_code == 302
    path = link_in(mail.outbox[0], "/invite/")
    world.login(None).post(path, accept_data())
    assert User.objects.get(email="kit@client.test").client_profile.clinician == world.colleague


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "dana@harbour.test"}, "An account with this email address already exists."),
        ({"email": "DANA@harbour.test"}, "An account with this email address already exists."),
        ({"email": "nope"}, "Enter a valid email address."),
        ({"email": ""}, "This field is required."),
        ({"clinic": ""}, "This field is required."),
        ({"clinic": "999999"}, "Select a valid choice."),
        ({"role": "admin"}, "Select a valid choice."),
        ({"role": "client"}, "Choose an active clinician of the client&#x27;s clinic."),
        ({"role": "client", "clinician": "STRANGER"}, "active clinician of the client"),
    ],
)
def test_it_writes_nothing_for_a_bad_admin_invitation(world, send_outbox, data, message):
    post = {"clinic": world.clinic.pk, "role": "clinician", "email": "robin@harbour.test"}
    post.update(data)
    if post.get("clinician") == "STRANGER":
        post["clinician"] = world.stranger_clinician.pk
    with send_outbox():
        response = world.login(world.admin).post(INVITE, post)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Invitation.objects.count() == 0
    assert Notification.objects.count() == 0
    assert mail.outbox == []


# --- the invitations log -------------------------------------------------------------


def test_it_never_shows_or_accepts_the_token_hash(world, invitation):
    created, token = invitation
    browser = world.login(world.admin)
    url = reverse("admin:accounts_invitation_change", args=[created.pk])
    page = browser.get(url)
    assert page.status_code == 200
    stored_hash = Invitation.objects.get(pk=created.pk).token_hash
    assert stored_hash.encode() not in page.content
    assert b"token hash" not in page.content.lower()
    assert b"token_hash" not in page.content
    assert b"token_hash" not in browser.get(INVITATIONS).content
    response = browser.post(url, {"token_hash": services.token_hash("chosen"), "email": "x@y.z"})
    assert response.status_code == 403
    created.refresh_from_db()
    assert created.token_hash == stored_hash
    assert created.email == "new.client@example.test"
    assert services.invitation_for_token(token=token) == created


def test_it_does_not_let_the_admin_search_by_token_hash(world, invitation):
    created, _ = invitation
    stored_hash = Invitation.objects.get(pk=created.pk).token_hash
    response = world.login(world.admin).get(f"{INVITATIONS}?q={stored_hash}")
    assert response.context["cl"].result_count == 0
    for lookup in ["token_hash", "token_hash__startswith"]:
        response = world.login(world.admin).get(f"{INVITATIONS}?{lookup}={stored_hash[:10]}")
        assert response.status_code == 400


def test_it_keeps_invitations_as_a_record(world, invitation):
    created, _ = invitation
    url = reverse("admin:accounts_invitation_delete", args=[created.pk])
    assert world.login(world.admin).post(url, {"post": "yes"}).status_code == 403
    assert Invitation.objects.filter(pk=created.pk).exists()


def test_it_filters_invitations_by_status(world, invitation):
    created, _ = invitation
    other = services.invitation_create(
        clinic=world.clinic,
        email="second@example.test",
        role=Role.CLIENT,
        clinician=world.clinician,
        invited_by=world.clinician,
    )
    services.invitation_revoke(invitation=other)
    browser = world.login(world.admin)
    pending = browser.get(f"{INVITATIONS}?status=pending").context["cl"].result_list
    revoked = browser.get(f"{INVITATIONS}?status=revoked").context["cl"].result_list
    assert list(pending) == [created]
    assert list(revoked) == [other]
    found = browser.get(f"{INVITATIONS}?q=second").context["cl"].result_list
    assert list(found) == [other]


def test_it_resends_and_withdraws_invitations_from_the_admin(world, invitation, send_outbox):
    created, old_token = invitation
    browser = world.login(world.admin)
    with send_outbox():
        browser.post(INVITATIONS, {"action": "resend", "_selected_action": [created.pk]})
    assert len(mail.outbox) == 2
    new_token = token_from(link_in(mail.outbox[-1], "/invite/"))
    assert services.invitation_for_token(token=new_token) == created
    with pytest.raises(services.InvitationError):
        services.invitation_for_token(token=old_token)
    browser.post(INVITATIONS, {"action": "revoke", "_selected_action": [created.pk]})
    with pytest.raises(services.InvitationError, match="withdrawn"):
        services.invitation_for_token(token=new_token)


# --- creating accounts directly ----------------------------------------------------------


def _user_add_data(**overrides) -> dict:
    data = {
        "email": "morgan@harbour.test",
        "full_name": "Morgan New",
        "role": "clinician",
        "timezone": "Europe/London",
        "usable_password": "false",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_it_creates_a_clinician_without_a_password(world):
    response = world.login(world.admin).post(USER_ADD, _user_add_data(clinic=world.clinic.pk))
    assert response.status_code == 302
    user = User.objects.get(email="morgan@harbour.test")
    assert user.role == Role.CLINICIAN
    assert not user.has_usable_password()
    assert not user.is_staff


def test_it_creates_a_client_with_a_clinician(world):
    response = world.login(world.admin).post(
        USER_ADD,
        _user_add_data(
            role="client",
            clinic=world.clinic.pk,
            clinician=world.colleague.pk,
            usable_password="true",
            password1="a-sturdy-pass-phrase-1",
            password2="a-sturdy-pass-phrase-1",
        ),
    )
    assert response.status_code == 302
    user = User.objects.get(email="morgan@harbour.test")
    assert user.client_profile.clinician == world.colleague
    assert user.check_password("a-sturdy-pass-phrase-1")


def test_it_gives_a_new_admin_access_to_the_admin_site(world):
    world.login(world.admin).post(USER_ADD, _user_add_data(role="admin"))
    assert User.objects.get(email="morgan@harbour.test").is_staff


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "is not a known time zone"),
        ({"email": "Dana@Harbour.test"}, "An account with this email address already exists."),
        ({"email": ""}, "This field is required."),
        ({"clinic": None}, "A clinician or a client must belong to a clinic."),
        ({"role": "client", "clinic": None}, "A clinician or a client must belong to a clinic."),
        ({"role": "client"}, "Choose an active clinician of the client"),
        ({"role": "client", "clinician": "STRANGER"}, "Choose an active clinician of the client"),
        (
            {"usable_password": "true", "password1": "short", "password2": "short"},
            "too short",
        ),
        (
            {"usable_password": "true", "password1": "a-sturdy-pass-1", "password2": "other"},
            "match",
        ),
        ({"usable_password": "true"}, "This field is required."),
    ],
)
def test_it_writes_nothing_for_a_bad_new_account(world, overrides, message):
    data = _user_add_data(**{"clinic": world.clinic.pk, **overrides})
    if data.get("clinician") == "STRANGER":
        data["clinician"] = world.stranger_clinician.pk
    users, profiles = User.objects.count(), ClientProfile.objects.count()
    response = world.login(world.admin).post(USER_ADD, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == users
    assert ClientProfile.objects.count() == profiles


# --- deactivating --------------------------------------------------------------------------


def test_it_deactivates_with_the_action_and_ends_the_sessions_at_once(world):
    client_browser = world.login(world.client)
    assert client_browser.get(reverse("homework:today")).status_code == 200
    assert _session_count(world.client) == 1
    response = world.login(world.admin).post(
        USERS, {"action": "deactivate", "_selected_action": [world.client.pk], "confirm": "yes"}
    )
    assert response.status_code == 302
    world.client.refresh_from_db()
    assert not world.client.is_active
    assert _session_count(world.client) == 0
    response = client_browser.get(reverse("homework:today"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    # Others keep theirs.
    assert world.login(world.other_client).get(reverse("homework:today")).status_code == 200


def test_it_deactivates_with_the_active_checkbox_and_ends_the_sessions(world):
    clinician_browser = world.login(world.clinician)
    admin = world.login(world.admin)
    page = admin.get(_user_change(world.clinician))
    data = admin_change_data(page)
    del data["is_active"]
    response = admin.post(_user_change(world.clinician), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _session_count(world.clinician) == 0
    assert clinician_browser.get(reverse("homework:dashboard")).status_code == 302


def test_it_turns_a_clinicians_weekly_summary_email_off_and_on_again(world):
    admin = world.login(world.admin)
    data = admin_change_data(admin.get(_user_change(world.clinician)))
    assert data["weekly_summary_email"] == "on"
    del data["weekly_summary_email"]
    response = admin.post(_user_change(world.clinician), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.clinician.refresh_from_db()
    assert world.clinician.weekly_summary_email is False
    response = admin.post(_user_change(world.clinician), {**data, "weekly_summary_email": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.clinician.refresh_from_db()
    assert world.clinician.weekly_summary_email is True


def test_it_withdraws_a_deactivated_clinicians_open_invitations(world, invitation):
    _, token = invitation
    services.user_deactivate(user=world.clinician)
    with pytest.raises(services.InvitationError, match="withdrawn"):
        services.invitation_for_token(token=token)


def test_it_does_not_let_an_admin_deactivate_themself(world):
    browser = world.login(world.admin)
    response = browser.post(
        USERS,
        {"action": "deactivate", "_selected_action": [world.admin.pk], "confirm": "yes"},
        follow=True,
    )
    assert b"You cannot deactivate yourself." in response.content
    world.admin.refresh_from_db()
    assert world.admin.is_active


# --- moving a client ---------------------------------------------------------------------


def test_it_moves_a_client_to_a_colleague_in_the_clinic(world):
    admin = world.login(world.admin)
    data = admin_change_data(admin.get(_profile_change(world.client)))
    data["clinician"] = world.colleague.pk
    response = admin.post(_profile_change(world.client), data)
    assert response.status_code == 302
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.colleague


def test_it_offers_only_active_clinicians_of_the_clients_clinic(world):
    services.user_deactivate(user=world.colleague)
    page = world.login(world.admin).get(_profile_change(world.client))
    choices = page.context["adminform"].form.fields["clinician"].queryset
    assert list(choices) == [world.clinician]


@pytest.mark.parametrize("target", ["stranger_clinician", "other_client", "inactive colleague"])
def test_it_refuses_to_move_a_client_outside_the_rules(world, target):
    if target == "inactive colleague":
        services.user_deactivate(user=world.colleague)
        clinician = world.colleague
    else:
        clinician = getattr(world, target)
    admin = world.login(world.admin)
    data = admin_change_data(admin.get(_profile_change(world.client)))
    data["clinician"] = clinician.pk
    response = admin.post(_profile_change(world.client), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.clinician


def test_it_moves_a_client_from_the_user_page(world):
    admin = world.login(world.admin)
    data = admin_change_data(admin.get(_user_change(world.client)))
    data["client_profile-0-clinician"] = world.colleague.pk
    response = admin.post(_user_change(world.client), data)
    assert response.status_code == 302, response.context["errors"]
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.colleague


def test_it_refuses_to_move_a_client_to_another_clinic_from_the_user_page(world):
    admin = world.login(world.admin)
    data = admin_change_data(admin.get(_user_change(world.client)))
    data["client_profile-0-clinician"] = world.stranger_clinician.pk
    response = admin.post(_user_change(world.client), data)
    assert response.status_code == 200
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.clinician


def test_it_refuses_to_reassign_across_clinics_in_the_service(world):
    with pytest.raises(ValidationError):
        services.client_reassign(client=world.client, clinician=world.stranger_clinician)
    with pytest.raises(ValidationError):
        services.client_reassign(client=world.client, clinician=world.other_client)
    with pytest.raises(ValidationError):
        services.client_reassign(client=world.clinician, clinician=world.colleague)
    world.client.client_profile.refresh_from_db()
    assert world.client.client_profile.clinician == world.clinician
    assert services.client_reassign(client=world.client, clinician=world.colleague).clinician == (
        world.colleague
    )


@pytest.mark.parametrize(
    ("who", "change", "message"),
    [
        ("clinician", {"role": "client"}, "This clinician has clients."),
        ("clinician", {"clinic": "OTHER"}, "This clinician has clients."),
        ("client", {"clinic": "OTHER"}, "A client stays a client of their clinic."),
        ("client", {"role": "clinician"}, "A client stays a client of their clinic."),
        ("colleague", {"clinic": ""}, "A clinician or a client must belong to a clinic."),
        ("colleague", {"timezone": "Nowhere/Special"}, "is not a known time zone"),
        ("colleague", {"email": "ALEX@client.test"}, "already exists"),
    ],
)
def test_it_refuses_account_changes_that_break_the_rules(world, who, change, message):
    user = getattr(world, who)
    admin = world.login(world.admin)
    data = admin_change_data(admin.get(_user_change(user)))
    if change.get("clinic") == "OTHER":
        change = {**change, "clinic": world.other_clinic.pk}
    data.update(change)
    response = admin.post(_user_change(user), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.role, fresh.clinic_id, fresh.timezone, fresh.email) == (
        user.role,
        user.clinic_id,
        user.timezone,
        user.email,
    )


# --- clinics ----------------------------------------------------------------------------


def test_it_refuses_a_clinic_with_an_unknown_time_zone(world):
    response = world.login(world.admin).post(
        reverse("admin:accounts_clinic_add"), {"name": "Seaside", "timezone": "Sea/Side"}
    )
    assert response.status_code == 200
    assert "is not a known time zone" in response.content.decode()
    assert not Clinic.objects.filter(name="Seaside").exists()


def test_it_counts_people_per_clinic_in_one_query(world, django_assert_max_num_queries):
    browser = world.login(world.admin)
    for number in range(5):
        Clinic.objects.create(name=f"Clinic {number}")
    with django_assert_max_num_queries(8):
        page = browser.get(reverse("admin:accounts_clinic_changelist"))
    harbour = next(c for c in page.context["cl"].result_list if c.pk == world.clinic.pk)
    assert (harbour.clinician_count, harbour.client_count) == (2, 2)


def test_it_keeps_the_people_list_queries_flat(world, django_assert_max_num_queries):
    browser = world.login(world.admin)
    for number in range(10):
        make_user(f"extra{number}@harbour.test", Role.CLINICIAN, world.clinic)
    with django_assert_max_num_queries(10):
        page = browser.get(USERS)
    assert page.context["cl"].result_count == 17


# --- a clinic's own admin (staff, not superuser) ----------------------------------------


@pytest.fixture
def clinic_admin(world) -> User:
    staff = make_user("office@harbour.test", Role.ADMIN, world.clinic, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    return staff


def test_it_shows_a_clinic_admin_only_their_clinic(world, clinic_admin):
    browser = world.login(clinic_admin)
    emails = {user.email for user in browser.get(USERS).context["cl"].result_list}
    assert world.clinician.email in emails
    assert world.stranger_clinician.email not in emails
    assert world.stranger_client.email not in emails
    response = browser.get(_user_change(world.stranger_client))
    assert response.status_code == 302  # the admin's "does not exist" redirect
    invite_form = browser.get(INVITE).context["adminform"].form
    assert list(invite_form.fields["clinic"].queryset) == [world.clinic]


def test_it_does_not_let_a_clinic_admin_grant_superuser_status(world, clinic_admin):
    browser = world.login(clinic_admin)
    data = admin_change_data(browser.get(_user_change(world.colleague)))
    data["is_superuser"] = "on"
    data["is_staff"] = "on"
    browser.post(_user_change(world.colleague), data)
    world.colleague.refresh_from_db()
    assert not world.colleague.is_superuser
    assert not world.colleague.is_staff


def test_it_lets_the_admin_log_in_through_the_admin_login(world):
    browser = world.login(None)
    response = browser.post(
        reverse("admin:login"),
        {"username": world.admin.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    # Past the password, the admin still needs the second step before the admin site.
    landing = browser.get("/admin/")
    assert landing.status_code == 302
    assert landing["Location"].startswith(reverse("accounts:mfa-setup"))
