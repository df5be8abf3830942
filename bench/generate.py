"""Generate a clinic-scale data set for the benchmarks, on PostgreSQL, with COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kw_bench \\
        .venv/bin/python bench/generate.py --scale full      # or: --scale small

Drops and recreates the database named in DATABASE_URL (it must start with
"kw_bench" or "bench", so a typo cannot wipe a real database), migrates it (which
loads the built-in exercise library), then writes, with one COPY per table:

    full:  50 clinics, 1,000 clinicians, 20,000 clients (20 per clinician) with
           profiles, 60,000 assignments (3 per client) over the built-in
           exercises, about 2.5 million completions over the last 12 months,
           assignment history (ended/paused events) and some clinician feedback.
    small: 2 clinics, 10 clinicians, 200 clients: a smoke test in seconds.

Realism, briefly: clients join over the last 12 months; each gets three plans
(daily, chosen weekdays or N times a week) that start a few weeks apart and last
6-26 weeks; adherence differs per client (a beta distribution, mean about 0.6)
and fades a little over each plan. Time zones follow the clinic (80%) or are one
of a realistic set (20%), including :30 and :45 offsets and zones with DST.
Completions stop at yesterday (UTC - 1 day) so "today" is free for the POST
benchmarks. Every user has the same password (hashed once): bench/common.py
PASSWORD. Foreign keys, unique constraints and secondary indexes of the big
tables are dropped during the load and rebuilt after it, then ANALYZE runs.
"""

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

from bench.common import FIELD_KEY, PASSWORD, ZONES, database_name, require_bench_database

SCALES = {
    "full": {"clinics": 50, "clinicians_per_clinic": 20, "clients_per_clinician": 20},
    "small": {"clinics": 2, "clinicians_per_clinic": 5, "clients_per_clinician": 20},
    # Ten times the clients (200,000, 10,000 clinicians, 600,000 plans) for the jobs at
    # scale; four weeks of history instead of a year keeps it within this machine's
    # disk and a few minutes of generation, and the jobs read only the current week.
    "10x": {
        "clinics": 250,
        "clinicians_per_clinic": 40,
        "clients_per_clinician": 20,
        "history_days": 28,
    },
}
ASSIGNMENTS_PER_CLIENT = 3
HISTORY_DAYS = 365  # unless the scale says otherwise
FEEDBACK_SHARE = 0.02
REFLECTIONS = [
    "Harder than I expected, but I stayed with it.",
    "Noticed the critic quickly today and answered it gently.",
    "Felt a little lighter afterwards.",
    "Did it on the bus. Short but it counted.",
    "Distracted, came back a few times.",
    "",
    "",
    "",
]
FEEDBACK_TEXTS = [
    "Thank you for sticking with this. Notice how the rating moved.",
    "Lovely reflection. Let's talk about this next session.",
    "Well done for coming back to it after a busy week.",
]


@contextmanager
def step(name: str, timings: list[tuple[str, float]]) -> Iterator[None]:
    started = time.perf_counter()
    print(f"  {name} ...", flush=True)
    yield
    elapsed = time.perf_counter() - started
    timings.append((name, elapsed))
    print(f"  {name}: {elapsed:.1f} s", flush=True)


def _admin_connection(url: str):
    import psycopg

    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def drop_database(url: str) -> None:
    """Drop the database, ending any session still connected to it."""
    name = database_name(url)
    with _admin_connection(url) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def recreate_database(url: str) -> None:
    drop_database(url)
    with _admin_connection(url) as conn:
        conn.execute(f'CREATE DATABASE "{database_name(url)}"')


