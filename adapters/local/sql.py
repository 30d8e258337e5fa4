"""Snowflake SQL in, DuckDB SQL out: the one dialect the workflow is written in, run locally.

sqlglot does the translation. Model calls in Snowflake's spelling (``MODEL!PREDICT(...)`` and
``WITH M AS MODEL NAME VERSION V1 SELECT M!PREDICT(...)``) are not SQL sqlglot knows, so they are
found first and replaced by calls to DuckDB functions the warehouse registers for that query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlops_kit import names
from mlops_kit.errors import InvalidInputError

_MODEL_CTE = re.compile(
    r"\bWITH\s+(?P<alias>[A-Za-z_]\w*)\s+AS\s+MODEL\s+(?P<model>[A-Za-z_][\w.$]*)"
    r"(?:\s+VERSION\s+(?P<version>[A-Za-z_]\w*))?\s*(?P<comma>,)?",
    re.IGNORECASE,
)
_MODEL_CALL = re.compile(r"(?P<target>[A-Za-z_][\w.$]*)!(?P<function>[A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class ModelCall:
    """A model method called from SQL, and the DuckDB function name it was replaced by."""

    model: str
    version: str | None
    function: str
    sql_function: str


def extract_model_calls(sql: str) -> tuple[str, list[ModelCall]]:
    """Replace Snowflake model calls in ``sql`` with plain function calls; list what was replaced."""
    aliases: dict[str, tuple[str, str | None]] = {}

    def drop_cte(match: re.Match[str]) -> str:
        model = names.identifier(match["model"].split(".")[-1], "model")
        version = names.model_version(match["version"]) if match["version"] else None
        aliases[match["alias"].upper()] = (model, version)
        return "WITH " if match["comma"] else ""

    sql = _MODEL_CTE.sub(drop_cte, sql)
    calls: dict[tuple[str, str | None, str], ModelCall] = {}

    def replace_call(match: re.Match[str]) -> str:
        target = match["target"].upper()
        model, version = aliases.get(target, (names.identifier(target.split(".")[-1], "model"), None))
        function = match["function"].upper()
        if function not in ("PREDICT", "PREDICT_PROBA"):
            raise InvalidInputError(f"model method {function} is not supported: use PREDICT or PREDICT_PROBA")
        key = (model, version, function)
        if key not in calls:
            calls[key] = ModelCall(model, version, function, f"MLOPS_MODEL_{len(calls)}_{function}")
        return f"{calls[key].sql_function}("

    sql = _MODEL_CALL.sub(replace_call, sql)
    return sql, list(calls.values())


def to_duckdb(sql: str) -> str:
    """Translate one or more statements from Snowflake's dialect to DuckDB's."""
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        statements = sqlglot.transpile(sql, read="snowflake", write="duckdb")
    except ParseError as exc:
        raise InvalidInputError(f"SQL does not parse as Snowflake SQL: {exc}\n  in: {sql.strip()[:300]}") from exc
    return ";\n".join(statements)


def quote(name: str) -> str:
    """Quote an already validated identifier (DuckDB identifiers stay case-insensitive)."""
    return '"' + name.replace('"', '""') + '"'
