"""Databases and schemas: fakesnow creates and drops them; the emulator keeps its own objects in step.

A new database gets an INFORMATION_SCHEMA.TABLES that lists views too, and dropping a schema or a
database drops what the emulator keeps in it (models, experiments, tags, stages, view texts), as
Snowflake drops every object a schema holds
(https://docs.snowflake.com/en/sql-reference/sql/drop-schema, …/drop-database).
"""

from __future__ import annotations

import re
import shutil

from mlops_kit.adapters.snowflake_emulator import experiments, models
from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.stages import STAGES
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    NAME,
    Family,
    Rows,
    Statement,
    claim,
    identifier,
    run_on_fakesnow,
)

family = Family(
    "databases and schemas", claim(r"CREATE\s+(?:OR\s+REPLACE\s+)?DATABASE\b", r"DROP\s+(?:DATABASE|SCHEMA)\b")
)


# https://docs.snowflake.com/en/sql-reference/sql/create-database
@family.statement(r"CREATE\s+(?:OR\s+REPLACE\s+)?DATABASE\b.*")
def create_database(statement: Statement, match: re.Match[str]) -> Rows:
    cursor = run_on_fakesnow(statement, statement.sql, statement.params)
    statement.account.ensure_information_schema()
    return Rows([("status", "VARCHAR")], [tuple(row) for row in cursor.fetchall()])


@family.statement(
    rf"DROP\s+(?P<kind>DATABASE|SCHEMA)\s+(?:IF\s+EXISTS\s+)?(?P<name>{NAME})(?:\s+(?:CASCADE|RESTRICT))?"
)
def drop_database_or_schema(statement: Statement, match: re.Match[str]) -> Rows:
    if match["kind"].upper() == "DATABASE":
        database, schema = identifier(re.findall(IDENT, match["name"])[0]), None
    else:
        name = statement.schema_name(match["name"])
        database, schema = name.database, name.schema
    cursor = run_on_fakesnow(statement, statement.sql, statement.params)
    _forget_contents(statement, database, schema)
    return Rows([("status", "VARCHAR")], [tuple(row) for row in cursor.fetchall()])


def _forget_contents(statement: Statement, database: str, schema: str | None) -> None:
    models.drop_schema_models(statement, database, schema)
    experiments.drop_schema_experiments(statement, database, schema)
    account = statement.account
    scope = "database_name = ? AND (? IS NULL OR schema_name = ?)"
    with account.transaction():
        account.execute(f"DELETE FROM {STATE_SCHEMA}.tags WHERE {scope}", [database, schema, schema])
        account.execute(f"DELETE FROM {STATE_SCHEMA}.warehouse_objects WHERE {scope}", [database, schema, schema])
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