def tsv(value: object) -> str:
    """One value in COPY's text format. Our strings carry no tabs, newlines or backslashes."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def copy_escape(value: str) -> str:
    """A string in COPY's text format: backslash, tab, newline and carriage return escaped."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def model_defaults(table: str, columns: list[str]) -> tuple[list[str], tuple]:
    """The columns of `table` that `columns` leaves out and that must not be NULL, with
    their model defaults in COPY's text format.

    Django's `default=` lives in Python, not in the table, so a column added by a later
    migration (a clinic's accent colour, say) would make COPY insert NULL and fail. The
    generator names the columns it means; the rest take the model's default, so a new
    field never breaks the data set again.
    """
    from django.apps import apps
    from django.db import connection

    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if model is None:
        return [], ()
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in columns or field.null or field.unique:
            continue  # (one default for every row would break a unique column)
        default = field.get_default()  # "" for a text field without one
        if default is None:
            continue  # no default: the generator must name this column itself
        value = field.get_db_prep_save(default, connection)
        if isinstance(value, (dict, list)) or hasattr(value, "obj"):
            value = json.dumps(getattr(value, "obj", value))
        names.append(field.column)
        values.append(copy_escape(tsv(value)))
    return names, tuple(values)


def copy_rows(cursor, table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    """Stream rows into `table` with COPY, in ~1 MB text chunks. Returns the row count."""
    count = 0
    extra_columns, extra_values = model_defaults(table, columns)
    sql = f"COPY {table} ({', '.join([*columns, *extra_columns])}) FROM STDIN"
    suffix = "".join("\t" + value for value in extra_values)
    with cursor.copy(sql) as copy:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(map(tsv, row)))
            buffer.write(suffix)
            buffer.write("\n")
            count += 1
            if buffer.tell() > 1 << 20:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def indexes_drop(cursor, tables: list[str]) -> tuple[list, list]:
    """Drop FKs, unique constraints and secondary indexes of `tables`; return how to rebuild.

    Building an index once over the loaded table is several times faster than
    maintaining it row by row, and COPY then skips the per-row foreign key checks.
    """
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')",
        [tables],
    )
    constraints = cursor.fetchall()
    for table, name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary",
        [tables],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return constraints, indexes


def indexes_restore(cursor, dropped: tuple[list, list]) -> None:
    constraints, indexes = dropped
    cursor.execute("SET maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        cursor.execute(definition)
    for table, name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def reset_sequences(cursor, tables: list[str]) -> None:
    for table in tables:
        cursor.execute(
            # Table names are this module's constants, never input.
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT max(id) FROM {table}), 1))"
        )


def beta_adherence(rng: random.Random) -> float:
    # Mean 0.6; some clients practise nearly every time, some rarely.
    return rng.betavariate(3.0, 2.0)


