"""Time the field-encryption migration (homework 0003) over N plain-text completions.

    nice -n 10 .venv/bin/python bench/migration_encrypt.py --rows 200000 [--old 33cf6a9]

Drops and recreates its own database: kw_bench_migr, or MIGRATION_BENCH_DATABASE_URL
(whose name must start with "kw_bench" or "bench"). DATABASE_URL is ignored on purpose,
so a shell set up for the web benchmarks cannot wipe kw_bench. It migrates the
database, writes with COPY N completions whose reflection (~200 characters) and
answers (JSON of two prompts) are plain text, as before the migration, then times,
each in one transaction as `migrate` runs it:

1. encrypt_rows (forward), then checks every value is a token of the original text;
2. decrypt_rows (backward), then checks the table is byte for byte what was written;
3. with --old REF, encrypt_rows of the migration at that git commit, on the same rows.

Prints rows/s and the projected time for the 2.6 million completions of a clinic-scale
database. The database is dropped at the end unless --keep.
"""

import argparse
import hashlib
import importlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import FIELD_KEY, database_name, require_bench_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kw_bench_migr"
MIGRATION = "homework/migrations/0003_encrypt_clinical_text.py"
CLINIC_SCALE_ROWS = 2_600_000
DAYS_PER_ASSIGNMENT = 1000  # completions are unique per (assignment, day)

SENTENCES = [
    "I noticed the critic again when the email came in.",
    "I tried to answer it the way I would answer a friend.",
    "It helped a little to breathe first.",
    "Everyone gets things wrong sometimes, and that includes me.",
    "My shoulders were tight, so I put a hand on my chest for a moment.",
    "Harder than I expected, but I stayed with it.",
    "Did it on the bus; short, but it counted.",
    "Felt a little lighter afterwards.",
]
MOMENTS = [
    "The meeting with my manager about the late report.",
    "Dropping the kids off late again and the look from the teacher.",
    "Burning dinner when my partner's parents were over.",
    "Forgetting my friend's birthday until the evening.",
]
PHRASES = [
    "This is a moment of suffering; may I be kind to myself.",
    "Everyone struggles sometimes. I am not alone in this.",
    "May I give myself the compassion I need.",
]


def reflection(rng: random.Random) -> str:
    text = rng.choice(SENTENCES)
    while len(text) < 180:
        text += " " + rng.choice(SENTENCES)
    return text


def answers(rng: random.Random) -> str:
    return json.dumps({"moment": rng.choice(MOMENTS), "phrase": rng.choice(PHRASES)})


def setup_environment(url: str) -> None:
    require_bench_database(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            # Production settings: DEBUG would log every query the migration makes.
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or FIELD_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "KINDWORK_VAR_DIR": os.environ.get(
                "KINDWORK_VAR_DIR", str(Path(tempfile.gettempdir()) / "kindwork-bench-var")
            ),
        }
    )


