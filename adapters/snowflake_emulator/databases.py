"""Databases and schemas: fakesnow creates and drops them; the emulator keeps its own objects in step.

A new database gets an INFORMATION_SCHEMA.TABLES that lists views too, and dropping a schema or a
database drops what the emulator keeps in it (models, experiments, tags, stages, view texts), as
Snowflake drops every object a schema holds
(https://docs.snowflake.com/en/sql-reference/sql/drop-schema, …/drop-database).
"""

from __future__ import annotations

import re
import shutil

from snowflake.connector.errors import ProgrammingError

from mlops_kit.adapters.snowflake_emulator import experiments, models
from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.session import ROLE
from mlops_kit.adapters.snowflake_emulator.stages import STAGES
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    LIKE,
    NAME,
    STRING,
    Family,
    Rewrite,
    Rows,
    Statement,
    already_exists,
    claim,
    does_not_exist,
    identifier,
    like_of,
    quoted,
    run_on_fakesnow,
    split_name,
    status,
    string_value,
)

family = Family(
    "databases and schemas",
    claim(
        r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TRANSIENT\s+)?(?:DATABASE|SCHEMA)\b",
        r"DROP\s+(?:DATABASE|SCHEMA)\b",
        r"USE\s+DATABASE\b",
        r"SHOW\s+(?:TERSE\s+)?DATABASES\b",
        r"SHOW\s+(?:TERSE\s+)?SCHEMAS\b",
    ),
)

#: What the emulator records of a database it created (``warehouse_objects`` kind).
_DATABASE = "DATABASE"


# https://docs.snowflake.com/en/sql-reference/sql/create-database: a new database holds the schemas
# PUBLIC and INFORMATION_SCHEMA, and "creating a database automatically sets it as the active/current
# database for the current session (equivalent to using the USE DATABASE command for the database)",
# which makes its PUBLIC schema current. An existing database named with IF NOT EXISTS is left alone.
@family.statement(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?:TRANSIENT\s+)?DATABASE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{IDENT})(?P<rest>.*)"
)
def create_database(statement: Statement, match: re.Match[str]) -> Rows:
    name = identifier(match["name"])
    existed = _database_exists(statement, name)
    if existed and not match["replace"] and not match["exists"]:
        raise already_exists("Object", name)
    if existed and match["exists"]:
        statement.account.ensure_information_schema()  # a database fakesnow made at login has none yet
        return status(f"{name} already exists, statement succeeded.")
    if existed:
        run_on_fakesnow(statement, f"DROP DATABASE {quoted(name)}")
        _forget_contents(statement, name, None)
    run_on_fakesnow(statement, f"CREATE DATABASE {quoted(name)}")
    run_on_fakesnow(statement, f"CREATE SCHEMA IF NOT EXISTS {quoted(name)}.PUBLIC")
    run_on_fakesnow(statement, f"USE SCHEMA {quoted(name)}.PUBLIC")
    statement.account.keep_private()
    statement.account.ensure_information_schema()
    comment = re.search(rf"\bCOMMENT\s*=\s*(?P<comment>{STRING})", match["rest"], re.IGNORECASE)
    statement.account.execute(
        f"INSERT OR REPLACE INTO {STATE_SCHEMA}.warehouse_objects VALUES (?, ?, '', ?, NULL, ?, now())",
        [_DATABASE, name, name, string_value(comment["comment"]) if comment else None],
    )
    return status(f"Database {name} successfully created.")


# https://docs.snowflake.com/en/sql-reference/sql/use-database: "If a database has a PUBLIC schema,
# it is set as the current schema" (none is current otherwise).
@family.statement(rf"USE\s+DATABASE\s+(?P<name>{IDENT})")
def use_database(statement: Statement, match: re.Match[str]) -> Rows:
    name = identifier(match["name"])
    if not _database_exists(statement, name):
        raise does_not_exist("Database", name)
    run_on_fakesnow(statement, f"USE DATABASE {quoted(name)}")
    if _schema_exists(statement, name, "PUBLIC"):
        run_on_fakesnow(statement, f"USE SCHEMA {quoted(name)}.PUBLIC")
    return status("Statement executed successfully.")


# https://docs.snowflake.com/en/sql-reference/sql/create-schema: an unqualified name is created in
# the current database; with none, Snowflake refuses (error 90105) naming the USE DATABASE fix.
@family.statement(
    rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TRANSIENT\s+)?SCHEMA\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME}).*"
)
def create_schema(statement: Statement, match: re.Match[str]) -> Rewrite:
    if len(split_name(match["name"])) == 1 and not statement.session.database:
        raise ProgrammingError(
            msg="Cannot perform CREATE SCHEMA. This session does not have a current database. "
            "Call 'USE DATABASE', or use a qualified name.",
            errno=90105,
            sqlstate="22000",
        )
    return Rewrite(statement.sql, statement.params)


