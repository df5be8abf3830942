"""Fixed-shape ORM queries compiled to SQL once per process, then run with new values.

Building a query's SQL costs Django's ORM far more Python than PostgreSQL spends
running it: the "what helps" aggregate over a client's logs takes 2.4 ms to compile
and 0.2 ms to run, and the today page's one-row read of a client's plans 1.5 ms
(docs/benchmarks.md). For a hot query whose shape never changes and whose only
varying inputs are a few values (a client's id, a week's first and last day), the
queryset is compiled once per database connection alias with a sentinel in place of
each value, and afterwards the same SQL runs with the values swapped in.

- `CompiledValues` answers rows as dicts keyed by the column aliases, as
  `QuerySet.values()` gives them, for integer values and columns that need no
  database converters (integers, floats, text).
- `CompiledModels` answers model instances exactly as iterating the queryset would:
  the same columns, deferred fields, `select_related` objects, annotations and
  database converters (Django's own `ModelIterable` steps, run on the kept compiler).

A value may also be a list of integers (kind `IdList`: a caseload's client ids) bound
to an `__in` filter: its one placeholder in `IN (%s)` becomes as many as the list has.

The callers' tests compare each compiled query's answer with the ORM's.
"""

import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import _get_from_db, get_related_populators
from django.db.models.sql.compiler import SQLCompiler

# Never a real primary key, string, date or moment: the parameters that are the caller's.
_SENTINELS: dict[type, tuple[Any, ...]] = {
    # Negative, never a key, and inside a 32-bit column's range (the ORM turns a filter
    # by a value out of the column's range into "no rows" without SQL).
    int: tuple(-1_987_654_301 - n for n in range(4)),
    str: tuple(f"kindwork-compiled-sentinel-{n}" for n in range(4)),
    date: tuple(date(1, 2, 3 + n) for n in range(4)),
    datetime: tuple(datetime(1, 2, 3 + n, 4, 5, 6, tzinfo=UTC) for n in range(4)),
}


class IdList:
    """The kind of a value that is a non-empty list of integers, for an `__in` filter."""


# A placeholder of the compiled SQL, or a literal percent sign (which is not one).
_PLACEHOLDER = re.compile(r"%%|%s")


def _sentinels(kinds: tuple[type, ...]) -> list[Any]:
    for kind in kinds:
        if kind not in _SENTINELS and kind is not IdList:
            raise TypeError(
                f"compiled queries take int, str, date, datetime and IdList values, not {kind}"
            )
    counters = {kind: iter(values) for kind, values in _SENTINELS.items()}
    try:
        # A list's sentinel is a list of one int sentinel: the ORM writes IN (%s).
        return [[next(counters[int])] if kind is IdList else next(counters[kind]) for kind in kinds]
    except StopIteration:
        raise TypeError("too many values of one kind for a compiled query") from None


def _placeholder_offsets(sql: str) -> list[int]:
    """Where each parameter's `%s` starts in `sql`, in parameter order."""
    return [m.start() for m in _PLACEHOLDER.finditer(sql) if m.group() == "%s"]


def _prepared(connection, kind: type, value: Any) -> Any:
    """A value as the ORM puts it among a query's parameters on this database."""
    if kind is IdList:
        return int(value)
    if kind is datetime:
        return connection.ops.adapt_datetimefield_value(value)
    if kind is date:
        return connection.ops.adapt_datefield_value(value)
    return kind(value)


@dataclass(frozen=True)
class _Kept:
    """What turning rows into instances needs from the compilation, worked out once:
    Django's ModelIterable works it out again for every queryset it runs."""

    compiler: SQLCompiler
    fetch_mode: Any
    # The row's converters by position (SQLCompiler.get_converters), the model's slice
    # of the row and its field names, how to make an instance and its select_related
    # objects. None for a queryset of other shapes, which results_iter handles.
    plan: "_Plan | None"


