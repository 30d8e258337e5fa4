"""Statements about the session and the account: the warehouse in use, cancelling queries.

The emulated account has one virtual warehouse, ``EMULATOR_WH``, the default of its one user: it
runs nothing by itself (queries run in-process on DuckDB), it only answers to its name.
"""

from __future__ import annotations

import re
from typing import Any

from snowflake.connector.errors import ProgrammingError

from mlops_kit.adapters.snowflake_emulator import conda_channel
from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    LIKE,
    NAME,
    Family,
    Rewrite,
    Rows,
    Statement,
    already_exists,
    claim_anywhere,
    does_not_exist,
    identifier,
    invalid,
    like_of,
    masked,
    quoted,
    registered,
    sql_string,
    status,
)

family = Family(
    "session and warehouses",
    claim_anywhere(
        r"\bSYSTEM\$CANCEL_ALL_QUERIES\s*\(",
        r"\bSYSTEM\$ML_PLATFORM_CAPABILITIES\s*\(",
        r"^\s*USE\s+WAREHOUSE\b",
        r"^\s*(?:CREATE(?:\s+OR\s+REPLACE)?|DROP|ALTER)\s+(?:WAREHOUSE|EXTERNAL\s+VOLUME)\b",
        r"^\s*SHOW\s+EXTERNAL\s+VOLUMES\b",
        r"^\s*SHOW\s+WAREHOUSES\b",
        r"^\s*SHOW\s+PARAMETERS\b",
        r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:LOCAL\s+|GLOBAL\s+)?(?:TEMP|TEMPORARY|SCOPED\s+TEMPORARY|VOLATILE)\s+TABLE\b",
    ),
)
functions = Family("session functions", claim_anywhere(r"\bCURRENT_(?:WAREHOUSE|ROLE)\s*\("))
result_scans = Family("RESULT_SCAN", claim_anywhere(r"\bRESULT_SCAN\s*\("))
packages = Family("INFORMATION_SCHEMA.PACKAGES", claim_anywhere(r"\bINFORMATION_SCHEMA\s*\.\s*PACKAGES\b"))

#: The account's one warehouse, and the one role of its one user (the owner of every object).
WAREHOUSE = "EMULATOR_WH"
ROLE = "ACCOUNTADMIN"

_CURRENT = re.compile(r"\bCURRENT_(?P<what>WAREHOUSE|ROLE)\s*\(\s*\)", re.IGNORECASE)


# Warehouses and external volumes are account objects the emulator keeps by name only: a warehouse
# runs nothing (queries run on DuckDB in this process) and an external volume stores nothing (no
# cloud storage). https://docs.snowflake.com/en/sql-reference/sql/create-warehouse,
# …/drop-warehouse, …/create-external-volume, …/drop-external-volume, …/show-external-volumes.
_ACCOUNT_OBJECT = re.compile(r"(?P<kind>WAREHOUSE|EXTERNAL\s+VOLUME)", re.IGNORECASE)


def account_objects(statement: Statement, kind: str) -> dict[str, Any]:
    """The warehouses or external volumes (``kind``) the account holds besides its own: name -> created_on."""
    return {
        name: created
        for name, created in statement.account.query(
            f"SELECT name, created_on FROM {STATE_SCHEMA}.warehouse_objects WHERE kind = ? AND database_name = ''",
            [kind],
        )
    }


@family.statement(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?P<kind>WAREHOUSE|EXTERNAL\s+VOLUME)\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{IDENT})(?P<rest>.*)"
)
def create_account_object(statement: Statement, match: re.Match[str]) -> Rows:
    kind = " ".join(match["kind"].upper().split())
    name = identifier(match["name"])
    existing = account_objects(statement, kind)
    if (name in existing or (kind == "WAREHOUSE" and name == WAREHOUSE)) and not match["replace"]:
        if match["exists"]:
            return status(f"{name} already exists, statement succeeded.")
        raise already_exists("Object", name)
    statement.account.execute(
        f"INSERT OR REPLACE INTO {STATE_SCHEMA}.warehouse_objects VALUES (?, '', '', ?, ?, NULL, now())",
        [kind, name, match["rest"].strip()],
    )
    if kind == "WAREHOUSE":  # "creating a warehouse sets it as the current warehouse for the session"
        statement.session.warehouse = name
        return status(f"Warehouse {name} successfully created.")
    return status(f"External volume {name} successfully created.")


