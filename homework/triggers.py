"""The database triggers that keep homework.models.FiguresVersion: a client's record version.

Every insert, update and delete of a row that a client's figures or pages are made from
gives the clients it names a new random version, in the same transaction as the write.
Cached figures (homework.selectors.progress) and cached page bodies (homework.page_cache)
are keyed by it, so they can never outlive the rows they were made from, whichever way
the rows were written: the ORM, bulk updates, raw SQL, COPY, migrations.

Which rows: each app registers its tables with record_source_register() from its
AppConfig.ready(), with the path from a row to the client it belongs to ("client",
"completion__client", "weekopening__enrolment__client"). A table whose rows belong to no
one client (the exercise library, the courses, clinics) bumps the version of id 0 instead:
the library version, which every cached page's key includes. A person's own row bumps
their own version; a change of their name or email bumps the library version as well,
since a colleague's name shows on their clients' pages (replies, notes, flags).

PostgreSQL: statement-level triggers with transition tables, so a bulk write of many
rows bumps each client once, in client order (two bulk writes cannot deadlock on the
version rows). SQLite (the small clinic's run command): row triggers.

Installed by migration 0010 (so the data migrations after it bump versions too: tables
that do not exist yet at that point are skipped) and again after every migrate
(homework.apps): a test database made without migrations has them, and a change here
reaches every database on its next migrate. Installing is idempotent. Every migrate
also renews every version, since a migrate follows a restore (docs/operations.md): a
restored database's versions are ones that entries of rows written after the dump may
have been cached under.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# The version every cached page also depends on: rows that belong to no one client.
LIBRARY = 0


@dataclass(frozen=True)
class _Hop:
    table: str
    match: str  # the column of `table` the previous step's value is looked up in
    out: str  # the column of `table` the next step reads


@dataclass(frozen=True)
class Source:
    """A table, and how one of its rows names the client whose record it is part of."""

    table: str
    column: str | None  # the row's own column the path starts from; None: the library
    hops: tuple[_Hop, ...] = ()
    # Columns whose change also bumps the library version (a person's name).
    library_when_changed: tuple[str, ...] = ()


_sources: dict[str, Source] = {}


def record_source_register(
    model: type[models.Model],
    path: str | None,
    *,
    library_when_changed: Sequence[str] = (),
) -> None:
    """Version `model`'s rows under the client `path` leads to from a row ("client",
    "completion__client"; "pk" for a person's own row), or, with None, under the library
    version."""
    table = model._meta.db_table
    if path is None:
        _sources[table] = Source(table, None)
        return
    first, *rest = path.split("__")
    field = model._meta.pk if first == "pk" else model._meta.get_field(first)
    hops = []
    current = field
    for name in rest:
        target = current.related_model
        following = target._meta.get_field(name)
        hops.append(_Hop(target._meta.db_table, target._meta.pk.column, following.column))
        current = following
    changed = tuple(model._meta.get_field(n).column for n in library_when_changed)
    _sources[table] = Source(table, field.column, tuple(hops), changed)


def record_sources() -> list[Source]:
    return [_sources[table] for table in sorted(_sources)]


# PL/pgSQL, not SQL: a PL/pgSQL function keeps its statement's plan for the session,
# where an SQL function plans its INSERT again at every call (measured with pgbench on
# a logged practice, the product's most frequent write: 0.42 ms a write as SQL, 0.34 as
# PL/pgSQL, 0.33 with no trigger; docs/benchmarks.md).
POSTGRESQL_BUMP = """
CREATE OR REPLACE FUNCTION kindwork_figures_bump(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO homework_figuresversion (client_id, version)
    SELECT id, gen_random_uuid() FROM (SELECT DISTINCT id FROM unnest(ids) AS id) AS c
    WHERE id IS NOT NULL ORDER BY id
    ON CONFLICT (client_id) DO UPDATE SET version = EXCLUDED.version;
END
$$;
"""

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION kindwork_figures_bump_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM kindwork_figures_bump(ARRAY({new}));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM kindwork_figures_bump(ARRAY({old}));
    ELSE
        PERFORM kindwork_figures_bump(ARRAY({new} UNION {old}));{library}
    END IF;
    RETURN NULL;
END
$$;
"""
POSTGRESQL_LIBRARY_WHEN_CHANGED = """
        IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.{pk} = n.{pk}
                   WHERE ({new_columns}) IS DISTINCT FROM ({old_columns})) THEN
            PERFORM kindwork_figures_bump(ARRAY[{library}::bigint]);
        END IF;"""

# PostgreSQL allows transition tables only on triggers of a single event: three each.
POSTGRESQL_TRIGGER = """
CREATE TRIGGER kindwork_figures_{event_lower} AFTER {event} ON {table}
REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION kindwork_figures_bump_{table}();
"""
TRANSITION_TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}

