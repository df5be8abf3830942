"""The database triggers that keep homework.models.FiguresVersion.

Every insert, update and delete of a plan (homework_assignment), of its history
(homework_assignmentevent) or of a log (homework_completion) gives the clients it
touches a new random version, in the same transaction as the write. Cached figures
are keyed by it (homework.selectors.progress), so they can never outlive the rows they
were computed from, whichever way the rows were written: the ORM, bulk updates, raw
SQL, COPY, migrations.

PostgreSQL: statement-level triggers with transition tables, so a bulk write of many
rows bumps each client once, in client order (two bulk writes cannot deadlock on the
version rows). SQLite (the small clinic's run command): row triggers.

Installed by migration 0010 (so the data migrations after it bump versions too) and
again after every migrate (homework.apps): a test database made without migrations
has them, and a change here reaches every database on its next migrate. Installing
is idempotent. Every migrate also renews every client's version, since a migrate
follows a restore (docs/operations.md): a restored database's versions are ones that
figures of rows written after the dump may have been cached under.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

# (table, how a changed row names its client)
SOURCES = [
    ("homework_assignment", "client_id"),
    ("homework_completion", "client_id"),
    ("homework_assignmentevent", "assignment_id"),
]

POSTGRESQL_FUNCTIONS = """
CREATE OR REPLACE FUNCTION kindwork_figures_bump(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO homework_figuresversion (client_id, version)
    SELECT id, gen_random_uuid() FROM (SELECT DISTINCT id FROM unnest(ids) AS id) AS c
    WHERE id IS NOT NULL ORDER BY id
    ON CONFLICT (client_id) DO UPDATE SET version = EXCLUDED.version
$$;

-- Rows that carry client_id (plans and logs). UPDATE bumps the old and the new client.
CREATE OR REPLACE FUNCTION kindwork_figures_bump_by_client() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM kindwork_figures_bump(ARRAY(SELECT client_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM kindwork_figures_bump(ARRAY(SELECT client_id FROM old_rows));
    ELSE
        PERFORM kindwork_figures_bump(ARRAY(
            SELECT client_id FROM new_rows UNION SELECT client_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;

-- Rows that carry assignment_id (a plan's history): the client is the plan's.
CREATE OR REPLACE FUNCTION kindwork_figures_bump_by_assignment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM kindwork_figures_bump(ARRAY(
            SELECT a.client_id FROM homework_assignment a
            JOIN new_rows r ON r.assignment_id = a.id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM kindwork_figures_bump(ARRAY(
            SELECT a.client_id FROM homework_assignment a
            JOIN old_rows r ON r.assignment_id = a.id));
    ELSE
        PERFORM kindwork_figures_bump(ARRAY(
            SELECT a.client_id FROM homework_assignment a
            WHERE a.id IN (
                SELECT assignment_id FROM new_rows UNION SELECT assignment_id FROM old_rows)));
    END IF;
    RETURN NULL;
END
$$;
"""

# PostgreSQL allows transition tables only on triggers of a single event: three each.
POSTGRESQL_TRIGGER = """
CREATE TRIGGER kindwork_figures_{event_lower} AFTER {event} ON {table}
REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""
TRANSITION_TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}

SQLITE_BUMP = (
    "INSERT OR REPLACE INTO homework_figuresversion (client_id, version) "
    "SELECT {client}, lower(hex(randomblob(16))) WHERE {client} IS NOT NULL;"
)
SQLITE_TRIGGER = """
CREATE TRIGGER kindwork_figures_{table}_{event_lower} AFTER {event} ON {table}
BEGIN {body} END;
"""


def _sqlite_client(row: str, column: str) -> str:
    if column == "client_id":
        return f"{row}.client_id"
    # Constants only: the row is NEW or OLD, never input.
    return f"(SELECT client_id FROM homework_assignment WHERE id = {row}.assignment_id)"  # noqa: S608


def figures_triggers_install(connection: BaseDatabaseWrapper) -> None:
    """Create (or replace) the triggers on `connection`, in one transaction: writes
    that run meanwhile wait for it rather than miss a trigger."""
    with transaction.atomic(using=connection.alias):
        figures_triggers_remove(connection)
        _create(connection)


# Every user a fresh version: for after a migrate, which may follow a restore from a dump
# (versions go back to ones that figures newer than the dump were cached under) or data
# written while the triggers were not there.
RENEW = {
    "postgresql": """
        INSERT INTO homework_figuresversion (client_id, version)
        SELECT id, gen_random_uuid() FROM accounts_user ORDER BY id
        ON CONFLICT (client_id) DO UPDATE SET version = EXCLUDED.version
    """,
    "sqlite": """
        INSERT OR REPLACE INTO homework_figuresversion (client_id, version)
        SELECT id, lower(hex(randomblob(16))) FROM accounts_user
    """,
}


def figures_versions_renew(connection: BaseDatabaseWrapper) -> None:
    """Give every client a new figures version: no cached figures are used again."""
    _executor(connection)(RENEW[connection.vendor])


def _create(connection: BaseDatabaseWrapper) -> None:
    execute = _executor(connection)
    if connection.vendor == "postgresql":
        execute(POSTGRESQL_FUNCTIONS)
        for table, column in SOURCES:
            function = (
                "kindwork_figures_bump_by_client"
                if column == "client_id"
                else "kindwork_figures_bump_by_assignment"
            )
            for event, tables in TRANSITION_TABLES.items():
                execute(
                    POSTGRESQL_TRIGGER.format(
                        event=event,
                        event_lower=event.lower(),
                        table=table,
                        tables=tables,
                        function=function,
                    )
                )
    elif connection.vendor == "sqlite":
        for table, column in SOURCES:
            for event, rows in (
                ("INSERT", ["NEW"]),
                ("UPDATE", ["OLD", "NEW"]),
                ("DELETE", ["OLD"]),
            ):
                body = " ".join(
                    SQLITE_BUMP.format(client=_sqlite_client(row, column)) for row in rows
                )
                execute(
                    SQLITE_TRIGGER.format(
                        table=table, event=event, event_lower=event.lower(), body=body
                    )
                )
    else:
        raise NotImplementedError(f"No figures-version triggers for {connection.vendor}.")


def figures_triggers_remove(connection: BaseDatabaseWrapper) -> None:
    execute = _executor(connection)
    for table, _column in SOURCES:
        for event in TRANSITION_TABLES:
            if connection.vendor == "postgresql":
                execute(f"DROP TRIGGER IF EXISTS kindwork_figures_{event.lower()} ON {table}")
            else:
                execute(f"DROP TRIGGER IF EXISTS kindwork_figures_{table}_{event.lower()}")
    if connection.vendor == "postgresql":
        execute(
            "DROP FUNCTION IF EXISTS kindwork_figures_bump_by_client();"
            "DROP FUNCTION IF EXISTS kindwork_figures_bump_by_assignment();"
            "DROP FUNCTION IF EXISTS kindwork_figures_bump(bigint[]);"
        )


def _executor(connection: BaseDatabaseWrapper) -> Callable[[str], None]:
    def execute(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    return execute