@family.statement(rf"DROP\s+(?P<kind>WAREHOUSE|EXTERNAL\s+VOLUME)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{IDENT})")
def drop_account_object(statement: Statement, match: re.Match[str]) -> Rows:
    kind = " ".join(match["kind"].upper().split())
    name = identifier(match["name"])
    if name not in account_objects(statement, kind):
        if match["exists"]:
            return status(f"Drop statement executed successfully ({name} already dropped).")
        raise does_not_exist(kind.title(), name)
    statement.account.execute(
        f"DELETE FROM {STATE_SCHEMA}.warehouse_objects WHERE kind = ? AND database_name = '' AND name = ?", [kind, name]
    )
    if statement.session.warehouse == name:
        statement.session.warehouse = None
    return status(f"{name} successfully dropped.")


@family.statement(
    rf"ALTER\s+WAREHOUSE\s+(?:IF\s+EXISTS\s+)?(?P<name>{IDENT})\s+(?:SUSPEND|RESUME(?:\s+IF\s+SUSPENDED)?|SET\s+.*)"
)
def alter_warehouse(statement: Statement, match: re.Match[str]) -> Rows:
    return status("Statement executed successfully.")


@family.statement(rf"SHOW\s+EXTERNAL\s+VOLUMES{LIKE}")
def show_external_volumes(statement: Statement, match: re.Match[str]) -> Rows:
    like = like_of(match)
    rows = [
        (name, "false", "", "ACCOUNTADMIN", "ROLE", created)
        for name, created in sorted(account_objects(statement, "EXTERNAL VOLUME").items())
        if like is None or like.fullmatch(name)
    ]
    return Rows(
        [("name", "VARCHAR"), ("allow_writes", "VARCHAR"), ("comment", "VARCHAR"), ("owner", "VARCHAR"),
         ("owner_role_type", "VARCHAR"), ("created_on", "TIMESTAMP WITH TIME ZONE")],
        rows,
    )  # fmt: skip


# https://docs.snowflake.com/en/sql-reference/sql/use-warehouse
@family.statement(rf"USE\s+WAREHOUSE\s+(?P<name>{IDENT})")
def use_warehouse(statement: Statement, match: re.Match[str]) -> Rows:
    name = identifier(match["name"])
    if name != WAREHOUSE and name not in account_objects(statement, "WAREHOUSE"):
        raise ProgrammingError(
            msg="SQL compilation error:\nObject does not exist, or operation cannot be performed.",
            errno=2043,
            sqlstate="02000",
        )
    statement.session.warehouse = name
    return status("Statement executed successfully.")


# https://docs.snowflake.com/en/sql-reference/sql/show-warehouses (the documented columns; the
# counters of a warehouse that never queues anything)
@family.statement(rf"SHOW\s+WAREHOUSES{LIKE}")
def show_warehouses(statement: Statement, match: re.Match[str]) -> Rows:
    rows = []
    like = like_of(match)
    warehouses = {WAREHOUSE: statement.account.created_on, **account_objects(statement, "WAREHOUSE")}
    for name, created in sorted(warehouses.items()):
        if like is not None and not like.fullmatch(name):
            continue
        current = "Y" if statement.session.warehouse == name else "N"
        rows.append(
            (name, "STARTED", "STANDARD", "X-Small", 1, 1, 1, 0, 0, "Y" if name == WAREHOUSE else "N", current, 600,
             "true", "100", "0", "0", "0", created, created, created, "ACCOUNTADMIN", "a Snowflake emulator "
             "warehouse (queries run on this machine)", "false", 8, None, "STANDARD", None, "ROLE", None)
        )  # fmt: skip
    return Rows(_WAREHOUSE_COLUMNS, rows)


