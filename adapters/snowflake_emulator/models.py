"""Models and their versions: CREATE MODEL … FROM @stage, ALTER MODEL, SHOW MODELS / VERSIONS /
FUNCTIONS, DROP MODEL, and model methods called from SQL.

A version is the folder snowflake-ml packaged (MANIFEST.yml, the model, generated function
handlers), copied out of the stage into ``models/<DB>/<SCHEMA>/<MODEL>/versions/<VERSION>/`` as
Snowflake copies it into the model's own storage. A method called from SQL
(``M!PREDICT(…)``, ``MODEL(M, V1)!PREDICT(…)``, ``WITH m AS MODEL M VERSION V1 …``) runs the
handler snowflake-ml generated for that method (``functions/<method>.py``), the same code a
Snowflake warehouse runs, here on this machine's Python and packages (not Snowflake's conda channel).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import shutil
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from snowflake.connector.errors import ProgrammingError

from mlops_kit import model_calls
from mlops_kit.adapters.duckdb_messages import (
    INVALID_ARGUMENTS_ERRNO,
    INVALID_ARGUMENTS_SQLSTATE,
    model_arguments_message,
)
from mlops_kit.adapters.snowflake_emulator import conda_channel, feature_store, stages
from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    LIKE,
    NAME,
    SHOW_FILTERS,
    STRING,
    TAG_ASSIGNMENTS,
    Family,
    ObjectName,
    Rewrite,
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
    registered,
    run_on_fakesnow,
    show_filter,
    status,
    string_value,
)
from mlops_kit.errors import InvalidInputError

logger = logging.getLogger("mlops_kit.snowflake_emulator")

family = Family(
    "models",
    claim_anywhere(
        r"^\s*(?:CREATE|ALTER|DROP|UNDROP)\s+(?:OR\s+REPLACE\s+)?MODEL\b",
        r"^\s*COMMENT\s+(?:IF\s+EXISTS\s+)?ON\s+MODEL\b",
        r"^\s*SHOW\s+(?:MODELS|VERSIONS|FUNCTIONS\s+IN\s+MODEL)\b",
        r"^\s*DESC(?:RIBE)?\s+ARTIFACT\s+REPOSITORY\b",
        # a model method called from SQL: M!FN(…), MODEL(M, V)!FN(…)
        r"[A-Za-z0-9_$\")]\s*!\s*[A-Za-z_][A-Za-z0-9_$]*\s*\(",
    ),
)

_TIMESTAMP = "TIMESTAMP WITH TIME ZONE"


@dataclass(frozen=True)
class VersionRef:
    model: ObjectName
    version: str


def _model_row(statement: Statement, model: ObjectName) -> tuple[Any, ...] | None:
    rows = statement.account.query(
        f"SELECT name, comment, default_version, created_on FROM {STATE_SCHEMA}.models "
        "WHERE database_name = ? AND schema_name = ? AND name = ?",
        list(model.parts),
    )
    return rows[0] if rows else None


def _require_model(statement: Statement, model: ObjectName) -> tuple[Any, ...]:
    row = _model_row(statement, model)
    if row is None:
        raise does_not_exist("Model", model.fqn)
    return row


def _versions(statement: Statement, model: ObjectName) -> list[str]:
    return [
        r[0]
        for r in statement.account.query(
            f"SELECT name FROM {STATE_SCHEMA}.model_versions WHERE database_name = ? AND schema_name = ? "
            "AND model_name = ? ORDER BY created_on, name",
            list(model.parts),
        )
    ]


def _require_version(statement: Statement, model: ObjectName, version: str) -> None:
    _require_model(statement, model)
    if version not in _versions(statement, model):
        raise invalid(f"Model {model.fqn} does not have version {version}.", errno=2003, sqlstate="02000")


def version_folder(statement: Statement, model: ObjectName, version: str) -> Path:
    """The folder of a version's files (for ``snow://model/…`` stage references)."""
    _require_version(statement, model, version)
    return _folder(statement, model, version)


def _folder(statement: Statement, model: ObjectName, version: str) -> Path:
    return statement.account.area("models", *model.parts, "versions", version)


# CREATE MODEL … WITH VERSION … FROM @stage: https://docs.snowflake.com/en/sql-reference/sql/create-model
# ALTER MODEL … ADD VERSION … FROM @stage: https://docs.snowflake.com/en/sql-reference/sql/alter-model