# https://docs.snowflake.com/en/sql-reference/sql/show-databases: the documented columns; created_on
# is when the emulator created the database (the account's creation for databases made at login).
@family.statement(
    rf"SHOW\s+(?P<terse>TERSE\s+)?DATABASES(?P<history>\s+HISTORY)?{LIKE}(?:\s+STARTS\s+WITH\s+(?P<starts>{STRING}))?(?:\s+LIMIT\s+(?P<limit>\d+))?"
)
def show_databases(statement: Statement, match: re.Match[str]) -> Rows:
    like = like_of(match)
    starts = string_value(match["starts"]) if match["starts"] else None
    recorded = {
        name: (created, comment)
        for name, created, comment in statement.account.query(
            f"SELECT name, created_on, comment FROM {STATE_SCHEMA}.warehouse_objects WHERE kind = ?", [_DATABASE]
        )
    }
    rows = []
    for name in _database_names(statement):
        if (like is not None and not like.fullmatch(name)) or (starts is not None and not name.startswith(starts)):
            continue
        created, comment = recorded.get(name, (statement.account.created_on, None))
        current = "Y" if name == statement.session.database else "N"
        if match["terse"]:
            rows.append((created, name, "STANDARD", None, None))
        else:
            rows.append((created, name, "N", current, "", ROLE, comment or "", "", 1, "STANDARD", None, "ROLE", None))
    rows.sort(key=lambda row: row[1])
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    columns = _TERSE_DATABASE_COLUMNS if match["terse"] else _DATABASE_COLUMNS
    return Rows(columns, rows)


_DATABASE_COLUMNS = [
    ("created_on", "TIMESTAMP WITH TIME ZONE"), ("name", "VARCHAR"), ("is_default", "VARCHAR"),
    ("is_current", "VARCHAR"), ("origin", "VARCHAR"), ("owner", "VARCHAR"), ("comment", "VARCHAR"),
    ("options", "VARCHAR"), ("retention_time", "BIGINT"), ("kind", "VARCHAR"), ("budget", "VARCHAR"),
    ("owner_role_type", "VARCHAR"), ("object_visibility", "VARCHAR"),
]  # fmt: skip
_TERSE_DATABASE_COLUMNS = [
    ("created_on", "TIMESTAMP WITH TIME ZONE"), ("name", "VARCHAR"), ("kind", "VARCHAR"),
    ("database_name", "VARCHAR"), ("schema_name", "VARCHAR"),
]  # fmt: skip


# https://docs.snowflake.com/en/sql-reference/sql/show-schemas: the documented columns, the LIKE filter
# (case-insensitive), the scope (the current database by default), STARTS WITH and LIMIT. fakesnow's
# ignored LIKE and listed DuckDB's own schemas.
_INTERNAL_SCHEMAS = ("_fs_information_schema", "main", "pg_catalog")


@family.statement(
    rf"SHOW\s+(?P<terse>TERSE\s+)?SCHEMAS(?P<history>\s+HISTORY)?{LIKE}"
    rf"(?:\s+IN\s+(?P<scope>ACCOUNT|DATABASE(?:\s+(?P<database>{IDENT}))?|(?P<bare>{IDENT})))?"
    rf"(?:\s+STARTS\s+WITH\s+(?P<starts>{STRING}))?(?:\s+LIMIT\s+(?P<limit>\d+))?"
)
def show_schemas(statement: Statement, match: re.Match[str]) -> Rows:
    like = like_of(match)
    starts = string_value(match["starts"]) if match["starts"] else None
    scope = (match["scope"] or "").upper()
    if scope == "ACCOUNT":
        databases = _database_names(statement)
    else:
        named = match["database"] or match["bare"]
        database = identifier(named) if named else statement.session.database
        if not database:
            raise ProgrammingError(
                msg="Cannot perform SHOW SCHEMAS. This session does not have a current database. "
                "Call 'USE DATABASE', or use a qualified name.",
                errno=90105,
                sqlstate="22000",
            )
        if not _database_exists(statement, database):
            raise does_not_exist("Database", database)
        databases = [database]
    rows = []
    for database in databases:
        found = statement.account.query(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? AND NOT internal", [database]
        )
        # every database has an INFORMATION_SCHEMA (https://docs.snowflake.com/en/sql-reference/info-schema)
        for name in sorted({str(row[0]) for row in found} - set(_INTERNAL_SCHEMAS) | {"INFORMATION_SCHEMA"}):
            if (like is not None and not like.fullmatch(name)) or (starts is not None and not name.startswith(starts)):
                continue
            current = "Y" if (database, name) == (statement.session.database, statement.session.schema) else "N"
            owner = "" if name == "INFORMATION_SCHEMA" else ROLE
            created = statement.account.created_on
            if match["terse"]:
                rows.append((created, name, None, database, None))
            else:
                rows.append((created, name, "N", current, database, owner, "", "", 1, "ROLE", None))
    rows.sort(key=lambda row: (row[3] if match["terse"] else row[4], row[1]))
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    return Rows(_TERSE_SCHEMA_COLUMNS if match["terse"] else _SCHEMA_COLUMNS, rows)