_WAREHOUSE_COLUMNS = [
    ("name", "VARCHAR"), ("state", "VARCHAR"), ("type", "VARCHAR"), ("size", "VARCHAR"),
    ("min_cluster_count", "BIGINT"), ("max_cluster_count", "BIGINT"), ("started_clusters", "BIGINT"),
    ("running", "BIGINT"), ("queued", "BIGINT"), ("is_default", "VARCHAR"), ("is_current", "VARCHAR"),
    ("auto_suspend", "BIGINT"), ("auto_resume", "VARCHAR"), ("available", "VARCHAR"), ("provisioning", "VARCHAR"),
    ("quiescing", "VARCHAR"), ("other", "VARCHAR"), ("created_on", "TIMESTAMP WITH TIME ZONE"),
    ("resumed_on", "TIMESTAMP WITH TIME ZONE"), ("updated_on", "TIMESTAMP WITH TIME ZONE"), ("owner", "VARCHAR"),
    ("comment", "VARCHAR"), ("enable_query_acceleration", "VARCHAR"),
    ("query_acceleration_max_scale_factor", "BIGINT"), ("resource_monitor", "VARCHAR"),
    ("scaling_policy", "VARCHAR"), ("budget", "VARCHAR"), ("owner_role_type", "VARCHAR"),
    ("resource_constraint", "VARCHAR"),
]  # fmt: skip


# SHOW PARAMETERS: https://docs.snowflake.com/en/sql-reference/sql/show-parameters (columns key,
# value, default, level, description, type). The session parameters the libraries read, with the
# values an emulated session has (it runs in UTC, identifiers keep Snowflake's default case rules).
_PARAMETERS = {
    "AUTOCOMMIT": ("true", "true", "BOOLEAN", "The autocommit property determines whether is statement should "
                   "to be implicitly wrapped within a transaction or not."),
    "QUOTED_IDENTIFIERS_IGNORE_CASE": ("false", "false", "BOOLEAN", "If true, the case of quoted identifiers "
                                       "is ignored."),
    "TIMEZONE": ("Etc/UTC", "America/Los_Angeles", "STRING", "time zone"),
}  # fmt: skip


@family.statement(rf"SHOW\s+PARAMETERS{LIKE}(?:\s+(?:IN|FOR)\s+(?P<scope>SESSION|ACCOUNT))?")
def show_parameters(statement: Statement, match: re.Match[str]) -> Rows:
    like = like_of(match)
    level = "SESSION" if (match["scope"] or "SESSION").upper() == "SESSION" else "ACCOUNT"
    rows = [
        (key, value, default, level if value != default else "", description, kind)
        for key, (value, default, kind, description) in sorted(_PARAMETERS.items())
        if like is None or like.fullmatch(key)
    ]
    return Rows([(c, "VARCHAR") for c in ("key", "value", "default", "level", "description", "type")], rows)


# https://docs.snowflake.com/en/sql-reference/functions/system_cancel_all_queries
# Every statement finishes before the emulator answers, so there is never one to cancel.
@family.statement(r"SELECT\s+(?P<call>SYSTEM\$CANCEL_ALL_QUERIES\s*\(\s*\d+\s*\))")
def cancel_all_queries(statement: Statement, match: re.Match[str]) -> Rows:
    return Rows([(match["call"].upper(), "VARCHAR")], [("0 queries cancelled.",)])


# https://docs.snowflake.com/en/sql-reference/functions/result_scan: the rows of an earlier query of
# the account, as a table. Snowpark reads a SHOW command's result this way once it filters or
# projects it; fakesnow answers only a bare SELECT * FROM TABLE(RESULT_SCAN(…)).
_RESULT_SCAN = re.compile(
    r"\b(?:TABLE\s*\(\s*)?RESULT_SCAN\s*\(\s*(?:'(?P<id>[^']*)'|LAST_QUERY_ID\s*\(\s*(?P<back>-?\d+)?\s*\))\s*\)"
    r"(?:\s*\))?",
    re.IGNORECASE,
)


@result_scans.statement(r"(?:SELECT|WITH)\b.*")
def result_scan(statement: Statement, match: re.Match[str]) -> Rewrite:
    sql = statement.sql
    tables: dict[str, Any] = {}
    found = list(_RESULT_SCAN.finditer(sql))
    if not found:
        raise invalid("RESULT_SCAN takes the query ID as a string literal")
    for scan in reversed(found):
        query_id = scan["id"] if scan["id"] is not None else _last_query_id(statement, int(scan["back"] or -1))
        cached = statement.session.conn.results_cache.get(query_id)
        if cached is None:
            raise ProgrammingError(msg=f"Statement {query_id} not found", errno=709, sqlstate="02000")
        relation = f"_EMULATOR_RESULT_{len(found) - len(tables)}_{statement.session.id}"
        tables[relation] = cached[0]
        sql = f"{sql[: scan.start()]}{relation}{sql[scan.end() :]}"
    return Rewrite(sql, statement.params, lambda: registered(statement.session, tables))