# An upsert, not INSERT OR REPLACE: the conflict policy of the statement that fired the
# trigger overrides a trigger's own, so an INSERT OR IGNORE (Django's m2m add, a bulk
# create that ignores conflicts) would have turned the replace into "keep the old version".
SQLITE_BUMP = (
    "INSERT INTO homework_figuresversion (client_id, version) "
    "SELECT client_id, lower(hex(randomblob(16))) FROM ({clients}) "
    "WHERE client_id IS NOT NULL "
    "ON CONFLICT (client_id) DO UPDATE SET version = excluded.version;"
)
SQLITE_TRIGGER = """
CREATE TRIGGER kindwork_figures_{table}_{name} AFTER {event} ON {table}{when}
BEGIN {body} END;
"""


# Table and column names below come from the models' _meta, never from input.
def _postgresql_clients(source: Source, rows: str) -> str:
    """The client ids the rows of transition table `rows` name."""
    if source.column is None:
        return f"SELECT {LIBRARY}::bigint"
    if not source.hops:
        return f"SELECT r.{source.column} FROM {rows} r"  # noqa: S608
    joins = []
    previous = f"r.{source.column}"
    for n, hop in enumerate(source.hops, 1):
        joins.append(f"JOIN {hop.table} h{n} ON h{n}.{hop.match} = {previous}")
        previous = f"h{n}.{hop.out}"
    return f"SELECT {previous} FROM {rows} r {' '.join(joins)}"  # noqa: S608


def _sqlite_clients(source: Source, row: str) -> str:
    """The client ids row NEW or OLD names."""
    if source.column is None:
        return f"SELECT {LIBRARY} AS client_id"
    if not source.hops:
        return f"SELECT {row}.{source.column} AS client_id"
    first, *rest = source.hops
    joins = []
    previous = f"h1.{first.out}"
    for n, hop in enumerate(rest, 2):
        joins.append(f"JOIN {hop.table} h{n} ON h{n}.{hop.match} = {previous}")
        previous = f"h{n}.{hop.out}"
    return (
        f"SELECT {previous} AS client_id FROM {first.table} h1 {' '.join(joins)} "  # noqa: S608
        f"WHERE h1.{first.match} = {row}.{source.column}"
    )


def figures_triggers_install(connection: BaseDatabaseWrapper) -> None:
    """Create (or replace) the triggers on `connection`, in one transaction: writes
    that run meanwhile wait for it rather than miss a trigger."""
    with transaction.atomic(using=connection.alias):
        figures_triggers_remove(connection)
        _create(connection)


# Every user (and the library) a fresh version: for after a migrate, which may follow a
# restore from a dump (versions go back to ones that entries newer than the dump were
# cached under) or data written while the triggers were not there. 0 is LIBRARY.
RENEW = {
    "postgresql": """
        INSERT INTO homework_figuresversion (client_id, version)
        SELECT id, gen_random_uuid() FROM (
            SELECT id FROM accounts_user UNION ALL SELECT 0
        ) AS everyone ORDER BY id
        ON CONFLICT (client_id) DO UPDATE SET version = EXCLUDED.version
    """,
    "sqlite": """
        INSERT OR REPLACE INTO homework_figuresversion (client_id, version)
        SELECT id, lower(hex(randomblob(16))) FROM (
            SELECT id FROM accounts_user UNION ALL SELECT 0 AS id
        )
    """,
}


