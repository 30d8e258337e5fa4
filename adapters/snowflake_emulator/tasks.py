"""Tasks: a statement Snowflake runs on a schedule (feature views with a cron ``refresh_freq``).

https://docs.snowflake.com/en/sql-reference/sql/create-task, …/alter-task, …/drop-task,
…/show-tasks. The emulator keeps a task as Snowflake describes it — its warehouse, schedule,
definition, tags and state (a new task is ``suspended`` until ``ALTER TASK … RESUME``) — and never
runs it: the emulator has no scheduler (the README's "what the emulator does not emulate").
"""

from __future__ import annotations

import re
from typing import Any

from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.feature_store import set_tags, unset_tags
from mlops_kit.adapters.snowflake_emulator.statements import (
    NAME,
    SHOW_FILTERS,
    Family,
    ObjectName,
    Rows,
    Statement,
    already_exists,
    claim,
    does_not_exist,
    identifier,
    invalid,
    masked,
    option_value,
    options_pattern,
    show_filter,
    status,
)

family = Family(
    "tasks", claim(r"(?:CREATE(?:\s+OR\s+REPLACE)?|ALTER|DROP|EXECUTE)\s+TASK\b", r"SHOW\s+(?:TERSE\s+)?TASKS\b")
)

_TIMESTAMP = "TIMESTAMP WITH TIME ZONE"
_STATE = f"{STATE_SCHEMA}.tasks"
_PROPERTY = options_pattern(
    "WAREHOUSE",
    "SCHEDULE",
    "COMMENT",
    "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE",
    "USER_TASK_TIMEOUT_MS",
    "SUSPEND_TASK_AFTER_NUM_FAILURES",
    "ALLOW_OVERLAPPING_EXECUTION",
    "CONFIG",
    "ERROR_INTEGRATION",
)


@family.statement(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?TASK\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME})(?P<rest>\s.*)"
)
def create_task(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], "task")
    rest = match["rest"]
    found_as = re.search(r"\bAS\b", masked(rest), re.IGNORECASE)
    if found_as is None:
        raise invalid(f"CREATE TASK {target.fqn} has no AS <statement>", errno=1003, sqlstate="42601")
    properties = {m["key"].upper(): option_value(m["value"]) for m in _PROPERTY.finditer(rest[: found_as.start()])}
    if _recorded(statement, target) is not None:
        if match["exists"]:
            return status(f"{target.name} already exists, statement succeeded.")
        if not match["replace"]:
            raise already_exists("Object", target.name)
    with statement.account.transaction():
        _forget(statement, target)
        statement.account.execute(
            f"INSERT INTO {_STATE} (database_name, schema_name, name, warehouse, schedule, definition, comment, "
            "state, created_on) VALUES (?, ?, ?, ?, ?, ?, ?, 'suspended', now())",
            [*target.parts, identifier(properties["WAREHOUSE"]) if "WAREHOUSE" in properties else None,
             properties.get("SCHEDULE"), rest[found_as.end() :].strip(), properties.get("COMMENT")],
        )  # fmt: skip
    return status(f"Task {target.name} successfully created.")


