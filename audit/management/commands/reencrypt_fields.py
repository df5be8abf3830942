"""Re-encrypt every encrypted column with the newest of FIELD_ENCRYPTION_KEYS.

Key rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after
it, so old rows stay readable), deploy, run this command, then drop the old keys.
Rows still holding plain text from before encryption are encrypted too.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.encryption import EncryptedJSONField, EncryptedTextField, rotate


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


def rows_after(cursor, table: str, columns: list[str], last_id: int | None, limit: int) -> list:
    """The next page of (id, *columns) in id order, locked where the database can lock rows."""
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    after = "" if last_id is None else "WHERE id > %s "
    # Table and column names come from the models, quoted; values are parameters.
    cursor.execute(
        f"SELECT id, {', '.join(quote(column) for column in columns)} FROM {quote(table)} "  # noqa: S608
        f"{after}ORDER BY id LIMIT %s{lock}",
        [*([] if last_id is None else [last_id]), limit],
    )
    return cursor.fetchall()


def write_back(cursor, table: str, columns: list[str], rows: list[list]) -> None:
    """Write rows of [id, *values] with one UPDATE ... FROM (VALUES ...), not one per row.

    The CTE names the VALUES columns the same way on PostgreSQL and SQLite (3.33+ for
    UPDATE ... FROM; Django 6.1 requires 3.37).
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in ["id", *columns])
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    assignments = ", ".join(f"{quote(column)} = v.{quote(column)}" for column in columns)
    cursor.execute(
        f"WITH v ({names}) AS (VALUES {', '.join([row] * len(rows))}) "  # noqa: S608
        f"UPDATE {quote(table)} SET {assignments} FROM v WHERE {quote(table)}.id = v.id",
        [value for values in rows for value in values],
    )


def page_size(batch_size: int, columns: list[str]) -> int:
    # One UPDATE carries a page's ids and values: stay under the statement's parameter
    # limit (PostgreSQL 65,535; SQLite 32,766 unless built lower, which Django reports).
    limit = connection.features.max_query_params or 65_535
    return max(1, min(batch_size, limit // (len(columns) + 1)))


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size: int, **options) -> None:
        for table, columns in encrypted_columns():
            size = page_size(batch_size, columns)
            count, last_id = 0, None
            while True:
                # Keyset pages (id > the last id seen): one page in memory, no row skipped or
                # repeated. Each page locks its rows until written, so a concurrent edit
                # is not overwritten.
                with transaction.atomic(), connection.cursor() as cursor:
                    rows = rows_after(cursor, table, columns, last_id, size)
                    changed = []
                    for row_id, *values in rows:
                        new = [None if value is None else rotate(value) for value in values]
                        if new != values:
                            changed.append([row_id, *new])
                    if changed:
                        write_back(cursor, table, columns, changed)
                count += len(rows)
                if len(rows) < size:
                    break
                last_id = rows[-1][0]
            self.stdout.write(f"{table}: {count} row(s) re-encrypted ({', '.join(columns)}).")
