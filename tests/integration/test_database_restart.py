"""PostgreSQL restarted under a running web server (gunicorn, production settings) and two
Celery workers, on a private cluster (and a private Redis) this test starts and stops:

- requests during the outage get a quick 503 in JSON, not a hang;
- a task that arrives while the database is away fails (its rows stay pending) instead of
  being lost: the sweep sends them once the database is back;
- a worker caught mid-send when the database goes records the email as sent once the
  database is back, so it is not sent again;
- web and workers recover without being restarted (connection health checks), every
  acknowledged write is stored, and every email of the outbox arrives exactly once.
"""

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from notifications import tasks
from tests.conftest import skip_or_fail
from tests.integration.conftest import _die_with_parent, free_port, wait_until

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
for number in range(3):
    User.objects.create_user(
        email=f"reset{number}@restart.test", password="x" * 12, role=Role.CLINICIAN, clinic=clinic
    )
print(AuthToken.objects.create(user=user)[1])
"""
# Password-reset emails whose publish is lost (the shell runs with no broker): rows the
# test then hands to a worker itself, while the database is down.
STRANDED = """
import json
from accounts.models import User
from notifications import services
from notifications.models import Notification
ids = []
for user in User.objects.filter(email__startswith="reset").order_by("pk"):
    notification, _created = services.notification_create(
        kind=Notification.Kind.PASSWORD_RESET, to_email=user.email, recipient_id=user.pk,
        idempotency_key=f"password_reset:{user.pk}",
    )
    ids.append(notification.pk)
print(json.dumps(ids))
"""
# Half an hour passes for the outbox: back-offs, the sweep's grace and stale claims.
LATER = """
from datetime import timedelta
from django.db.models import F
from notifications.models import Notification
waiting = Notification.objects.filter(status__in=["pending", "sending"])
print(waiting.update(
    next_attempt_at=F("next_attempt_at") - timedelta(minutes=30),
    claimed_at=F("claimed_at") - timedelta(minutes=30),
))
"""
STORED = """
import json
from accounts.models import Invitation
from notifications.models import Notification
print(json.dumps({
    "invitations": sorted(Invitation.objects.values_list("email", flat=True)),
    "outbox": sorted(Notification.objects.values_list("to_email", "status", "attempts")),
}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def post_invitation(port: int, token: str, address: str) -> tuple[int, str, float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/invitations/",
        data=json.dumps({"email": address}).encode(),
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


def start_worker(env: dict[str, str], queue: str, name: str, tmp_path: Path):
    log_path = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "clinic", "worker", "--pool", "solo",
         "--queues", queue, "--hostname", f"{name}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=_die_with_parent,
    )  # fmt: skip
    return process, log_path


@pytest.mark.services
def test_a_database_restart_loses_no_acknowledged_write_and_sends_no_email_twice(
    private_postgres, private_redis, smtp_sink, use_broker, tmp_path
):
    queue = f"kindwork-restart-{uuid.uuid4().hex[:8]}"
    env = production_env(private_postgres.url, tmp_path)
    env.update(smtp_sink.env)
    # Long enough for the sink to hold a message while the database goes down.
    env.update(REDIS_URL=private_redis.url(), CELERY_QUEUE=queue, EMAIL_TIMEOUT="60")
    manage(env, "migrate", "--noinput")
    token = manage(env, "shell", "-c", SETUP)
    port = free_port()
    web = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "clinic.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "web.log").open("w"),
    )  # fmt: skip
    workers = [start_worker(env, queue, name, tmp_path) for name in ("worker-a", "worker-b")]

    def worker_logs() -> str:
        return "".join(log.read_text(errors="replace") for _process, log in workers)

    acknowledged: list[str] = []

    def invite(address: str) -> int:
        status, _kind, _took = post_invitation(port, token, address)
        if status == 201:
            acknowledged.append(address)
        return status

    try:
        wait_until(lambda: worker_logs().count(" ready.") == 2, timeout=90, interval=0.2)
        wait_until(lambda: invite("warm-up@restart.test") == 201, timeout=60, interval=0.5)
        for number in range(5):
            assert invite(f"before{number}@restart.test") == 201
        smtp_sink.wait_for(len(acknowledged))

        no_broker = {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
        stranded = json.loads(manage(no_broker, "shell", "-c", STRANDED))
        assert len(stranded) == 3

        # A worker is mid-send (the relay holds the message) when the database goes.
        smtp_sink.hold()
        assert invite("in-flight@restart.test") == 201
        wait_until(lambda: smtp_sink.held == 1, timeout=30)
        private_postgres.stop()

        outage = [post_invitation(port, token, f"during{n}@restart.test") for n in range(4)]
        for status, kind, took in outage:
            assert status == 503, outage
            assert kind == "application/json"
            assert took < 10, outage

        # The idle worker takes a task for the stranded rows now: it fails, and is not lost.
        use_broker(private_redis.url(), queue=queue)
        task_id = str(uuid.uuid4())
        tasks.send_notifications.apply_async(args=[stranded], task_id=task_id)
        wait_until(lambda: f"{task_id}] raised unexpected" in worker_logs(), timeout=30)

        # The relay accepts the held message while the database is still away.
        smtp_sink.release()
        wait_until(lambda: len(smtp_sink.received) == len(acknowledged), timeout=30)
        time.sleep(1.5)  # the worker meets the closed database recording it
        private_postgres.start()

        # The same processes recover: health checks drop the dead connections.
        wait_until(lambda: invite("after-restart@restart.test") == 201, timeout=60, interval=0.5)
        for number in range(5):
            assert invite(f"after{number}@restart.test") == 201

        # Time passes; the sweep (as beat would send it) finds what the outage left.
        assert int(manage(env, "shell", "-c", LATER)) >= len(stranded)
        sweep_id = str(uuid.uuid4())
        tasks.sweep_pending.apply_async(task_id=sweep_id)
        wait_until(lambda: f"{sweep_id}] succeeded" in worker_logs(), timeout=60)

        resets = [f"reset{number}@restart.test" for number in range(3)]
        smtp_sink.wait_for(len(acknowledged) + len(resets), timeout=60)

        def outbox() -> list:
            return json.loads(manage(env, "shell", "-c", STORED))["outbox"]

        wait_until(lambda: all(row[1] == "sent" for row in outbox()), timeout=60, interval=1)
        assert web.poll() is None, "the web server was not restarted and is still running"
        for process, _log in workers:
            assert process.poll() is None, "the workers were not restarted and are still running"
    finally:
        smtp_sink.release()
        web.terminate()
        web.wait(timeout=30)
        for process, _log in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        print(worker_logs())

    stored = json.loads(manage(env, "shell", "-c", STORED))
    assert stored["invitations"] == sorted(acknowledged)  # none lost, none of the 503s
    delivered = Counter(address for mail in smtp_sink.received for address in mail.rcpt_tos)
    assert delivered == Counter(acknowledged + resets), "each email exactly once"
    assert [row for row in stored["outbox"] if row[1:] != ["sent", 1]] == []
