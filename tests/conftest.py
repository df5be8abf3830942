"""The test world: two clinics, their clinicians and clients, and an admin.

Every page test uses it to prove the right user gets in and everyone else is
refused: anonymous, a client, the other client of the same clinician, and the
clinician and client of the other clinic.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client

from accounts.mfa import mfa_required
from accounts.models import ClientProfile, Clinic, Role, User
from tests.push_service import PushService

PASSWORD = "a-long-test-password-9"

# A name a Jinja2 fragment misspells fails the test instead of printing nothing
# (core/jinja.py); read when the first fragment renders, after this import.
os.environ.setdefault("KINDWORK_STRICT_TEMPLATES", "1")


def services_required() -> bool:
    return os.getenv("REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Tests that need real services skip without them, and fail when CI requires them."""
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def run_module_on_sqlite(module: str, tmp_path: Path, flag: str) -> None:
    """Run the test module at `module` (a file path) again on SQLite, in a subprocess
    whose environment sets `flag`=1 (the module's own test of this skips there), and
    require it to pass."""
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {flag: "1"},
        KINDWORK_VAR_DIR=str(tmp_path),
        SQLITE_PATH=str(tmp_path / "kindwork.sqlite3"),
        REQUIRE_SERVICES="0",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            str(Path(module).resolve().relative_to(root)),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" in result.stdout  # the caller, skipped


def make_user(email: str, role: str, clinic: Clinic | None, **extra) -> User:
    return User.objects.create_user(
        email=email, password=PASSWORD, role=role, clinic=clinic, **extra
    )


def make_client(email: str, clinician: User, **extra) -> User:
    client = make_user(email, Role.CLIENT, clinician.clinic, **extra)
    ClientProfile.objects.create(user=client, clinician=clinician)
    return client


@dataclass
class World:
    clinic: Clinic
    other_clinic: Clinic
    clinician: User
    colleague: User  # a second clinician in the same clinic, with no clients
    client: User
    other_client: User  # same clinician, another client
    stranger_clinician: User  # the other clinic
    stranger_client: User  # the other clinic
    admin: User
    # Set by the `supervisor` fixture, for the tests that need one.
    supervisor: User | None = None

    def login(self, user: User | None) -> Client:
        """A browser logged in as `user`, past the second step for those who need it."""
        browser = Client()
        if user is not None:
            browser.force_login(user)
            if mfa_required(user):
                mfa_verify_session(browser, user)
        return browser


def mfa_verify_session(browser: Client, user: User) -> None:
    """Give the user a confirmed authenticator and mark the browser's session as verified.

    Clinicians and admins must pass two-step verification before any clinical page
    (accounts.middleware.MFARequiredMiddleware); this is what passing it leaves behind.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def world(db) -> World:
    clinic = Clinic.objects.create(name="Harbour Clinic", timezone="Europe/London")
    other_clinic = Clinic.objects.create(name="Hillside Practice", timezone="America/New_York")
    clinician = make_user("dana@harbour.test", Role.CLINICIAN, clinic, full_name="Dana Clinician")
    colleague = make_user("lee@harbour.test", Role.CLINICIAN, clinic, full_name="Lee Colleague")
    stranger_clinician = make_user(
        "sam@hillside.test", Role.CLINICIAN, other_clinic, full_name="Sam Stranger"
    )
    return World(
        clinic=clinic,
        other_clinic=other_clinic,
        clinician=clinician,
        colleague=colleague,
        client=make_client(
            "alex@client.test", clinician, full_name="Alex Client", timezone="Europe/London"
        ),
        other_client=make_client("blair@client.test", clinician, full_name="Blair Client"),
        stranger_clinician=stranger_clinician,
        stranger_client=make_client(
            "casey@client.test", stranger_clinician, full_name="Casey Client"
        ),
        admin=User.objects.create_superuser(
            email="admin@kindwork.test", password=PASSWORD, full_name="Ada Admin"
        ),
    )


@pytest.fixture
def supervisor(world: World) -> User:
    """A supervisor at world.clinic who supervises world.clinician (so reads world.client
    and world.other_client), not world.colleague; also set as world.supervisor."""
    world.supervisor = make_user(
        "rio@harbour.test", Role.SUPERVISOR, world.clinic, full_name="Rio Supervisor"
    )
    world.supervisor.supervises.add(world.clinician)
    return world.supervisor


@pytest.fixture(autouse=True)
def _page_cache_verified(settings):
    """Every body served from the page cache is also rendered afresh and compared
    (homework.page_cache): a test that writes and opens a page again fails on a write
    the record versions missed."""
    settings.PAGE_CACHE_VERIFY = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests that check hashing itself override this."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Unit tests run tasks in-process; the integration tests start a real worker."""
    from clinic.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


# --- A fake Web Push service on loopback and a VAPID pair, for any test that pushes.


@pytest.fixture
def vapid(settings) -> str:
    """A VAPID pair of the test's own; returns the public key the browser subscribes with."""
    from notifications.push import vapid_keys_generate

    private, public = vapid_keys_generate()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = private, public
    settings.VAPID_SUBJECT = "mailto:push-test@kindwork.test"
    return public


@pytest.fixture
def push_service() -> PushService:
    service = PushService().start()
    yield service
    service.stop()
