"""Queries and time of the reminder "who is due" step at several client counts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kw_fanout \\
        .venv/bin/python bench/fanout_queries.py --clients 2000 20000

Builds its own synthetic data in the given database (created and migrated if
missing; its name must start with kw_ so no real database is touched): for each
count, that many clients (3 plans each, the bench's spread of time zones, every
reminder at 09:00 local, a third of them practised today) and nothing else.
Then, at an instant where the reminder has passed in every zone it measures:
the decision (`reminders_due`), the write (`reminders_create_due`, enqueueing
replaced by a no-op), and the next tick with everything written.

`--baseline PATH` also measures an older copy of outreach/reminders.py (e.g.
`git show HEAD~1:outreach/reminders.py > /tmp/reminders_old.py`), decision and
next tick only, through its own `_assignment_chunks` + `reminders_due(rows=...)`.
"""

import argparse
import importlib.util
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

from bench.common import ZONES, database_name  # noqa: E402

BENCH_CLINIC = "Fan-out bench clinic"


def database_ensure(url: str) -> None:
    import psycopg

    name = database_name(url)
    if not name.startswith("kw_"):
        sys.exit(f"refusing to write to {name!r}: the database name must start with kw_")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def data_build(count: int, now: datetime) -> None:
    """Drop the previous run's synthetic rows and write `count` clients with 3 plans each.

    Every client's reminder is 30 minutes before `now` on their own wall clock, so all
    of them are due at once, whatever the zone; a third of the plans are done today.
    """
    from zoneinfo import ZoneInfo

    from accounts.models import ClientProfile, Clinic, Role, User
    from homework.models import Assignment, Completion, Exercise
    from notifications.models import Notification

    Notification.objects.filter(recipient__clinic__name=BENCH_CLINIC).delete()
    Completion.objects.filter(client__clinic__name=BENCH_CLINIC).delete()
    Assignment.objects.filter(client__clinic__name=BENCH_CLINIC).delete()
    Exercise.objects.filter(clinic__name=BENCH_CLINIC).delete()
    ClientProfile.objects.filter(user__clinic__name=BENCH_CLINIC).delete()
    User.objects.filter(clinic__name=BENCH_CLINIC).delete()
    Clinic.objects.filter(name=BENCH_CLINIC).delete()

    clinic = Clinic.objects.create(name=BENCH_CLINIC, timezone="Europe/London")
    clinician = User.objects.create(
        email="fanout-clinician@bench.test", role=Role.CLINICIAN, clinic=clinic
    )
    exercise = Exercise.objects.create(
        clinic=clinic, slug="fanout-bench", title="Bench", category="mindfulness"
    )
    zones = [zone for zone, weight in ZONES for _ in range(weight)]
    before = now - timedelta(minutes=30)
    reminder_at = {z: before.astimezone(ZoneInfo(z)).time().replace(tzinfo=None) for z in zones}
    today = {z: now.astimezone(ZoneInfo(z)).date() for z in zones}
    users = User.objects.bulk_create(
        (
            User(
                email=f"fanout{i}@bench.test",
                role=Role.CLIENT,
                clinic=clinic,
                timezone=zones[i % len(zones)],
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    ClientProfile.objects.bulk_create(
        (
            ClientProfile(user=u, clinician=clinician, reminder_time=reminder_at[u.timezone])
            for u in users
        ),
        batch_size=2000,
    )
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    plans = Assignment.objects.bulk_create(
        (
            Assignment(
                client=u,
                clinician=clinician,
                exercise=exercise,
                start_date=date(2026, 1, 5),
                created_at=long_ago,
                schedule_kind=kind,
                weekdays=0b1111111,
                times_per_week=3,
            )
            for u in users
            for kind in ("daily", "weekdays", "times_per_week")
        ),
        batch_size=2000,
    )
    zone_of = {u.pk: u.timezone for u in users}
    Completion.objects.bulk_create(
        (
            Completion(
                assignment=a,
                client_id=a.client_id,
                local_date=today[zone_of[a.client_id]],
                minutes=5,
            )
            for a in plans[::3]
        ),
        batch_size=2000,
    )


def load_baseline(path: str):
    spec = importlib.util.spec_from_file_location("reminders_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measured(function):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # the log holds 9,000 queries; a full one counts 0
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return result, len(queries), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--baseline", help="path of an older outreach/reminders.py to compare")
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database whose name starts with kw_")
    database_ensure(url)

    import django

    django.setup()
    from django.core.management import call_command

    from outreach import reminders

    call_command("migrate", verbosity=0)
    reminders.notifications_enqueue = lambda *, ids: None  # no broker: count the SQL only
    baseline = load_baseline(args.baseline) if args.baseline else None

    now = datetime(2026, 5, 6, 20, 0, tzinfo=UTC)
    later = now + timedelta(minutes=1)
    print(f"{'code':<9} {'clients':>8} {'step':<24} {'reminders':>9} {'queries':>8} {'s':>7}")
    for count in args.clients:
        data_build(count, now)
        figures = []
        if baseline is not None:
            figures.append(
                ("baseline", "who is due", *measured(lambda: baseline_due(baseline, now)))
            )
        figures += [
            ("current", "who is due", *measured(lambda: len(reminders.reminders_due(now=now)))),
            ("current", "tick: decide and write", *measured(lambda: tick(reminders, now))),
            ("current", "next tick, all written", *measured(lambda: tick(reminders, later))),
        ]
        if baseline is not None:
            figures.append(
                (
                    "baseline",
                    "next tick, all written",
                    *measured(lambda: baseline_due(baseline, later)),
                )
            )
        for code, step, due, queries, seconds in figures:
            print(f"{code:<9} {count:>8} {step:<24} {due:>9} {queries:>8} {seconds:>7.2f}")


def tick(module, at: datetime) -> int:
    return len(module.reminders_create_due(now=at))


def baseline_due(module, at: datetime) -> int:
    """The old decision: keyset chunks of 1,000 plans, up to 4 queries each."""
    return sum(
        len(module.reminders_due(rows=rows, now=at))
        for rows in module._assignment_chunks(now=at, chunk_size=1000)
    )


if __name__ == "__main__":
    main()
