"""Load the portal and the API with wrk against a floor served in the same run.

    bench/run web          # this part (bench/run is the documented entry point)

Starts gunicorn with production settings (DEBUG=0, persistent database
connections, sync workers) on 127.0.0.1, gives a clinician and clients a session
(a session row written directly, as a login would) and API clients a knox token,
then loads each target with wrk: a warm-up, then the measured run. Prints a table
with requests/s, p50 and p99, and each figure's ratio to the DRF one-query floor,
then the queries each page and endpoint issues at this data size (in-process,
CaptureQueriesContext, against the same database).

Completion POSTs go to thousands of distinct assignments (one log per assignment
per day) that had no log on any possible "today" before; their logs are counted
after the run to show that no acknowledged write was lost.
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import FIELD_KEY, require_bench_database  # noqa: E402

WRK_DIR = Path(__file__).resolve().parent / "wrk"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kw_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"

# The performance targets (docs/benchmarks.md), as ratios to the DRF one-query floor
# measured in the same run.
# Issue 19: the clinician's pages (dashboard, client detail, and the daily pages the
# features added: group page, pre-session report, caseload search) at 0.25 with p99 at
# most 4x the floor's; the client's today page and the API's at 0.5; POSTs at 0.33.
READ_MIN_THROUGHPUT = 0.25
READ_MAX_P99 = 4.0
CLIENT_READ_MIN_THROUGHPUT = 0.5
POST_MIN_THROUGHPUT = 0.33
FLOOR = "floor: DRF one query"
FLOOR_AGAIN = "floor: DRF one query, again"
# Which reads are the client's (0.5 of the floor); every other read is a clinician's.
CLIENT_READS = ("client today page", "API today")
BENCH_GROUP_NAME = "Bench group"


def production_environment() -> dict[str, str]:
    """The settings gunicorn and the in-process parts share: production, bench database."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "DEBUG": "0",
            "SECRET_KEY": env.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
            # Production needs its own field-encryption key; the bench keeps one fixed key,
            # the generator's, so the rows it wrote stay readable (core.encryption).
            "FIELD_ENCRYPTION_KEYS": env.get("FIELD_ENCRYPTION_KEYS") or FIELD_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DB_CONN_MAX_AGE": env.get("DB_CONN_MAX_AGE", "600"),
            "KINDWORK_BENCH_FLOOR": "1",
            "KINDWORK_VAR_DIR": env.get(
                "KINDWORK_VAR_DIR", str(Path(tempfile.gettempdir()) / "kindwork-bench-var")
            ),
            "CELERY_QUEUE": env.get("CELERY_QUEUE", "kindwork-bench"),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def apply_environment(env: dict[str, str]) -> None:
    os.environ.update(env)
    require_bench_database(env["DATABASE_URL"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- gunicorn ---------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Kept open for the server's lifetime and left on disk to read after a failure.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "clinic.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                url = self.base + "/bench/floor/plain/"  # our own http URL
                with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"gunicorn did not come up; see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def http_status(url: str, headers: dict[str, str], data: bytes | None = None) -> int:
    request = urllib.request.Request(url, headers=headers, data=data)  # noqa: S310

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# --- wrk --------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    kind: str  # "floor", "read", "post", "reference"
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    raw: dict = field(default_factory=dict)
    note: str = ""


def wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
    script: str = "get.lua",
    script_args: list[str] | None = None,
) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / script),
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^WRK_JSON (.*)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    return json.loads(match.group(1))


def measure(
    name: str,
    kind: str,
    url: str,
    *,
    options: "Options",
    headers: dict[str, str] | None = None,
    script: str = "get.lua",
    warm_args: list[str] | None = None,
    run_args: list[str] | None = None,
) -> Result:
    common = {
        "connections": options.connections,
        "threads": options.threads,
        "headers": headers,
        "script": script,
    }
    if options.warmup > 0:
        wrk(url, duration=options.warmup, script_args=warm_args, **common)
    raw = wrk(url, duration=options.duration, script_args=run_args, **common)
    seconds = raw["duration_us"] / 1e6
    result = Result(
        name=name,
        kind=kind,
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        raw=raw,
    )
    errors = (
        sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
        + raw["status_errors"]
    )
    if errors:
        result.note = f"{errors} errors/non-2xx-3xx"
    print(
        f"  {name:<34} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  "
        f"p99 {result.p99_ms:7.1f} ms  {result.note}  (load {load_average()})",
        flush=True,
    )
    return result


