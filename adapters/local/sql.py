"""Snowflake SQL in, DuckDB SQL out: the one dialect the workflow is written in, run locally.

sqlglot does the translation. Model calls in Snowflake's spelling (``MODEL!PREDICT(...)``,
``MODEL(NAME, V1)!PREDICT(...)``, ``WITH M AS MODEL NAME VERSION V1 SELECT M!PREDICT(...)``) are not
SQL sqlglot parses: ``mlops_kit/model_calls.py`` finds them among sqlglot's tokens and they become
calls to DuckDB functions the warehouse registers for that query.

Where DuckDB would answer differently from Snowflake, the translation makes it answer the same:
a query's unaliased columns are named as Snowflake names them (``COUNT(*)``, not ``count_star()``;
``CUSTOMER_ID`` for ``customer_id``), and ``SHOW TABLES | VIEWS | OBJECTS | SCHEMAS | COLUMNS`` list
the database's objects with Snowflake's column names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_kit import model_calls, names, statements
from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlglot import exp

MODEL_METHODS = ("PREDICT", "PREDICT_PROBA")


@dataclass(frozen=True)
class ModelCall:
    """A model method called from SQL, and the DuckDB function name it was replaced by."""

    model: str
    version: str | None
    function: str
    sql_function: str


def extract_model_calls(sql: str) -> tuple[str, list[ModelCall]]:
    """Replace Snowflake model calls in ``sql`` with plain function calls; list what was replaced.

    ``mlops_kit/model_calls.py`` finds them; ``M!PREDICT(`` becomes ``MLOPS_MODEL_<n>_PREDICT(``.

    Raises:
        InvalidInputError: a model method other than PREDICT / PREDICT_PROBA, or a model name or
            version that is not a plain identifier.
    """
    calls: dict[tuple[str, str | None, str], ModelCall] = {}

    def function_for(call: model_calls.ModelCall) -> str:
        function = call.method.upper()
        if function not in MODEL_METHODS:
            raise InvalidInputError(
                f"model method {function} is not supported: use {' or '.join(MODEL_METHODS)} "
                f"(in: {call.model_name}!{call.method})"
            )
        model = names.identifier(call.model[-1], "model")
        version = names.model_version(call.version) if call.version is not None else None
        key = (model, version, function)
        if key not in calls:
            calls[key] = ModelCall(model, version, function, f"MLOPS_MODEL_{len(calls)}_{function}")
        return calls[key].sql_function

    return model_calls.rewrite_model_calls(sql, function_for), list(calls.values())


def to_duckdb(sql: str, calls: Sequence[ModelCall] = (), *, name_columns: bool = True) -> str:
    """Translate one or more statements from Snowflake's dialect to DuckDB's; ``calls`` are the
    model calls ``extract_model_calls`` replaced, so that columns are named after the model.
    ``name_columns=False`` leaves the output columns as DuckDB names them and writes unquoted
    identifiers upper case, as Snowflake reads them: for DuckDB's own messages about a query (an
    alias ``X AS "X"`` hides which column does not exist; DuckDB's nearest candidates compare case)."""
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        trees = sqlglot.parse(sql, read="snowflake")
    except ParseError as exc:
        raise InvalidInputError(
            f"SQL does not parse as Snowflake SQL: {_parse_error(exc)} (in: {statements.abbreviate(sql, 200)})"
        ) from exc
    return ";\n".join(_translate(tree, calls, name_columns) for tree in trees if tree is not None)


def _translate(tree: exp.Expression, calls: Sequence[ModelCall], name_columns: bool) -> str:
    from sqlglot import exp

    if isinstance(tree, exp.Show):
        return _show(tree)
    if isinstance(tree, exp.Query) and name_columns:
        _name_columns_as_snowflake(tree, calls)
    if not name_columns:
        from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

        tree = normalize_identifiers(tree, dialect="snowflake")
    return tree.sql(dialect="duckdb")


def _name_columns_as_snowflake(query: exp.Query, calls: Sequence[ModelCall]) -> None:
    """Alias a query's output columns with the names Snowflake gives them: unquoted names upper
    case, an expression by its text (``COUNT(*)``). DuckDB binds names without case either way."""
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    select = query
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for projection in list(select.expressions):
        if isinstance(projection, exp.Alias):
            alias = projection.args["alias"]
            if not alias.quoted:
                projection.set("alias", exp.to_identifier(alias.name.upper(), quoted=True))
        elif isinstance(projection, exp.Column):
            if not isinstance(projection.this, exp.Star) and not projection.this.quoted:
                projection.replace(exp.alias_(projection.copy(), projection.name.upper(), quoted=True))
        elif not isinstance(projection, exp.Star):
            text = normalize_identifiers(projection.copy(), dialect="snowflake").sql(dialect="snowflake")
            for call in calls:
                text = text.replace(f"{call.sql_function}(", f"{call.model}!{call.function}(")
            projection.replace(exp.alias_(projection.copy(), text, quoted=True))


_SHOW_TABLE_TYPES = {"TABLES": ("BASE TABLE",), "VIEWS": ("VIEW",), "OBJECTS": ("BASE TABLE", "VIEW")}


def _show(show: exp.Show) -> str:
    """``SHOW …`` as a DuckDB query over the information schema, with Snowflake's column names."""
    what = str(show.name).upper()
    scope, scope_kind = show.args.get("scope"), (show.args.get("scope_kind") or "").upper()
    like = show.args.get("like")
    pattern = like.sql(dialect="duckdb") if like is not None else None
    schema = names.identifier(scope.parts[-1].name, "schema") if scope is not None and scope_kind == "SCHEMA" else None
    if what in _SHOW_TABLE_TYPES:
        types = ", ".join(f"'{t}'" for t in _SHOW_TABLE_TYPES[what])
        return (
            'SELECT table_name AS "name", table_catalog AS "database_name", table_schema AS "schema_name", '
            """CASE table_type WHEN 'VIEW' THEN 'VIEW' ELSE 'TABLE' END AS "kind" FROM information_schema.tables """
            f"WHERE {_where('table', schema, pattern)} AND table_type IN ({types}) ORDER BY 3, 1"
        )
    if what == "SCHEMAS":
        return (
            'SELECT schema_name AS "name", catalog_name AS "database_name" FROM information_schema.schemata '
            f"WHERE catalog_name = current_database(){f' AND schema_name ILIKE {pattern}' if pattern else ''} ORDER BY 1"
        )
    if what == "COLUMNS" and scope is not None and scope_kind in ("TABLE", "VIEW"):
        table = names.table_name(".".join(part.name for part in scope.parts[-2:]))
        return (
            'SELECT table_name AS "table_name", table_schema AS "schema_name", column_name AS "column_name", '
            'data_type AS "data_type", is_nullable AS "null?", table_catalog AS "database_name" '
            f"FROM information_schema.columns WHERE {_where('table', table.schema, None)} "
            f"AND upper(table_name) = '{table.table}' ORDER BY ordinal_position"
        )
    raise InvalidInputError(
        f"SHOW {what} is not supported by the local backend: use SHOW TABLES, VIEWS, OBJECTS, SCHEMAS "
        "or COLUMNS IN TABLE <name> (each may take IN SCHEMA <name> and LIKE '<pattern>')"
    )


def _where(prefix: str, schema: str | None, pattern: str | None) -> str:
    """Objects of the current database, of ``schema`` if given, named like ``pattern`` if given."""
    conditions = [f"{prefix}_catalog = current_database()"]
    if schema:
        conditions.append(f"upper({prefix}_schema) = '{schema}'")
    if pattern:
        conditions.append(f"{prefix}_name ILIKE {pattern}")
    return " AND ".join(conditions)


def _parse_error(exc: Exception) -> str:
    """sqlglot's first error as plain text: its own message underlines with terminal escape codes."""
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        return f"{first.get('description')} at line {first.get('line')}, column {first.get('col')}"
    return re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()[0]


def quote(name: str) -> str:
    """Quote an already validated identifier (DuckDB identifiers stay case-insensitive)."""
    return '"' + name.replace('"', '""') + '"'
