"""Experiments and their runs: CREATE / DROP EXPERIMENT, ALTER EXPERIMENT … ADD / COMMIT / DROP /
MODIFY RUN, SHOW EXPERIMENTS, SHOW RUNS, SHOW RUN METRICS / PARAMETERS, the ID lookups, and the
folder that holds a run's artifacts (``snow://experiment/<DB.S.E>/versions/<RUN>/…``, moved with
PUT / LIST / GET by the stages family).

https://docs.snowflake.com/en/developer-guide/snowflake-ml/experiments (the object), and the
statement pages cited below.
"""

from __future__ import annotations

import json
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    LIKE,
    NAME,
    SHOW_FILTERS,
    STRING,
    Family,
    ObjectName,
    Rows,
    Statement,
    already_exists,
    claim_anywhere,
    creates,
    does_not_exist,
    drops,
    identifier,
    invalid,
    like_of,
    show_filter,
    status,
    string_value,
)

family = Family(
    "experiments",
    claim_anywhere(
        r"^\s*(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?EXPERIMENT\b",
        r"^\s*SHOW\s+(?:EXPERIMENTS|RUNS|RUN\s+(?:METRICS|PARAMETERS))\b",
        r"\bSYSTEM\$(?:RESOLVE_EXPERIMENT_ID|RESOLVE_EXPERIMENT_RUN_ID|GET_EXPERIMENT_RUN_METRICS)\b",
    ),
)

_TIMESTAMP = "TIMESTAMP WITH TIME ZONE"
_STATUSES = ("RUNNING", "FINISHED", "FAILED")


def _experiment_exists(statement: Statement, experiment: ObjectName) -> bool:
    return statement.account.has("experiments", experiment.parts)


def _require_experiment(statement: Statement, experiment: ObjectName) -> None:
    if not _experiment_exists(statement, experiment):
        raise does_not_exist("Experiment", experiment.fqn)


def _run_status(statement: Statement, experiment: ObjectName, run: str) -> str | None:
    rows = statement.account.query(
        f"SELECT status FROM {STATE_SCHEMA}.runs WHERE database_name = ? AND schema_name = ? "
        "AND experiment_name = ? AND name = ?",
        [*experiment.parts, run],
    )
    return rows[0][0] if rows else None


def _require_run(statement: Statement, experiment: ObjectName, run: str) -> str:
    _require_experiment(statement, experiment)
    found = _run_status(statement, experiment, run)
    if found is None:
        raise does_not_exist("Run", f"{experiment.fqn}.{run}")
    return found


def run_folder(statement: Statement, experiment: ObjectName, run: str) -> Path:
    """The folder of a run's artifacts (for ``snow://experiment/…`` stage references)."""
    _require_run(statement, experiment, run)
    return statement.account.area("experiments", *experiment.parts, "versions", run)


# CREATE EXPERIMENT: https://docs.snowflake.com/en/sql-reference/sql/create-experiment
# DROP EXPERIMENT: https://docs.snowflake.com/en/sql-reference/sql/drop-experiment


