"""The session and its person read in one query (accounts.session_store,
accounts.backends, accounts.middleware.AuthenticationMiddleware), and sessions ended by
their person's column (accounts.services.sessions_end_for_user).

The column is a shortcut, never an authority: the person is always the one the
session's own data names, verified by Django's session hash."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.backends import session_being_read
from accounts.models import User, UserSession
from accounts.session_store import SessionStore, session_user_id

pytestmark = pytest.mark.django_db

TODAY = reverse("homework:today")
LOGIN = reverse("accounts:login")
migration = import_module("accounts.migrations.0011_user_session")


def row(browser) -> UserSession:
    return UserSession.objects.get(session_key=browser.session.session_key)


def signed_in_as(response) -> User | None:
    user = response.wsgi_request.user
    return user if user.is_authenticated else None


def test_the_column_names_the_person_the_session_data_names(world):
    browser = world.login(world.client)
    assert row(browser).user_id == world.client.pk
    anonymous = SessionStore()
    anonymous["colour"] = "teal"
    anonymous.create()
    assert UserSession.objects.get(session_key=anonymous.session_key).user_id is None
    browser.logout()
    assert not UserSession.objects.filter(user_id=world.client.pk).exists()


def test_a_signed_in_page_reads_its_session_and_person_in_one_query(world):
    browser = world.login(world.client)
    browser.get(TODAY)
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(TODAY)
    assert signed_in_as(response) == world.client
    statements = [q["sql"] for q in queries.captured_queries]
    assert 'FROM "accounts_session"' in statements[0]
    assert '"accounts_user"."email"' in statements[0]
    assert '"accounts_clinic"' in statements[0] and '"accounts_clientprofile"' in statements[0]
    # No second read of the person by id.
    by_id = f'"accounts_user"."id" = {world.client.pk}'
    assert not [sql for sql in statements[1:] if by_id in sql and 'FROM "accounts_user"' in sql]
    assert response.wsgi_request.user.clinic.name == "Harbour Clinic"
    assert session_being_read.get() is None  # never left behind


def _stored(key: str) -> tuple:
    found = UserSession.objects.get(session_key=key)
    return found.session_data, found.expire_date, found.user_id


def test_an_existing_session_is_written_in_one_statement_as_django_writes_it(world):
    """The same row as Django's own save (data, expiry, person column), with one UPDATE
    and no BEGIN/COMMIT of its own; when the person changes, the column follows."""
    ours = SessionStore()
    ours["colour"] = "teal"
    ours.create()
    ours[SESSION_KEY] = str(world.client.pk)
    ours.set_expiry(timezone.now().replace(microsecond=0) + timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        ours.save()
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    reference = SessionStore(ours.session_key)
    reference.load()
    assert dict(reference.items()) == dict(ours.items())
    assert _stored(ours.session_key)[2] == world.client.pk
    # Django's own save of the same data writes the same columns.
    DatabaseSessionStore.save(reference)
    django_row = _stored(ours.session_key)
    ours.save()
    ours_row = _stored(ours.session_key)
    assert ours_row[1:] == django_row[1:]
    assert SessionStore().decode(ours_row[0]) == SessionStore().decode(django_row[0])
    del ours[SESSION_KEY]
    ours.save()
    assert _stored(ours.session_key)[2] is None


def test_a_session_gone_before_its_write_is_an_update_error_and_writes_nothing(world):
    store = SessionStore()
    store["colour"] = "teal"
    store.create()
    UserSession.objects.filter(session_key=store.session_key).delete()
    store["colour"] = "amber"
    with pytest.raises(UpdateError):
        store.save()
    assert not UserSession.objects.exists()


def test_a_column_naming_someone_else_is_not_believed(world):
    browser = world.login(world.client)
    UserSession.objects.filter(user_id=world.client.pk).update(user_id=world.clinician.pk)
    response = browser.get(TODAY)
    assert response.status_code == 200
    assert signed_in_as(response) == world.client


@pytest.mark.parametrize("named", [None, 10**12])
def test_a_column_naming_nobody_reads_the_person_afresh(world, named):
    browser = world.login(world.client)
    UserSession.objects.filter(user_id=world.client.pk).update(user_id=named)
    response = browser.get(TODAY)
    assert response.status_code == 200
    assert signed_in_as(response) == world.client


def test_a_person_deactivated_since_the_login_is_logged_out(world):
    browser = world.login(world.client)
    User.objects.filter(pk=world.client.pk).update(is_active=False)
    response = browser.get(TODAY)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_password_changed_behind_the_apps_back_ends_the_session(world):
    """Django's session hash is checked on the person read with the session, as on one
    read afresh: a password set by a bulk update still logs the session out."""
    browser = world.login(world.client)
    User.objects.filter(pk=world.client.pk).update(password=make_password("another one"))
    response = browser.get(TODAY)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not UserSession.objects.filter(user_id=world.client.pk).exists()


def test_ending_a_persons_sessions_finds_them_by_the_column_and_misses_none(world):
    kept = world.login(world.client)
    other = world.login(world.client)
    colleague = world.login(world.clinician)
    # A session an older release wrote: data naming the client, no column.
    legacy = SessionStore()
    legacy.update({SESSION_KEY: str(world.client.pk), BACKEND_SESSION_KEY: "x"})
    legacy.create()
    UserSession.objects.filter(session_key=legacy.session_key).update(user_id=None)
    anonymous = SessionStore()
    anonymous["colour"] = "teal"
    anonymous.create()

    ended = services.sessions_end_for_user(
        user=world.client, keep_session_key=kept.session.session_key
    )

    assert ended == 2
    left = set(UserSession.objects.values_list("session_key", flat=True))
    assert kept.session.session_key in left
    assert other.session.session_key not in left and legacy.session_key not in left
    assert {colleague.session.session_key, anonymous.session_key} <= left
    assert kept.get(TODAY).status_code == 200
    assert other.get(TODAY)["Location"].startswith(LOGIN)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        ("0", None),
        ("-1", None),
        ("4.2", None),
        ("٤٢", None),  # digits, but not ASCII ones
        (str(2**63), None),
        (str(2**63 - 1), 2**63 - 1),
        (42, None),
        (None, None),
        ("", None),
    ],
)
def test_only_an_id_the_column_can_hold_is_written(value, expected):
    assert session_user_id({SESSION_KEY: value}) == expected


def _django_session(data: dict, *, expires_in_days: int = 14) -> Session:
    store = SessionStore()
    return Session.objects.create(
        session_key=f"legacy{len(data)}{expires_in_days}{timezone.now().timestamp():.0f}"[:40],
        session_data=store.encode(data),
        expire_date=timezone.now() + timezone.timedelta(days=expires_in_days),
    )


def test_the_upgrade_moves_every_live_session_with_its_person(world):
    signed_in = _django_session({SESSION_KEY: str(world.client.pk), HASH_SESSION_KEY: "h", "x": 1})
    anonymous = _django_session({"colour": "teal"})
    expired = _django_session({SESSION_KEY: str(world.clinician.pk)}, expires_in_days=-1)
    unreadable = Session.objects.create(
        session_key="unreadable0000000000000000000000",
        session_data="not a signed value",
        expire_date=timezone.now() + timezone.timedelta(days=1),
    )

    migration.sessions_to_user_sessions(apps, None)

    moved = {s.session_key: s for s in UserSession.objects.all()}
    assert set(moved) == {signed_in.session_key, anonymous.session_key, unreadable.session_key}
    assert moved[signed_in.session_key].user_id == world.client.pk
    assert moved[signed_in.session_key].session_data == signed_in.session_data
    assert moved[signed_in.session_key].expire_date == signed_in.expire_date
    assert moved[anonymous.session_key].user_id is None
    assert moved[unreadable.session_key].user_id is None
    assert not Session.objects.filter(session_key=expired.session_key).exists()
    assert not Session.objects.exists()
    # The moved session still signs its person in.
    store = SessionStore(signed_in.session_key)
    assert store.load()[SESSION_KEY] == str(world.client.pk)


def test_the_upgrade_reversed_puts_the_live_sessions_back(world):
    browser = world.login(world.client)
    key = browser.session.session_key
    migration.user_sessions_to_sessions(apps, None)
    back = Session.objects.get(session_key=key)
    assert back.session_data == UserSession.objects.get(session_key=key).session_data