@dataclass(frozen=True)
class _Plan:
    converters: list[tuple[int, tuple[list, Any]]]
    start: int
    end: int
    init_list: list[str]
    from_db: Callable[..., Model]
    related_populators: list


def _plan(compiler: SQLCompiler, fetch_mode: Any, db: str) -> _Plan:
    """The steps of ModelIterable (django/db/models/query.py, 6.1) that depend only on the
    compiled query, not on its rows."""
    klass_info, select = compiler.klass_info, compiler.select
    fields = [s[0] for s in select[0 : compiler.col_count]]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    return _Plan(
        converters=list(compiler.get_converters(fields).items()),
        start=start,
        end=end,
        init_list=[f[0].target.attname for f in select[start:end]],
        from_db=_get_from_db(klass_info["model"], fetch_mode),
        related_populators=get_related_populators(klass_info, select, db, fetch_mode),
    )


def _plan_to_keep(compiler: SQLCompiler, fetch_mode: Any, db: str) -> _Plan | None:
    """The plan, where it can serve every run; None where results_iter has more to do
    (composite fields) or the populators must be new each run (a related populator keeps
    the peers it made when peers are tracked)."""
    if compiler.klass_info is None:
        return None  # a values() query: CompiledValues reads its rows as they come
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    if fetch_mode.track_peers or compiler.has_composite_fields(fields):
        return None
    return _plan(compiler, fetch_mode, db)


class _Compiled:
    """The SQL of `build(*sentinels)` once per database, with where each value goes."""

    def __init__(self, build: Callable[..., QuerySet], kinds: tuple[type, ...]) -> None:
        self._build = build
        self._kinds = kinds
        # (database, vendor): what was kept, the SQL, its parameters, where each value
        # goes, and where each list's placeholder is in the SQL (None for other kinds).
        self._compiled: dict[
            tuple[str, str], tuple[_Kept, str, tuple, list[list[int]], list[int | None]]
        ] = {}

    def _compile(self, using: str, vendor: str):
        connection = connections[using]
        sentinels = _sentinels(self._kinds)
        queryset = self._build(*sentinels)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        spots = []
        list_offsets: list[int | None] = []
        offsets = _placeholder_offsets(sql)
        if len(offsets) != len(params):
            raise ValueError("the SQL's placeholders do not match its parameters")
        for kind, sentinel in zip(self._kinds, sentinels, strict=True):
            prepared = _prepared(connection, kind, sentinel[0] if kind is IdList else sentinel)
            found = [i for i, p in enumerate(params) if type(p) is type(prepared) and p == prepared]
            if not found:
                raise ValueError("each value must be a parameter of the SQL; one is not")
            offset = None
            if kind is IdList:
                offset = offsets[found[0]]
                if len(found) != 1 or sql[offset - 4 : offset + 3] != "IN (%s)":
                    raise ValueError("a list value must be one `__in` filter's whole list")
            spots.append(found)
            list_offsets.append(offset)
        if queryset._known_related_objects or queryset._prefetch_related_lookups:
            raise ValueError("compiled queries are plain reads: no related manager or prefetch")
        fetch_mode = queryset._fetch_mode
        compiled = (
            _Kept(compiler, fetch_mode, _plan_to_keep(compiler, fetch_mode, using)),
            sql,
            tuple(params),
            spots,
            list_offsets,
        )
        self._compiled[(using, vendor)] = compiled
        return compiled

    def _execute(self, values: tuple[Any, ...], using: str):
        """What was kept from the compilation, and a cursor that has run it with `values`."""
        if len(values) != len(self._kinds):
            raise TypeError(f"expected {len(self._kinds)} value(s), got {len(values)}")
        connection = connections[using]
        kept, sql, params, spots, list_offsets = self._compiled.get(
            (using, connection.vendor)
        ) or self._compile(using, connection.vendor)
        params = list(params)
        lists: list[tuple[int, int, list[Any]]] = []
        for kind, places, value, offset in zip(
            self._kinds, spots, values, list_offsets, strict=True
        ):
            if kind is IdList:
                lists.append((places[0], offset, _id_list(connection, value)))
                continue
            prepared = _prepared(connection, kind, value)
            for place in places:
                params[place] = prepared
        # Each list's one placeholder becomes one per id, from the last list to the first
        # so that earlier positions stay where they were.
        for place, offset, ids in sorted(lists, reverse=True):
            sql = f"{sql[:offset]}{', '.join(['%s'] * len(ids))}{sql[offset + 2 :]}"
            params[place : place + 1] = ids
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
        except BaseException:
            cursor.close()
            raise
        return kept, cursor


