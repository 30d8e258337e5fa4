"""Snowflake SQL in, DuckDB SQL out: the one dialect the workflow is written in, run locally.

sqlglot does the translation. Model calls in Snowflake's spelling (``MODEL!PREDICT(...)`` and
``WITH M AS MODEL NAME VERSION V1 SELECT M!PREDICT(...)``) are not SQL sqlglot parses, so they are
found first among sqlglot's tokens (never inside a string literal or a comment) and replaced by
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

from mlops_kit import names, statements
from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.tokens import Token

MODEL_METHODS = ("PREDICT", "PREDICT_PROBA")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class ModelCall:
    """A model method called from SQL, and the DuckDB function name it was replaced by."""

    model: str
    version: str | None
    function: str
    sql_function: str


def extract_model_calls(sql: str) -> tuple[str, list[ModelCall]]:
    """Replace Snowflake model calls in ``sql`` with plain function calls; list what was replaced.

    ``WITH M AS MODEL NAME [VERSION V]`` entries are removed from their WITH clause (the clause too
    when nothing else is left in it) and ``M!PREDICT(`` becomes ``MLOPS_MODEL_<n>_PREDICT(``.

    Raises:
        InvalidInputError: a model method other than PREDICT / PREDICT_PROBA, or a model name or
            version that is not a plain identifier.
    """
    tokens = statements.tokenize(sql)
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement) in sql
    aliases: dict[str, tuple[str, str | None]] = {}
    for index, token in enumerate(tokens):
        if token.token_type.name == "WITH":
            edits += _model_ctes(tokens, index, aliases)

    calls: dict[tuple[str, str | None, str], ModelCall] = {}
    for index, token in enumerate(tokens):
        if token.token_type.name != "EXCLAMATION":
            continue
        target = _name_before(tokens, index)
        if not target or index + 2 >= len(tokens) or not _is_name(tokens[index + 1]):
            continue
        if tokens[index + 2].token_type.name != "L_PAREN":
            continue
        parts = [t.text for t in tokens[target[0] : index] if t.token_type.name != "DOT"]
        function = tokens[index + 1].text.upper()
        if function not in MODEL_METHODS:
            raise InvalidInputError(
                f"model method {function} is not supported: use {' or '.join(MODEL_METHODS)} "
                f"(in: {'.'.join(parts)}!{tokens[index + 1].text})"
            )
        if len(parts) == 1 and parts[0].upper() in aliases:
            model, version = aliases[parts[0].upper()]
        else:
            model, version = names.identifier(parts[-1], "model"), None
        key = (model, version, function)
        if key not in calls:
            calls[key] = ModelCall(model, version, function, f"MLOPS_MODEL_{len(calls)}_{function}")
        edits.append((tokens[target[0]].start, tokens[index + 2].end + 1, f"{calls[key].sql_function}("))

    for start, end, replacement in sorted(edits, reverse=True):
        sql = sql[:start] + replacement + sql[end:]
    return sql, list(calls.values())


def _model_ctes(
    tokens: list[Token], with_index: int, aliases: dict[str, tuple[str, str | None]]
) -> list[tuple[int, int, str]]:
    """The edits that drop the model entries (``M AS MODEL NAME [VERSION V]``) of one WITH clause;
    the models are recorded in ``aliases``. A clause of another shape is left alone."""
    entries: list[tuple[int, int, bool]] = []  # (first token, last token, is a model)
    i = with_index + 1
    if i < len(tokens) and tokens[i].text.upper() == "RECURSIVE":
        i += 1
    while i + 2 < len(tokens) and _is_name(tokens[i]):
        first = i
        if tokens[i + 1].token_type.name == "L_PAREN":  # a column list: name (a, b) AS (...)
            i = _closing_paren(tokens, i + 1)
        if i + 2 >= len(tokens) or tokens[i + 1].token_type.name != "ALIAS":
            return []
        if tokens[i + 2].text.upper() == "MODEL" and i + 3 < len(tokens) and _is_name(tokens[i + 3]):
            j = i + 3
            while j + 2 < len(tokens) and tokens[j + 1].token_type.name == "DOT" and _is_name(tokens[j + 2]):
                j += 2
            model = names.identifier(tokens[j].text, "model")
            version = None
            if j + 2 < len(tokens) and tokens[j + 1].text.upper() == "VERSION" and _is_name(tokens[j + 2]):
                version = names.model_version(tokens[j + 2].text)
                j += 2
            aliases[tokens[first].text.upper()] = (model, version)
            entries.append((first, j, True))
            i = j + 1
        else:
            j = i + 2
            while j < len(tokens) and tokens[j].token_type.name != "L_PAREN":  # [NOT] MATERIALIZED
                j += 1
            if j >= len(tokens):
                return []
            j = _closing_paren(tokens, j)
            entries.append((first, j, False))
            i = j + 1
        if i < len(tokens) and tokens[i].token_type.name == "COMMA":
            i += 1
        else:
            break
    if not any(is_model for _, _, is_model in entries):
        return []
    if all(is_model for _, _, is_model in entries):
        return [(tokens[with_index].start, tokens[entries[-1][1]].end + 1, "")]
    edits = []
    for position, (first, last, is_model) in enumerate(entries):
        if not is_model:
            continue
        if position + 1 < len(entries):  # "m AS MODEL X," : up to the next entry
            edits.append((tokens[first].start, tokens[entries[position + 1][0]].start, ""))
        else:  # ", m AS MODEL X" : from the end of the previous entry
            edits.append((tokens[entries[position - 1][1]].end + 1, tokens[last].end + 1, ""))
    return edits


def _closing_paren(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for i in range(open_index, len(tokens)):
        kind = tokens[i].token_type.name
        depth += kind == "L_PAREN"
        depth -= kind == "R_PAREN"
        if depth == 0:
            return i
    raise InvalidInputError("SQL does not parse: a parenthesis is not closed")


def _is_name(token: Token) -> bool:
    """A bare or quoted identifier (keywords such as MODEL or VERSION tokenize as names too)."""
    kind = token.token_type.name
    return kind == "IDENTIFIER" or ("STRING" not in kind and bool(_PLAIN_NAME.fullmatch(token.text)))


def _name_before(tokens: list[Token], index: int) -> tuple[int, int] | None:
    """The tokens of a dotted name (``DB.SCHEMA.MODEL``) ending right before ``index``."""
    end = index - 1
    if end < 0 or not _is_name(tokens[end]):
        return None
    start = end
    while start >= 2 and tokens[start - 1].token_type.name == "DOT" and _is_name(tokens[start - 2]):
        start -= 2
    return start, end


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
