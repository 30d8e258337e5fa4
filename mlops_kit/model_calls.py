"""Model methods called from SQL, in Snowflake's spelling, found once for every backend.

Snowflake calls a registered model's method from SQL in three ways
(https://docs.snowflake.com/en/developer-guide/snowflake-ml/model-registry/overview, "Calling model
methods" from SQL)::

    <model>!<method>(…)                                 the model's default version
    MODEL(<model>, <version>)!<method>(…)               a version named in the call
    WITH <alias> AS MODEL <model> [VERSION <version>]   a version named in a WITH clause,
    SELECT <alias>!<method>(…) …                        called through its alias

None of them is SQL that sqlglot parses, so they are found among sqlglot's tokens (never inside a
string literal or a comment) and rewritten into plain function calls: the WITH entries that name a
model are dropped (the WITH keyword too when nothing else is left in the clause) and each call's
``<target>!<method>(`` becomes ``<function>(``, the function a backend registers for the query. The
local backend (``adapters/local/sql.py``) and the emulator (``adapters/snowflake_emulator/models.py``)
both rewrite with ``rewrite_model_calls``; each maps a call onto its own engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops_kit import statements
from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlglot.tokens import Token

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class ModelCall:
    """One model method called from SQL, its names as written (a quoted part keeps its quotes).

    Attributes:
        model: the model's name parts (``("MODEL_REGISTRY", "CHURN")``), resolved through a WITH
            alias where the call goes through one.
        version: the version named in ``MODEL(…)`` or the WITH entry; None for the default version.
        method: the method (``PREDICT_PROBA``), as written.
    """

    model: tuple[str, ...]
    version: str | None
    method: str

    @property
    def model_name(self) -> str:
        """The model's name as written, dotted (``MODEL_REGISTRY.CHURN``)."""
        return ".".join(self.model)


def rewrite_model_calls(sql: str, function_for: Callable[[ModelCall], str]) -> str:
    """``sql`` with its model calls replaced by calls of ``function_for(call)`` (see the module docstring).

    ``function_for`` may raise to refuse a call (an unknown model or method). Calls are visited in
    the order they appear.

    Raises:
        InvalidInputError: ``sql`` does not tokenize, or a parenthesis of a WITH entry is not closed.
    """
    tokens = statements.tokenize(sql)
    edits: list[tuple[int, int, str]] = []  # (start, end exclusive, replacement) in sql
    aliases: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for index, token in enumerate(tokens):
        if token.token_type.name == "WITH":
            edits += _model_ctes(tokens, index, aliases)
    for index, token in enumerate(tokens):
        if token.token_type.name != "EXCLAMATION" or index + 2 >= len(tokens):
            continue
        if not _is_name(tokens[index + 1]) or tokens[index + 2].token_type.name != "L_PAREN":
            continue
        found = _target_before(tokens, index)
        if found is None:
            continue
        first, model, version = found
        if version is None and len(model) == 1 and model[0].upper() in aliases:
            model, version = aliases[model[0].upper()]
        call = ModelCall(model, version, _written(tokens[index + 1]))
        edits.append((tokens[first].start, tokens[index + 2].end + 1, f"{function_for(call)}("))
    for start, end, replacement in sorted(edits, reverse=True):
        sql = sql[:start] + replacement + sql[end:]
    return sql


def _target_before(tokens: list[Token], bang: int) -> tuple[int, tuple[str, ...], str | None] | None:
    """What ``!`` at ``bang`` calls: (its first token, the model's name parts, the version or None),
    for ``MODEL(<name>, <version>)`` or a dotted name; None when neither ends right before it."""
    end = bang - 1
    if end >= 0 and tokens[end].token_type.name == "R_PAREN":
        opening = _opening_paren(tokens, end)
        if opening is None or opening < 1 or tokens[opening - 1].text.upper() != "MODEL":
            return None
        inside = tokens[opening + 1 : end]
        comma = next((i for i, t in enumerate(inside) if t.token_type.name == "COMMA"), None)
        if comma is None or comma != len(inside) - 2 or not _is_name(inside[-1]):
            return None
        parts = _dotted(inside[:comma])
        return (opening - 1, parts, _written(inside[-1])) if parts else None
    start = _dotted_start(tokens, end)
    if start is None:
        return None
    return start, _dotted(tokens[start : end + 1]) or (), None


def _model_ctes(
    tokens: list[Token], with_index: int, aliases: dict[str, tuple[tuple[str, ...], str | None]]
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
            model = _dotted(tokens[i + 3 : j + 1]) or ()
            version = None
            if j + 2 < len(tokens) and tokens[j + 1].text.upper() == "VERSION" and _is_name(tokens[j + 2]):
                version = _written(tokens[j + 2])
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


def _opening_paren(tokens: list[Token], close_index: int) -> int | None:
    depth = 0
    for i in range(close_index, -1, -1):
        kind = tokens[i].token_type.name
        depth += kind == "R_PAREN"
        depth -= kind == "L_PAREN"
        if depth == 0:
            return i
    return None


def _is_name(token: Token) -> bool:
    """A bare or quoted identifier (keywords such as MODEL or VERSION tokenize as names too)."""
    kind = token.token_type.name
    return kind == "IDENTIFIER" or ("STRING" not in kind and bool(_PLAIN_NAME.fullmatch(token.text)))


def _written(token: Token) -> str:
    """A name token as the SQL wrote it: a quoted identifier with its quotes."""
    if token.token_type.name == "IDENTIFIER":
        return '"' + token.text.replace('"', '""') + '"'
    return token.text


def _dotted_start(tokens: list[Token], end: int) -> int | None:
    """The first token of a dotted name (``DB.SCHEMA.MODEL``) ending at ``end``."""
    if end < 0 or not _is_name(tokens[end]):
        return None
    start = end
    while start >= 2 and tokens[start - 1].token_type.name == "DOT" and _is_name(tokens[start - 2]):
        start -= 2
    return start


def _dotted(tokens: list[Token]) -> tuple[str, ...] | None:
    """The parts of a dotted name that is exactly ``tokens``; None for anything else."""
    if not tokens or len(tokens) % 2 == 0:
        return None
    names, dots = tokens[::2], tokens[1::2]
    if not all(_is_name(t) for t in names) or any(t.token_type.name != "DOT" for t in dots):
        return None
    return tuple(_written(t) for t in names)