def _id_list(connection, value: Sequence[int]) -> list[int]:
    if isinstance(value, str | bytes) or not value:
        raise ValueError("a list value must be a non-empty sequence of ids")
    return [_prepared(connection, IdList, item) for item in value]


class CompiledValues(_Compiled):
    """A `values()` queryset of integer values (a client's id; by default one), as a
    list of dicts. Its columns must need no database converters (ints, floats, text)."""

    def __init__(self, build: Callable[..., QuerySet], *kinds: type) -> None:
        if any(kind is not int for kind in kinds):
            raise TypeError("compiled values take int values")
        super().__init__(build, kinds or (int,))

    def rows(self, *values: int, using: str = "default") -> list[dict[str, Any]]:
        _kept, cursor = self._execute(values, using)
        with cursor:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class CompiledModels(_Compiled):
    """A model queryset of a few int, str, date, datetime or IdList values, as its
    instances.

        _PLANS = CompiledModels(
            lambda client_id, first: Assignment.objects.filter(
                client_id=client_id, start_date__gte=first
            ).select_related("exercise"),
            int, date,
        )
        plans = _PLANS.all(client.pk, monday)

    Each value must be a parameter of the SQL, once or more (a ValueError at the first
    run says otherwise). Not for querysets with `prefetch_related`, `distinct` fields that
    need post-processing, or `select_for_update`: plain reads only.
    """

    def __init__(self, build: Callable[..., QuerySet], *kinds: type) -> None:
        super().__init__(build, kinds)

    def all(self, *values: Any, using: str = "default") -> list[Model]:
        kept, cursor = self._execute(values, using)
        with cursor:
            rows = cursor.fetchall()
        return list(_instances(kept, rows, using))


def _instances(kept: _Kept, rows: list[tuple], db: str) -> Iterator[Model]:
    """Model instances from the rows of the compiler's SQL: Django's ModelIterable, less
    the compilation and, where the plan was kept, the per-query set-up
    (django/db/models/query.py, 6.1), with the same converters."""
    compiler, fetch_mode = kept.compiler, kept.fetch_mode
    if kept.plan is not None:
        plan = kept.plan
        converted = _converted(rows, plan.converters, compiler.connection)
    else:
        plan = _plan(compiler, fetch_mode, db)
        converted = compiler.results_iter([rows])
    start, end, init_list, from_db = plan.start, plan.end, plan.init_list, plan.from_db
    annotation_col_map = compiler.annotation_col_map
    peers = []
    for row in converted:
        obj = from_db(db, init_list, row[start:end])
        if fetch_mode.track_peers:
            peers.append(weakref.ref(obj))
            obj._state.peers = peers
        for populator in plan.related_populators:
            populator.populate(row, obj)
        if annotation_col_map:
            for attr_name, position in annotation_col_map.items():
                setattr(obj, attr_name, row[position])
        yield obj


def _converted(rows: list[tuple], converters: list, connection) -> Iterable[Sequence[Any]]:
    """SQLCompiler.apply_converters with the converters worked out already."""
    if not converters:
        return rows
    return (_row_converted(row, converters, connection) for row in rows)


def _row_converted(fetched: tuple, converters: list, connection) -> list[Any]:
    row = list(fetched)
    for position, (functions, expression) in converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return row
