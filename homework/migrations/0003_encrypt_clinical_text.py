# Encrypts reflections, prompt answers and feedback at rest (core.encryption).
# Existing rows are encrypted in place with the first of FIELD_ENCRYPTION_KEYS; going
# back writes the plain text again. Raw SQL, so no model code decides what is stored.

import json

from django.db import migrations

import core.encryption

COLUMNS = [
    ("homework_completion", ["reflection", "answers"]),
    ("homework_feedback", ["text"]),
]
# Rows per page: read with one keyset query, written back with one UPDATE. At 3
# parameters a row (completion: id and two columns) a page stays far below PostgreSQL's
# 65,535 and SQLite's 32,766 parameters per statement.
BATCH = 2000


def _rewrite(schema_editor, change) -> None:
    """Apply `change` to every non-NULL value of COLUMNS, page by page in id order.

    Keyset pages (id > the last id seen) keep one page in memory, never the table's ids,
    and cannot skip or repeat a row however the pages fall. A page is written back with
    one UPDATE ... FROM (VALUES ...) rather than one UPDATE per row, which paid a round
    trip per row (bench/migration_encrypt.py times both).
    """
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, columns in COLUMNS:
            # Table and column names are our own constants above, quoted; values are parameters.
            selected = ", ".join(quote(column) for column in columns)
            select = f"SELECT id, {selected} FROM {quote(table)}"  # noqa: S608
            last_id = None
            while True:
                if last_id is None:
                    cursor.execute(f"{select} ORDER BY id LIMIT %s", [BATCH])
                else:
                    cursor.execute(f"{select} WHERE id > %s ORDER BY id LIMIT %s", [last_id, BATCH])
                rows = cursor.fetchall()
                if not rows:
                    break
                last_id = rows[-1][0]
                changed = []
                for row_id, *values in rows:
                    # NULL stays NULL; "" is a value like any other (encrypted, as the fields do).
                    new = [None if value is None else change(value) for value in values]
                    if new != values:
                        changed.append([row_id, *new])
                if changed:
                    _update(cursor, quote, table, columns, changed)
                if len(rows) < BATCH:
                    break


def _update(cursor, quote, table: str, columns: list[str], rows: list[list]) -> None:
    """Write rows of [id, *values] back with one statement.

    (audit's reencrypt_fields command writes the same way; a migration keeps its own
    copy so that later changes to app code cannot change what it did.)

    A CTE names the VALUES columns the same way on PostgreSQL and SQLite (SQLite has no
    `AS v(id, ...)` column list on a subquery); UPDATE ... FROM needs SQLite 3.33, and
    Django 6.1 already requires 3.37.
    """
    names = ", ".join(quote(name) for name in ["id", *columns])
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    assignments = ", ".join(f"{quote(column)} = v.{quote(column)}" for column in columns)
    cursor.execute(
        f"WITH v ({names}) AS (VALUES {', '.join([row] * len(rows))}) "  # noqa: S608
        f"UPDATE {quote(table)} SET {assignments} FROM v WHERE {quote(table)}.id = v.id",
        [value for values in rows for value in values],
    )


def encrypt_rows(apps, schema_editor) -> None:
    # jsonb read back as text on PostgreSQL may already be a dict on some drivers.
    def change(value):
        if not isinstance(value, str):
            value = json.dumps(value)
        return core.encryption.rotate(value)

    _rewrite(schema_editor, change)


def decrypt_rows(apps, schema_editor) -> None:
    _rewrite(schema_editor, core.encryption.decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("homework", "0002_measures_exports_calendar"),
    ]

    operations = [
        migrations.AlterField(
            model_name="completion",
            name="answers",
            field=core.encryption.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="completion",
            name="reflection",
            field=core.encryption.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="feedback",
            name="text",
            field=core.encryption.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
