"""Inserting many rows fast: one INSERT of per-column arrays through `unnest`.

Django's bulk_create builds and checks a model instance per row, which costs seconds
for the tens of thousands of rows a program week or a reminder tick writes. This writes
the same rows from plain values in one statement. Each value goes through its field's
`get_db_prep_save`, as a save would (so encrypted text is encrypted, JSON adapted,
enum members stored as their value), and is cast to the column's type, so a wrong
type fails in the database rather than writing something else.

PostgreSQL only has `unnest`; elsewhere (SQLite in development and tests) the rows go
through bulk_create, which is slower and, as a save does, fills `auto_now` columns with
the current time.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import NotSupportedError, connections, models, router

# Integer columns are sent as one text string (`{1,2,3}`): psycopg adapts a Python
# list element by element, which is most of the time for large inserts. Prepared
# integers are psycopg's Int2/Int4/Int8, int subclasses that print as plain numbers.
_INTEGER_TYPES = {"integer", "bigint", "smallint"}


def _field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)  # type: ignore[return-value]


def _column_parameter(values: list[Any], db_type: str) -> Any:
    if db_type in _INTEGER_TYPES and all(isinstance(v, int) or v is None for v in values):
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    return values


def insert_rows(
    model: type[models.Model],
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
    *,
    ignore_conflicts: bool = False,
) -> list[int]:
    """Insert one row of `model` per position in `columns`; returns the new primary keys.

    `columns` maps field names (or attnames) to one value per row; `constants` maps
    field names to one value for every row. Values are what the model instance would
    hold. Name every column that has no database default: model defaults are not
    applied. Runs inside the caller's transaction.

    Without `ignore_conflicts` the keys come in row order. With it, a row that would
    break a unique constraint is skipped (ON CONFLICT DO NOTHING) and only the keys of
    the rows actually inserted are returned, so the list no longer lines up with the
    rows given, and rows another transaction inserted meanwhile are not among them:
    each concurrent writer learns exactly the rows it created. PostgreSQL only.
    """
    constants = constants or {}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("Every column needs one value per row.")
    if not next(iter(lengths)):
        return []
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        if ignore_conflicts:
            # bulk_create cannot say which rows it skipped.
            raise NotSupportedError("insert_rows(ignore_conflicts=True) needs PostgreSQL.")
        return _bulk_created(model, using, columns, constants)
    quote = connection.ops.quote_name
    meta = model._meta
    names, selects, arrays, parameters, array_parameters = [], [], [], [], []
    for position, (name, values) in enumerate(columns.items()):
        field = _field(model, name)
        db_type = field.db_type(connection)
        names.append(quote(field.column))
        selects.append(f"c{position}")
        arrays.append(f"%s::{db_type}[]")
        prepare = field.get_db_prep_save
        prepared = [prepare(value, connection) for value in values]
        array_parameters.append(_column_parameter(prepared, db_type))
    for name, value in constants.items():
        field = _field(model, name)
        names.append(quote(field.column))
        selects.append(f"%s::{field.db_type(connection)}")
        parameters.append(field.get_db_prep_save(value, connection))
    aliases = ", ".join(f"c{position}" for position in range(len(columns)))
    on_conflict = "ON CONFLICT DO NOTHING " if ignore_conflicts else ""
    # Quoted model names only; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS t({aliases}) "
        f"{on_conflict}RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*parameters, *array_parameters])
        return [row[0] for row in cursor.fetchall()]


def _bulk_created(
    model: type[models.Model],
    using: str,
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any],
) -> list[int]:
    attnames = [_field(model, name).attname for name in columns]
    shared = {_field(model, name).attname: value for name, value in constants.items()}
    rows = [
        model(**shared, **dict(zip(attnames, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]
    return [row.pk for row in model._default_manager.using(using).bulk_create(rows)]
