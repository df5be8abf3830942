"""Programs at clinic scale: enrolling a group of 200 in the eight-week course in one
request, and opening a week for 20,000 enrolled clients.

    createdb -T kw_bench kw_bench_programs   # once: a copy, since this writes
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kw_bench_programs \\
        .venv/bin/python bench/programs.py [--repeat 3]

Both runs happen inside a transaction that is rolled back, so the copy is unchanged
and the run can be repeated.

1. Enrol: 200 clients of one clinic are put on one clinician's caseload (the bench
   data has 20 a clinician), made a group, and the clinician POSTs the enrol page
   (programs:program-enrol) with the group and today's date: every client is
   checked, enrolled and week 1 (three plans and the SCS-SF each) opens for each,
   in one request (after a GET of the enrol page, so the test client's handler is
   built outside the timing). Reported: wall time and query count of that request,
   including the deferred foreign-key checks its commit would run.
2. Week opening: every client of the data set (20,000) is enrolled with week 1
   open (written in bulk), week 2's date is set to today, and
   programs.services.enrolments_open_due runs once, as the beat's task would.
   Reported: wall time (with the deferred foreign-key checks), query count and weeks
   opened. Statements are counted, not captured: capturing renders each one's SQL.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import require_bench_database  # noqa: E402
from bench.run import apply_environment, production_environment  # noqa: E402


class Rollback(Exception):
    pass


class QueryCounter:
    """Counts the statements a block runs (a connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def enrol_group(size: int) -> tuple[float, int, int, float]:
    from django.db import connection, transaction
    from django.db.models import Count
    from django.urls import reverse

    from accounts.models import ClientProfile, Role, User
    from bench.run import logged_in_client
    from homework.schedule import local_date
    from programs.models import Enrolment, Program
    from programs.services import group_save

    result: tuple[float, int, int, float] = (0.0, 0, 0, 0.0)
    try:
        with transaction.atomic():
            clinic_id = (
                User.objects.filter(role=Role.CLIENT)
                .values("clinic_id")
                .annotate(n=Count("pk"))
                .order_by("-n")[0]["clinic_id"]
            )
            clinician = User.objects.filter(role=Role.CLINICIAN, clinic_id=clinic_id).first()
            clients = list(
                User.objects.filter(role=Role.CLIENT, clinic_id=clinic_id, is_active=True).order_by(
                    "pk"
                )[:size]
            )
            ClientProfile.objects.filter(user__in=clients).update(clinician=clinician)
            group = group_save(
                clinician=clinician, name="Bench group", member_ids=[c.pk for c in clients]
            )
            from django.utils import timezone

            now = timezone.now()
            start = max(local_date(now, c.zone) for c in clients)
            program = Program.objects.get(
                clinic__isnull=True, slug="eight-weeks-of-self-compassion"
            )
            browser = logged_in_client(clinician, HTTP_HOST="127.0.0.1")
            url = reverse("programs:program-enrol", args=[program.pk])
            # The clinician opens the enrol page first, as they would; this also builds
            # the test client's handler and middleware (whitenoise scans the static
            # files), which a running server has done once at start.
            assert browser.get(url, secure=True).status_code == 200
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                began, cpu = time.perf_counter(), time.process_time()
                response = browser.post(
                    url, {"group": group.pk, "start_date": start.isoformat()}, secure=True
                )
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
            if response.status_code != 302:
                raise SystemExit(
                    f"enrol answered {response.status_code}: {response.content[:2000]!r}"
                )
            enrolled = Enrolment.objects.filter(group=group).count()
            result = (elapsed, counter.count - 1, enrolled, cpu)
            raise Rollback
    except Rollback:
        pass
    return result


def open_weeks(limit: int | None = None) -> tuple[float, int, int, int, float]:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Role, User
    from homework.schedule import local_date
    from programs.models import Enrolment, Program
    from programs.services import enrolments_open_due, program_publish

    result = (0.0, 0, 0, 0, 0.0)
    try:
        with transaction.atomic():
            now = timezone.now()
            program = Program.objects.get(
                clinic__isnull=True, slug="eight-weeks-of-self-compassion"
            )
            version = program_publish(program=program)
            clients = list(
                User.objects.filter(role=Role.CLIENT, is_active=True)
                .select_related("client_profile")
                .only("pk", "timezone", "client_profile__clinician_id")
                .order_by("pk")[:limit]
            )
            rows = []
            for client in clients:
                today = local_date(now, client.zone)
                rows.append(
                    Enrolment(
                        program=program,
                        version=version,
                        client_id=client.pk,
                        clinician_id=client.client_profile.clinician_id,
                        start_date=today,
                        current_week=1,
                        current_week_on=today,
                        next_week_on=today,
                        created_at=now,
                    )
                )
            Enrolment.objects.bulk_create(rows, batch_size=2000)
            # Counted, not captured: capturing renders every statement's SQL with its
            # parameters, seconds of work production never does.
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                began, cpu = time.perf_counter(), time.process_time()
                opened = enrolments_open_due(now=now)
                # The run is rolled back, so run the deferred foreign-key checks a
                # commit would run, inside the timing.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
            result = (elapsed, counter.count - 1, opened, len(rows), cpu)
            raise Rollback
    except Rollback:
        pass
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--group-size", type=int, default=200)
    parser.add_argument("--skip-open", action="store_true")
    parser.add_argument("--open-clients", type=int, default=None, help="default: every client")
    parser.add_argument("--skip-enrol", action="store_true")
    args = parser.parse_args(argv)
    env = production_environment()
    require_bench_database(env["DATABASE_URL"])
    apply_environment(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    times = []
    for _ in range(0 if args.skip_enrol else args.repeat):
        elapsed, queries, enrolled, cpu = enrol_group(args.group_size)
        times.append(elapsed)
        print(
            f"enrol a group of {enrolled}: {elapsed:.2f} s ({cpu:.2f} s of this process's "
            f"CPU), {queries} queries",
            flush=True,
        )
    if times:
        print(f"enrol: median {statistics.median(times):.2f} s (target < 2 s)")
    if not args.skip_open:
        # Weeks open in a Celery worker, not in the web process that enrolled: a session
        # of its own. In the enrolling session PostgreSQL keeps the foreign-key checks'
        # plans made while the new tables held a page or two (sequential scans), and the
        # 20,000 checks at commit then took 23 s instead of 1.4 s (2026-12-06).
        from django.db import connections

        connections.close_all()
        elapsed, queries, opened, enrolled, cpu = open_weeks(args.open_clients)
        print(
            f"open week 2 for {enrolled} enrolments: {opened} opened in {elapsed:.1f} s "
            f"({cpu:.1f} s of this process's CPU), {queries} queries (target < 30 s)"
        )


if __name__ == "__main__":
    main()
