"""A fixed-shape ORM query compiled to SQL once per process, then run with a new value.

Building a query's SQL costs Django's ORM far more Python than PostgreSQL spends
running it: the "what helps" aggregate over a client's logs takes 2.4 ms to compile
and 0.2 ms to run (docs/benchmarks.md). For a hot query whose shape never changes and
whose only varying input is one value (a client's id), `CompiledValues` compiles the
queryset once per database connection alias, with a sentinel in place of the value,
and afterwards executes the same SQL with the value swapped in. Rows come back as
dicts keyed by the column aliases, as `QuerySet.values()` gives them.

Only for `values()` queries whose columns need no database converters (integers,
floats, text): the caller's tests compare the result with the ORM's.
"""

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# Never a real primary key: the one parameter that is the caller's value.
_SENTINEL = -7_319_004_211


class CompiledValues:
    def __init__(self, build: Callable[[int], QuerySet]) -> None:
        self._build = build
        self._compiled: dict[tuple[str, str], tuple[str, tuple[Any, ...], int]] = {}

    def _compile(self, using: str, vendor: str) -> tuple[str, tuple[Any, ...], int]:
        queryset = self._build(_SENTINEL)
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        spots = [i for i, p in enumerate(params) if type(p) is int and p == _SENTINEL]
        if len(spots) != 1:
            raise ValueError(f"the value must be exactly one parameter, found {len(spots)}")
        compiled = (sql, tuple(params), spots[0])
        self._compiled[(using, vendor)] = compiled
        return compiled

    def rows(self, value: int, *, using: str = "default") -> list[dict[str, Any]]:
        connection = connections[using]
        compiled = self._compiled.get((using, connection.vendor)) or self._compile(
            using, connection.vendor
        )
        sql, params, spot = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, (*params[:spot], int(value), *params[spot + 1 :]))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