# --- people and pools, written straight into the database --------------------------------


@dataclass
class Actors:
    clinician_id: int
    clinician_cookie: str
    group_id: int
    group_cookie: str
    search: str
    client_id: int
    client_cookie: str
    client_token: str
    portal_pool: Path
    portal_warm_pool: Path
    api_pool: Path
    api_warm_pool: Path
    pool_sizes: dict[str, int]
    pool_plans: dict[str, list[int]]


def session_data(user, backend: str) -> dict:
    """What a completed login leaves in the session, second factor included.

    Clinicians must pass a second factor before clinical pages (accounts.mfa): the
    bench gives each a confirmed authenticator and marks the session verified, as
    django_otp.login does after a correct code.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils import timezone

    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: backend,
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    try:
        from accounts import mfa
        from accounts.sessions import session_start
    except ImportError:  # an older tree without session clocks or MFA
        return data
    needs_mfa = mfa.mfa_required(user)
    session_start(session=data, now=timezone.now(), mfa_enrolled=needs_mfa)
    if needs_mfa:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Bench", confirmed=True)
        data[DEVICE_ID_SESSION_KEY] = device.persistent_id
    return data


def login_backend() -> str:
    """The backend a password login records: the first that can load a user back.

    (A lockout backend such as axes' only vets attempts and comes first.)
    """
    from django.conf import settings
    from django.utils.module_loading import import_string

    return next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if hasattr(import_string(path), "get_user")
    )


def sessions_create(user_ids: list[int]) -> dict[int, str]:
    """A logged-in session row per user, as a login through the form would leave it."""
    from django.conf import settings
    from django.utils import timezone

    from accounts.models import User, UserSession
    from accounts.session_store import SessionStore

    users = User.objects.in_bulk(user_ids)
    backend = login_backend()
    store = SessionStore()
    expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    keys: dict[int, str] = {}
    rows = []
    for user_id in user_ids:
        key = secrets.token_hex(16)
        data = store.encode(session_data(users[user_id], backend))
        rows.append(
            UserSession(session_key=key, session_data=data, expire_date=expire, user_id=user_id)
        )
        keys[user_id] = key
    UserSession.objects.bulk_create(rows, batch_size=2000)
    return keys


def logged_in_client(user, **defaults):
    """A django.test.Client logged in like sessions_create's users."""
    from django.test import Client

    browser = Client(**defaults)
    browser.force_login(user, backend=login_backend())
    session = browser.session
    session.update(session_data(user, login_backend()))
    session.save()
    return browser


def tokens_create(user_ids: list[int]) -> dict[int, str]:
    """A knox API token per user (only the digest is stored, as knox does)."""
    from django.utils import timezone
    from knox.models import AuthToken, get_digest_token
    from knox.settings import CONSTANTS, knox_settings

    tokens: dict[int, str] = {}
    rows = []
    for user_id in user_ids:
        digest, token = get_digest_token()
        rows.append(
            AuthToken(
                digest=digest,
                token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=timezone.now() + knox_settings.TOKEN_TTL,
            )
        )
        tokens[user_id] = token
    AuthToken.objects.bulk_create(rows, batch_size=2000)
    return tokens


def open_assignments() -> list[tuple[int, int]]:
    """(assignment id, client id) of running plans with no log yet on any possible "today"."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.client_id FROM homework_assignment a
            JOIN accounts_user u ON u.id = a.client_id AND u.is_active
            WHERE a.status = 'active' AND a.start_date <= CURRENT_DATE - 1
              AND (a.end_date IS NULL OR a.end_date >= CURRENT_DATE + 1)
              AND NOT EXISTS (
                SELECT 1 FROM homework_completion c
                WHERE c.assignment_id = a.id AND c.local_date >= CURRENT_DATE - 1)
            ORDER BY a.client_id, a.id
            """
        )
        return cursor.fetchall()


