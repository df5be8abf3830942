"""The production path, smoke-tested: web, worker and beat started from deploy/'s systemd
units (their ExecStart and Environment lines, with the paths and the port made local), with
DEBUG off and the settings behind nginx (BEHIND_TLS_PROXY=1, requests carry the proxy's
headers), on PostgreSQL and Redis, and one journey over HTTP only:

a clinician logs in (password, then an authenticator code) and invites a client; the
client opens the link from the invitation email (an SMTP sink) and sets a password; the
clinician assigns two practices; the client logs one and sets their reminder time; beat's
reminder tick (a real `celery beat`) has the worker send the reminder for the other one,
which arrives in the sink. Then readiness answers 200 (database, broker and a recent beat)
and /metrics counts the journey's routes.

The reminder time has minute resolution and a plan assigned after it starts tomorrow, so
the test waits for the minute after the plans were assigned (about 30 s on average, 60 s
at most), while the client's part of the journey runs and beat starts. Beat's schedule file
is written first as a beat that ran a minute ago would have left it, so its first reminder
tick comes right at that minute rather than a full interval after it starts.
"""

import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from celery.beat import PersistentScheduler
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Clinic, Role, User
from clinic.celery import app
from tests.integration.conftest import (
    SmtpSink,
    _die_with_parent,
    database_url_for_worker,
    free_port,
    redis_url_for_tests,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
UNITS = ROOT / "deploy" / "systemd"
HOST = "kindwork.example.org"
PASSWORD = "smoke-test-password-1729"
METRICS_TOKEN = "smoke-metrics-token-" + "x" * 12
REMINDER_TICK = "outreach-reminders"


def unit_service(name: str) -> tuple[list[str], dict[str, str]]:
    """The ExecStart command and the Environment= settings of deploy/systemd/kindwork-NAME."""
    text = (UNITS / f"kindwork-{name}.service").read_text().replace("\\\n", " ")
    command: list[str] = []
    environment: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart":
            command = shlex.split(value)
        elif key == "Environment":
            variable, _, setting = value.partition("=")
            environment[variable] = setting
    assert command, f"kindwork-{name}.service has no ExecStart"
    return command, environment


def localized(words: list[str], replacements: dict[str, str]) -> list[str]:
    out = []
    for word in words:
        for old, new in replacements.items():
            word = word.replace(old, new)
        out.append(word)
    return out


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Installation:
    """deploy/'s three units, started here on local paths and a free port."""

    var: Path
    env: dict[str, str]
    port: int
    services: list[Service] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def replacements(self) -> dict[str, str]:
        return {
            "/srv/kindwork/.venv": str(ROOT / ".venv"),
            "/srv/kindwork/var": str(self.var),
            "/run/kindwork-web": str(self.var / "run"),
            "127.0.0.1:8000": f"127.0.0.1:{self.port}",
        }

    def start(self, name: str) -> Service:
        command, unit_env = unit_service(name)
        command = localized(command, self.replacements())
        if "--workers" in command:  # the unit's 4 are for a real machine; this one is shared
            command[command.index("--workers") + 1] = "2"
        env = dict(self.env)
        for variable, value in unit_env.items():
            env[variable] = localized([value], self.replacements())[0]
        if "PROMETHEUS_MULTIPROC_DIR" in env:  # systemd's RuntimeDirectory= makes it
            Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        log_path = self.var / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                cwd=ROOT,  # the units' WorkingDirectory
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        service = Service(name, process, log_path)
        self.services.append(service)
        return service

    def check_running(self) -> None:
        for service in self.services:
            if service.process.poll() is not None:
                code = service.process.returncode
                pytest.fail(f"{service.name} exited ({code}):\n{service.log()}")


@pytest.fixture
def installation(transactional_db, smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[Installation]:
    var = tmp_path / "var"
    var.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "CELERY_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": HOST,
            "SITE_URL": f"https://{HOST}",
            "DATABASE_URL": database_url_for_worker(),
            "REDIS_URL": redis_url_for_tests(),
            "CELERY_QUEUE": f"kindwork-smoke-{uuid.uuid4().hex[:12]}",
            "KINDWORK_VAR_DIR": str(var),
            "LOG_FORMAT": "json",
            "METRICS_TOKEN": METRICS_TOKEN,
            "PYTHONUNBUFFERED": "1",
            **smtp_sink.env,
        }
    )
    # The deploy step before a start. The journey's pages need none of the admin's, the
    # browsable API's or Swagger's files (a page that did would answer 500 here), and
    # compressing those takes most of a minute.
    subprocess.run(
        [
            *[str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v0"],
            *["--ignore", "admin", "--ignore", "rest_framework", "--ignore", "drf_spectacular*"],
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    site = Installation(var=var, env=env, port=free_port())
    try:
        yield site
    finally:
        for service in reversed(site.services):
            service.stop()
        with contextlib.suppress(Exception), app.connection_for_write() as connection:
            connection.default_channel.queue_delete(env["CELERY_QUEUE"])
        # pytest shows this only when the test fails.
        for service in site.services:
            print(f"----- {service.name} log -----\n{service.log()[-20000:]}")


class Browser:
    """requests through "nginx": the proxy's headers, and cookies kept by hand (they are
    Secure, which requests would only send over https)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.http = requests.Session()
        self.http.trust_env = False

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.9",
            **kwargs.pop("headers", {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value
        assert response.status_code < 500, (method, path, response.status_code, response.text)
        return response

    def get(self, path: str) -> requests.Response:
        response = self.request("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.headers)
        return response

    def submit(self, page: str, fields: dict[str, str], action: str | None = None):
        """Open a form page and post the form as a browser would (its CSRF token included)."""
        html = self.get(page).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert token, f"no form on {page}"
        return self.request(
            "POST",
            action or page,
            data={"csrfmiddlewaretoken": token.group(1), **fields},
            headers={"Origin": f"https://{HOST}", "Referer": f"https://{HOST}{page}"},
        )


def submitted(response: requests.Response) -> str:
    """Where a successful form post redirects to (a form with errors answers 200)."""
    assert response.status_code == 302, (response.status_code, response.text[-3000:])
    return response.headers["Location"]


def clinician_create() -> tuple[User, TOTPDevice]:
    """The one thing made outside HTTP: a clinic with a clinician who has an authenticator."""
    clinic = Clinic.objects.create(name="Smoke Test Clinic", timezone="UTC")
    clinician = User.objects.create(
        email="dana@smoke.test",
        # Hashed as production hashes it (the suite's own hasher is a fast one).
        password=PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt()),
        role=Role.CLINICIAN,
        clinic=clinic,
        full_name="Dana Clinician",
    )
    device = TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)
    return clinician, device


def midday_zone() -> str:
    """A zone where the next few minutes stay inside one local day."""
    now = timezone.now()
    for name in ["UTC", "Asia/Tokyo", "America/New_York"]:
        if 1 <= now.astimezone(ZoneInfo(name)).hour < 23:
            return name
    raise AssertionError("no zone in the middle of its day")  # pragma: no cover


def beat_schedule_seed(path: Path, *, reminders_at: datetime) -> None:
    """Leave beat's schedule file as a beat that has just stopped would: every job last
    ran a minute ago (so it runs when beat starts), the reminder tick so that its next run
    falls at `reminders_at`."""
    scheduler = PersistentScheduler(app=app, schedule_filename=str(path), lazy=False)
    try:
        now = datetime.now(UTC)
        for name, entry in scheduler.schedule.items():
            if not hasattr(entry.schedule, "seconds"):  # not an interval (crontab)
                continue
            if name == REMINDER_TICK:
                entry.last_run_at = reminders_at - timedelta(seconds=entry.schedule.seconds)
            else:
                entry.last_run_at = now - timedelta(seconds=entry.schedule.seconds + 60)
        scheduler.sync()
    finally:
        scheduler.close()


def email_to(sink: SmtpSink, address: str, subject_word: str, timeout: float):
    def found():
        return next(
            (
                mail
                for mail in sink.received
                if address in mail.rcpt_tos and subject_word.lower() in mail.subject.lower()
            ),
            None,
        )

    try:
        return wait_until(found, timeout=timeout, interval=0.2)
    except TimeoutError:
        subjects = [(m.rcpt_tos, m.subject) for m in sink.received]
        pytest.fail(f"no '{subject_word}' email to {address} in {timeout} s; sink: {subjects}")


def test_invite_accept_log_and_a_reminder_arrive_on_the_production_path(
    installation: Installation, smtp_sink: SmtpSink
):
    started = time.monotonic()
    clinician, device = clinician_create()
    web = installation.start("web")
    installation.start("worker")
    site = Browser(installation.base)

    def live() -> bool:
        installation.check_running()
        with contextlib.suppress(requests.RequestException):
            return site.request("GET", "/healthz/live").status_code == 200
        return False

    wait_until(live, timeout=60, interval=0.2)
    # The unit's control socket (gunicornc) is where the unit's RuntimeDirectory is.
    assert (installation.var / "run" / "gunicorn.ctl").is_socket(), web.log()

    # The clinician: password, then the authenticator's code, then the invitation.
    staff = Browser(installation.base)
    submitted(staff.submit("/accounts/login/", {"username": clinician.email, "password": PASSWORD}))
    # Clinical pages wait for the second step.
    assert "two-step" in staff.request("GET", "/clinician/").headers["Location"]
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    submitted(staff.submit("/accounts/two-step/verify/", {"code": f"{code:06d}"}))
    client_email = "sam@smoke.test"
    invited = staff.submit(
        "/clinician/invitations/", {"email": client_email, "full_name": "Sam Rivera"}
    )
    submitted(invited)
    invite_request_id = invited.headers["X-Request-ID"]

    # The client: the link from the email, a password and a time zone.
    invitation = email_to(smtp_sink, client_email, "invit", timeout=60)
    link = re.search(rf"https://{re.escape(HOST)}(/invite/[^\s\"<>]+)", invitation.text())
    assert link, invitation.text()
    zone = midday_zone()
    person = Browser(installation.base)
    home = submitted(
        person.submit(
            link.group(1),
            {
                "full_name": "Sam Rivera",
                "timezone": zone,
                "password1": "a calm harbour 4 sam",
                "password2": "a calm harbour 4 sam",
            },
        )
    )
    assert home.endswith("/portal/"), home

    # The clinician assigns two practices.
    caseload = staff.get("/clinician/").text
    client_id = re.search(r"/clinician/clients/(\d+)/", caseload).group(1)
    assign = f"/clinician/clients/{client_id}/assign/"
    exercises = re.findall(r'<option value="(\d+)"', staff.get(assign).text)
    assert len(exercises) >= 2, exercises
    today = datetime.now(ZoneInfo(zone)).date().isoformat()
    for exercise in exercises[:2]:
        submitted(
            staff.submit(
                assign,
                {
                    "exercise": exercise,
                    "note": "",
                    "schedule_kind": "daily",
                    "start_date": today,
                    "end_date": "",
                    "reminder_time": "",
                },
            )
        )
    # A reminder time must come after the plan was made: the next minute.
    due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    beat_schedule_seed(installation.var / "celerybeat-schedule", reminders_at=due)
    installation.start("beat")

    # The client logs the first practice and asks for reminders at that minute.
    practices = re.findall(r"/portal/practice/(\d+)/", person.get("/portal/").text)
    assert len(set(practices)) == 2, practices
    first = practices[0]
    submitted(
        person.submit(
            f"/portal/practice/{first}/",
            {"minutes": "5", "reflection": "It helped a little.", "reflection_shared": "on"},
            action=f"/portal/practice/{first}/log/",
        )
    )
    submitted(
        person.submit(
            "/portal/reminders/",
            {
                "reminder_time": due.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
                "quiet_hours_start": "",
                "quiet_hours_end": "",
                "pause": "",
            },
        )
    )

    # Beat's tick at that minute; the worker sends the reminder for the other practice.
    reminder = email_to(smtp_sink, client_email, "practice waiting", timeout=90)
    assert "/portal/" in reminder.text()
    installation.check_running()
    subjects = sorted(m.subject for m in smtp_sink.received)
    # The invitation, a note of each new practice, one reminder (the logged one has none).
    assert subjects == [
        "You have a new practice",
        "You have a new practice",
        "You have practice waiting",
        "You're invited to Kindwork",
    ], subjects

    # Readiness: database, broker and a periodic task that succeeded (beat and worker).
    def ready():
        return site.request("GET", "/healthz/ready").status_code == 200

    wait_until(ready, timeout=30, interval=0.5)
    metrics = site.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    assert 'route="accounts:invitations"' in metrics and 'route="homework:log"' in metrics
    # The web request's id travelled with the task that sent its email (JSON lines).
    worker_lines = [
        json.loads(line)
        for service in installation.services
        if service.name == "worker"
        for line in service.log().splitlines()
        if line.startswith("{")
    ]
    assert any(line.get("request_id") == invite_request_id for line in worker_lines)
    # A refusal is one short line in the web's log, never a traceback.
    refusals = [
        person.request("GET", "/portal/practice/987654/"),  # no such practice: 404
        staff.request("GET", "/portal/"),  # a clinician on a client's page: 403
    ]
    time.sleep(0.5)  # the lines are written after the response
    web_lines = [json.loads(line) for line in web.log().splitlines() if line.startswith("{")]
    for response in refusals:
        assert response.status_code in (403, 404), response.status_code
        mine = [x for x in web_lines if x.get("request_id") == response.headers["X-Request-ID"]]
        assert len(mine) == 1 and mine[0]["level"] == "WARNING", mine
        assert "exc_info" not in mine[0] and "\n" not in mine[0]["message"], mine
    assert "Traceback" not in web.log()
    assert web.process.poll() is None
    print(f"production smoke test: {time.monotonic() - started:.1f} s")