def load_completions(rows: int, seed: int) -> None:
    """N completions with plain-text reflection and answers, as before the migration."""
    from django.db import connection

    from accounts.models import ClientProfile, Clinic, Role, User
    from bench.generate import copy_rows
    from homework.models import Assignment, Exercise

    rng = random.Random(seed)
    clinic = Clinic.objects.create(name="Migration bench clinic")
    clinician = User.objects.create_user(
        email="clinician@bench.invalid", role=Role.CLINICIAN, clinic=clinic
    )
    client = User.objects.create_user(email="client@bench.invalid", role=Role.CLIENT, clinic=clinic)
    ClientProfile.objects.create(user=client, clinician=clinician)
    exercise = Exercise.objects.filter(clinic__isnull=True).first()
    start = date(2020, 1, 1)
    assignments = Assignment.objects.bulk_create(
        Assignment(client=client, clinician=clinician, exercise=exercise, start_date=start)
        for _ in range(-(-rows // DAYS_PER_ASSIGNMENT))
    )
    created = datetime(2026, 1, 1, tzinfo=UTC)

    def completions() -> Iterator[tuple]:
        for n in range(rows):
            assignment = assignments[n // DAYS_PER_ASSIGNMENT]
            day = start + timedelta(days=n % DAYS_PER_ASSIGNMENT)
            text, answered = reflection(rng), answers(rng)
            yield (assignment.pk, client.pk, day, 5, answered, text, True, created, created)

    columns = ["assignment_id", "client_id", "local_date", "minutes", "answers", "reflection"]
    columns += ["reflection_shared", "created_at", "updated_at"]
    with connection.cursor() as cursor:
        copy_rows(cursor.cursor, "homework_completion", columns, completions())


def checksum() -> tuple[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), md5(string_agg(reflection || answers, '|' ORDER BY id)) "
            "FROM homework_completion"
        )
        return cursor.fetchone()


def vacuum() -> None:
    # Each run rewrites every row; start each from a table without the last run's dead rows.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE homework_completion")


def timed(label: str, step: Callable, rows: int) -> float:
    from django.apps import apps
    from django.db import connection

    vacuum()
    started = time.perf_counter()
    with connection.schema_editor(atomic=True) as schema_editor:
        step(apps, schema_editor)
    elapsed = time.perf_counter() - started
    rate = rows / elapsed
    projected = CLINIC_SCALE_ROWS / rate
    print(
        f"  {label}: {rows:,} rows in {elapsed:.1f} s = {rate:,.0f} rows/s; "
        f"2.6M rows: {projected / 60:.1f} min",
        flush=True,
    )
    return rate


def check_encrypted(plain: tuple[int, str]) -> None:
    from django.db import connection

    from core.encryption import FERNET_PREFIX, decrypt

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM homework_completion "
            "WHERE reflection NOT LIKE %s OR answers NOT LIKE %s",
            [FERNET_PREFIX + "%", FERNET_PREFIX + "%"],
        )
        (left,) = cursor.fetchone()
        cursor.execute("SELECT reflection, answers FROM homework_completion ORDER BY id")
        opened = [decrypt(text) + decrypt(answered) for text, answered in cursor.fetchall()]
    if left:
        raise SystemExit(f"{left} row(s) still plain text after encrypt_rows")
    digest = hashlib.md5("|".join(opened).encode(), usedforsecurity=False).hexdigest()
    if (len(opened), digest) != plain:
        raise SystemExit("the encrypted rows do not decrypt to the text that was written")


def old_migration(ref: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{ref}:{MIGRATION}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"migration_0003_at_{ref}")
    exec(compile(source, f"{ref}:{MIGRATION}", "exec"), module.__dict__)  # noqa: S102  (our own git history)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--old", metavar="REF", help="also time the migration at this git ref")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    url = os.environ.get("MIGRATION_BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    if database_name(url) == "kw_bench":
        raise SystemExit("kw_bench holds the web benchmarks' data set; use another database.")
    setup_environment(url)
    import django

    from bench.generate import drop_database, recreate_database

    recreate_database(url)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0, interactive=False)
        load_completions(args.rows, args.seed)
        plain = checksum()
        migration = importlib.import_module("homework.migrations.0003_encrypt_clinical_text")
        binding = "server-side" if connection.features.uses_server_side_binding else "client-side"
        print(
            f"homework 0003 over {args.rows:,} completions "
            f"(PostgreSQL, {binding} parameters, pages of {migration.BATCH}):",
            flush=True,
        )
        timed("encrypt_rows (forward)", migration.encrypt_rows, args.rows)
        check_encrypted(plain)
        timed("decrypt_rows (backward)", migration.decrypt_rows, args.rows)
        if checksum() != plain:
            raise SystemExit("decrypt_rows did not give back the text that was written")
        if args.old:
            timed(f"encrypt_rows at {args.old}", old_migration(args.old).encrypt_rows, args.rows)
            check_encrypted(plain)
    finally:
        connection.close()
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
