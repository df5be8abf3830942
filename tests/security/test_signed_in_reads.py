"""What every signed-in request reads first, through compiled SQL (core.compiled): the
session, the user, the second-factor device and the API token. Each answers as the
Django or library code it stands in for, and odd input is refused, never a 500."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.backends import ClinicModelBackend
from accounts.middleware import OTPMiddleware
from accounts.models import UserSession
from accounts.session_store import SessionStore
from tests.api.conftest import client_with_token
from tests.conftest import mfa_verify_session

# Django's own database store, on the table ours keeps. Named SessionStore, as Django
# salts the signature of a session's data with the store class's name.
DjangoSessionStore = type(
    "SessionStore",
    (DatabaseSessionStore,),
    {"get_model_class": classmethod(lambda cls: UserSession)},
)


def saved_session(**data) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    return store.session_key


@pytest.mark.django_db
def test_the_session_store_reads_what_djangos_reads():
    key = saved_session(colour="teal", count=3)
    expired = saved_session(colour="grey")
    UserSession.objects.filter(session_key=expired).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    for session_key in (key, expired, "nosuchsessionkey0000000000000000"):
        ours, django = SessionStore(session_key), DjangoSessionStore(session_key)
        assert ours.load() == django.load()
        assert ours.session_key == django.session_key
    assert SessionStore(key).load() == {"colour": "teal", "count": 3}
    assert SessionStore(expired).load() == {}


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["abcdefgh\x00ijkl", "ABCDEFGHIJKLMNOP", "é" * 12, "a b c d e f g"])
def test_a_cookie_with_a_key_django_never_makes_is_no_session(client, key):
    client.cookies["sessionid"] = key
    response = client.get(reverse("homework:today"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_user_is_loaded_with_clinic_and_profile_in_one_query(world):
    backend = ClinicModelBackend()
    with CaptureQueriesContext(connection) as queries:
        user = backend.get_user(world.client.pk)
        assert (user.clinic.name, user.client_profile.clinician_id) == (
            "Harbour Clinic",
            world.clinician.pk,
        )
    assert len(queries) == 1
    assert user == world.client and user.email == world.client.email
    clinician = backend.get_user(world.clinician.pk)
    assert clinician == world.clinician and clinician.clinic == world.clinic
    world.other_client.is_active = False
    world.other_client.save()
    assert backend.get_user(world.other_client.pk) is None  # as Django's backend
    assert backend.get_user(10**12) is None
    assert backend.get_user("not a number") is None


def test_the_second_factor_device_is_read_as_django_otp_reads_it(world):
    device = TOTPDevice.objects.create(user=world.clinician, name="Phone", confirmed=True)
    middleware = OTPMiddleware(lambda request: None)
    ours = middleware._device_from_persistent_id(device.persistent_id)
    assert ours == Device.from_persistent_id(device.persistent_id) == device
    assert ours.bin_key == device.bin_key and ours.user_id == world.clinician.pk
    odd = [
        "nonsense",
        "otp_totp.totpdevice/not-a-number",
        "otp_totp.totpdevice/987654321",
        "no_such_app.device/1",
        "accounts.user/1",  # a model that is not a device
        "otp_totp.totpdevice/1/2",
    ]
    for persistent_id in odd:
        assert middleware._device_from_persistent_id(persistent_id) is None


def test_a_clinician_whose_session_names_an_odd_device_is_asked_for_a_code(world, client):
    client.force_login(world.clinician)
    mfa_verify_session(client, world.clinician)
    assert client.get(reverse("homework:dashboard")).status_code == 200
    session = client.session
    session["otp_device_id"] = "accounts.user/1"
    session.save()
    response = client.get(reverse("homework:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa-verify"))


@pytest.mark.parametrize(
    "token",
    [b"\xff\xfe\xfd\xfc".decode("latin-1"), "abcdefgh\x00ijkl", "\x00" * 64],
    ids=["not UTF-8", "a NUL inside", "only NULs"],
)
def test_a_token_that_is_not_text_is_refused_as_any_wrong_token(world, token):
    response = client_with_token(token).get(reverse("api:v1:me"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
