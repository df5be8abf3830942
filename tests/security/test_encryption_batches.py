"""The encryption migration (homework 0003) and `reencrypt_fields` rewrite rows page by
page: every row exactly once, whatever the page boundaries, NULL left alone, "" encrypted
as the fields encrypt it, and one UPDATE per page instead of one per row."""

import importlib
import io
import json
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

import core.encryption
from audit.management.commands import reencrypt_fields
from homework.models import Feedback
from tests.factories import make_assignment, make_completion

migration = importlib.import_module("homework.migrations.0003_encrypt_clinical_text")

PAGE = 3
# A scratch table with nullable columns: the real encrypted columns are NOT NULL, but
# the rewrite must still leave a NULL as NULL rather than encrypt or drop it.
SCRATCH = "test_scratch_encrypted_notes"


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def recording(seen: list, function):
    def record(value):
        seen.append(value)
        return function(value)

    return record


def stored() -> dict[tuple[str, str, int], str | None]:
    """Every value of every rewritten column, keyed by (table, column, id)."""
    values = {}
    for table, columns in migration.COLUMNS:
        for row_id, *row in raw(f"SELECT id, {', '.join(columns)} FROM {table} ORDER BY id"):  # noqa: S608
            values.update(
                {(table, column, row_id): value for column, value in zip(columns, row, strict=True)}
            )
    return values


@pytest.fixture
def plain_rows(world, monkeypatch) -> dict[tuple[str, str, int], str | None]:
    """Rows as they were before encryption, spanning several pages with gaps in the ids.

    11 completions (minus 2 deleted) and 4 feedback rows against pages of 3: full pages,
    a partial last page, and ids that skip; empty reflections and NULLs among them.
    """
    monkeypatch.setattr(migration, "COLUMNS", [*migration.COLUMNS, (SCRATCH, ["note", "extra"])])
    assignment = make_assignment(world.client)
    completions = [
        make_completion(assignment, date(2026, 1, 1) + timedelta(days=n)) for n in range(11)
    ]
    for n, completion in enumerate(completions):
        raw(
            "UPDATE homework_completion SET reflection = %s, answers = %s WHERE id = %s",
            [
                "" if n % 4 == 0 else f"reflection {n}",
                json.dumps({"moment": f"m{n}"}),
                completion.pk,
            ],
        )
    for n in range(4):
        feedback = Feedback.objects.create(
            completion=completions[n], clinician=world.clinician, text="x"
        )
        raw("UPDATE homework_feedback SET text = %s WHERE id = %s", [f"reply {n}", feedback.pk])
    raw(
        "DELETE FROM homework_completion WHERE id IN (%s, %s)",
        [completions[4].pk, completions[5].pk],
    )

    raw(f"CREATE TABLE {SCRATCH} (id integer PRIMARY KEY, note text NULL, extra text NULL)")
    for row_id in range(1, 9):
        note = None if row_id % 3 == 0 else ("" if row_id % 3 == 1 else f"note {row_id}")
        extra = None if row_id in (4, 5) else f"extra {row_id}"
        raw(f"INSERT INTO {SCRATCH} (id, note, extra) VALUES (%s, %s, %s)", [row_id, note, extra])  # noqa: S608
    return stored()


def test_it_rewrites_every_row_once_across_pages_forwards_and_back(plain_rows, monkeypatch):
    monkeypatch.setattr(migration, "BATCH", PAGE)
    seen = []
    real_decrypt = core.encryption.decrypt
    monkeypatch.setattr(core.encryption, "rotate", recording(seen, core.encryption.rotate))
    monkeypatch.setattr(core.encryption, "decrypt", recording(seen, real_decrypt))
    editor = SimpleNamespace(connection=connection)
    not_null = [value for value in plain_rows.values() if value is not None]
    assert "" in not_null and None in plain_rows.values()

    migration.encrypt_rows(None, editor)
    # A dropped page boundary leaves a value unseen; a repeated one sees it twice.
    assert Counter(seen) == Counter(not_null)
    encrypted = stored()
    assert encrypted.keys() == plain_rows.keys()
    for key, plain in plain_rows.items():
        if plain is None:
            assert encrypted[key] is None
        else:
            assert encrypted[key].startswith(core.encryption.FERNET_PREFIX)
            assert real_decrypt(encrypted[key]) == plain

    seen.clear()
    migration.decrypt_rows(None, editor)
    assert Counter(seen) == Counter(value for value in encrypted.values() if value is not None)
    assert stored() == plain_rows


def test_it_writes_each_page_with_one_update(plain_rows, monkeypatch):
    monkeypatch.setattr(migration, "BATCH", PAGE)
    with CaptureQueriesContext(connection) as queries:
        migration.encrypt_rows(None, SimpleNamespace(connection=connection))
    updates = Counter(
        table
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith("WITH")
        for table, _columns in migration.COLUMNS
        if f"UPDATE {connection.ops.quote_name(table)}" in query["sql"]
    )
    # 9 completions, 4 feedback rows, 8 scratch rows in pages of 3.
    assert updates == {"homework_completion": 3, "homework_feedback": 2, SCRATCH: 3}


def test_it_leaves_plain_text_rows_unwritten_on_the_way_back(plain_rows):
    # Nothing to decrypt: rewriting identical values would only bloat the table.
    with CaptureQueriesContext(connection) as queries:
        migration.decrypt_rows(None, SimpleNamespace(connection=connection))
    assert not [query for query in queries.captured_queries if "UPDATE" in query["sql"]]
    assert stored() == plain_rows


def test_it_rotates_every_row_once_across_pages_with_the_command(world, settings, monkeypatch):
    assignment = make_assignment(world.client)
    texts = ["", *(f"reflection {n}" for n in range(1, 8))]
    made = [
        make_completion(assignment, date(2026, 1, 1) + timedelta(days=n), reflection=text)
        for n, text in enumerate(texts)
    ]
    made[3].delete()  # a gap in the ids
    del texts[3]
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    rotated = []
    monkeypatch.setattr(reencrypt_fields, "rotate", recording(rotated, reencrypt_fields.rotate))
    before = raw("SELECT reflection, answers FROM homework_completion ORDER BY id")

    output = io.StringIO()
    call_command("reencrypt_fields", "--batch-size", "2", stdout=output)

    # A dropped page boundary leaves a row under the old key; a repeated one rotates it twice.
    assert Counter(rotated) == Counter(value for row in before for value in row)
    assert "homework_completion: 7 row(s) re-encrypted" in output.getvalue()
    new_only = Fernet(new_key.encode())
    after = raw("SELECT reflection, answers FROM homework_completion ORDER BY id")
    assert [new_only.decrypt(reflection.encode()).decode() for reflection, _ in after] == texts
    assert [json.loads(new_only.decrypt(answers.encode())) for _, answers in after] == [{}] * 7
