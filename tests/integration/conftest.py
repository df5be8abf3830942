"""Fixtures for tests that run the real thing: a Celery worker process, Redis, SMTP.

Reusable by any feature that sends email or runs tasks (reminders, summaries):

- `smtp_sink`: an SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives,
  and can refuse recipients on cue, or stop() and start() again on the same port (a
  relay that is down), or hold() every message mid-DATA until release(). Needs
  nothing else.
- `private_redis`: a redis-server of the test's own on a free port, to stop and
  start at will. Never touch the machine's shared Redis (others use it). Needs the
  `redis-server` program.
- `use_broker`: points this process's Celery app at a broker URL and a queue of the
  test's own, with eager mode off, so `notification_create` really publishes.
- `celery_worker`: starts `celery worker --pool solo` as a subprocess on that
  broker and queue, on the test database (so the test must commit: it requests
  `transactional_db`), sending mail to a `smtp_sink` if given. Needs PostgreSQL
  (a second process cannot see the in-memory SQLite test database) and a broker.
  Every worker is stopped when the test ends, whatever happened.

A fixture whose service is missing skips the test, or fails it when
REQUIRE_SERVICES=1 (as CI sets). Mark such tests `@pytest.mark.services`.

    @pytest.mark.services
    @pytest.mark.django_db(transaction=True)
    def test_it_sends(world, smtp_sink, celery_worker):
        celery_worker(smtp=smtp_sink)
        ...  # create a notification
        (message,) = smtp_sink.wait_for(1)
"""

import asyncio
import contextlib
import email
import email.policy
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from kombu import pools

from clinic.celery import app
from tests.conftest import skip_or_fail

WORKER_READY_TIMEOUT = 60


def free_port() -> int:
    """A TCP port nobody listens on right now (another process may take it later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.05):
    """Poll until `condition()` is truthy and return it; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s")
        time.sleep(interval)


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


@dataclass
class SmtpSink:
    """What the sink received, and replies to give instead of accepting."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list[ReceivedMail] = field(default_factory=list)
    # Each RCPT TO takes the next reply from here (e.g. "550 5.1.1 No such user")
    # until it is empty; then recipients are accepted again.
    refuse_recipients: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None
    # While holding, each message's DATA waits for release() before it is accepted: a
    # sender caught mid-send, for as long as the test needs.
    held: int = 0
    _released: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def __post_init__(self) -> None:
        self._released.set()

    def start(self) -> None:
        """Listen (again) on the sink's port; what it received before is kept."""
        if self._controller is None:
            self._controller = Controller(self, hostname=self.host, port=self.port)
            self._controller.start()

    def stop(self) -> None:
        """Stop listening: a relay that is down, connections refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point clinic.settings at this sink."""
        return {
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_TIMEOUT": "5",
        }

    @property
    def mailers(self) -> dict:
        """A MAILERS setting that sends to this sink from the test process itself."""
        return {
            "default": {
                "BACKEND": "notifications.smtp.OutboxSmtpBackend",
                "OPTIONS": {"host": self.host, "port": self.port, "timeout": 5},
            }
        }

    def wait_for(self, count: int, *, timeout: float = 60) -> list[ReceivedMail]:
        try:
            wait_until(lambda: len(self.received) >= count, timeout=timeout)
        except TimeoutError:
            pytest.fail(
                f"the SMTP sink got {len(self.received)} of {count} email(s) in {timeout} s"
            )
        return list(self.received)

    # aiosmtpd handler hooks (run in the controller's thread).
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        with self._lock:
            if self.refuse_recipients:
                return self.refuse_recipients.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if not self._released.is_set():
            with self._lock:
                self.held += 1
            while not self._released.is_set():
                await asyncio.sleep(0.02)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# --- Redis ------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own: stop() it to simulate an outage, start() it again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if self.process is not None:
            return
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.ping, timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_connect_timeout=1, socket_timeout=1)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- Celery -----------------------------------------------------------------------------


