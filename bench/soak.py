"""Soak: mixed traffic for ten minutes at about half of the measured capacity, while a real
worker and beat run the reminder and weekly-summary jobs.

    bench/soak                      # the full run: 600 s
    bench/soak --duration 60        # a short one while developing

1. gunicorn with production settings (bench/run.py's Server), sessions and API tokens
   written straight into the database (bench/run.py's actors_prepare).
2. Calibration: the mix below as fast as 16 connections go, for --calibrate seconds:
   that is the capacity. The soak then asks for --share of it (0.5) in requests per
   second, spaced evenly by bench/wrk/mixed.lua (wrk has no rate option of its own).
3. A Celery worker (prefork, 2 processes) and `celery beat` with the production schedule
   start; an SMTP sink in this process receives what they send. Reminders: every minute
   of the run, --reminders-per-minute clients have their reminder time fall due (their
   own wall clock), so beat's minute tick has that many to write and send. Weekly
   summaries: every two minutes --summaries-per-round more clients opt in and the
   summary ticks for last Monday are published (bench.tasks, as bench/run jobs does).
4. A warm-up of --warmup seconds (90: beat's first tick falls in it) at the soak's rate,
   then the soak itself, as two halves of --duration / 2 (one wrk run each, the second
   going on where the first's requests ended), with the resident memory (VmRSS) of every
   gunicorn, worker and beat process taken at the start (after the warm-up) and at the end.

Pass when: no request answered outside 2xx/3xx (or failed on the socket), the second
half's p99 is at most 20 % above the first's, and no process grew by 10 % or more.

The mix, per eight requests: clinician dashboard, a client's page (clinician), the
client's today page twice, API today twice, a completion POST from the portal and one
from the API (each POST on a plan with no log that day: thousands of distinct plans;
when the pool wraps, later POSTs correct a log, still a 2xx/3xx). The database is changed
for the run and put back (reminder times, opt-ins; the outbox rows it wrote are deleted);
the logs the POSTs wrote stay, as with bench/run web.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import jobs  # noqa: E402
from bench.run import (  # noqa: E402
    WRK_DIR,
    Server,
    actors_prepare,
    apply_environment,
    http_status,
    load_average,
    production_environment,
)

P99_DRIFT_LIMIT = 0.20
RSS_GROWTH_LIMIT = 0.10
CONNECTIONS = 16
THREADS = 2


# --- the request pool -------------------------------------------------------------------


def mixed_pool(path: Path, actors, *, portal: Path, api: Path) -> int:
    """Write the mix (module docstring) with the POSTs of these pools; returns its length."""
    reads = [
        ("GET", "/clinician/", f"Cookie: {actors.clinician_cookie}"),
        ("GET", f"/clinician/clients/{actors.client_id}/", f"Cookie: {actors.clinician_cookie}"),
        ("GET", "/portal/", f"Cookie: {actors.client_cookie}"),
        ("GET", "/api/v1/today/", f"Authorization: Token {actors.client_token}"),
    ]
    portal_posts = portal.read_text().splitlines()
    api_posts = api.read_text().splitlines()
    lines = []
    for i in range(max(len(portal_posts), len(api_posts))):
        dashboard, detail, today, api_today = reads
        cycle = [dashboard, today, api_today, portal_posts[i % len(portal_posts)]]
        cycle += [detail, today, api_today, api_posts[i % len(api_posts)]]
        for item in cycle:
            if isinstance(item, tuple):
                method, target, headers = item
                lines.append(f"{method}\t{target}\t{headers}\t")
            else:
                lines.append(f"POST\t{item}")
    path.write_text("".join(line + "\n" for line in lines))
    return len(lines)


def wrk_mixed(base: str, pool: Path, *, seconds: float, rate: float, first: int = 0) -> dict:
    """One wrk run of the mix; `first` is the pool line to start at (where the last ended)."""
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / "mixed.lua"),
        base + "/",
        "--",
        str(pool),
        str(THREADS),
        f"{rate:.2f}",
        str(first),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    raw["rps"] = raw["requests"] / (raw["duration_us"] / 1e6)
    raw["errors"] = raw["bad"] + sum(
        raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return raw


# --- processes and their memory -----------------------------------------------------------


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def processes(server: Server, worker: jobs.Workers, beat: subprocess.Popen) -> dict[str, int]:
    named = {"gunicorn master": server.process.pid}
    for n, pid in enumerate(children(server.process.pid), start=1):
        named[f"gunicorn worker {n}"] = pid
    named["celery worker main"] = worker.process.pid
    for n, pid in enumerate(children(worker.process.pid), start=1):
        named[f"celery worker child {n}"] = pid
    named["celery beat"] = beat.pid
    return named


def memory(named: dict[str, int]) -> dict[str, float | None]:
    return {name: rss_mb(pid) for name, pid in named.items()}


def wait_for_beat(beat: subprocess.Popen, var: Path, timeout: float = 90) -> None:
    """Until beat has written its schedule file (it has loaded Django and the schedule)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if beat.poll() is not None:
            raise SystemExit(f"celery beat exited; see {var / 'bench-beat.log'}")
        if list(var.glob("soak-celerybeat-schedule*")):
            time.sleep(1)
            return
        time.sleep(0.5)
    raise SystemExit("celery beat did not start")


