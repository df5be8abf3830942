"""Where a page's time goes, in-process: mean milliseconds per request and a profile.

    .venv/bin/python bench/hotspots.py [--requests 50] [--top 25] [--save DIR] [target ...]

Targets: floor, dashboard, detail, today, api-today, group, report, search (default:
all of these), and post-portal, post-api: completion POSTs, each to a plan with no log
yet, as `bench/run web` sends them (they write logs: use a copy of the bench database,
`createdb -T kw_bench kw_bench_copy`). Uses the same
production settings, bench database and logged-in actors as `bench/run web` (the
clinician whose caseload logged the most and that caseload's busiest client), runs
each target a few times to warm up, times `--requests` more (wall time, and the
Python process's CPU time, which leaves out PostgreSQL's and other processes' work
and so holds steady on a shared machine), then prints cProfile's
top functions by own time and by cumulative time for one more batch. Queries are
counted as in `bench/run`. The figures are single-process, without gunicorn or wrk:
use them to find the hot spots, and `bench/run web` for the throughput targets.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import apply_environment, production_environment  # noqa: E402

TARGETS = [
    "floor",
    "dashboard",
    "detail",
    "today",
    "api-today",
    "group",
    "report",
    "search",
]
# Named only: they write.
POST_TARGETS = ["post-portal", "post-api"]
# A logged practice redirects to the today page (portal) or is created (API).
EXPECTED_STATUS = {"post-portal": 302, "post-api": 201}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", choices=TARGETS + POST_TARGETS, default=None)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="timings only")
    parser.add_argument("--sql", action="store_true", help="print each query's SQL")
    parser.add_argument(
        "--save", metavar="DIR", help="also write each target's profile to DIR/<target>.prof"
    )
    parser.add_argument(
        "--explain", action="store_true", help="each query's execution time (EXPLAIN ANALYZE)"
    )
    args = parser.parse_args(argv)

    apply_environment(production_environment())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from bench.run import group_prepare, logged_in_client, open_assignments, tokens_create
    from programs.models import Group

    # Production settings hash the static files' names: pages need the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.clinician_id, p.user_id FROM accounts_clientprofile p
            JOIN homework_completion c ON c.client_id = p.user_id
            WHERE p.clinician_id = (
                SELECT p2.clinician_id FROM accounts_clientprofile p2
                JOIN homework_completion c2 ON c2.client_id = p2.user_id
                GROUP BY p2.clinician_id ORDER BY count(*) DESC LIMIT 1)
            GROUP BY p.clinician_id, p.user_id ORDER BY count(*) DESC LIMIT 1
            """
        )
        clinician_id, client_id = cursor.fetchone()
    host = {"HTTP_HOST": "127.0.0.1"}
    clinician = logged_in_client(User.objects.get(pk=clinician_id), **host)
    client = logged_in_client(User.objects.get(pk=client_id), **host)
    token = tokens_create([client_id])[client_id]
    api = Client(**host, HTTP_AUTHORIZATION=f"Token {token}")
    group_id, group_clinician_id = group_prepare(clinician_id)
    group_clinician = logged_in_client(User.objects.get(pk=group_clinician_id), **host)
    search = (User.objects.get(pk=client_id).full_name.split() or ["a"])[-1][:3]
    assert Group.objects.filter(pk=group_id).exists()
    anonymous = Client(**host)  # one client: each new one loads the middleware again
    calls = {
        "floor": lambda: anonymous.get("/bench/floor/drf/"),
        "dashboard": lambda: clinician.get("/clinician/"),
        "detail": lambda: clinician.get(f"/clinician/clients/{client_id}/"),
        "today": lambda: client.get("/portal/"),
        "api-today": lambda: api.get("/api/v1/today/"),
        "group": lambda: group_clinician.get(f"/clinician/groups/{group_id}/"),
        "report": lambda: clinician.get(f"/clinician/clients/{client_id}/report/"),
        "search": lambda: clinician.get(f"/clinician/?q={search}"),
    }
    # Each POST logs a plan's first practice today: a new plan (of any client) per call.
    posts_needed = 2 * args.requests + 20
    plans = iter(open_assignments()[: 2 * posts_needed])
    if "post-portal" in (args.targets or []):
        portal_plans = [next(plans) for _ in range(posts_needed)]
        # One test client whose session cookie changes per POST: each new client would
        # load the middleware (WhiteNoise's file scan) on its first request.
        cookie = settings.SESSION_COOKIE_NAME
        sessions = {
            pk: logged_in_client(User.objects.get(pk=pk), **host).cookies[cookie].value
            for pk in {client_pk for _, client_pk in portal_plans}
        }
        portal_queue = iter(portal_plans)
        poster = Client(**host)

        def portal_post():
            plan_id, client_pk = next(portal_queue)
            poster.cookies[cookie] = sessions[client_pk]
            # As wrk sends it (bench/run web): without the thank-you messages of the earlier
            # POSTs, which the test client would otherwise keep and send back, growing.
            poster.cookies.pop(CookieStorage.cookie_name, None)
            return poster.post(
                f"/portal/practice/{plan_id}/log/",
                {"minutes": 5, "reflection_shared": "on", "client_uuid": str(uuid.uuid4())},
            )

        calls["post-portal"] = portal_post
    if "post-api" in (args.targets or []):
        api_plans = [next(plans) for _ in range(posts_needed)]
        tokens = tokens_create(sorted({client_pk for _, client_pk in api_plans}))
        api_queue = iter(api_plans)

        def api_post():
            plan_id, client_pk = next(api_queue)
            return anonymous.post(
                "/api/v1/completions/",
                {"assignment": plan_id, "minutes": 5},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {tokens[client_pk]}",
            )

        calls["post-api"] = api_post
    print(f"Clinician {clinician_id}, client {client_id}; {args.requests} requests per target")
    for name in args.targets or TARGETS:
        call = calls[name]
        for _ in range(3):
            response = call()
            if response.status_code != EXPECTED_STATUS.get(name, 200):
                raise SystemExit(f"{name} answered {response.status_code}")
        with CaptureQueriesContext(connection) as queries:
            call()
        # Read now: captured_queries slices the live log, which the next request clears.
        query_count = len(queries)
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        statements = [q["sql"] for q in queries.captured_queries]
        # Wall time, and this process's CPU time (PostgreSQL's work excluded), in seven
        # batches: the CPU minimum is the steadiest figure on a machine others share.
        walls, cpus = [], []
        batch = max(1, args.requests // 7)
        for _ in range(7):
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(batch):
                call()
            walls.append((time.perf_counter() - wall) * 1000 / batch)
            cpus.append((time.process_time() - cpu) * 1000 / batch)
        print(
            f"\n{name:<10} wall {statistics.median(walls):7.2f} ms/request (median), "
            f"Python CPU {min(cpus):6.2f} ms (min) / {statistics.median(cpus):6.2f} (median), "
            f"{query_count} queries (~{sql_ms:.1f} ms SQL)"
        )
        for number, sql in enumerate(statements, 1):
            timing = ""
            if args.explain and sql.lstrip().upper().startswith("SELECT"):
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                    plan = cursor.fetchone()[0][0]
                timing = f"{plan['Execution Time']:.2f} ms "
            if args.sql or args.explain:
                print(f"  {number}. {timing}{sql[: 600 if args.sql else 110]}")
        if args.no_profile:
            continue
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            call()
        profile.disable()
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            profile.dump_stats(Path(args.save) / f"{name}.prof")
        for order in ("tottime", "cumulative") if args.top else ():
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
            lines = out.getvalue().splitlines()
            start = next(i for i, line in enumerate(lines) if "ncalls" in line)
            print(f"  by {order}:")
            for line in lines[start : start + args.top + 1]:
                print("   ", line[:160])


if __name__ == "__main__":
    main()
