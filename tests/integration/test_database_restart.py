"""PostgreSQL restarted under a running web server (gunicorn, production settings) on a
private cluster this test starts and stops: requests during the outage get a quick 503 in
JSON, the server recovers without being restarted, and every acknowledged write is there."""

import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import skip_or_fail
from tests.integration.conftest import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent


class PrivatePostgres:
    def __init__(self, directory: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            skip_or_fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing")
        self.bin = Path(found[-1]).parent
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/kindwork"

    def _as_postgres(self, *command: str) -> None:
        # The server refuses to run as root; the Debian package's user runs it.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )
        self.start()
        self._as_postgres(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "kindwork"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.directory / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
        )


@pytest.fixture
def private_postgres():
    # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="kindwork-pg-"))
    server = PrivatePostgres(directory)
    try:
        server.init()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def production_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL",)}
    env.update(
        DEBUG="0",
        SECRET_KEY="restart-test-" + "k" * 40,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        DB_CONN_MAX_AGE="600",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        KINDWORK_VAR_DIR=str(tmp_path / "var"),
        # Production refuses to start without a Web Push key pair.
        VAPID_PRIVATE_KEY=PRODUCTION_ENV["VAPID_PRIVATE_KEY"],
        VAPID_PUBLIC_KEY=PRODUCTION_ENV["VAPID_PUBLIC_KEY"],
    )
    return env


from tests.security.test_deploy import PRODUCTION_ENV  # noqa: E402

SETUP = """
from accounts.models import Clinic, Role, User
from knox.models import AuthToken
clinic = Clinic.objects.create(name="Restart clinic", timezone="UTC")
user = User.objects.create_user(
    email="c@restart.test", password="x" * 12, role=Role.CLINICIAN, clinic=clinic
)
print(AuthToken.objects.create(user=user)[1])
"""
TITLES = """
from homework.models import Exercise
import json
titles = Exercise.objects.filter(clinic__isnull=False).values_list("title", flat=True)
print(json.dumps(sorted(titles)))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def post_exercise(port: int, token: str, title: str) -> tuple[int, str, float]:
    body = json.dumps(
        {
            "title": title,
            "category": "soothing",
            "summary": "s",
            "steps": ["Breathe."],
            "typical_minutes": 5,
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/exercises/",
        data=body,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http only)
            return response.status, response.headers["Content-Type"], time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], time.monotonic() - started
    except urllib.error.URLError:
        return 0, "", time.monotonic() - started  # the server is not listening (yet)


def test_a_database_restart_is_a_quick_503_and_nothing_acknowledged_is_lost(
    private_postgres, tmp_path
):
    env = production_env(private_postgres.url, tmp_path)
    manage(env, "migrate", "--noinput")
    token = manage(env, "shell", "-c", SETUP)
    port = free_port()
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "clinic.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "web.log").open("w"),
    )  # fmt: skip
    acknowledged: list[str] = []
    try:
        wait_until(
            lambda: post_exercise(port, token, "warm-up")[0] == 201, timeout=60, interval=0.5
        )
        acknowledged.append("warm-up")
        for number in range(10):
            status, _kind, _took = post_exercise(port, token, f"before {number}")
            assert status == 201
            acknowledged.append(f"before {number}")

        private_postgres.stop()
        outage = [post_exercise(port, token, f"during {number}") for number in range(4)]
        for status, kind, took in outage:
            assert status == 503, outage
            assert kind == "application/json"
            assert took < 10, outage
        private_postgres.start()

        # The same processes recover: health checks drop the dead connections.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, _kind, _took = post_exercise(port, token, "after restart")
            if status == 201:
                acknowledged.append("after restart")
                break
            time.sleep(0.5)
        assert acknowledged[-1] == "after restart"
        for number in range(10):
            status, _kind, _took = post_exercise(port, token, f"after {number}")
            assert status == 201
            acknowledged.append(f"after {number}")
        assert web.poll() is None, "the web server was not restarted and is still running"
    finally:
        web.terminate()
        web.wait(timeout=30)
    stored = json.loads(manage(env, "shell", "-c", TITLES))
    assert sorted(acknowledged) == sorted(
        title for title in stored if not title.startswith("during")
    )