_SCHEMA_COLUMNS = [
    ("created_on", "TIMESTAMP WITH TIME ZONE"), ("name", "VARCHAR"), ("is_default", "VARCHAR"),
    ("is_current", "VARCHAR"), ("database_name", "VARCHAR"), ("owner", "VARCHAR"), ("comment", "VARCHAR"),
    ("options", "VARCHAR"), ("retention_time", "BIGINT"), ("owner_role_type", "VARCHAR"), ("budget", "VARCHAR"),
]  # fmt: skip
_TERSE_SCHEMA_COLUMNS = [
    ("created_on", "TIMESTAMP WITH TIME ZONE"), ("name", "VARCHAR"), ("kind", "VARCHAR"),
    ("database_name", "VARCHAR"), ("schema_name", "VARCHAR"),
]  # fmt: skip


def _database_names(statement: Statement) -> list[str]:
    return statement.account.database_names()


def _database_exists(statement: Statement, name: str) -> bool:
    return statement.account.has_database(name)


def _schema_exists(statement: Statement, database: str, schema: str) -> bool:
    return bool(
        statement.account.query(
            "SELECT 1 FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?", [database, schema]
        )
    )


@family.statement(
    rf"DROP\s+(?P<kind>DATABASE|SCHEMA)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})(?:\s+(?:CASCADE|RESTRICT))?"
)
def drop_database_or_schema(statement: Statement, match: re.Match[str]) -> Rows:
    if match["kind"].upper() == "DATABASE":
        database, schema = identifier(re.findall(IDENT, match["name"])[0]), None
    else:
        name = statement.schema_name(match["name"])
        database, schema = name.database, name.schema
    if schema is None:
        return _drop_database(statement, database, bool(match["exists"]))
    cursor = run_on_fakesnow(statement, statement.sql, statement.params)
    _forget_contents(statement, database, schema)
    return Rows([("status", "VARCHAR")], [tuple(row) for row in cursor.fetchall()])


# https://docs.snowflake.com/en/sql-reference/sql/drop-database (fakesnow has no DROP DATABASE): the
# database's file goes, and a session that used it has no current database or schema.
def _drop_database(statement: Statement, database: str, if_exists: bool) -> Rows:
    if not _database_exists(statement, database):
        if if_exists:
            return status(f"Drop statement executed successfully ({database} already dropped).")
        raise does_not_exist("Database", database)
    conn = statement.session.conn
    if conn.database == database:
        conn._duck_conn.execute("USE memory")
        conn.database, conn._schema, conn.database_set, conn.schema_set = None, None, False, False
    statement.account.execute(f"DETACH DATABASE {quoted(database)}")
    for path in statement.account.area("databases").glob(f"{database}.db*"):
        path.unlink(missing_ok=True)
    _forget_contents(statement, database, None)
    statement.account.execute(
        f"DELETE FROM {STATE_SCHEMA}.warehouse_objects WHERE kind = ? AND name = ?", [_DATABASE, database]
    )
    return status(f"{database} successfully dropped.")


def _forget_contents(statement: Statement, database: str, schema: str | None) -> None:
    models.drop_schema_models(statement, database, schema)
    experiments.drop_schema_experiments(statement, database, schema)
    account = statement.account
    scope = "database_name = ? AND (? IS NULL OR schema_name = ?)"
    with account.transaction():
        account.execute(f"DELETE FROM {STATE_SCHEMA}.tags WHERE {scope}", [database, schema, schema])
        account.execute(f"DELETE FROM {STATE_SCHEMA}.warehouse_objects WHERE {scope}", [database, schema, schema])
        for table in ("dynamic_tables", "dynamic_table_refreshes", "tasks", "grants"):
            account.execute(f"DELETE FROM {STATE_SCHEMA}.{table} WHERE {scope}", [database, schema, schema])
        if schema is None:  # the grants on the database itself go with it
            account.execute(f"DELETE FROM {STATE_SCHEMA}.grants WHERE granted_on = 'DATABASE' AND name = ?", [database])
        for side in ("tag", "object"):
            account.execute(
                f"DELETE FROM {STATE_SCHEMA}.tag_references WHERE {side}_database = ? "
                f"AND (? IS NULL OR {side}_schema = ?)",
                [database, schema, schema],
            )
        stage_folders = account.query(f"SELECT url FROM {STAGES} WHERE {scope}", [database, schema, schema])
        account.execute(f"DELETE FROM {STAGES} WHERE {scope}", [database, schema, schema])
    for (folder,) in stage_folders:
        shutil.rmtree(folder, ignore_errors=True)
