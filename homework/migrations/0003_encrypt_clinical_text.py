# Encrypts reflections, prompt answers and feedback at rest (clinic.encryption).
# Existing rows are encrypted in place with the first of FIELD_ENCRYPTION_KEYS; going
# back writes the plain text again. Raw SQL, so no model code decides what is stored.

import json

from django.db import migrations

import clinic.encryption

COLUMNS = [
    ("homework_completion", ["reflection", "answers"]),
    ("homework_feedback", ["text"]),
]
BATCH = 500


def _rewrite(schema_editor, change) -> None:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, columns in COLUMNS:
            # Table and column names are our own constants above, quoted; values are parameters.
            cursor.execute(f"SELECT id FROM {quote(table)} ORDER BY id")  # noqa: S608
            ids = [row[0] for row in cursor.fetchall()]
            selected = ", ".join(quote(column) for column in columns)
            assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT id, {selected} FROM {quote(table)} WHERE id IN ({marks})",  # noqa: S608
                    chunk,
                )
                for row_id, *values in cursor.fetchall():
                    new = [None if value is None else change(value) for value in values]
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {assignments} WHERE id = %s",  # noqa: S608
                        [*new, row_id],
                    )


def encrypt_rows(apps, schema_editor) -> None:
    # jsonb read back as text on PostgreSQL may already be a dict on some drivers.
    def change(value):
        if not isinstance(value, str):
            value = json.dumps(value)
        return clinic.encryption.rotate(value)

    _rewrite(schema_editor, change)


def decrypt_rows(apps, schema_editor) -> None:
    _rewrite(schema_editor, clinic.encryption.decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("homework", "0002_measures_exports_calendar"),
    ]

    operations = [
        migrations.AlterField(
            model_name="completion",
            name="answers",
            field=clinic.encryption.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="completion",
            name="reflection",
            field=clinic.encryption.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="feedback",
            name="text",
            field=clinic.encryption.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
