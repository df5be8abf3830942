"""Inserting many rows fast: one INSERT of per-column arrays through `unnest`.

Django's bulk_create builds and checks a model instance per row, which costs seconds
for the tens of thousands of rows a program week writes. This writes the same rows
from plain values in one statement. Callers give values ready for the database
(ints, strings, dates, datetimes, None; dicts or lists for JSON fields) and every
column the model has without a database default; the model's field types cast them,
so a wrong type fails in the database rather than writing something else.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections, models, router

# Integer columns are sent as one text string (`{1,2,3}`): psycopg adapts a Python
# list element by element, which is most of the time for large inserts.
_INTEGER_TYPES = {"integer", "bigint", "smallint"}


def _column_parameter(values: Sequence[Any], db_type: str) -> Any:
    if db_type in _INTEGER_TYPES and all(type(v) is int or v is None for v in values):
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    return list(values)


def insert_rows(
    model: type[models.Model],
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert len(column) rows of `model`; returns their primary keys in row order.

    `columns` maps field names to one value per row; `constants` maps field names to
    one value for every row. Runs inside the caller's transaction.
    """
    constants = constants or {}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("Every column needs one value per row.")
    if not next(iter(lengths)):
        return []
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = model._meta

    def field_of(name: str) -> models.Field:
        return meta.get_field(name)  # type: ignore[return-value]

    names, selects, parameters = [], [], []
    arrays, array_parameters = [], []
    for position, (name, values) in enumerate(columns.items()):
        field = field_of(name)
        db_type = field.db_type(connection)
        if isinstance(field, models.JSONField):
            values = [json.dumps(v) for v in values]
            arrays.append("%s::text[]")
            selects.append(f"c{position}::jsonb")
        else:
            arrays.append(f"%s::{db_type}[]")
            selects.append(f"c{position}")
        array_parameters.append(_column_parameter(values, db_type))
        names.append(quote(field.column))
    for name, value in constants.items():
        field = field_of(name)
        if isinstance(field, models.JSONField):
            value = json.dumps(value)
        names.append(quote(field.column))
        selects.append(f"%s::{field.db_type(connection)}")
        parameters.append(value)
    aliases = ", ".join(f"c{position}" for position in range(len(columns)))
    # Quoted model names only; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS t({aliases}) "
        f"RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*parameters, *array_parameters])
        return [row[0] for row in cursor.fetchall()]