def generate(scale: str, seed: int) -> None:
    import django

    url = os.environ["DATABASE_URL"]
    require_bench_database(url)
    rng = random.Random(seed)
    timings: list[tuple[str, float]] = []
    sizes = SCALES[scale]
    total_started = time.perf_counter()

    with step("recreate database", timings):
        recreate_database(url)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", FIELD_KEY)
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from core.encryption import encrypt
    from homework.models import Exercise

    with step("migrate (and load the exercise library)", timings):
        call_command("migrate", verbosity=0, interactive=False)

    exercises = list(
        Exercise.objects.filter(clinic__isnull=True, archived_at__isnull=True).values(
            "id", "ratings", "typical_minutes", "prompts"
        )
    )
    password = make_password(PASSWORD)  # hashed once, shared by every user
    now = datetime.now(UTC)
    today = now.date()
    last_day = today - timedelta(days=1)  # completions stop here: today is left free
    history_days = sizes.get("history_days", HISTORY_DAYS)
    first_day = today - timedelta(days=history_days)

    n_clinics = sizes["clinics"]
    n_clinicians = n_clinics * sizes["clinicians_per_clinic"]
    n_clients = n_clinicians * sizes["clients_per_clinician"]

    # --- ids are assigned here, so every foreign key is known without reading back ---
    zone_names = [z for z, _w in ZONES]
    zone_weights = [w for _z, w in ZONES]
    clinic_zone = {c: rng.choices(zone_names, zone_weights)[0] for c in range(1, n_clinics + 1)}
    clinician_ids = list(range(1, n_clinicians + 1))
    clinician_clinic = {
        cid: 1 + (cid - 1) // sizes["clinicians_per_clinic"] for cid in clinician_ids
    }
    client_ids = list(range(n_clinicians + 1, n_clinicians + n_clients + 1))
    client_clinician = {
        uid: clinician_ids[(uid - n_clinicians - 1) // sizes["clients_per_clinician"]]
        for uid in client_ids
    }
    client_zone = {}
    client_joined = {}
    for uid in client_ids:
        clinic = clinician_clinic[client_clinician[uid]]
        client_zone[uid] = (
            clinic_zone[clinic] if rng.random() < 0.8 else rng.choices(zone_names, zone_weights)[0]
        )
        client_joined[uid] = first_day + timedelta(days=rng.randrange(0, history_days - 14))

    cursor_wrapper = connection.cursor()
    cursor = cursor_wrapper.cursor  # the psycopg 3 cursor, for COPY
    cursor.execute("SET synchronous_commit = off")

    with step(f"clinics and users ({n_clinics} + {n_clinicians} + {n_clients})", timings):
        copy_rows(
            cursor,
            "accounts_clinic",
            ["id", "name", "timezone", "created_at"],
            (
                (c, f"Bench clinic {c}", clinic_zone[c], now - timedelta(days=400))
                for c in range(1, n_clinics + 1)
            ),
        )
        columns = [
            "id",
            "password",
            "is_superuser",
            "email",
            "full_name",
            "role",
            "clinic_id",
            "timezone",
            "is_active",
            "is_staff",
            "date_joined",
            "weekly_summary_email",
        ]

        def users() -> Iterator[tuple]:
            for cid in clinician_ids:
                yield (
                    cid,
                    password,
                    False,
                    f"clinician{cid}@bench.kindwork.test",
                    f"Clinician {cid}",
                    "clinician",
                    clinician_clinic[cid],
                    clinic_zone[clinician_clinic[cid]],
                    True,
                    False,
                    now - timedelta(days=400),
                    True,
                )
            for uid in client_ids:
                yield (
                    uid,
                    password,
                    False,
                    f"client{uid}@bench.kindwork.test",
                    f"Client {uid}",
                    "client",
                    clinician_clinic[client_clinician[uid]],
                    client_zone[uid],
                    True,
                    False,
                    datetime.combine(client_joined[uid], dtime(9), UTC) - timedelta(days=2),
                    True,
                )

        copy_rows(cursor, "accounts_user", columns, users())

        def profiles() -> Iterator[tuple]:
            for index, uid in enumerate(client_ids, start=1):
                quiet = rng.random() < 0.1
                paused = rng.random() < 0.02
                yield (
                    index,
                    uid,
                    client_clinician[uid],
                    dtime(7 + rng.randrange(0, 14), rng.choice((0, 30))),
                    dtime(22) if quiet else None,
                    dtime(7) if quiet else None,
                    now + timedelta(days=rng.randrange(1, 14)) if paused else None,
                    rng.random() < 0.9,
                    datetime.combine(client_joined[uid], dtime(9), UTC) - timedelta(days=2),
                )

        copy_rows(
            cursor,
            "accounts_clientprofile",
            [
                "id",
                "user_id",
                "clinician_id",
                "reminder_time",
                "quiet_hours_start",
                "quiet_hours_end",
                "reminders_paused_until",
                "weekly_summary",
                "created_at",
            ],
            profiles(),
        )

    # --- assignments: plan rows kept in memory for the completions pass ---
    plans: list[dict] = []
    events: list[tuple] = []
    assignment_id = 0
    for uid in client_ids:
        joined = client_joined[uid]
        starts = sorted(
            [
                joined,
                joined + timedelta(days=rng.randrange(0, 28)),
                joined + timedelta(days=rng.randrange(14, 90)),
            ]
        )
        for position, start in enumerate(starts[:ASSIGNMENTS_PER_CLIENT]):
            assignment_id += 1
            start = min(start, last_day)
            kind = rng.choices(["daily", "weekdays", "times_per_week"], [5, 3, 2])[0]
            weekdays = 0
            times = None
            if kind == "weekdays":
                days = rng.sample(range(7), rng.randrange(2, 6))
                weekdays = sum(1 << d for d in days)
            elif kind == "times_per_week":
                times = rng.randrange(2, 6)
            length = timedelta(weeks=rng.randrange(6, 27))
            end = start + length
            # The latest plan of every client keeps running, so reminders have work to do.
            status = "active"
            end_date = None
            if position < ASSIGNMENTS_PER_CLIENT - 1 and end < today:
                status, end_date = "ended", end
            elif rng.random() < 0.04:
                status = "paused"
            ex = exercises[rng.randrange(len(exercises))]
            created = datetime.combine(start, dtime(10), UTC) - timedelta(days=1)
            changed = (
                datetime.combine(end_date, dtime(12), UTC)
                if end_date
                else (now - timedelta(days=rng.randrange(1, 10)) if status == "paused" else created)
            )
            plans.append(
                {
                    "id": assignment_id,
                    "client_id": uid,
                    "clinician_id": client_clinician[uid],
                    "exercise": ex,
                    "kind": kind,
                    "weekdays": weekdays,
                    "times": times,
                    "start": start,
                    "end": end_date,
                    "status": status,
                    "created": created,
                    "changed": changed,
                }
            )
            if status == "ended":
                events.append((assignment_id, client_clinician[uid], "ended", "{}", changed))
            elif status == "paused":
                events.append((assignment_id, client_clinician[uid], "paused", "{}", changed))

    with step(f"assignments ({len(plans)}) and their history ({len(events)})", timings):
        copy_rows(
            cursor,
            "homework_assignment",
            [
                "id",
                "client_id",
                "clinician_id",
                "exercise_id",
                "note",
                "schedule_kind",
                "weekdays",
                "times_per_week",
                "start_date",
                "end_date",
                "reminder_time",
                "status",
                "created_at",
                "updated_at",
            ],
            (
                (
                    p["id"],
                    p["client_id"],
                    p["clinician_id"],
                    p["exercise"]["id"],
                    "Try this when the critic gets loud.",
                    p["kind"],
                    p["weekdays"],
                    p["times"],
                    p["start"],
                    p["end"],
                    None,
                    p["status"],
                    p["created"],
                    p["changed"],
                )
                for p in plans
            ),
        )
        copy_rows(
            cursor,
            "homework_assignmentevent",
            ["assignment_id", "actor_id", "action", "changes", "created_at"],
            iter(events),
        )

    # Reflections, answers and replies are encrypted at rest (core.encryption). Each
    # distinct text is sealed once and the token reused: the same stored size and
    # decryption cost per row as real data, without 5 million encryptions here.
    sealed: dict[str, str] = {}

    def seal(text: str) -> str:
        token = sealed.get(text)
        if token is None:
            token = sealed[text] = encrypt(text)
        return token

    feedback_rows: list[tuple] = []
    # Completion timestamps: 19:00 local, cached per (zone, day).
    stamp_cache: dict[tuple[str, date], datetime] = {}

    def stamp(zone: str, day: date) -> datetime:
        key = (zone, day)
        value = stamp_cache.get(key)
        if value is None:
            value = datetime.combine(day, dtime(19), ZoneInfo(zone)).astimezone(UTC)
            stamp_cache[key] = value
        return value

    def completions() -> Iterator[tuple]:
        completion_id = 0
        adherence_of: dict[int, float] = {}
        for p in plans:
            uid = p["client_id"]
            base = adherence_of.setdefault(uid, beta_adherence(rng))
            last = min(p["end"] or last_day, last_day)
            if p["status"] == "paused":
                last = min(last, p["changed"].date() - timedelta(days=1))
            ex = p["exercise"]
            ratings = [r for r in ex["ratings"]]
            typical = ex["typical_minutes"]
            span = max((last - p["start"]).days, 1)
            day = p["start"]
            week_done = 0
            monday = day - timedelta(days=day.weekday())
            zone = client_zone[uid]
            while day <= last:
                if day.weekday() == 0 and day != monday:
                    monday, week_done = day, 0
                if p["kind"] == "daily":
                    planned = True
                elif p["kind"] == "weekdays":
                    planned = bool(p["weekdays"] & (1 << day.weekday()))
                else:
                    planned = week_done < p["times"] and rng.random() < 0.6
                # Adherence fades a little over the plan; off-plan days see the odd extra practice.
                chance = base * (1.0 - 0.3 * (day - p["start"]).days / span) if planned else 0.03
                if rng.random() < chance:
                    completion_id += 1
                    week_done += 1
                    values = dict.fromkeys(RATING_COLUMNS)
                    before = rng.randrange(3, 10)
                    for rating in ratings:
                        if rating.endswith("_before"):
                            values[rating] = before
                        elif rating == "self_kindness_after":
                            values[rating] = rng.randrange(3, 11)
                        else:
                            values[rating] = max(0, before - rng.randrange(0, 4))
                    reflection = rng.choice(REFLECTIONS)
                    created = stamp(zone, day)
                    if rng.random() < FEEDBACK_SHARE:
                        feedback_rows.append(
                            (
                                completion_id,
                                p["clinician_id"],
                                seal(rng.choice(FEEDBACK_TEXTS)),
                                created + timedelta(hours=15),
                                created + timedelta(days=1) if day < last_day else None,
                            )
                        )
                    yield (
                        completion_id,
                        p["id"],
                        uid,
                        day,
                        max(1, typical + rng.randrange(-2, 4)),
                        *(values[r] for r in RATING_COLUMNS),
                        seal("{}"),
                        seal(reflection),
                        rng.random() < 0.8,
                        created,
                        created,
                    )
                day += timedelta(days=1)

    big_tables = ["homework_completion", "homework_feedback"]
    dropped = indexes_drop(cursor, big_tables)
    with step("completions and feedback (COPY, indexes dropped)", timings):
        count = copy_rows(
            cursor,
            "homework_completion",
            [
                "id",
                "assignment_id",
                "client_id",
                "local_date",
                "minutes",
                *RATING_COLUMNS,
                "answers",
                "reflection",
                "reflection_shared",
                "created_at",
                "updated_at",
            ],
            completions(),
        )
        print(f"    {count:,} completions", flush=True)
        copy_rows(
            cursor,
            "homework_feedback",
            ["completion_id", "clinician_id", "text", "created_at", "read_at"],
            iter(feedback_rows),
        )
        print(f"    {len(feedback_rows):,} feedback replies", flush=True)
    with step("rebuild indexes and constraints of completions and feedback", timings):
        indexes_restore(cursor, dropped)

    with step("sequences and VACUUM ANALYZE", timings):
        reset_sequences(
            cursor,
            [
                "accounts_clinic",
                "accounts_user",
                "accounts_clientprofile",
                "homework_assignment",
                "homework_assignmentevent",
                "homework_completion",
                "homework_feedback",
            ],
        )
        # VACUUM as well: rows fresh from COPY are not yet marked all-visible, so every
        # index-only scan would visit the table, as it does not once autovacuum has run
        # on a real clinic's database. (Django autocommits here: VACUUM needs that.)
        cursor.execute("VACUUM ANALYZE")

    print()
    print(f"Generated scale={scale} into {database_name(url)}")
    for name, seconds in timings:
        print(f"  {name:<55} {seconds:7.1f} s")
    print(f"  {'total':<55} {time.perf_counter() - total_started:7.1f} s")


RATING_COLUMNS = [
    "distress_before",
    "distress_after",
    "belief_before",
    "belief_after",
    "self_criticism_before",
    "self_criticism_after",
    "self_kindness_after",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    generate(args.scale, args.seed)


if __name__ == "__main__":
    main()
