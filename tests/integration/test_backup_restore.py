"""Backup and restore, rehearsed as docs/operations.md describes it: pg_dump the database,
restore it into a fresh one, and read it back with a separate process. Every row is there
and the encrypted reflections read back with the keys; without them the process stops
with a clear message and never shows the ciphertext."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.encryption import generate_key
from tests.factories import local_today, make_assignment, make_completion, make_exercise
from tests.hostile.kit import row_counts
from tests.integration.conftest import database_url_for_worker

ROOT = Path(__file__).resolve().parent.parent.parent
REFLECTION = "Restored reflection: I was gentler with myself today 💛"

READ_BACK = """
import json
from django.apps import apps
from homework.models import Completion
counts = {
    model._meta.db_table: model._default_manager.count()
    for model in apps.get_models() if not model._meta.proxy
}
reflections = sorted(completion.reflection for completion in Completion.objects.all())
print(json.dumps({"counts": counts, "reflections": reflections}))
"""


def _pg(*args: str, database: str | None = None) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    command = [*args, "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    command += ["-U", db["USER"] or "postgres"]
    if database:
        command.append(database)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=True)


def _read_back(database_url: str, keys: list[str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(DATABASE_URL=database_url, FIELD_ENCRYPTION_KEYS=",".join(keys))
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", READ_BACK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_whole_and_reads_back_only_with_the_keys(world, tmp_path):
    source_url = database_url_for_worker()  # skips without PostgreSQL
    assignment = make_assignment(world.client, make_exercise(world.clinic))
    make_completion(assignment, local_today(world.client), reflection=REFLECTION)
    expected = row_counts()

    source = connection.settings_dict["NAME"]
    restored = f"{source}_restore"
    dump = tmp_path / "kindwork.dump"
    _pg("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", database=source)
    _pg("dropdb", "--if-exists", database=restored)
    _pg("createdb", database=restored)
    try:
        _pg("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump))
        restored_url = source_url.rsplit("/", 1)[0] + f"/{restored}"

        result = _read_back(restored_url, settings.FIELD_ENCRYPTION_KEYS)
        assert result.returncode == 0, result.stderr
        back = json.loads(result.stdout.strip().splitlines()[-1])
        assert {table: back["counts"][table] for table in expected} == expected
        assert back["reflections"] == [REFLECTION]

        without = _read_back(restored_url, [generate_key()])
        assert without.returncode == 1
        assert "could not be decrypted with any of FIELD_ENCRYPTION_KEYS" in without.stderr
        assert "gAAAA" not in without.stdout + without.stderr  # no Fernet token shown
        assert REFLECTION not in without.stdout + without.stderr
    finally:
        _pg("dropdb", "--if-exists", database=restored)