@family.statement(creates("EXPERIMENT") + rf"(?:\s+COMMENT\s*=\s*(?P<comment>{STRING}))?")
def create_experiment(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    if _experiment_exists(statement, experiment):
        if match["exists"]:
            return status(f"{experiment.name} already exists, statement succeeded.")
        if not match["replace"]:
            raise already_exists("Object", experiment.name)
        _drop_experiment(statement, experiment)
    comment = string_value(match["comment"]) if match["comment"] else None
    statement.account.execute(
        f"INSERT INTO {STATE_SCHEMA}.experiments VALUES (?, ?, ?, ?, now())", [*experiment.parts, comment]
    )
    return status(f"Experiment {experiment.name} successfully created.")


@family.statement(drops("EXPERIMENT"))
def drop_experiment(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    if not _experiment_exists(statement, experiment):
        if match["exists"]:
            return status(f"Drop statement executed successfully ({experiment.name} already dropped).")
        raise does_not_exist("Experiment", experiment.fqn)
    _drop_experiment(statement, experiment)
    return status(f"{experiment.name} successfully dropped.")


def _drop_experiment(statement: Statement, experiment: ObjectName) -> None:
    with statement.account.transaction():
        statement.account.execute(
            f"DELETE FROM {STATE_SCHEMA}.experiments WHERE database_name = ? AND schema_name = ? AND name = ?",
            list(experiment.parts),
        )
        for table in ("runs", "run_metrics", "run_parameters"):
            statement.account.execute(
                f"DELETE FROM {STATE_SCHEMA}.{table} WHERE database_name = ? AND schema_name = ? "
                "AND experiment_name = ?",
                list(experiment.parts),
            )
    shutil.rmtree(statement.account.area("experiments", *experiment.parts), ignore_errors=True)


# ALTER EXPERIMENT: https://docs.snowflake.com/en/sql-reference/sql/alter-experiment

_ALTER = rf"ALTER\s+EXPERIMENT\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+"


@family.statement(
    _ALTER + rf"ADD\s+RUN\s+(?P<run>{IDENT})(?:\s+WITH\s*\(\s*SOURCE_INFO\s*=\s*(?P<source>{STRING})\s*\))?"
)
def add_run(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    if match["exists"] and not _experiment_exists(statement, experiment):
        return status("Statement executed successfully.")
    _require_experiment(statement, experiment)
    run = identifier(match["run"])
    if _run_status(statement, experiment, run) is not None:
        raise invalid(f"Run {run} already exists in experiment {experiment.fqn}.", errno=2002, sqlstate="42710")
    source = string_value(match["source"]) if match["source"] else None
    statement.account.execute(
        f"INSERT INTO {STATE_SCHEMA}.runs VALUES (?, ?, ?, ?, 'RUNNING', ?, now(), NULL)",
        [*experiment.parts, run, source],
    )
    return status("Statement executed successfully.")


@family.statement(_ALTER + rf"COMMIT\s+RUN\s+(?P<run>{IDENT})(?:\s+WITH\s+STATUS\s*=\s*(?P<status>{STRING}))?")
def commit_run(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    if match["exists"] and not _experiment_exists(statement, experiment):
        return status("Statement executed successfully.")
    run = identifier(match["run"])
    current = _require_run(statement, experiment, run)
    final = string_value(match["status"]).upper() if match["status"] else "FINISHED"
    if final not in ("FINISHED", "FAILED"):
        raise invalid(f"invalid run status '{final}': expected FINISHED or FAILED")
    if current != "RUNNING":
        raise invalid(f"Run {run} of experiment {experiment.fqn} is not running (it is {current}).")
    statement.account.execute(
        f"UPDATE {STATE_SCHEMA}.runs SET status = ?, finished_on = now() WHERE database_name = ? "
        "AND schema_name = ? AND experiment_name = ? AND name = ?",
        [final, *experiment.parts, run],
    )
    return status("Statement executed successfully.")


@family.statement(_ALTER + rf"DROP\s+RUN\s+(?P<run>{IDENT})")
def drop_run(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    if match["exists"] and not _experiment_exists(statement, experiment):
        return status("Statement executed successfully.")
    run = identifier(match["run"])
    _require_run(statement, experiment, run)
    with statement.account.transaction():
        for table, column in (("runs", "name"), ("run_metrics", "run_name"), ("run_parameters", "run_name")):
            statement.account.execute(
                f"DELETE FROM {STATE_SCHEMA}.{table} WHERE database_name = ? AND schema_name = ? "
                f"AND experiment_name = ? AND {column} = ?",
                [*experiment.parts, run],
            )
    shutil.rmtree(statement.account.area("experiments", *experiment.parts, "versions", run), ignore_errors=True)
    return status("Statement executed successfully.")


@family.statement(
    _ALTER + rf"MODIFY\s+RUN\s+(?P<run>{IDENT})\s+ADD\s+(?P<kind>METRICS|PARAMETERS)\s*=\s*(?P<values>{STRING})"
)
def add_metrics_or_parameters(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    if match["exists"] and not _experiment_exists(statement, experiment):
        return status("Statement executed successfully.")
    run = identifier(match["run"])
    if _require_run(statement, experiment, run) != "RUNNING":
        raise invalid(f"Run {run} of experiment {experiment.fqn} is finished; it takes no more metrics or parameters.")
    try:
        entries = json.loads(string_value(match["values"]))
        if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e for e in entries):
            raise ValueError("expected a JSON array of objects with a name")
    except ValueError as exc:
        raise invalid(f"{match['kind'].upper()} must be a JSON array of {{name, value}} objects: {exc}") from exc
    with statement.account.transaction():
        for entry in entries:
            if match["kind"].upper() == "METRICS":
                statement.account.execute(
                    f"INSERT OR REPLACE INTO {STATE_SCHEMA}.run_metrics VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                    [*experiment.parts, run, str(entry["name"]), int(entry.get("step") or 0), float(entry["value"])],
                )
            else:
                statement.account.execute(
                    f"INSERT OR REPLACE INTO {STATE_SCHEMA}.run_parameters VALUES (?, ?, ?, ?, ?, ?)",
                    [*experiment.parts, run, str(entry["name"]), str(entry["value"])],
                )
    return status("Statement executed successfully.")


# SHOW EXPERIMENTS: https://docs.snowflake.com/en/sql-reference/sql/show-experiments


@family.statement(rf"SHOW\s+EXPERIMENTS{SHOW_FILTERS}")
def show_experiments(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    rows = [
        (created, name, database, schema, "ACCOUNTADMIN", comment or "", "ROLE")
        for database, schema, name, comment, created in statement.account.query(
            f"SELECT database_name, schema_name, name, comment, created_on FROM {STATE_SCHEMA}.experiments "
            "ORDER BY database_name, schema_name, name"
        )
        if wanted.matches(database, schema, name)
    ]
    return Rows(
        [("created_on", _TIMESTAMP), ("name", "VARCHAR"), ("database_name", "VARCHAR"), ("schema_name", "VARCHAR"),
         ("owner", "VARCHAR"), ("comment", "VARCHAR"), ("owner_role_type", "VARCHAR")],
        rows,
    )  # fmt: skip


# SHOW RUNS IN EXPERIMENT: https://docs.snowflake.com/en/sql-reference/sql/show-runs-in-experiment
# (created_on, name, database_name, schema_name, experiment_name, metadata: the run's status and
# the latest value of each metric)


@family.statement(rf"SHOW\s+RUNS{LIKE}\s+IN\s+EXPERIMENT\s+(?P<name>{NAME})")
def show_runs(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    _require_experiment(statement, experiment)
    like = like_of(match)
    latest: dict[str, list[dict[str, Any]]] = {}
    for run, name, step, value in statement.account.query(
        f"SELECT run_name, name, step, value FROM {STATE_SCHEMA}.run_metrics WHERE database_name = ? "
        "AND schema_name = ? AND experiment_name = ? QUALIFY row_number() OVER (PARTITION BY run_name, name "
        "ORDER BY step DESC) = 1 ORDER BY run_name, name",
        list(experiment.parts),
    ):
        latest.setdefault(run, []).append({"name": name, "value": value, "step": step})
    rows = [
        (created, name, experiment.database, experiment.schema, experiment.name,
         json.dumps({"status": run_status, "metrics": latest.get(name, [])}))
        for name, run_status, created in statement.account.query(
            f"SELECT name, status, created_on FROM {STATE_SCHEMA}.runs WHERE database_name = ? AND schema_name = ? "
            "AND experiment_name = ? ORDER BY created_on, name",
            list(experiment.parts),
        )
        if like is None or like.fullmatch(name)
    ]  # fmt: skip
    return Rows(
        [("created_on", _TIMESTAMP), ("name", "VARCHAR"), ("database_name", "VARCHAR"), ("schema_name", "VARCHAR"),
         ("experiment_name", "VARCHAR"), ("metadata", "VARCHAR")],
        rows,
    )  # fmt: skip


# SHOW RUN METRICS | PARAMETERS … IN EXPERIMENT … [RUN …]:
# https://docs.snowflake.com/en/sql-reference/sql/show-run-in-experiment


@family.statement(
    rf"SHOW\s+RUN\s+(?P<kind>METRICS|PARAMETERS){LIKE}\s+IN\s+EXPERIMENT\s+(?P<name>{NAME})"
    rf"(?:\s+RUN\s+(?P<run>{IDENT}))?(?:\s+LIMIT\s+(?P<limit>\d+))?"
)
def show_run_metrics_or_parameters(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(match["name"], "experiment")
    _require_experiment(statement, experiment)
    run = identifier(match["run"]) if match["run"] else None
    if run is not None:
        _require_run(statement, experiment, run)
    like = like_of(match)
    metrics = match["kind"].upper() == "METRICS"
    found = statement.account.query(
        (
            f"SELECT run_name, name, value, step FROM {STATE_SCHEMA}.run_metrics"
            if metrics
            else f"SELECT run_name, name, value FROM {STATE_SCHEMA}.run_parameters"
        )
        + " WHERE database_name = ? AND schema_name = ? AND experiment_name = ? AND (? IS NULL OR run_name = ?) "
        + ("ORDER BY run_name, name, step" if metrics else "ORDER BY run_name, name"),
        [*experiment.parts, run, run],
    )
    rows = [(experiment.name, *row) for row in found if like is None or like.fullmatch(row[1])]
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    columns = [("experiment_name", "VARCHAR"), ("run_name", "VARCHAR"), ("name", "VARCHAR")]
    columns += [("value", "DOUBLE"), ("step", "BIGINT")] if metrics else [("value", "VARCHAR")]
    return Rows(columns, rows)


# The experiment and run IDs Snowsight links use (system functions snowflake-ml calls; not in the
# public reference): stable numbers derived from the names here.


@family.statement(rf"CALL\s+SYSTEM\$RESOLVE_EXPERIMENT_ID\s*\(\s*(?P<name>{STRING})\s*\)")
def resolve_experiment_id(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(string_value(match["name"]), "experiment")
    _require_experiment(statement, experiment)
    return Rows([("SYSTEM$RESOLVE_EXPERIMENT_ID", "BIGINT")], [(zlib.crc32(experiment.fqn.encode()),)])


@family.statement(rf"CALL\s+SYSTEM\$RESOLVE_EXPERIMENT_RUN_ID\s*\(\s*(?P<name>{STRING})\s*,\s*(?P<run>{STRING})\s*\)")
def resolve_run_id(statement: Statement, match: re.Match[str]) -> Rows:
    experiment = statement.object_name(string_value(match["name"]), "experiment")
    run = identifier(string_value(match["run"]))
    _require_run(statement, experiment, run)
    return Rows([("SYSTEM$RESOLVE_EXPERIMENT_RUN_ID", "BIGINT")], [(zlib.crc32(f"{experiment.fqn}.{run}".encode()),)])


def drop_schema_experiments(statement: Statement, database: str, schema: str | None) -> None:
    """Experiments go with the schema (or database) that holds them."""
    for row in statement.account.query(
        f"SELECT database_name, schema_name, name FROM {STATE_SCHEMA}.experiments WHERE database_name = ? "
        "AND (? IS NULL OR schema_name = ?)",
        [database, schema, schema],
    ):
        _drop_experiment(statement, ObjectName(*row))