def _forget_broker_connections() -> None:
    """Drop pooled publishing connections (a plain `.delay()` uses them), as Celery and
    kombu do after a fork, so the next publish connects to the broker now configured."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def use_broker() -> Iterator[Callable[..., str]]:
    """Point this process's Celery app at `url` and a fresh queue; returns the queue name."""
    names = ("broker_url", "task_default_queue", "task_always_eager")
    saved = {name: app.conf[name] for name in names}

    def point(url: str, *, queue: str | None = None) -> str:
        queue = queue or f"kindwork-test-{uuid.uuid4().hex[:12]}"
        _forget_broker_connections()
        app.conf.broker_url = url
        app.conf.task_default_queue = queue
        app.conf.task_always_eager = False
        return queue

    yield point
    _forget_broker_connections()
    for name, value in saved.items():
        app.conf[name] = value


def redis_url_for_tests() -> str:
    """The shared Redis the suite was given (REDIS_URL); tests isolate by queue name."""
    url = os.getenv("REDIS_URL", "")
    if not url:
        skip_or_fail("REDIS_URL is not set")
    probe = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        probe.ping()
    except redis.RedisError:
        skip_or_fail(f"Redis at {url} does not answer")
    finally:
        probe.close()
    return url


def database_url_for_worker() -> str:
    """DATABASE_URL of the test database, for a process other than this one."""
    if connection.vendor != "postgresql":
        skip_or_fail("a worker process needs PostgreSQL (DATABASE_URL) to share the test database")
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    queue: str
    broker_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Warm shutdown (finish the current task), then kill if it hangs."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _die_with_parent() -> None:
    # Linux: the worker gets SIGTERM if pytest itself dies, so none is ever left behind.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture
def celery_worker(
    request: pytest.FixtureRequest, transactional_db, tmp_path: Path, use_broker
) -> Callable[..., CeleryWorker]:
    """Start real workers: `celery_worker(smtp=sink, broker_url=None, env=None)`.

    The broker defaults to REDIS_URL; this process publishes to the same broker and
    queue from then on. Every worker of one test shares that queue, so two workers
    compete for the same tasks as they would in production. Returns once the
    worker says it is ready.
    """
    queue = f"kindwork-test-{uuid.uuid4().hex[:12]}"
    numbers = itertools.count(1)

    def start(
        *,
        smtp: SmtpSink | None = None,
        broker_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CeleryWorker:
        database_url = database_url_for_worker()
        broker_url = broker_url or redis_url_for_tests()
        use_broker(broker_url, queue=queue)
        worker_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("EMAIL_", "CELERY_", "DATABASE_URL", "REDIS_URL"))
        }
        worker_env.update(
            {
                "DJANGO_SETTINGS_MODULE": "clinic.settings",
                "DATABASE_URL": database_url,
                "DB_CONN_MAX_AGE": "0",
                "REDIS_URL": broker_url,
                "CELERY_QUEUE": queue,
                "KINDWORK_VAR_DIR": str(tmp_path / "worker-var"),
                "SITE_URL": settings.SITE_URL,
                "DEBUG": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if smtp is not None:
            worker_env.update(smtp.env)
        worker_env.update(env or {})
        # Each worker its own log and node name: two workers writing one file from
        # separate offsets overwrite each other's lines.
        name = f"{queue}-{next(numbers)}"
        log_path = tmp_path / f"worker-{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "--app", "clinic", "worker",
                    "--pool", "solo",
                    "--queues", queue,
                    "--hostname", f"{name}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "--loglevel", "INFO",
                ],
                cwd=settings.BASE_DIR,
                env=worker_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        worker = CeleryWorker(process, queue, broker_url, log_path)

        def stop_and_show_log() -> None:
            worker.stop()
            # pytest shows a test's captured output only when it fails: the worker's
            # side of the story is then right there.
            print(f"----- Celery worker log ({log_path.name}) -----\n{worker.log()}")

        request.addfinalizer(stop_and_show_log)
        try:
            wait_until(
                lambda: process.poll() is not None or " ready." in worker.log(),
                timeout=WORKER_READY_TIMEOUT,
                interval=0.1,
            )
        except TimeoutError:
            pytest.fail(f"the Celery worker did not start:\n{worker.log()}")
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited ({process.returncode}):\n{worker.log()}")
        return worker

    return start
