"""Dynamic tables: a table kept equal to its query's result, refreshed by Snowflake.

https://docs.snowflake.com/en/sql-reference/sql/create-dynamic-table,
…/alter-dynamic-table, …/drop-dynamic-table, …/show-dynamic-tables, …/desc-dynamic-table and
https://docs.snowflake.com/en/sql-reference/functions/dynamic_table_refresh_history.

The emulator materialises a dynamic table when it is created (``INITIALIZE = ON_CREATE``, the
default; ``ON_SCHEDULE`` leaves it empty until its first refresh) and again on every ``ALTER …
REFRESH``. It has no scheduler: a dynamic table is never refreshed by its target lag (the README's
"what the emulator does not emulate"), so a refresh happens only when asked for. Each refresh is a row
of ``INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY``. ``SUSPEND`` / ``RESUME`` set the
``scheduling_state`` that ``SHOW DYNAMIC TABLES`` reports. ``text`` is the statement as created.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pyarrow as pa
from snowflake.connector.errors import ProgrammingError

from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.feature_store import forget_object, object_exists, set_tags, split_top_level
from mlops_kit.adapters.snowflake_emulator.queries import query_for_fakesnow
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    NAME,
    SHOW_FILTERS,
    STRING,
    Family,
    ObjectName,
    Rewrite,
    Rows,
    Statement,
    already_exists,
    claim,
    claim_anywhere,
    does_not_exist,
    identifier,
    invalid,
    masked,
    option_value,
    options_pattern,
    quoted,
    registered,
    run_on_fakesnow,
    show_filter,
    status,
    string_value,
)

family = Family(
    "dynamic tables",
    claim(
        r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TRANSIENT\s+)?DYNAMIC\s+(?:ICEBERG\s+)?TABLE\b",
        r"SHOW\s+(?:TERSE\s+)?ICEBERG\s+TABLES\b",
        r"(?:ALTER|DROP|UNDROP)\s+DYNAMIC\s+TABLE\b",
        r"SHOW\s+(?:TERSE\s+)?DYNAMIC\s+TABLES\b",
        r"DESC(?:RIBE)?\s+DYNAMIC\s+TABLE\b",
    ),
)
refresh_history = Family("DYNAMIC_TABLE_REFRESH_HISTORY", claim_anywhere(r"\bDYNAMIC_TABLE_REFRESH_HISTORY\s*\("))

_TIMESTAMP = "TIMESTAMP WITH TIME ZONE"
_STATE = f"{STATE_SCHEMA}.dynamic_tables"
_REFRESHES = f"{STATE_SCHEMA}.dynamic_table_refreshes"

#: The statement's head: name and optional column list (with per-column COMMENTs).
_HEAD = re.compile(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?:TRANSIENT\s+)?DYNAMIC\s+(?P<iceberg>ICEBERG\s+)?TABLE\s+"
    rf"(?P<exists>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{NAME})\s*",
    re.IGNORECASE | re.DOTALL,
)
_OPTION = options_pattern(
    "TARGET_LAG",
    "WAREHOUSE",
    "INITIALIZATION_WAREHOUSE",
    "REFRESH_MODE",
    "INITIALIZE",
    "COMMENT",
    "DATA_RETENTION_TIME_IN_DAYS",
    "MAX_DATA_EXTENSION_TIME_IN_DAYS",
    "SCHEDULER",
    "CATALOG",
    "EXTERNAL_VOLUME",
    "BASE_LOCATION",
)


@family.statement(r"CREATE\b.*")
def create_dynamic_table(statement: Statement, match: re.Match[str]) -> Rows:
    head = _HEAD.match(statement.sql)
    if head is None:
        raise invalid("CREATE DYNAMIC TABLE needs a name")
    target = statement.object_name(head["name"], "dynamic table")
    rest = statement.sql[head.end() :]
    columns: list[tuple[str, str | None]] = []
    if rest.startswith("("):
        inside, rest = _parenthesised(rest)
        for part in split_top_level(inside):
            column = re.match(rf"\s*(?P<name>{IDENT})(?:\s+COMMENT\s+(?P<comment>{STRING}))?\s*$", part, re.DOTALL)
            if column is None:
                raise invalid(f"cannot read the column {part.strip()!r} of dynamic table {target.fqn}")
            columns.append((identifier(column["name"]), string_value(column["comment"]) if column["comment"] else None))
    options_text, query = _split_at_as(rest)
    if query is None:
        raise invalid(f"CREATE DYNAMIC TABLE {target.fqn} has no AS <query>")
    options = {m["key"].upper(): option_value(m["value"]) for m in _OPTION.finditer(_outside_parentheses(options_text))}
    for required in ("TARGET_LAG", "WAREHOUSE"):
        if required not in options:
            raise invalid(f"CREATE DYNAMIC TABLE {target.fqn} needs {required} = …", errno=1003, sqlstate="42601")
    iceberg = _iceberg_storage(statement, target, options) if head["iceberg"] else None
    exists = _recorded(statement, target) is not None or object_exists(statement, target)
    if exists and head["exists"]:
        return status(f"{target.name} already exists, statement succeeded.")
    if exists and not head["replace"]:
        raise already_exists("Object", target.name)
    initialize = options.get("INITIALIZE", "ON_CREATE").upper()
    _materialise(statement, target, query, [name for name, _ in columns], empty=initialize == "ON_SCHEDULE")
    tag = re.search(r"\bTAG\s*\(", options_text, re.IGNORECASE)
    with statement.account.transaction():
        statement.account.execute(
            f"DELETE FROM {_STATE} WHERE database_name = ? AND schema_name = ? AND name = ?", list(target.parts)
        )
        statement.account.execute(
            f"DELETE FROM {_REFRESHES} WHERE database_name = ? AND schema_name = ? AND name = ?", list(target.parts)
        )
        forget_object(statement, "TABLE", target)
        statement.account.execute(
            f"INSERT INTO {_STATE} (database_name, schema_name, name, query, text, target_lag, refresh_mode, "
            "warehouse, initialization_warehouse, initialize, comment, columns, scheduling_state, created_on, "
            "cluster_by, iceberg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?)",
            [*target.parts, query, _shown_text(statement.sql), target_lag(options["TARGET_LAG"]), _refresh_mode(options),
             identifier(options["WAREHOUSE"]), options.get("INITIALIZATION_WAREHOUSE"), initialize,
             options.get("COMMENT"), json.dumps(dict(columns)), "ACTIVE", _cluster_by(options_text),
             json.dumps(iceberg) if iceberg else None],
        )  # fmt: skip
        if tag is not None:
            inside, _ = _parenthesised(options_text[tag.end() - 1 :])
            set_tags(statement, "TABLE", target, inside)
        if initialize != "ON_SCHEDULE":
            _record_refresh(statement, target, "CREATION")
    return status(f"Table {target.name} successfully created.")


def _materialise(statement: Statement, target: ObjectName, query: str, columns: list[str], *, empty: bool) -> None:
    aliases = f" AS _dt({', '.join(quoted(c) for c in columns)})" if columns else " AS _dt"
    limit = " LIMIT 0" if empty else ""
    query = query_for_fakesnow(query)
    run_on_fakesnow(statement, f"CREATE OR REPLACE TABLE {target.fqn} AS SELECT * FROM ({query}){aliases}{limit}")


def _record_refresh(statement: Statement, target: ObjectName, trigger: str) -> None:
    statement.account.execute(
        f"INSERT INTO {_REFRESHES} VALUES (?, ?, ?, 'SUCCEEDED', ?, now(), now())", [*target.parts, trigger]
    )
    statement.account.execute(
        f"UPDATE {_STATE} SET data_timestamp = now() WHERE database_name = ? AND schema_name = ? AND name = ?",
        list(target.parts),
    )


# https://docs.snowflake.com/en/sql-reference/sql/alter-dynamic-table
@family.statement(
    rf"ALTER\s+DYNAMIC\s+TABLE\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+"
    rf"(?P<action>REFRESH|SUSPEND|RESUME|SET\s+.*|UNSET\s+.*|RENAME\s+TO\s+(?P<new>{NAME})|SWAP\s+WITH\s+(?P<other>{NAME}))"
)
def alter_dynamic_table(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], "dynamic table")
    record = _recorded(statement, target)
    if record is None:
        if match["exists"]:
            return status("Statement executed successfully.")
        raise does_not_exist("Dynamic table", target.fqn)
    action = match["action"].split()[0].upper()
    where = "WHERE database_name = ? AND schema_name = ? AND name = ?"
    if action == "REFRESH":
        columns = list(json.loads(record["columns"]))
        _materialise(statement, target, record["query"], columns, empty=False)
        _record_refresh(statement, target, "MANUAL")
        return Rows(
            [("statistics", "VARCHAR"), ("data_timestamp", _TIMESTAMP)],
            [(json.dumps({"insertedRows": 0, "deletedRows": 0}), _data_timestamp(statement, target))],
        )
    if action in ("SUSPEND", "RESUME"):
        state = "SUSPENDED" if action == "SUSPEND" else "ACTIVE"
        statement.account.execute(
            f"UPDATE {_STATE} SET scheduling_state = ?, last_suspended_on = CASE WHEN ? = 'SUSPENDED' THEN now() "
            f"ELSE last_suspended_on END {where}",
            [state, state, *target.parts],
        )
        return status("Statement executed successfully.")
    if action == "SET":
        changes = {m["key"].upper(): option_value(m["value"]) for m in _OPTION.finditer(match["action"])}
        tag = re.match(r"SET\s+TAG\s+(?P<assignments>.*)", match["action"], re.IGNORECASE | re.DOTALL)
        if tag is not None:
            set_tags(statement, "TABLE", target, tag["assignments"])
            return status("Statement executed successfully.")
        if not changes:
            raise invalid(f"ALTER DYNAMIC TABLE … {match['action']} is not emulated")
        for key, column in (("TARGET_LAG", "target_lag"), ("WAREHOUSE", "warehouse"), ("COMMENT", "comment"),
                            ("INITIALIZATION_WAREHOUSE", "initialization_warehouse")):  # fmt: skip
            if key in changes:
                value = identifier(changes[key]) if key.endswith("WAREHOUSE") else changes[key]
                value = target_lag(value) if key == "TARGET_LAG" else value
                statement.account.execute(f"UPDATE {_STATE} SET {column} = ? {where}", [value, *target.parts])
        return status("Statement executed successfully.")
    if action == "RENAME":
        renamed = statement.object_name(match["new"], "dynamic table")
        if _recorded(statement, renamed) is not None or object_exists(statement, renamed):
            raise already_exists("Object", renamed.name)
        run_on_fakesnow(statement, f"ALTER TABLE {target.fqn} RENAME TO {quoted(renamed.name)}")
        if renamed.parts[:2] != target.parts[:2]:
            raise invalid("the emulator renames a dynamic table within its schema only")
        with statement.account.transaction():
            for table in (_STATE, _REFRESHES):
                statement.account.execute(f"UPDATE {table} SET name = ? {where}", [renamed.name, *target.parts])
            statement.account.execute(
                f"UPDATE {STATE_SCHEMA}.tag_references SET object_name = ? WHERE domain = 'TABLE' "
                "AND object_database = ? AND object_schema = ? AND object_name = ?",
                [renamed.name, *target.parts],
            )
        return status("Statement executed successfully.")
    if action == "UNSET":
        what = match["action"].split()[1].upper() if len(match["action"].split()) > 1 else ""
        if what == "INITIALIZATION_WAREHOUSE":
            statement.account.execute(
                f"UPDATE {_STATE} SET initialization_warehouse = NULL {where}", list(target.parts)
            )
            return status("Statement executed successfully.")
        if what == "COMMENT":
            statement.account.execute(f"UPDATE {_STATE} SET comment = NULL {where}", list(target.parts))
            return status("Statement executed successfully.")
        raise invalid(f"ALTER DYNAMIC TABLE … {match['action']} is not emulated")
    raise invalid(f"ALTER DYNAMIC TABLE … {match['action']} is not emulated")


# https://docs.snowflake.com/en/sql-reference/sql/drop-dynamic-table
@family.statement(rf"DROP\s+DYNAMIC\s+TABLE\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})")
def drop_dynamic_table(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], "dynamic table")
    if _recorded(statement, target) is None:
        if match["exists"]:
            return status(f"Drop statement executed successfully ({target.name} already dropped).")
        raise does_not_exist("Dynamic table", target.fqn)
    run_on_fakesnow(statement, f"DROP TABLE IF EXISTS {target.fqn}")
    forget(statement, target)
    return status(f"{target.name} successfully dropped.")


def forget(statement: Statement, target: ObjectName) -> None:
    """What the emulator keeps of a dropped dynamic table goes with it (its tags too)."""
    with statement.account.transaction():
        for table in (_STATE, _REFRESHES):
            statement.account.execute(
                f"DELETE FROM {table} WHERE database_name = ? AND schema_name = ? AND name = ?", list(target.parts)
            )
        forget_object(statement, "TABLE", target)


# https://docs.snowflake.com/en/sql-reference/sql/show-dynamic-tables (the documented columns)
_SHOW_COLUMNS = [
    ("created_on", _TIMESTAMP), ("name", "VARCHAR"), ("reserved", "VARCHAR"), ("database_name", "VARCHAR"),
    ("schema_name", "VARCHAR"), ("cluster_by", "VARCHAR"), ("rows", "BIGINT"), ("bytes", "BIGINT"),
    ("owner", "VARCHAR"), ("target_lag", "VARCHAR"), ("refresh_mode", "VARCHAR"),
    ("refresh_mode_reason", "VARCHAR"), ("warehouse", "VARCHAR"), ("comment", "VARCHAR"), ("text", "VARCHAR"),
    ("automatic_clustering", "VARCHAR"), ("scheduling_state", "VARCHAR"), ("last_suspended_on", _TIMESTAMP),
    ("is_clone", "VARCHAR"), ("is_replica", "VARCHAR"), ("is_iceberg", "VARCHAR"), ("data_timestamp", _TIMESTAMP),
    ("owner_role_type", "VARCHAR"), ("initialization_warehouse", "VARCHAR"),
]  # fmt: skip


@family.statement(rf"SHOW\s+(?P<terse>TERSE\s+)?DYNAMIC\s+TABLES{SHOW_FILTERS}(?:\s+LIMIT\s+(?P<limit>\d+))?")
def show_dynamic_tables(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    rows = []
    for record in _records(statement):
        if not wanted.matches(record["database_name"], record["schema_name"], record["name"]):
            continue
        target = ObjectName(record["database_name"], record["schema_name"], record["name"])
        count = run_on_fakesnow(statement, f"SELECT COUNT(*) FROM {target.fqn}").fetchall()[0][0]
        rows.append(
            (record["created_on"], record["name"], "", record["database_name"], record["schema_name"],
             record["cluster_by"] or "", count, 0, "ACCOUNTADMIN", record["target_lag"], record["refresh_mode"],
             _reason(record), record["warehouse"], record["comment"] or "", record["text"], "OFF", record["scheduling_state"],
             record["last_suspended_on"], "false", "false", "true" if record["iceberg"] else "false",
             record["data_timestamp"], "ROLE",
             record["initialization_warehouse"])
        )  # fmt: skip
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    return Rows(_SHOW_COLUMNS, rows)


# Dynamic Iceberg tables (https://docs.snowflake.com/en/sql-reference/sql/create-dynamic-table,
# "CREATE DYNAMIC ICEBERG TABLE"): a dynamic table whose files Snowflake writes to an external volume.
# The emulator keeps the rows in DuckDB like any table and the storage settings as Snowflake reports
# them (SHOW ICEBERG TABLES); the external volume must exist.
def _iceberg_storage(statement: Statement, target: ObjectName, options: dict[str, str]) -> dict[str, str]:
    from mlops_kit.adapters.snowflake_emulator.session import account_objects

    volume = options.get("EXTERNAL_VOLUME")
    if volume is None:
        raise invalid(f"CREATE DYNAMIC ICEBERG TABLE {target.fqn} needs EXTERNAL_VOLUME = … (or an account default)")
    volume = identifier(volume)
    if volume not in account_objects(statement, "EXTERNAL VOLUME"):
        raise does_not_exist("External volume", volume)
    return {
        "catalog": options.get("CATALOG", "SNOWFLAKE"),
        "external_volume": volume,
        "base_location": options.get("BASE_LOCATION", ""),
    }


_ICEBERG_COLUMNS = [
    ("created_on", _TIMESTAMP), ("name", "VARCHAR"), ("database_name", "VARCHAR"), ("schema_name", "VARCHAR"),
    ("owner", "VARCHAR"), ("catalog_name", "VARCHAR"), ("iceberg_table_type", "VARCHAR"),
    ("catalog_table_name", "VARCHAR"), ("catalog_namespace", "VARCHAR"), ("external_volume_name", "VARCHAR"),
    ("base_location", "VARCHAR"), ("invalid", "VARCHAR"), ("invalid_reason", "VARCHAR"),
    ("owner_role_type", "VARCHAR"), ("last_refreshed_on", _TIMESTAMP), ("auto_refresh_status", "VARCHAR"),
    ("comment", "VARCHAR"),
]  # fmt: skip


# https://docs.snowflake.com/en/sql-reference/sql/show-iceberg-tables (the documented columns)
@family.statement(rf"SHOW\s+(?:TERSE\s+)?ICEBERG\s+TABLES{SHOW_FILTERS}(?:\s+LIMIT\s+(?P<limit>\d+))?")
def show_iceberg_tables(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    rows = []
    for record in _records(statement):
        if record["iceberg"] is None or not wanted.matches(
            record["database_name"], record["schema_name"], record["name"]
        ):
            continue
        storage = json.loads(record["iceberg"])
        rows.append(
            (record["created_on"], record["name"], record["database_name"], record["schema_name"], "ACCOUNTADMIN",
             storage["catalog"], "MANAGED", None, None, storage["external_volume"], storage["base_location"],
             "false", None, "ROLE", record["data_timestamp"], None, record["comment"] or "")
        )  # fmt: skip
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    return Rows(_ICEBERG_COLUMNS, rows)


# https://docs.snowflake.com/en/sql-reference/sql/desc-dynamic-table: the columns as DESC TABLE gives
# them, with the COMMENTs the column list gave.
@family.statement(rf"DESC(?:RIBE)?\s+DYNAMIC\s+TABLE\s+(?P<name>{NAME})")
def describe_dynamic_table(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], "dynamic table")
    record = _recorded(statement, target)
    if record is None:
        raise does_not_exist("Dynamic table", target.fqn)
    comments = json.loads(record["columns"])
    cursor = run_on_fakesnow(statement, f"DESC TABLE {target.fqn}")
    names = [d[0] for d in cursor.description]
    rows = []
    for row in cursor.fetchall():
        values = dict(zip(names, row, strict=True))
        values["comment"] = comments.get(values["name"], values.get("comment"))
        rows.append(tuple(values[n] for n in names))
    return Rows([(n, "VARCHAR") for n in names], rows)


# https://docs.snowflake.com/en/sql-reference/functions/dynamic_table_refresh_history: one row per
# refresh, newest first (the columns snowflake-ml and users read).
@refresh_history.statement(r"(?:SELECT|WITH)\b.*")
def dynamic_table_refresh_history(statement: Statement, match: re.Match[str]) -> Rewrite:
    call = re.compile(
        r"TABLE\s*\(\s*(?:(?P<db>" + IDENT + r")\s*\.\s*)?INFORMATION_SCHEMA\s*\.\s*DYNAMIC_TABLE_REFRESH_HISTORY\s*\("
        r"(?P<args>[^()]*)\)\s*\)",
        re.IGNORECASE,
    )
    found = call.search(masked(statement.sql))
    if found is None:
        raise invalid(
            "DYNAMIC_TABLE_REFRESH_HISTORY is read as TABLE(<db>.INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY(…))"
        )
    database = identifier(found["db"]) if found["db"] else statement.session.database
    args = statement.sql[found.start("args") : found.end("args")]
    named = {m[1].upper(): string_value(m[2]) for m in re.finditer(rf"(\w+)\s*=>\s*({STRING})", args)}
    history = statement.account.query(
        f"SELECT r.name, r.schema_name, r.database_name, r.state, r.refresh_start_time, r.refresh_end_time, r.trigger, "
        f"d.target_lag FROM {_REFRESHES} r LEFT JOIN {_STATE} d USING (database_name, schema_name, name) "
        f"WHERE r.database_name = ? ORDER BY r.refresh_end_time DESC",
        [database],
    )
    if "NAME" in named:
        wanted = named["NAME"].split(".")[-1]
        history = [row for row in history if row[0] == identifier(wanted)]
    table = pa.table(
        {
            "NAME": pa.array([r[0] for r in history], pa.string()),
            "SCHEMA_NAME": pa.array([r[1] for r in history], pa.string()),
            "DATABASE_NAME": pa.array([r[2] for r in history], pa.string()),
            "QUALIFIED_NAME": pa.array([f"{r[2]}.{r[1]}.{r[0]}" for r in history], pa.string()),
            "STATE": pa.array([r[3] for r in history], pa.string()),
            "STATE_CODE": pa.array([None] * len(history), pa.string()),
            "STATE_MESSAGE": pa.array([None] * len(history), pa.string()),
            "QUERY_ID": pa.array([None] * len(history), pa.string()),
            "DATA_TIMESTAMP": pa.array([r[5] for r in history], pa.timestamp("us", tz="UTC")),
            "REFRESH_START_TIME": pa.array([r[4] for r in history], pa.timestamp("us", tz="UTC")),
            "REFRESH_END_TIME": pa.array([r[5] for r in history], pa.timestamp("us", tz="UTC")),
            "COMPLETION_TARGET": pa.array([None] * len(history), pa.timestamp("us", tz="UTC")),
            "REFRESH_ACTION": pa.array(["FULL"] * len(history), pa.string()),
            "REFRESH_TRIGGER": pa.array([r[6] for r in history], pa.string()),
            "TARGET_LAG_SEC": pa.array([None] * len(history), pa.int64()),
        }
    )
    relation = f"_EMULATOR_DT_REFRESHES_{statement.session.id}"
    sql = statement.sql[: found.start()] + relation + statement.sql[found.end() :]
    return Rewrite(sql, statement.params, lambda: registered(statement.session, {relation: table}))


# Helpers.


def _records(statement: Statement) -> list[dict[str, Any]]:
    return statement.account.records(f"SELECT * FROM {_STATE} ORDER BY database_name, schema_name, name")


def _recorded(statement: Statement, target: ObjectName) -> dict[str, Any] | None:
    found = statement.account.records(
        f"SELECT * FROM {_STATE} WHERE database_name = ? AND schema_name = ? AND name = ?", list(target.parts)
    )
    return found[0] if found else None


def _data_timestamp(statement: Statement, target: ObjectName) -> Any:
    record = _recorded(statement, target)
    return record["data_timestamp"] if record else None


def _refresh_mode(options: dict[str, str]) -> str:
    # AUTO resolves to a concrete mode at creation: INCREMENTAL where the query allows it, which the
    # emulator assumes (its refreshes recompute the whole query, with the same result).
    mode = options.get("REFRESH_MODE", "AUTO").upper()
    return "INCREMENTAL" if mode == "AUTO" else mode


_LAG_UNITS = {
    "second": ("s", "sec", "secs", "second", "seconds"),
    "minute": ("m", "min", "mins", "minute", "minutes"),
    "hour": ("h", "hr", "hrs", "hour", "hours"),
    "day": ("d", "day", "days"),
}


def target_lag(text: str) -> str:
    """A target lag as SHOW DYNAMIC TABLES reports it: ``'1m'`` is ``1 minute``, ``'2 minutes'`` stays,
    ``DOWNSTREAM`` stays (https://docs.snowflake.com/en/sql-reference/sql/create-dynamic-table,
    TARGET_LAG = '<num> { seconds | minutes | hours | days }' | DOWNSTREAM)."""
    found = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", text)
    if found is None:
        if text.strip().upper() == "DOWNSTREAM":
            return "DOWNSTREAM"
        raise invalid(
            f"invalid TARGET_LAG '{text}': give '<number> {{seconds | minutes | hours | days}}' or DOWNSTREAM"
        )
    count, unit = int(found[1]), found[2].lower()
    name = next((name for name, spellings in _LAG_UNITS.items() if unit in spellings), None)
    if name is None:
        raise invalid(f"invalid TARGET_LAG '{text}': the unit is one of seconds, minutes, hours, days")
    return f"{count} {name}" + ("" if count == 1 else "s")


def _shown_text(sql: str) -> str:
    """The statement as SHOW DYNAMIC TABLES gives its text: Snowflake writes INITIALIZE's value quoted
    (``initialize = 'ON_CREATE'``), which snowflake-ml reads back."""
    return re.sub(r"\bINITIALIZE\s*=\s*'?(\w+)'?", lambda m: f"initialize = '{m[1].upper()}'", sql, flags=re.IGNORECASE)


def _cluster_by(options_text: str) -> str | None:
    found = re.search(r"\bCLUSTER\s+BY\s*\(", options_text, re.IGNORECASE)
    if found is None:
        return None
    inside, _ = _parenthesised(options_text[found.end() - 1 :])
    return f"LINEAR({', '.join(part.strip() for part in split_top_level(inside))})"


def _parenthesised(text: str) -> tuple[str, str]:
    """(what is inside the parenthesis ``text`` starts with, what follows it)."""
    blanked = masked(text)
    depth = 0
    for position, char in enumerate(blanked):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return text[1:position], text[position + 1 :]
    raise ProgrammingError(msg="SQL compilation error:\nunbalanced parentheses", errno=1003, sqlstate="42000")


def _outside_parentheses(text: str) -> str:
    """``text`` with what parentheses enclose (TAG (…), CLUSTER BY (…)) blanked."""
    blanked, out, depth = masked(text), [], 0
    for original, char in zip(text, blanked, strict=True):
        if char == "(":
            depth += 1
        out.append(original if depth == 0 else " ")
        if char == ")":
            depth -= 1
    return "".join(out)


def _split_at_as(text: str) -> tuple[str, str | None]:
    """(the options, the query) of what follows the name: the query starts after the first ``AS``
    outside literals and parentheses."""
    outside = masked(_outside_parentheses(text))
    found = re.search(r"\bAS\b", outside, re.IGNORECASE)
    if found is None:
        return text, None
    return text[: found.start()], text[found.end() :].strip()


def _reason(record: dict[str, Any]) -> str:
    """SHOW's refresh_mode_reason: why a table is refreshed in full (empty for INCREMENTAL)."""
    return "" if record["refresh_mode"] == "INCREMENTAL" else "the Snowflake emulator refreshes dynamic tables in full"