def figures_versions_renew(connection: BaseDatabaseWrapper) -> None:
    """Give every client a new version: no cached figures or pages are used again."""
    _executor(connection)(RENEW[connection.vendor])


def _installable(connection: BaseDatabaseWrapper) -> list[Source]:
    """The sources whose tables exist (migration 0010 runs before later apps' tables)."""
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    return [
        s
        for s in record_sources()
        if s.table in tables and all(hop.table in tables for hop in s.hops)
    ]


def _create(connection: BaseDatabaseWrapper) -> None:
    execute = _executor(connection)
    sources = _installable(connection)
    if connection.vendor == "postgresql":
        execute(POSTGRESQL_BUMP)
        for source in sources:
            library = ""
            if source.library_when_changed:
                library = POSTGRESQL_LIBRARY_WHEN_CHANGED.format(
                    pk=source.column,
                    new_columns=", ".join(f"n.{c}" for c in source.library_when_changed),
                    old_columns=", ".join(f"o.{c}" for c in source.library_when_changed),
                    library=LIBRARY,
                )
            execute(
                POSTGRESQL_FUNCTION.format(
                    table=source.table,
                    new=_postgresql_clients(source, "new_rows"),
                    old=_postgresql_clients(source, "old_rows"),
                    library=library,
                )
            )
            for event, tables in TRANSITION_TABLES.items():
                execute(
                    POSTGRESQL_TRIGGER.format(
                        event=event, event_lower=event.lower(), table=source.table, tables=tables
                    )
                )
    elif connection.vendor == "sqlite":
        for source in sources:
            for event, rows in (
                ("INSERT", ["NEW"]),
                ("UPDATE", ["OLD", "NEW"]),
                ("DELETE", ["OLD"]),
            ):
                body = " ".join(
                    SQLITE_BUMP.format(clients=_sqlite_clients(source, row)) for row in rows
                )
                execute(
                    SQLITE_TRIGGER.format(
                        table=source.table, name=event.lower(), event=event, when="", body=body
                    )
                )
            if source.library_when_changed:
                columns = ", ".join(source.library_when_changed)
                changed = " OR ".join(
                    f"OLD.{c} IS NOT NEW.{c}" for c in source.library_when_changed
                )
                execute(
                    SQLITE_TRIGGER.format(
                        table=source.table,
                        name="library",
                        event=f"UPDATE OF {columns}",
                        when=f" WHEN {changed}",
                        body=SQLITE_BUMP.format(clients=f"SELECT {LIBRARY} AS client_id"),
                    )
                )
    else:
        raise NotImplementedError(f"No figures-version triggers for {connection.vendor}.")


def figures_triggers_remove(connection: BaseDatabaseWrapper) -> None:
    """Drop every trigger this module makes, on whichever tables exist (and the functions
    of earlier versions of this module)."""
    execute = _executor(connection)
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    for table in sorted(tables & ({s.table for s in record_sources()} | _EARLIER_TABLES)):
        for name in [*(e.lower() for e in TRANSITION_TABLES), "library"]:
            if connection.vendor == "postgresql":
                execute(f"DROP TRIGGER IF EXISTS kindwork_figures_{name} ON {table}")
            else:
                execute(f"DROP TRIGGER IF EXISTS kindwork_figures_{table}_{name}")
    if connection.vendor == "postgresql":
        for table in sorted({s.table for s in record_sources()} | _EARLIER_TABLES):
            execute(f"DROP FUNCTION IF EXISTS kindwork_figures_bump_{table}()")
        execute(
            "DROP FUNCTION IF EXISTS kindwork_figures_bump_by_client();"
            "DROP FUNCTION IF EXISTS kindwork_figures_bump_by_assignment();"
            "DROP FUNCTION IF EXISTS kindwork_figures_bump(bigint[]);"
        )


# The tables the first version of this module put triggers on (migration 0010 as released).
_EARLIER_TABLES = {"homework_assignment", "homework_completion", "homework_assignmentevent"}


def _executor(connection: BaseDatabaseWrapper) -> Callable[[str], None]:
    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    return execute