def _last_query_id(statement: Statement, back: int) -> str | None:
    """https://docs.snowflake.com/en/sql-reference/functions/last_query_id: the session's query
    ``back`` places back (-1 the latest, 1 the first), of this session's queries."""
    ids = statement.session.query_ids
    index = back if back < 0 else back - 1
    return ids[index] if -len(ids) <= index < len(ids) else None


# SYSTEM$ML_PLATFORM_CAPABILITIES is not in Snowflake's public reference; an account that lacks it
# reports an unknown function, and snowflake-ml then uses its defaults (as with older servers).
@family.statement(r"SELECT\s+SYSTEM\$ML_PLATFORM_CAPABILITIES\s*\(\s*\).*")
def ml_platform_capabilities(statement: Statement, match: re.Match[str]) -> Rows:
    raise ProgrammingError(
        msg="SQL compilation error:\nUnknown function SYSTEM$ML_PLATFORM_CAPABILITIES", errno=2140, sqlstate="42601"
    )


# Temporary tables: https://docs.snowflake.com/en/user-guide/tables-temp-transient. A temporary
# table lives in a schema but only for its session. DuckDB keeps temporary tables per connection
# (one per session here) in its own catalog, so the table is created there under its bare name, and
# the session writes its qualified name that way from then on (EmulatorSession.local_names).


@family.statement(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?:LOCAL\s+|GLOBAL\s+)?(?:TEMP|TEMPORARY|SCOPED\s+TEMPORARY|VOLATILE)"
    rf"\s+TABLE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME})(?P<rest>.*)"
)
def create_temporary_table(statement: Statement, match: re.Match[str]) -> Rewrite:
    table = statement.object_name(match["name"], "table")
    statement.session.temporary_tables.add(table)
    replace = "OR REPLACE " if match["replace"] else ""
    exists = "IF NOT EXISTS " if match["exists"] else ""
    return Rewrite(f"CREATE {replace}TEMPORARY TABLE {exists}{quoted(table.name)}{match['rest']}", statement.params)


# INFORMATION_SCHEMA.PACKAGES: https://docs.snowflake.com/en/sql-reference/info-schema/packages
# (columns PACKAGE_NAME, VERSION, LANGUAGE, RUNTIME_VERSION): the Anaconda packages a warehouse
# offers. The emulated account offers the versions in snowflake_conda_channel.json, a dated list
# of versions public sources confirmed (not a copy of the channel).
_PACKAGES = re.compile(r"\b(?:\w+\s*\.\s*)?INFORMATION_SCHEMA\s*\.\s*PACKAGES\b", re.IGNORECASE)


@packages.statement(r"(?:SELECT|WITH)\b.*")
def information_schema_packages(statement: Statement, match: re.Match[str]) -> Rewrite:
    import pyarrow as pa

    listed = conda_channel.channel()
    rows = [(name, version) for name, versions in sorted(listed.packages.items()) for version in versions]
    table = pa.table(
        {
            "PACKAGE_NAME": pa.array([r[0] for r in rows], pa.string()),
            "VERSION": pa.array([r[1] for r in rows], pa.string()),
            "LANGUAGE": pa.array(["python"] * len(rows), pa.string()),
            "RUNTIME_VERSION": pa.array([listed.runtime_version] * len(rows), pa.string()),
        }
    )
    relation = f"_EMULATOR_PACKAGES_{statement.session.id}"
    sql = _PACKAGES.sub(relation, statement.sql)
    return Rewrite(sql, statement.params, lambda: registered(statement.session, {relation: table}))


# https://docs.snowflake.com/en/sql-reference/functions/current_warehouse (NULL when none is in
# use) and …/current_role: fakesnow has neither warehouses nor roles, so their names are written
# into the query as literals.
@functions.statement(r"(?:SELECT|WITH)\b.*")
def current_warehouse_and_role(statement: Statement, match: re.Match[str]) -> Rewrite:
    warehouse = statement.session.warehouse
    values = {"WAREHOUSE": sql_string(warehouse) if warehouse else "NULL", "ROLE": sql_string(statement.session.role)}
    sql = statement.sql
    for found in reversed(list(_CURRENT.finditer(masked(sql)))):
        sql = f"{sql[: found.start()]}{values[found['what'].upper()]}{sql[found.end() :]}"
    return Rewrite(sql, statement.params)