@family.statement(creates("MODEL") + rf"\s+WITH\s+VERSION\s+(?P<version>{IDENT})\s+FROM\s+(?P<stage>'@[^']*'|@\S+)")
def create_model(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if _model_row(statement, model) is not None:
        if match["exists"]:
            return status(f"{model.name} already exists, statement succeeded.")
        if not match["replace"]:
            raise already_exists("Object", model.name)
        _drop_model(statement, model)
    version = identifier(match["version"])
    source = _staged_version(statement, match["stage"])
    with statement.account.transaction():
        statement.account.execute(
            f"INSERT INTO {STATE_SCHEMA}.models VALUES (?, ?, ?, NULL, ?, now())", [*model.parts, version]
        )
        _add_version(statement, model, version, source)
    return status(f"Model {model.name} successfully created.")


@family.statement(
    rf"ALTER\s+MODEL\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+ADD\s+VERSION\s+(?P<version>{IDENT})"
    rf"\s+FROM\s+(?P<stage>'@[^']*'|@\S+)"
)
def add_version(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if _model_row(statement, model) is None:
        if match["exists"]:
            return status("Statement executed successfully.")
        raise does_not_exist("Model", model.fqn)
    version = identifier(match["version"])
    if version in _versions(statement, model):
        raise invalid(f"Model {model.fqn} already has version {version}.", errno=2002, sqlstate="42710")
    source = _staged_version(statement, match["stage"])
    with statement.account.transaction():
        _add_version(statement, model, version, source)
    return status("Statement executed successfully.")


def _staged_version(statement: Statement, reference: str) -> Path:
    location = stages.resolve(statement, reference)
    folder = location.root / location.path
    if not (folder / "MANIFEST.yml").is_file():
        raise invalid(f"the stage location {stages.unquoted(reference)} has no MANIFEST.yml: not a model")
    return folder


def _add_version(statement: Statement, model: ObjectName, version: str, source: Path) -> None:
    target = _folder(statement, model, version)
    stages.copy_folder(source, target)
    manifest = yaml.safe_load((target / "MANIFEST.yml").read_text())
    spec_path = target / "model" / "model.yaml"
    spec = spec_path.read_text() if spec_path.is_file() else None
    statement.account.execute(
        f"INSERT INTO {STATE_SCHEMA}.model_versions VALUES (?, ?, ?, ?, NULL, '{{}}', ?, ?, now())",
        [*model.parts, version, json.dumps(manifest.get("user_data") or {}), spec],
    )
    _warn_unconfirmed_dependencies(model, version, target)


#: The sets of unconfirmed dependencies already reported by this process.
_REPORTED: set[tuple[str, ...]] = set()


def _warn_unconfirmed_dependencies(model: ObjectName, version: str, folder: Path) -> None:
    """Snowflake builds a version's warehouse environment from its conda channel and refuses the
    version when it cannot: the emulator cannot know the channel, so it says what its dated list
    cannot confirm, for the user to check before the live run."""
    listed = conda_channel.channel()
    missing = listed.unconfirmed(conda_channel.warehouse_dependencies(folder))
    if missing and tuple(missing) in _REPORTED:  # said once: every version of the lab asks the same
        logger.debug("model %s version %s asks for the same unconfirmed packages", model.fqn, version)
    elif missing:
        _REPORTED.add(tuple(missing))
        packages = ", ".join(sorted({f"'{re.split(r'[<>=!~ ]', m.split('::')[-1])[0]}'" for m in missing}))
        logger.warning(
            "model %s version %s asks Snowflake's conda channel for %s, which the emulator's list (checked %s) "
            "cannot confirm; check on your account before the live run: SELECT PACKAGE_NAME, VERSION FROM "
            "INFORMATION_SCHEMA.PACKAGES WHERE LANGUAGE = 'python' AND PACKAGE_NAME IN (%s)",
            model.fqn, version, ", ".join(missing), listed.checked_on, packages,
        )  # fmt: skip


# ALTER MODEL: https://docs.snowflake.com/en/sql-reference/sql/alter-model


@family.statement(
    rf"ALTER\s+MODEL\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+SET\s+DEFAULT_VERSION\s*=\s*(?P<version>{IDENT})"
)
def set_default_version(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if match["exists"] and _model_row(statement, model) is None:
        return status("Statement executed successfully.")
    version = identifier(match["version"])
    _require_version(statement, model, version)
    statement.account.execute(
        f"UPDATE {STATE_SCHEMA}.models SET default_version = ? WHERE database_name = ? AND schema_name = ? "
        "AND name = ?",
        [version, *model.parts],
    )
    return status("Statement executed successfully.")


@family.statement(
    rf"ALTER\s+MODEL\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+SET\s+COMMENT\s*=\s*(?P<comment>{STRING})"
)
def set_model_comment(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if match["exists"] and _model_row(statement, model) is None:
        return status("Statement executed successfully.")
    _set_model_comment(statement, model, string_value(match["comment"]))
    return status("Statement executed successfully.")


# https://docs.snowflake.com/en/sql-reference/sql/comment
@family.statement(rf"COMMENT\s+(?P<exists>IF\s+EXISTS\s+)?ON\s+MODEL\s+(?P<name>{NAME})\s+IS\s+(?P<comment>{STRING})")
def comment_on_model(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if match["exists"] and _model_row(statement, model) is None:
        return status("Statement executed successfully.")
    _set_model_comment(statement, model, string_value(match["comment"]))
    return status("Statement executed successfully.")


def _set_model_comment(statement: Statement, model: ObjectName, comment: str) -> None:
    _require_model(statement, model)
    statement.account.execute(
        f"UPDATE {STATE_SCHEMA}.models SET comment = ? WHERE database_name = ? AND schema_name = ? AND name = ?",
        [comment, *model.parts],
    )


@family.statement(
    rf"ALTER\s+MODEL\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+MODIFY\s+VERSION\s+(?P<version>{IDENT})\s+"
    rf"SET\s+(?P<property>COMMENT|METADATA)\s*=\s*(?P<value>{STRING})"
)
def modify_version(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if match["exists"] and _model_row(statement, model) is None:
        return status("Statement executed successfully.")
    version = identifier(match["version"])
    _require_version(statement, model, version)
    value = string_value(match["value"])
    column = match["property"].lower()
    if column == "metadata":
        try:
            if not isinstance(json.loads(value), dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise invalid(f"METADATA must be a JSON object: {exc}", errno=100069, sqlstate="22P02") from exc
    statement.account.execute(
        f"UPDATE {STATE_SCHEMA}.model_versions SET {column} = ? WHERE database_name = ? AND schema_name = ? "
        "AND model_name = ? AND name = ?",
        [value, *model.parts, version],
    )
    return status("Statement executed successfully.")


@family.statement(
    rf"ALTER\s+MODEL\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+DROP\s+VERSION\s+(?P<version>{IDENT})"
)
def drop_version(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if match["exists"] and _model_row(statement, model) is None:
        return status("Statement executed successfully.")
    row = _require_model(statement, model)
    version = identifier(match["version"])
    _require_version(statement, model, version)
    # Snowflake keeps a default version: it cannot be dropped, nor can the last version.
    if row[2] == version:
        raise invalid(f"Cannot drop the default version {version} of model {model.fqn}.", errno=2140)
    if len(_versions(statement, model)) == 1:
        raise invalid(f"Cannot drop the last version of model {model.fqn}; drop the model.", errno=2140)
    statement.account.execute(
        f"DELETE FROM {STATE_SCHEMA}.model_versions WHERE database_name = ? AND schema_name = ? AND model_name = ? "
        "AND name = ?",
        [*model.parts, version],
    )
    shutil.rmtree(_folder(statement, model, version), ignore_errors=True)
    _forget_handlers(model, version)
    return status("Statement executed successfully.")


@family.statement(
    rf"ALTER\s+MODEL\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+"
    rf"(?:SET\s+TAG\s+{TAG_ASSIGNMENTS}"
    rf"|UNSET\s+TAG\s+(?P<unset>{NAME}(?:\s*,\s*{NAME})*))"
)
def model_tags(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if match["exists"] and _model_row(statement, model) is None:
        return status("Statement executed successfully.")
    _require_model(statement, model)
    # Tags on models are in the MODULE domain (the domain snowflake-ml's SYSTEM$GET_TAG call names).
    if match["assignments"]:
        feature_store.set_tags(statement, "MODULE", model, match["assignments"])
    else:
        feature_store.unset_tags(statement, "MODULE", model, match["unset"])
    return status("Statement executed successfully.")


# DROP MODEL: https://docs.snowflake.com/en/sql-reference/sql/drop-model


@family.statement(drops("MODEL"))
def drop_model(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    if _model_row(statement, model) is None:
        if match["exists"]:
            return status(f"Drop statement executed successfully ({model.name} already dropped).")
        raise does_not_exist("Model", model.fqn)
    _drop_model(statement, model)
    return status(f"{model.name} successfully dropped.")


def _drop_model(statement: Statement, model: ObjectName) -> None:
    with statement.account.transaction():
        for table, column in (("models", "name"), ("model_versions", "model_name")):
            statement.account.execute(
                f"DELETE FROM {STATE_SCHEMA}.{table} WHERE database_name = ? AND schema_name = ? AND {column} = ?",
                list(model.parts),
            )
        feature_store.forget_object(statement, "MODULE", model)
    shutil.rmtree(statement.account.area("models", *model.parts), ignore_errors=True)
    _forget_handlers(model, None)


def drop_schema_models(statement: Statement, database: str, schema: str | None) -> None:
    """Models go with the schema (or database) that holds them."""
    rows = statement.account.query(
        f"SELECT database_name, schema_name, name FROM {STATE_SCHEMA}.models WHERE database_name = ? "
        "AND (? IS NULL OR schema_name = ?)",
        [database, schema, schema],
    )
    for row in rows:
        _drop_model(statement, ObjectName(*row))


# SHOW MODELS: https://docs.snowflake.com/en/sql-reference/sql/show-models (columns created_on,
# name, model_type, database_name, schema_name, comment, owner, default_version_name, versions, aliases)


@family.statement(rf"SHOW\s+MODELS{SHOW_FILTERS}")
def show_models(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    rows = []
    for database, schema, name, comment, default, created in statement.account.query(
        f"SELECT database_name, schema_name, name, comment, default_version, created_on FROM {STATE_SCHEMA}.models "
        "ORDER BY database_name, schema_name, name"
    ):
        if not wanted.matches(database, schema, name):
            continue
        model = ObjectName(database, schema, name)
        versions = _versions(statement, model)
        aliases = {"DEFAULT": default, "FIRST": versions[0], "LAST": versions[-1]} if versions else {}
        rows.append(
            (created, name, "USER_MODEL", database, schema, comment or "", "ACCOUNTADMIN", default,
             json.dumps(versions), json.dumps(aliases))
        )  # fmt: skip
    return Rows(
        [("created_on", _TIMESTAMP), ("name", "VARCHAR"), ("model_type", "VARCHAR"), ("database_name", "VARCHAR"),
         ("schema_name", "VARCHAR"), ("comment", "VARCHAR"), ("owner", "VARCHAR"),
         ("default_version_name", "VARCHAR"), ("versions", "VARCHAR"), ("aliases", "VARCHAR")],
        rows,
    )  # fmt: skip


# SHOW VERSIONS IN MODEL: https://docs.snowflake.com/en/sql-reference/sql/show-versions-in-model
# (created_on, name, aliases, comment, database_name, schema_name, model_name, is_default_version,
# functions, metadata, user_data; model_attributes, size, environment, runnable_in,
# inference_services from the 2024_08 bundle; model_spec, the version's model.yaml, which
# snowflake-ml asks for with SHOW_MODEL_DETAILS_IN_SHOW_VERSIONS_IN_MODEL).


@family.statement(rf"SHOW\s+VERSIONS{LIKE}\s+IN\s+MODEL\s+(?P<name>{NAME})")
def show_versions(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    default = _require_model(statement, model)[2]
    like = like_of(match)
    found = statement.account.query(
        f"SELECT name, comment, metadata, user_data, model_spec, created_on FROM {STATE_SCHEMA}.model_versions "
        "WHERE database_name = ? AND schema_name = ? AND model_name = ? ORDER BY created_on, name",
        list(model.parts),
    )
    names = [r[0] for r in found]
    rows = []
    for name, comment, metadata, user_data, spec, created in found:
        if like is not None and not like.fullmatch(name):
            continue
        folder = _folder(statement, model, name)
        manifest = _manifest(folder)
        aliases = [a for a, v in (("DEFAULT", default), ("FIRST", names[0]), ("LAST", names[-1])) if v == name]
        parsed_spec = yaml.safe_load(spec) if spec else {}
        attributes = {"framework": parsed_spec.get("model_type"), "task": parsed_spec.get("task", "UNKNOWN")}
        rows.append(
            (created, name, json.dumps(aliases), comment, model.database, model.schema, model.name,
             "true" if name == default else "false",
             json.dumps([m["name"] for m in manifest.get("methods", [])]), metadata, user_data,
             json.dumps(attributes), stages.folder_size(folder), json.dumps(manifest.get("runtimes", {})),
             json.dumps(manifest.get("target_platforms") or ["WAREHOUSE"]), "[]", spec)
        )  # fmt: skip
    columns = [("created_on", _TIMESTAMP)] + [
        (c, "VARCHAR")
        for c in ("name", "aliases", "comment", "database_name", "schema_name", "model_name", "is_default_version",
                  "functions", "metadata", "user_data", "model_attributes")
    ] + [("size", "BIGINT")] + [(c, "VARCHAR") for c in ("environment", "runnable_in", "inference_services",
                                                          "model_spec")]  # fmt: skip
    return Rows(columns, rows)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "MANIFEST.yml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


# SHOW FUNCTIONS IN MODEL … VERSION …: https://docs.snowflake.com/en/sql-reference/sql/show-functions-in-model
# (columns name, target_method, target_method_function_type, signature, return_type, …)


@family.statement(rf"SHOW\s+FUNCTIONS\s+IN\s+MODEL\s+(?P<name>{NAME})\s+VERSION\s+(?P<version>{IDENT})")
def show_functions(statement: Statement, match: re.Match[str]) -> Rows:
    model = statement.object_name(match["name"], "model")
    version = identifier(match["version"])
    folder = version_folder(statement, model, version)
    rows = []
    for method in _manifest(folder).get("methods", []):
        inputs = ", ".join(f"{i['name']} {i['type']}" for i in method.get("inputs", []))
        outputs = method.get("outputs", [])
        kind = method.get("type", "FUNCTION")
        return_type = (
            "TABLE (" + ", ".join(f"{o.get('name', '')} {o['type']}" for o in outputs) + ")"
            if kind == "TABLE_FUNCTION"
            else (outputs[0]["type"] if outputs else "OBJECT")
        )
        rows.append(
            (method["name"], method.get("handler", "").rsplit(".", 1)[0].split(".")[-1], kind,
             f"({inputs})", return_type, "python", method.get("volatility", "IMMUTABLE"))
        )  # fmt: skip
    return Rows(
        [("name", "VARCHAR"), ("target_method", "VARCHAR"), ("target_method_function_type", "VARCHAR"),
         ("signature", "VARCHAR"), ("return_type", "VARCHAR"), ("language", "VARCHAR"), ("volatility", "VARCHAR")],
        rows,
    )  # fmt: skip


# DESC ARTIFACT REPOSITORY: https://docs.snowflake.com/en/sql-reference/sql/desc-artifact-repository
# The emulated account has no artifact repositories: snowflake-ml then packages models with
# conda dependencies from Snowflake's channel (the warehouse default).
@family.statement(rf"DESC(?:RIBE)?\s+ARTIFACT\s+REPOSITORY\s+(?P<name>{NAME})")
def describe_artifact_repository(statement: Statement, match: re.Match[str]) -> Rows:
    raise does_not_exist("Artifact repository", ".".join(match["name"].split()))


# Model methods called from SQL. https://docs.snowflake.com/en/developer-guide/snowflake-ml/model-registry/overview
# (calling a model's methods from SQL: <model>!<method>(…) for the default version,
# WITH <alias> AS MODEL <model> VERSION <v> … <alias>!<method>(…), and MODEL(<model>, <v>)!<method>(…)).


@dataclass(frozen=True)
class ModelCall:
    version: VersionRef
    method: str
    function: str  # the DuckDB function the call was rewritten to


@family.statement(r"(?:SELECT\b|WITH\b|\().*")
def model_methods(statement: Statement, match: re.Match[str]) -> Rewrite:
    sql, calls = _rewrite_calls(statement)
    functions = {call.function: _sql_function(statement, call) for call in calls}
    tables = {name: function for name, function in functions.items() if function.table is not None}
    scalars = {name: function for name, function in functions.items() if function.table is None}
    relations: dict[str, Any] = {}
    if tables:
        sql, relations = _table_function_results(statement, sql, tables)
    _check_arguments(sql, calls, scalars)
    return Rewrite(sql, statement.params, lambda: _registered_functions(statement, scalars, relations))


def _check_arguments(sql: str, calls: list[ModelCall], functions: dict[str, SqlFunction]) -> None:
    """A method called with as many arguments as its signature has inputs, or Snowflake's 001044
    (``duckdb_messages.model_arguments_message``); DuckDB would name the emulator's macro."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.ParseError:
        return  # fakesnow answers what does not parse
    given = {str(node.name).upper(): len(node.expressions) for node in tree.find_all(exp.Anonymous)}
    for call in calls:
        function = functions.get(call.function)
        if function is None:
            continue  # a table method: its arguments went to its input query
        count = given.get(call.function.upper())
        if count is not None and count not in {len(function.inputs), len(function.argument_types)}:
            raise ProgrammingError(
                msg=model_arguments_message(
                    f"{call.version.model.fqn} version {call.version.version}", call.method, function.inputs, count
                ),
                errno=INVALID_ARGUMENTS_ERRNO,
                sqlstate=INVALID_ARGUMENTS_SQLSTATE,
            )


def _rewrite_calls(statement: Statement) -> tuple[str, list[ModelCall]]:
    """The statement with its model calls (``mlops_kit/model_calls.py``) as calls of the functions
    ``_registered_functions`` registers; a call of a model or version that does not exist is refused."""
    calls: dict[tuple[VersionRef, str], ModelCall] = {}

    def function_for(call: model_calls.ModelCall) -> str:
        model = statement.object_name(call.model_name, "model")
        row = _require_model(statement, model)
        version = identifier(call.version) if call.version else row[2]
        _require_version(statement, model, version)
        ref = VersionRef(model, version)
        method = identifier(call.method)
        key = (ref, method)
        if key not in calls:
            calls[key] = ModelCall(ref, method, f"_EMULATOR_MODEL_{statement.session.id}_{len(calls)}")
        return calls[key].function

    try:
        sql = model_calls.rewrite_model_calls(statement.sql, function_for)
    except InvalidInputError as exc:
        raise ProgrammingError(msg=f"SQL compilation error:\n{exc}", errno=1003, sqlstate="42000") from exc
    return sql, list(calls.values())


# DuckDB argument types for the SQL types in a model manifest.
_ARGUMENT_TYPES = {
    "DOUBLE": "DOUBLE", "FLOAT": "DOUBLE", "REAL": "DOUBLE", "NUMBER": "BIGINT", "INT": "BIGINT",
    "INTEGER": "BIGINT", "BIGINT": "BIGINT", "SMALLINT": "BIGINT", "TINYINT": "BIGINT", "BYTEINT": "BIGINT",
    "BOOLEAN": "BOOLEAN", "TEXT": "VARCHAR", "VARCHAR": "VARCHAR", "STRING": "VARCHAR",
}  # fmt: skip


@dataclass(frozen=True)
class SqlFunction:
    argument_types: list[str]
    run: Callable[..., Any]
    inputs: list[str]  # the names of the method's inputs, in order (inference parameters follow them)
    #: A table function's handler (``process(frame) -> frame``, one output row per input row) and
    #: its output columns; None for a scalar method.
    table: tuple[Callable[[Any], Any], list[str]] | None = None


def _sql_function(statement: Statement, call: ModelCall) -> SqlFunction:
    folder = _folder(statement, call.version.model, call.version.version)
    # A manifest names each method as resolved (model_method.py: method_name.resolved()): PREDICT, or
    # predict for a method logged case_sensitive.
    methods = {m["name"]: m for m in _manifest(folder).get("methods", [])}
    method = methods.get(call.method)
    if method is None:
        raise ProgrammingError(
            msg=f"SQL compilation error:\nUnknown function {call.version.model.fqn}!{call.method}",
            errno=2140,
            sqlstate="42601",
        )
    # Inference parameters (ParamSpec) follow the inputs; the library passes every one (their defaults
    # where the caller gave none), a user's SQL may leave them out (``_registered_scalar_functions``).
    arguments = [*method["inputs"], *(method.get("params") or [])]
    argument_types = [_ARGUMENT_TYPES.get(str(a["type"]).split("(")[0].upper(), "VARCHAR") for a in arguments]
    handler = _handler(folder, method, call.version)
    inputs = [str(i["name"]) for i in method["inputs"]]
    # An ARRAY / OBJECT argument (a shaped parameter such as XGBoost's iteration_range) reaches a
    # Snowflake handler as a list or dict; here it arrives as its JSON text.
    semi_structured = {
        i for i, a in enumerate(arguments) if str(a["type"]).split("(")[0].upper() in {"ARRAY", "OBJECT", "VARIANT"}
    }
    if method.get("type", "FUNCTION") == "TABLE_FUNCTION":
        outputs = [str(o["name"]) for o in method.get("outputs") or []]
        process = _table_runner(statement, call, handler, semi_structured)
        return SqlFunction(argument_types, process, inputs, (process, outputs))
    if method.get("type", "FUNCTION") != "FUNCTION":
        raise invalid(f"model method {call.method} is a {method.get('type')}: the emulator calls functions only")
    single = not str((method.get("outputs") or [{"type": "OBJECT"}])[0]["type"]).upper().startswith("OBJECT")

    def run(*columns: Any) -> Any:
        import pyarrow as pa

        frame = _arguments_frame([column.to_pandas() for column in columns], semi_structured)
        try:
            out = handler(frame)
        except Exception as exc:
            statement.session.method_failure = f"{type(exc).__name__}: {exc} in function {call.method}"
            raise
        values = list(out) if single else [json.dumps(row, default=_plain) for row in out]
        if single:
            values = [json.dumps(v, default=_plain) for v in values]
        return pa.array(values, type=pa.string())

    return SqlFunction(argument_types, run, inputs)


def _arguments_frame(columns: list[Any], semi_structured: set[int]) -> Any:
    """The batch a generated handler takes: one column per argument, by position, ARRAY / OBJECT
    arguments parsed from their JSON text."""
    import pandas as pd

    frame = pd.DataFrame(dict(enumerate(columns)))
    for i in semi_structured:
        frame[i] = [json.loads(v) if isinstance(v, str) else v for v in frame[i]]
    return frame


def _table_runner(
    statement: Statement, call: ModelCall, handler: Any, semi_structured: set[int]
) -> Callable[[list[Any]], Any]:
    """A table method's ``process`` on its argument columns (the handler is a class)."""

    def process(columns: list[Any]) -> Any:
        frame = _arguments_frame(columns, semi_structured)
        try:
            return handler().process(frame)
        except Exception as exc:
            statement.session.method_failure = f"{type(exc).__name__}: {exc} in function {call.method}"
            raise

    return process


# A table method called from SQL, as snowflake-ml calls it (model_version.py, invoke_table_function_method):
#     SELECT * FROM <input>, TABLE(MODEL(<model>, <version>)!<method>(<arguments>))
# A table function joined to the rows of its input (https://docs.snowflake.com/en/sql-reference/functions-table,
# "Table functions and lateral joins") answers each row with the rows the function returns for it; a
# model's methods (explain) return one row per input row. DuckDB has no Python table functions: the
# emulator runs the input, calls the handler on its argument columns, and puts the input's columns
# and the function's side by side in a relation the statement then reads.


def _table_function_results(
    statement: Statement, sql: str, tables: dict[str, SqlFunction]
) -> tuple[str, dict[str, Any]]:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.ParseError as exc:
        raise invalid(f"the emulator cannot read the table function call in this statement: {exc}") from exc
    relations: dict[str, Any] = {}
    for join in list(tree.find_all(exp.Join)):
        rows, select = join.this, join.parent
        call = rows.this if isinstance(rows, exp.TableFromRows) else None
        if isinstance(call, exp.Window) and str(call.this.name).upper() in tables:
            raise invalid("a model's table function OVER (PARTITION BY …) is not emulated")
        if not isinstance(call, exp.Anonymous) or str(call.name).upper() not in tables:
            continue
        function = tables[str(call.name).upper()]
        assert function.table is not None
        source = select.args.get("from_") if isinstance(select, exp.Select) else None
        if source is None:
            raise invalid("a model's table function is read FROM <input>, TABLE(…)")
        inputs_query = exp.select(*[argument.copy() for argument in call.expressions], exp.Star())
        inputs_query = inputs_query.from_(source.this.copy())
        ctes = _ctes_in_scope(select)
        if ctes:
            inputs_query.set("with_", exp.With(expressions=ctes))
        relation = f"_EMULATOR_TABLE_FUNCTION_{statement.session.id}_{len(relations)}"
        relations[relation] = _table_function_rows(
            statement, inputs_query.sql("snowflake"), function, len(call.expressions)
        )
        select.set("from_", exp.From(this=exp.to_table(relation)))
        join.pop()
    return tree.sql("snowflake"), relations


def _ctes_in_scope(node: Any) -> list[Any]:
    """The WITH entries visible at ``node``: its own and its enclosing queries' (inner ones first)."""
    from sqlglot import exp

    found: list[Any] = []
    seen: set[str] = set()
    while node is not None:
        clause = node.args.get("with_") if isinstance(node, exp.Expression) else None
        for cte in clause.expressions if clause is not None else []:
            if cte.alias_or_name.upper() not in seen:
                seen.add(cte.alias_or_name.upper())
                found.append(cte.copy())
        node = node.parent
    return found


def _table_function_rows(statement: Statement, inputs_sql: str, function: SqlFunction, count: int) -> Any:
    """The input's rows and, beside each, the row the table method returned for it (an Arrow table)."""
    import pandas as pd
    import pyarrow as pa

    assert function.table is not None
    process, outputs = function.table
    table = run_on_fakesnow(statement, inputs_sql, statement.params)._arrow_table
    columns = [table.column(i).to_pandas() for i in range(count)]
    columns += [[None] * table.num_rows] * (len(function.argument_types) - count)  # parameters left out: defaults
    result = pd.DataFrame(process(columns)).reset_index(drop=True)
    if len(result) != table.num_rows:
        raise invalid(f"the table method returned {len(result)} rows for {table.num_rows} (one per row is emulated)")
    if outputs and len(outputs) == len(result.columns):
        result.columns = outputs
    relation = {table.column_names[i]: table.column(i) for i in range(count, table.num_columns)}
    for name in result.columns:
        relation[str(name)] = pa.array(result[name], from_pandas=True)
    return pa.table(relation)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@contextmanager
def _registered_functions(
    statement: Statement, functions: dict[str, SqlFunction], relations: dict[str, Any]
) -> Iterator[None]:
    # A model method returns an OBJECT (fakesnow's JSON): the Python function returns its text, and a
    # macro of the call's name parses it. A table method's results are relations (registered).
    con = statement.session.conn._duck_conn
    with registered(statement.session, relations):
        yield from _registered_scalar_functions(con, functions)


def _registered_scalar_functions(con: Any, functions: dict[str, SqlFunction]) -> Iterator[None]:
    for name, function in functions.items():
        function.run.__signature__ = _positional(len(function.argument_types))  # type: ignore[attr-defined]
        # A vectorized UDF on Snowflake gets its NULL rows too (as NaN / None in the batch): the model
        # decides what they mean (https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-designing,
        # "NULL values"). DuckDB's default would answer NULL without calling the function.
        con.create_function(
            f"{name}_TEXT", function.run, function.argument_types, "VARCHAR",
            type="arrow", null_handling="special", side_effects=False,
        )  # fmt: skip
        arguments = ", ".join(f"x{i}" for i in range(len(function.argument_types)))
        overloads = [f"({arguments}) AS json({name}_TEXT({arguments}))"]
        if len(function.argument_types) > len(function.inputs):  # the parameters left out: NULL, their defaults
            given = ", ".join(f"x{i}" for i in range(len(function.inputs)))
            defaults = ", ".join(f"NULL::{kind}" for kind in function.argument_types[len(function.inputs) :])
            overloads.append(f"({given}) AS json({name}_TEXT({', '.join(filter(None, [given, defaults]))}))")
        con.execute(f"CREATE OR REPLACE TEMP MACRO {name}{', '.join(overloads)}")
    try:
        yield
    finally:
        for name in functions:
            con.execute(f"DROP MACRO IF EXISTS {name}")
            con.remove_function(f"{name}_TEXT")


def _positional(count: int) -> Any:
    import inspect

    # DuckDB counts the Python function's parameters against the declared argument types.
    return inspect.Signature([inspect.Parameter(f"x{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(count)])


# Running a generated handler. snowflake-ml writes ``functions/<method>.py`` for each method: on
# Snowflake it runs as a vectorized UDF with the version's files as its import directory. Here it
# runs in-process: ``_snowflake.vectorized`` (Snowflake's decorator) passes the function through,
# and ``sys._xoptions["snowflake_import_directory"]`` points at the version folder. A function marked
# ``@_snowflake.udf_init_once`` (a version logged with ``model_init_once``) runs once, after the module
# loads and before the first batch, in the order defined, as Snowflake runs it once before forking
# its workers (https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-init-once).

_handlers: dict[tuple[Path, str], Callable[[Any], Any]] = {}
_handlers_guard = threading.Lock()


def _handler(folder: Path, method: dict[str, Any], ref: VersionRef) -> Callable[[Any], Any]:
    module_path, _, function_name = str(method["handler"]).rpartition(".")
    path = folder.joinpath(*module_path.split(".")).with_suffix(".py")
    key = (folder, method["name"])
    with _handlers_guard:
        if key not in _handlers:
            _handlers[key] = getattr(_load_handler_module(path, folder, ref), function_name)
        return _handlers[key]


def _load_handler_module(path: Path, folder: Path, ref: VersionRef) -> types.ModuleType:
    if not path.is_file():
        raise invalid(f"model version {ref.model.fqn} {ref.version} has no function handler {path.name}")
    fake = types.ModuleType("_snowflake")
    fake.vectorized = lambda **_options: lambda function: function  # type: ignore[attr-defined]
    run_once: list[Callable[[], Any]] = []
    fake.udf_init_once = lambda function: run_once.append(function) or function  # type: ignore[attr-defined]
    previous = sys.modules.get("_snowflake")
    sys.modules["_snowflake"] = fake
    options = sys._xoptions  # type: ignore[attr-defined]
    had_option = "snowflake_import_directory" in options
    old_option = options.get("snowflake_import_directory")
    options["snowflake_import_directory"] = str(folder)
    try:
        spec = importlib.util.spec_from_file_location(f"_emulated_model_handler_{abs(hash(path))}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for initialise in run_once:
            initialise()
        return module
    finally:
        # Snowpark takes a present _snowflake module for "running inside Snowflake".
        if previous is None:
            sys.modules.pop("_snowflake", None)
        else:
            sys.modules["_snowflake"] = previous
        if had_option:
            options["snowflake_import_directory"] = old_option
        else:
            options.pop("snowflake_import_directory", None)


def _forget_handlers(model: ObjectName, version: str | None) -> None:
    with _handlers_guard:
        for key in [k for k in _handlers if _belongs(k[0], model, version)]:
            del _handlers[key]


def _belongs(folder: Path, model: ObjectName, version: str | None) -> bool:
    parts = folder.parts
    return parts[-5:-2] == model.parts and (version is None or parts[-1] == version)