def beat_start(env: dict[str, str], var: Path) -> subprocess.Popen:
    log = (var / "bench-beat.log").open("wb")
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "--app",
            "clinic",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(var / "soak-celerybeat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


# --- the jobs' work -------------------------------------------------------------------------


def reminders_spread(per_minute: int, minutes: int, start: datetime) -> int:
    """per_minute clients fall due in each of the next `minutes` minutes (UTC, on their own
    wall clock); every other client is paused. Returns how many were chosen."""
    from django.db import connection

    jobs.profiles_restore()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT id, (row_number() OVER (ORDER BY id) - 1) %% %(minutes)s AS slot
                FROM accounts_user WHERE role = 'client' AND is_active
                ORDER BY id LIMIT %(count)s
            )
            UPDATE accounts_clientprofile p SET
                reminder_time = CASE WHEN c.id IS NULL THEN p.reminder_time
                    ELSE ((%(start)s::timestamptz + c.slot * interval '1 minute')
                          AT TIME ZONE u.timezone)::time END,
                quiet_hours_start = NULL, quiet_hours_end = NULL,
                reminders_paused_until = CASE WHEN c.id IS NULL THEN %(paused)s::timestamptz
                    ELSE NULL END,
                weekly_summary = FALSE
            FROM accounts_user u LEFT JOIN chosen c ON c.id = u.id
            WHERE u.id = p.user_id
            """,
            {
                "minutes": minutes,
                "count": per_minute * minutes,
                "start": start,
                "paused": start + timedelta(days=30),
            },
        )
        cursor.execute("ANALYZE accounts_clientprofile")
    return per_minute * minutes


def summaries_round(offset: int, count: int) -> None:
    """`count` more clients opt in to the weekly summary; the summary ticks for last Monday
    are published (each writes only the summaries not written yet)."""
    from accounts.models import ClientProfile, User
    from bench.tasks import bench_weekly_summaries_tick

    ids = list(
        User.objects.filter(role="client", is_active=True)
        .order_by("-id")
        .values_list("id", flat=True)[offset : offset + count]
    )
    ClientProfile.objects.filter(user_id__in=ids).update(weekly_summary=True)
    for instant in jobs.summary_instants(datetime.now(UTC)):
        bench_weekly_summaries_tick.apply_async(args=[instant.isoformat()])


def outbox_figures() -> dict[str, tuple[int, int, int]]:
    from notifications.models import Notification

    kinds = {
        "reminders": [Notification.Kind.REMINDER],
        "weekly summaries": [Notification.Kind.WEEKLY_CLIENT, Notification.Kind.WEEKLY_CLINICIAN],
    }
    return {name: jobs.outbox_counts(kind) for name, kind in kinds.items()}


# --- the run ------------------------------------------------------------------------------


@dataclass
class Options:
    duration: float
    calibrate: float
    warmup: float
    share: float
    workers: int
    reminders_per_minute: int
    summaries_per_round: int
    pool_limit: int


def soak(options: Options) -> bool:
    env = production_environment()
    # Web, worker and beat share a queue of the soak's own.
    env["CELERY_QUEUE"] = f"kindwork-soak-{os.getpid()}"
    apply_environment(env)
    import django

    django.setup()
    from django.core.management import call_command

    var = Path(env["KINDWORK_VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    print(f"Database {env['DATABASE_URL']}; load average {load_average()}", flush=True)
    # The soak's pages use none of the admin's, the browsable API's or Swagger's files.
    call_command(
        "collectstatic",
        interactive=False,
        verbosity=0,
        ignore_patterns=["admin", "rest_framework", "drf_spectacular*"],
    )
    workdir = Path(tempfile.mkdtemp(prefix="kindwork-soak-"))
    actors = actors_prepare(workdir, options.pool_limit)
    calibration_pool = workdir / "calibration.tsv"
    soak_pool = workdir / "soak.tsv"
    mixed_pool(calibration_pool, actors, portal=actors.portal_warm_pool, api=actors.api_warm_pool)
    size = mixed_pool(soak_pool, actors, portal=actors.portal_pool, api=actors.api_pool)
    from django.db import connections

    connections.close_all()

    sink = jobs.SmtpSink()
    worker_env = sink.worker_environment(env)
    jobs.profiles_save()
    jobs.notifications_clear()
    server = Server(env, options.workers)
    worker: jobs.Workers | None = None
    beat: subprocess.Popen | None = None
    passed = False
    try:
        base = server.base
        for path, headers in [
            ("/clinician/", {"Cookie": actors.clinician_cookie}),
            ("/portal/", {"Cookie": actors.client_cookie}),
            ("/api/v1/today/", {"Authorization": f"Token {actors.client_token}"}),
        ]:
            status = http_status(base + path, headers)
            if status != 200:
                raise SystemExit(f"{path} answered {status}, not 200; not soaking")

        print(
            f"Calibration: the mix as fast as {CONNECTIONS} connections go, "
            f"{options.calibrate:g} s, gunicorn {options.workers} sync workers",
            flush=True,
        )
        calibration = wrk_mixed(base, calibration_pool, seconds=options.calibrate, rate=0)
        capacity = calibration["rps"]
        rate = capacity * options.share
        print(
            f"  capacity {capacity:.1f} req/s (p99 {calibration['p99_us'] / 1000:.0f} ms, "
            f"{calibration['errors']} errors); soaking at {rate:.1f} req/s "
            f"({options.share:.0%}); load {load_average()}",
            flush=True,
        )

        minutes = math.ceil((options.warmup + options.duration) / 60) + 1
        start_minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        chosen = reminders_spread(options.reminders_per_minute, minutes, start_minute)
        worker = jobs.Workers(worker_env, 2)
        worker.wait_ready()
        beat = beat_start(worker_env, var)
        wait_for_beat(beat, var)
        print(
            f"Jobs: worker (2 prefork processes) and beat; {chosen} clients' reminders fall "
            f"due over {minutes} minutes from {start_minute:%H:%M} UTC; "
            f"{options.summaries_per_round} more weekly summaries every 2 minutes",
            flush=True,
        )

        stop_rounds = threading.Event()

        def summary_rounds() -> None:
            offset = 0
            while not stop_rounds.wait(0 if offset == 0 else 120):
                summaries_round(offset, options.summaries_per_round)
                offset += options.summaries_per_round
            connections.close_all()

        rounds = threading.Thread(target=summary_rounds, daemon=True)
        rounds.start()
        named = processes(server, worker, beat)
        first_line = 0
        if options.warmup > 0:
            # Every process past its first requests and tasks before memory is taken.
            warm = wrk_mixed(base, soak_pool, seconds=options.warmup, rate=rate)
            first_line += warm["issued"]
            print(
                f"Warm-up: {options.warmup:g} s at the soak's rate, {warm['requests']} requests, "
                f"{warm['errors']} errors; load {load_average()}",
                flush=True,
            )
        before = memory(named)
        half = options.duration / 2
        print(
            f"Soak: {options.duration:g} s in two halves, {size} prepared requests; "
            f"load {load_average()}",
            flush=True,
        )
        halves = []
        for n in (1, 2):
            result = wrk_mixed(base, soak_pool, seconds=half, rate=rate, first=first_line)
            first_line += result["issued"]
            halves.append(result)
            print(
                f"  half {n}: {result['rps']:.1f} req/s, p50 {result['p50_us'] / 1000:.1f} ms, "
                f"p90 {result['p90_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms, "
                f"{result['requests']} requests, {result['errors']} errors "
                f"(non-2xx/3xx {result['bad']}); load {load_average()}",
                flush=True,
            )
        after = memory(named)
        stop_rounds.set()
        rounds.join(timeout=60)
        figures = outbox_figures()
        received = sink.count

        first, second = halves
        errors = sum(h["errors"] for h in halves)
        drift = second["p99_us"] / first["p99_us"] - 1 if first["p99_us"] else 0.0
        print(f"\n{'figure':<36} {'first half':>12} {'second half':>12}")
        for label, key, scale in [
            ("requests/s", "rps", 1),
            ("p50 ms", "p50_us", 1000),
            ("p90 ms", "p90_us", 1000),
            ("p99 ms", "p99_us", 1000),
            ("max ms", "max_us", 1000),
            ("errors (non-2xx/3xx, socket)", "errors", 1),
        ]:
            print(f"{label:<36} {first[key] / scale:12.1f} {second[key] / scale:12.1f}")
        print(f"\n{'process':<24} {'RSS start MB':>13} {'RSS end MB':>11} {'growth':>8}")
        growths = []
        for name in named:
            start_mb, end_mb = before[name], after[name]
            if start_mb is None or end_mb is None:
                print(f"{name:<24} {'-':>13} {'-':>11}  (gone)")
                growths.append(float("inf"))
                continue
            growth = end_mb / start_mb - 1
            growths.append(growth)
            print(f"{name:<24} {start_mb:13.1f} {end_mb:11.1f} {growth:8.1%}")
        print("\nJobs during the soak (outbox rows written / sent / failed):")
        for name, (written, sent, failed) in figures.items():
            print(f"  {name:<18} {written:6d} written {sent:6d} sent {failed:4d} failed")
        print(f"  SMTP sink received {received} messages")
        worst = max(growths, default=0.0)
        checks = [
            (f"errors: {errors}", "0", errors == 0),
            # A slower second half is what a soak looks for; a faster one is not a drift
            # of the server (a shared machine got quieter, caches got warmer).
            (
                f"p99, second half vs first: {drift:+.1%}",
                "at most +20 %",
                drift <= P99_DRIFT_LIMIT,
            ),
            (f"largest RSS growth: {worst:.1%}", "< 10 %", worst < RSS_GROWTH_LIMIT),
        ]
        print()
        for figure, target, met in checks:
            print(f"{figure:<52} target {target:<12} {'met' if met else 'NOT MET'}")
        passed = all(met for _f, _t, met in checks)
    finally:
        if beat is not None:
            beat.terminate()
            beat.wait(timeout=30)
        if worker is not None:
            worker.stop()
        server.stop()
        sink.stop()
        jobs.notifications_clear()
        jobs.profiles_restore()
        jobs.queue_purge()
        shutil.rmtree(workdir, ignore_errors=True)  # its request pools hold session keys
    print(f"Load average after: {load_average()}")
    return passed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="soak seconds (600)")
    parser.add_argument("--calibrate", type=float, default=20.0, help="calibration seconds")
    parser.add_argument(
        "--warmup", type=float, default=90.0, help="seconds at the soak rate before it (beat ticks)"
    )
    parser.add_argument("--share", type=float, default=0.5, help="share of the capacity")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    parser.add_argument("--reminders-per-minute", type=int, default=100)
    parser.add_argument("--summaries-per-round", type=int, default=50)
    parser.add_argument("--pool-limit", type=int, default=9000, help="distinct plans per POST")
    args = parser.parse_args(argv)
    print(f"Machine: {os.cpu_count()} cores; load average {load_average()}", flush=True)
    passed = soak(
        Options(
            duration=args.duration,
            calibrate=args.calibrate,
            warmup=args.warmup,
            share=args.share,
            workers=args.workers,
            reminders_per_minute=args.reminders_per_minute,
            summaries_per_round=args.summaries_per_round,
            pool_limit=args.pool_limit,
        )
    )
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
