"""Re-encrypt every encrypted column with the newest of FIELD_ENCRYPTION_KEYS.

Key rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after
it, so old rows stay readable), deploy, run this command, then drop the old keys.
Rows still holding plain text from before encryption are encrypted too.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from clinic.encryption import EncryptedJSONField, EncryptedTextField, rotate


def encrypted_columns() -> list[tuple[str, list[str]]]:
    """(table, [column, ...]) for every model with encrypted fields."""
    found = []
    for model in apps.get_models():
        columns = [
            field.column
            for field in model._meta.local_fields
            if isinstance(field, EncryptedTextField | EncryptedJSONField)
        ]
        if columns and not model._meta.proxy:
            found.append((model._meta.db_table, columns))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options) -> None:
        quote = connection.ops.quote_name
        for table, columns in encrypted_columns():
            selected = ", ".join(quote(column) for column in columns)
            assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {quote(table)} ORDER BY id")  # noqa: S608
                ids = [row[0] for row in cursor.fetchall()]
            for start in range(0, len(ids), batch_size):
                chunk = ids[start : start + batch_size]
                marks = ", ".join(["%s"] * len(chunk))
                # Each batch locks its rows, so a concurrent edit is not overwritten.
                with transaction.atomic(), connection.cursor() as cursor:
                    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                    cursor.execute(
                        f"SELECT id, {selected} FROM {quote(table)} WHERE id IN ({marks}){lock}",  # noqa: S608
                        chunk,
                    )
                    for row_id, *values in cursor.fetchall():
                        new = [None if value is None else rotate(value) for value in values]
                        cursor.execute(
                            f"UPDATE {quote(table)} SET {assignments} WHERE id = %s",  # noqa: S608
                            [*new, row_id],
                        )
            self.stdout.write(f"{table}: {len(ids)} row(s) re-encrypted ({', '.join(columns)}).")
