"""What a SQL text holds: how many statements, and whether one only reads.

Both backends' ``Warehouse.query`` run exactly one statement (``SELECT 1; DROP TABLE T`` is refused,
not half-run), and ``mlops-kit sql`` runs only reading statements unless told ``--write``. Both
rules rest on sqlglot's tokenizer for Snowflake's dialect, so a ``;`` or a keyword inside a string
literal, a quoted name, a ``$$`` string or a comment is never taken for SQL.

Reading statements are queries (``SELECT``, ``WITH … SELECT``, ``VALUES``, parenthesised queries),
``SHOW``, ``DESCRIBE``/``DESC``, ``LIST`` and ``EXPLAIN`` of one of these. Everything else counts as
writing, and so does ``SELECT … INTO <table>`` (it creates the table). This is a guard against mistakes, not a permission system: the database's own grants are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlglot.tokens import Token

#: Leading keywords of statements that only read.
READING_KEYWORDS = frozenset({"SELECT", "VALUES", "SHOW", "DESCRIBE", "DESC", "LIST", "LS"})
# Keywords that start the statement a WITH clause is attached to.
_WITH_TARGETS = frozenset({"SELECT", "VALUES", "INSERT", "UPDATE", "DELETE", "MERGE"})
_EXPLAIN_OPTIONS = re.compile(r"^\s*(?:ANALYZE\s+|USING\s+\w+\s+)*", re.IGNORECASE)


def tokenize(sql: str) -> list[Token]:
    """sqlglot's tokens of ``sql`` in Snowflake's dialect (comments are dropped, literals kept whole).

    Raises:
        InvalidInputError: ``sql`` is not a string, or does not tokenize (an unterminated string).
    """
    from sqlglot.dialects.snowflake import Snowflake
    from sqlglot.errors import TokenError

    if not isinstance(sql, str):
        raise InvalidInputError(f"SQL must be a string, not {type(sql).__name__}")
    try:
        return Snowflake().tokenize(sql)
    except TokenError as exc:
        raise InvalidInputError(f"SQL does not parse: {exc} (an unterminated quote?)") from exc


def split(sql: str) -> list[str]:
    """The statements of ``sql``, each without its ``;``; empty statements (``;;``, comments only)
    are left out."""
    from sqlglot.tokens import TokenType

    statements, start, seen_token = [], 0, False
    for token in tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            if seen_token:
                statements.append(sql[start : token.start].strip())
            start, seen_token = token.end + 1, False
        else:
            seen_token = True
    if seen_token:
        statements.append(sql[start:].strip())
    return statements


def single(sql: object, argument: str = "sql") -> str:
    """The one statement of ``sql`` (a trailing ``;`` is fine); ``argument`` names it in messages.

    Raises:
        InvalidInputError: not a string, no statement at all (blank, only comments or ``;``), or
            more than one; the message shows where each starts.
    """
    if not isinstance(sql, str):
        raise InvalidInputError(f"{argument} must be a string of SQL, not {type(sql).__name__}")
    statements = split(sql)
    if not statements:
        why = "is empty" if not sql.strip() else "holds only comments or ';'"
        raise InvalidInputError(f"no SQL statement given: {argument} {why}")
    if len(statements) > 1:
        listed = " ".join(f"[{i}] {abbreviate(s)}" for i, s in enumerate(statements, 1))
        raise InvalidInputError(f"expected one SQL statement, got {len(statements)}: {listed}; run them one at a time")
    return statements[0]


def kind(statement: str) -> str:
    """The keyword saying what one statement does: ``SELECT``, ``DROP``, ``DELETE`` for ``WITH …
    DELETE``, ``EXPLAIN SELECT``; empty for a statement without one."""
    from sqlglot.tokens import TokenType

    tokens = tokenize(statement)
    while tokens and tokens[0].token_type == TokenType.L_PAREN:  # (SELECT …) UNION (SELECT …)
        tokens = tokens[1:]
    if not tokens:
        return ""
    first = tokens[0].text.upper()
    if first == "EXPLAIN" and tokens[0].token_type == TokenType.COMMAND:
        # The tokenizer keeps what follows EXPLAIN as one string: the explained statement.
        explained = _EXPLAIN_OPTIONS.sub("", tokens[1].text) if len(tokens) > 1 else ""
        return f"EXPLAIN {kind(explained)}".strip()
    if tokens[0].token_type == TokenType.WITH:
        first = _with_target(tokens) or first
    if first == "SELECT" and _top_level_into(tokens):
        # SELECT … INTO <table> creates a table where engines allow it (sqlglot reads Snowflake's as
        # CREATE TABLE … AS): it writes.
        return "SELECT INTO"
    return first


def is_reading(statement: str) -> bool:
    """Whether one statement only reads (see the module docstring for what counts)."""
    return kind(statement).removeprefix("EXPLAIN ") in READING_KEYWORDS


def _with_target(tokens: list[Token]) -> str | None:
    """The keyword of the statement a ``WITH`` clause leads to: the first one outside parentheses."""
    from sqlglot.tokens import TokenType

    depth = 0
    for token in tokens[1:]:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.text.upper() in _WITH_TARGETS:
            return token.text.upper()
    return None


def parse_error(statement: str) -> str | None:
    """Why one statement does not parse as Snowflake SQL (with where), or None when it parses.

    Used before a statement is called writing: a misspelt ``SELEC`` is a typo, not a write.
    """
    import sqlglot
    from sqlglot.errors import ParseError
    from sqlglot.tokens import TokenType

    tokens = tokenize(statement)
    if tokens and tokens[0].token_type == TokenType.VAR:
        return (
            f"SQL does not parse: {tokens[0].text} at line {tokens[0].line} is not a keyword a statement starts "
            f"with (SELECT, WITH, SHOW, INSERT, CREATE, …): {abbreviate(statement, 80)}"
        )
    try:
        sqlglot.parse_one(statement, read="snowflake")
    except ParseError as exc:
        where = exc.errors[0] if exc.errors else {}
        line, column = where.get("line"), where.get("col")
        near = " ".join(str(where.get("highlight") or "").split())
        place = f" at line {line}, column {column}" if line else ""
        return f"SQL does not parse{place}" + (f" (near {near!r})" if near else "") + f": {abbreviate(statement, 80)}"
    return None


def _top_level_into(tokens: list[Token]) -> bool:
    """Whether an ``INTO`` stands outside parentheses (``SELECT … INTO T FROM …``)."""
    from sqlglot.tokens import TokenType

    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.token_type == TokenType.INTO:
            return True
    return False


def abbreviate(statement: str, width: int = 40) -> str:
    """``statement`` on one line, cut to ``width`` characters, for messages."""
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