@family.statement(
    rf"ALTER\s+TASK\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+(?P<action>RESUME|SUSPEND|SET\s+TAG\s+(?P<tags>.*)"
    rf"|UNSET\s+TAG\s+(?P<untags>.*)|SET\s+(?P<set>.*)|UNSET\s+(?P<unset>.*))"
)
def alter_task(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], "task")
    if _recorded(statement, target) is None:
        if match["exists"]:
            return status("Statement executed successfully.")
        raise does_not_exist("Task", target.fqn)
    where = "WHERE database_name = ? AND schema_name = ? AND name = ?"
    action = match["action"].split()[0].upper()
    if action in ("RESUME", "SUSPEND"):
        state = "started" if action == "RESUME" else "suspended"
        statement.account.execute(
            f"UPDATE {_STATE} SET state = ?, last_suspended_on = CASE WHEN ? = 'suspended' THEN now() "
            f"ELSE last_suspended_on END {where}",
            [state, state, *target.parts],
        )
    elif match["tags"] is not None:
        set_tags(statement, "TASK", target, match["tags"])
    elif match["untags"] is not None:
        unset_tags(statement, "TASK", target, match["untags"])
    elif match["set"] is not None:
        changes = {m["key"].upper(): option_value(m["value"]) for m in _PROPERTY.finditer(match["set"])}
        if not changes:
            raise invalid(f"ALTER TASK … SET {match['set']} is not emulated")
        for key, column in (("WAREHOUSE", "warehouse"), ("SCHEDULE", "schedule"), ("COMMENT", "comment")):
            if key in changes:
                value = identifier(changes[key]) if key == "WAREHOUSE" else changes[key]
                statement.account.execute(f"UPDATE {_STATE} SET {column} = ? {where}", [value, *target.parts])
    else:
        for key in re.findall(r"\w+", match["unset"] or ""):
            column = {"WAREHOUSE": "warehouse", "SCHEDULE": "schedule", "COMMENT": "comment"}.get(key.upper())
            if column is not None:
                statement.account.execute(f"UPDATE {_STATE} SET {column} = NULL {where}", list(target.parts))
    return status("Statement executed successfully.")


@family.statement(rf"DROP\s+TASK\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})")
def drop_task(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], "task")
    if _recorded(statement, target) is None:
        if match["exists"]:
            return status(f"Drop statement executed successfully ({target.name} already dropped).")
        raise does_not_exist("Task", target.fqn)
    with statement.account.transaction():
        _forget(statement, target)
    return status(f"{target.name} successfully dropped.")


# https://docs.snowflake.com/en/sql-reference/sql/show-tasks (the documented columns)
_COLUMNS = [
    "created_on", "name", "id", "database_name", "schema_name", "owner", "comment", "warehouse", "schedule",
    "predecessors", "state", "definition", "condition", "allow_overlapping_execution", "error_integration",
    "last_committed_on", "last_suspended_on", "owner_role_type", "config", "budget", "task_relations",
    "last_suspended_reason",
]  # fmt: skip
_TIMESTAMPS = ("created_on", "last_committed_on", "last_suspended_on")


@family.statement(rf"SHOW\s+(?P<terse>TERSE\s+)?TASKS{SHOW_FILTERS}(?:\s+LIMIT\s+(?P<limit>\d+))?")
def show_tasks(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    rows = []
    for task in _records(statement):
        if not wanted.matches(task["database_name"], task["schema_name"], task["name"]):
            continue
        rows.append(
            (task["created_on"], task["name"], task["id"], task["database_name"], task["schema_name"], "ACCOUNTADMIN",
             task["comment"] or "", task["warehouse"], task["schedule"], "[]", task["state"], task["definition"],
             None, "false", "null", None, task["last_suspended_on"], "ROLE", None, None,
             '{"Predecessors":[]}', None)
        )  # fmt: skip
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    return Rows([(c, _TIMESTAMP if c in _TIMESTAMPS else "VARCHAR") for c in _COLUMNS], rows)


def _records(statement: Statement) -> list[dict[str, Any]]:
    return statement.account.records(
        f"SELECT *, hash(database_name, schema_name, name)::VARCHAR AS id FROM {_STATE} "
        "ORDER BY database_name, schema_name, name"
    )


def _recorded(statement: Statement, target: ObjectName) -> dict[str, Any] | None:
    return next(
        (t for t in _records(statement) if (t["database_name"], t["schema_name"], t["name"]) == target.parts), None
    )


def _forget(statement: Statement, target: ObjectName) -> None:
    statement.account.execute(
        f"DELETE FROM {_STATE} WHERE database_name = ? AND schema_name = ? AND name = ?", list(target.parts)
    )
    statement.account.execute(
        f"DELETE FROM {STATE_SCHEMA}.tag_references WHERE domain = 'TASK' AND object_database = ? "
        "AND object_schema = ? AND object_name = ?",
        list(target.parts),
    )