def group_prepare(exclude_clinician_id: int) -> tuple[int, int]:
    """(group id, clinician id): a group of 20 clients on the eight-week course.

    The data set has no groups: the first run makes one from the second-busiest
    clinician's caseload (so the dashboard and client detail measured above are not
    changed), enrolled in the built-in course four weeks ago with its weeks opened
    through the services, as the beat would have; later runs reuse it.
    """
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from homework.schedule import local_date
    from programs import services
    from programs.models import Group, Program

    group = Group.objects.filter(name=BENCH_GROUP_NAME).first()
    if group is not None:
        return group.pk, group.clinician_id
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.clinician_id FROM accounts_clientprofile p
            JOIN homework_completion c ON c.client_id = p.user_id
            WHERE p.clinician_id <> %s
            GROUP BY p.clinician_id ORDER BY count(*) DESC LIMIT 1
            """,
            [exclude_clinician_id],
        )
        (clinician_id,) = cursor.fetchone()
    clinician = User.objects.get(pk=clinician_id)
    clients = list(
        User.objects.filter(client_profile__clinician_id=clinician_id, is_active=True).order_by(
            "pk"
        )
    )
    started = timezone.now() - timedelta(weeks=4)
    group = services.group_save(
        clinician=clinician, name=BENCH_GROUP_NAME, member_ids=[c.pk for c in clients]
    )
    services.enrolments_create(
        clinician=clinician,
        program=Program.objects.filter(clinic__isnull=True).order_by("pk").first(),
        clients=clients,
        start_date=max(local_date(started, c.zone) for c in clients),
        group=group,
        now=started,
    )
    for week in range(1, 5):
        services.enrolments_open_due(now=started + timedelta(weeks=week, days=1))
    return group.pk, clinician_id


def actors_prepare(workdir: Path, pool_limit: int) -> Actors:
    from django.db import connection

    with connection.cursor() as cursor:
        # The clinician whose caseload logged the most: the heaviest dashboard.
        cursor.execute(
            """
            SELECT p.clinician_id FROM accounts_clientprofile p
            JOIN homework_completion c ON c.client_id = p.user_id
            GROUP BY p.clinician_id ORDER BY count(*) DESC LIMIT 1
            """
        )
        (clinician_id,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT p.user_id FROM accounts_clientprofile p
            JOIN homework_completion c ON c.client_id = p.user_id
            WHERE p.clinician_id = %s GROUP BY p.user_id ORDER BY count(*) DESC LIMIT 1
            """,
            [clinician_id],
        )
        (client_id,) = cursor.fetchone()

    group_id, group_clinician_id = group_prepare(clinician_id)
    # A caseload search that finds some of the clinician's clients: part of a surname.
    from accounts.models import User

    search = (User.objects.get(pk=client_id).full_name.split() or ["a"])[-1][:3]
    pairs = [(a, c) for a, c in open_assignments() if c != client_id]
    # Split the open plans by client: portal and API never share a client or a plan.
    portal_pairs = [(a, c) for a, c in pairs if c % 2 == 0][:pool_limit]
    api_pairs = [(a, c) for a, c in pairs if c % 2 == 1][:pool_limit]
    sessions = sessions_create(
        sorted({clinician_id, group_clinician_id, client_id} | {c for _a, c in portal_pairs})
    )
    tokens = tokens_create(sorted({client_id} | {c for _a, c in api_pairs}))
    csrf = secrets.token_hex(16)  # 32 characters: a valid CSRF secret, unmasked

    def write_pool(path: Path, lines: list[str]) -> Path:
        path.write_text("".join(line + "\n" for line in lines))
        return path

    def portal_line(assignment_id: int, client: int, tag: str) -> str:
        headers = (
            f"Cookie: sessionid={sessions[client]}; csrftoken={csrf}"
            "|Content-Type: application/x-www-form-urlencoded"
        )
        # As the form sends it: with the id it was shown with (sending twice writes one log).
        body = (
            f"minutes=5&reflection=bench-portal-{tag}&reflection_shared=on"
            f"&client_uuid={uuid.uuid4()}&csrfmiddlewaretoken={csrf}"
        )
        return f"/portal/practice/{assignment_id}/log/\t{headers}\t{body}"

    def api_line(assignment_id: int, client: int, tag: str) -> str:
        headers = f"Authorization: Token {tokens[client]}|Content-Type: application/json"
        body = json.dumps(
            {"assignment": assignment_id, "minutes": 5, "reflection": f"bench-api-{tag}"}
        )
        return f"/api/v1/completions/\t{headers}\t{body}"

    def split(items: list) -> tuple[list, list]:
        warm = max(1, len(items) // 7)
        return items[:warm], items[warm:]

    portal_warm, portal_main = split(portal_pairs)
    api_warm, api_main = split(api_pairs)
    return Actors(
        clinician_id=clinician_id,
        clinician_cookie=f"sessionid={sessions[clinician_id]}",
        group_id=group_id,
        group_cookie=f"sessionid={sessions[group_clinician_id]}",
        search=search,
        client_id=client_id,
        client_cookie=f"sessionid={sessions[client_id]}",
        client_token=tokens[client_id],
        portal_warm_pool=write_pool(
            workdir / "portal-warm.tsv", [portal_line(a, c, "warm") for a, c in portal_warm]
        ),
        portal_pool=write_pool(
            workdir / "portal.tsv", [portal_line(a, c, "run") for a, c in portal_main]
        ),
        api_warm_pool=write_pool(
            workdir / "api-warm.tsv", [api_line(a, c, "warm") for a, c in api_warm]
        ),
        api_pool=write_pool(workdir / "api.tsv", [api_line(a, c, "run") for a, c in api_main]),
        pool_sizes={"portal": len(portal_main), "api": len(api_main)},
        pool_plans={"portal": [a for a, _c in portal_main], "api": [a for a, _c in api_main]},
    )


def rows_written(assignment_ids: list[int]) -> int:
    """Logs on these plans on any possible "today" (same rule as open_assignments): none before.

    (Reflections are encrypted at rest and cannot be searched, so no marker text.)
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM homework_completion "
            "WHERE assignment_id = ANY(%s) AND local_date >= CURRENT_DATE - 1",
            [assignment_ids],
        )
        return cursor.fetchone()[0]


def daily_page_paths(actors: Actors) -> list[tuple[str, str, bool]]:
    """(name, path, as the group's clinician) of the pages a clinician opens daily."""
    return [
        ("group page", f"/clinician/groups/{actors.group_id}/", True),
        ("pre-session report", f"/clinician/clients/{actors.client_id}/report/", False),
        ("caseload search", f"/clinician/?q={actors.search}", False),
    ]


def clinician_daily_pages(actors: Actors, clinician, group_clinician) -> list:
    return [
        (name, (lambda b, p: lambda: b.get(p))(group_clinician if other else clinician, path))
        for name, path, other in daily_page_paths(actors)
    ]


# --- query counts -----------------------------------------------------------------------


def query_counts(actors: Actors) -> list[tuple[str, int, int]]:
    """Queries per page/endpoint, in-process against the same database: (name, queries, status).

    Each request runs once first (as on a warm server), then once measured. The POSTs
    write first-time logs: the warm-up and the measured call use different plans.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from programs.models import Group

    host = {"HTTP_HOST": "127.0.0.1"}
    web_clinician = logged_in_client(User.objects.get(pk=actors.clinician_id), **host)
    web_client = logged_in_client(User.objects.get(pk=actors.client_id), **host)
    group = Group.objects.get(pk=actors.group_id)
    web_group_clinician = logged_in_client(User.objects.get(pk=group.clinician_id), **host)
    api = Client(**host, HTTP_AUTHORIZATION=f"Token {actors.client_token}")

    def get(browser: Client, path: str):
        return lambda: browser.get(path)

    checks = [
        ("floor: DRF one query", get(Client(**host), "/bench/floor/drf/")),
        ("clinician dashboard", get(web_clinician, "/clinician/")),
        ("client detail", get(web_clinician, f"/clinician/clients/{actors.client_id}/")),
        ("client today page", get(web_client, "/portal/")),
        ("API today", get(api, "/api/v1/today/")),
        *clinician_daily_pages(actors, web_clinician, web_group_clinician),
    ]
    measured = [(name, call, call) for name, call in checks]

    # Four open plans of four different clients (the POST runs used theirs up).
    pairs, seen = [], set()
    for assignment_id, client_id in open_assignments():
        if client_id not in seen:
            seen.add(client_id)
            pairs.append((assignment_id, client_id))
        if len(pairs) == 4:
            break
    if len(pairs) == 4:
        tokens = tokens_create([pairs[2][1], pairs[3][1]])

        def portal_post(assignment_id: int, client_id: int):
            browser = logged_in_client(User.objects.get(pk=client_id), **host)
            return lambda: browser.post(
                f"/portal/practice/{assignment_id}/log/",
                {"minutes": 5, "reflection_shared": "on", "client_uuid": str(uuid.uuid4())},
            )

        def api_post(assignment_id: int, client_id: int):
            browser = Client(**host, HTTP_AUTHORIZATION=f"Token {tokens[client_id]}")
            return lambda: browser.post(
                "/api/v1/completions/",
                {"assignment": assignment_id, "minutes": 5},
                content_type="application/json",
            )

        measured += [
            ("completion POST (portal)", portal_post(*pairs[0]), portal_post(*pairs[1])),
            ("completion POST (API)", api_post(*pairs[2]), api_post(*pairs[3])),
        ]
    results = []
    for name, warm, call in measured:
        warm()
        with CaptureQueriesContext(connection) as queries:
            response = call()
        results.append((name, len(queries), response.status_code))
    return results


# --- the run ----------------------------------------------------------------------------


@dataclass
class Options:
    duration: float
    warmup: float
    connections: int
    threads: int
    workers: int
    pool_limit: int


def run_web(options: Options) -> list[Result]:
    env = production_environment()
    apply_environment(env)
    import django

    django.setup()
    from django.core.management import call_command

    print(f"Database {env['DATABASE_URL']}; load average {load_average()}", flush=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="kindwork-bench-"))
    actors = actors_prepare(workdir, options.pool_limit)
    print(
        f"Clinician {actors.clinician_id}, client {actors.client_id}; POST pools: "
        f"portal {actors.pool_sizes['portal']}, API {actors.pool_sizes['api']} distinct plans",
        flush=True,
    )
    from django.db import connections

    connections.close_all()

    server = Server(env, options.workers)
    base = server.base
    results: list[Result] = []
    try:
        session = {"Cookie": actors.clinician_cookie}
        portal = {"Cookie": actors.client_cookie}
        token = {"Authorization": f"Token {actors.client_token}"}
        reads = [
            ("floor: Django plain", "floor", "/bench/floor/plain/", None),
            ("floor: DRF one query", "floor", "/bench/floor/drf/", None),
            ("ref: DRF list of 50", "reference", "/bench/floor/list/", None),
            ("clinician dashboard", "read", "/clinician/", session),
            ("client detail", "read", f"/clinician/clients/{actors.client_id}/", session),
            ("client today page", "read", "/portal/", portal),
            ("API today", "read", "/api/v1/today/", token),
            *(
                (name, "read", path, {"Cookie": actors.group_cookie} if other else session)
                for name, path, other in daily_page_paths(actors)
            ),
        ]
        for name, _kind, path, headers in reads:
            status = http_status(base + path, headers or {})
            if status != 200:
                raise SystemExit(f"{name}: {path} answered {status}, not 200; not measuring it")
        print(
            f"wrk: {options.connections} connections, {options.threads} threads, "
            f"{options.warmup:g} s warm-up + {options.duration:g} s; gunicorn "
            f"{options.workers} sync workers",
            flush=True,
        )
        for name, kind, path, headers in reads:
            results.append(measure(name, kind, base + path, options=options, headers=headers))
        # The floor again, just before the writes: each target is compared with the floor
        # measured last before it, so a machine that slows down during the run (a shared
        # host does) weighs on both sides of a ratio alike. print_table shows the drift.
        results.append(measure(FLOOR_AGAIN, "floor", base + "/bench/floor/drf/", options=options))
        for name, pool, warm, label in (
            ("completion POST (portal)", actors.portal_pool, actors.portal_warm_pool, "portal"),
            ("completion POST (API)", actors.api_pool, actors.api_warm_pool, "api"),
        ):
            result = measure(
                name,
                "post",
                base + "/",
                options=options,
                script="post.lua",
                warm_args=[str(warm), str(options.threads)],
                run_args=[str(pool), str(options.threads)],
            )
            rows = rows_written(actors.pool_plans[label])
            size = actors.pool_sizes[label]
            acknowledged = result.raw["ok"]
            expected = min(acknowledged, size)
            lost = max(0, expected - rows)
            wrapped = result.raw["issued"] > size
            result.raw.update({"rows": rows, "pool": size, "lost": lost})
            result.note = (
                f"{acknowledged} acknowledged, {rows} rows written, lost {lost}"
                + (" (pool wrapped: later requests were corrections)" if wrapped else "")
                + (f", {result.raw['bad']} refused" if result.raw["bad"] else "")
            )
            print(f"    {result.note}", flush=True)
            results.append(result)
    finally:
        server.stop()

    print_table(results)
    print("\nQueries per request at this data size (in-process, same database):")
    for name, count, status in query_counts(actors):
        print(f"  {name:<34} {count:3d} queries  (HTTP {status})")
    print(f"\nLoad average after: {load_average()}")
    return results


def print_table(results: list[Result]) -> None:
    floors = [r for r in results if r.name in (FLOOR, FLOOR_AGAIN)]
    floor = floors[0]
    print(
        f"\n{'target':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'rps/floor':>9} {'p99/floor':>9}  target met"
    )
    for r in results:
        if r.name == FLOOR_AGAIN:
            floor = r  # the targets after it are compared with it
        ratio = r.rps / floor.rps if floor.rps else 0.0
        p99_ratio = r.p99_ms / floor.p99_ms if floor.p99_ms else 0.0
        if r.kind == "read":
            least = CLIENT_READ_MIN_THROUGHPUT if r.name in CLIENT_READS else READ_MIN_THROUGHPUT
            met = ratio >= least and p99_ratio <= READ_MAX_P99
            verdict = "yes" if met and not r.note else "NO"
        elif r.kind == "post":
            met = ratio >= POST_MIN_THROUGHPUT and r.raw.get("lost", 1) == 0
            verdict = "yes" if met and not r.raw.get("bad") else "NO"
        else:
            verdict = "-"
        print(
            f"{r.name:<28} {r.rps:8.1f} {r.p50_ms:8.1f} {r.p99_ms:8.1f} "
            f"{ratio:9.2f} {p99_ratio:9.2f}  {verdict}"
        )
    print(
        f"Targets: the clinician's pages >= {READ_MIN_THROUGHPUT:.0%} of the floor's req/s, "
        f"the client's ({', '.join(CLIENT_READS)}) >= {CLIENT_READ_MIN_THROUGHPUT:.0%}, every "
        f"read's p99 <= {READ_MAX_P99:g}x the floor's; POSTs >= {POST_MIN_THROUGHPUT:.0%} and "
        "no lost writes."
    )
    if len(floors) == 2 and floors[0].rps:
        drift = floors[1].rps / floors[0].rps - 1
        print(
            f"Each target is compared with the floor measured last before it: the reads with "
            f"the first, the POSTs with the second, which ran {drift:+.0%} against the first."
        )


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["web", "jobs", "all", "scale"], nargs="?", default="all")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    parser.add_argument(
        "--pool-limit", type=int, default=9000, help="distinct plans per POST target"
    )
    parser.add_argument(
        "--clients",
        type=int,
        nargs="*",
        default=None,
        help="jobs: fan-out sizes (default 2000 and all)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="jobs: Celery prefork processes (sending waits on SMTP and the database)",
    )
    parser.add_argument(
        "--no-summaries",
        action="store_true",
        help="jobs: the reminder fan-out only (emails/s and pushes/s), not the weekly summaries",
    )
    parser.add_argument(
        "--scale-workers",
        type=int,
        nargs="*",
        default=[1, 2, 4],
        help="scale: numbers of worker processes (and shards), one run each",
    )
    parser.add_argument(
        "--window", type=float, default=40.0, help="scale: seconds of delivery measured"
    )
    args = parser.parse_args(argv)
    if args.part == "scale":
        from bench import scale

        print(f"Machine: {os.cpu_count()} cores; load average {load_average()}", flush=True)
        scale.run_scale(
            production_environment(),
            args.scale_workers,
            window=args.window,
            summaries=not args.no_summaries,
            clients=args.clients[0] if args.clients else None,
        )
        return
    options = Options(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
        pool_limit=args.pool_limit,
    )
    print(f"Machine: {os.cpu_count()} cores; load average {load_average()}", flush=True)
    if args.part in ("web", "all"):
        run_web(options)
    if args.part in ("jobs", "all"):
        from bench import jobs

        jobs.run_jobs(
            production_environment(),
            sizes=args.clients,
            concurrency=args.concurrency,
            summaries=not args.no_summaries,
        )


if __name__ == "__main__":
    main()
