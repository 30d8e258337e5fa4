"""DuckDB's messages about a reference that binds to nothing, or a model method called with the
wrong arguments, in Snowflake's words.

Both DuckDB-based backends run Snowflake SQL on DuckDB: ``local`` directly, ``snowflake-emulator``
through fakesnow. Where a query names a column or table that is not there, Snowflake answers
``SQL compilation error: error line L at position P`` / ``invalid identifier 'X'``, with the unquoted
name upper case as Snowflake reads it (https://docs.snowflake.com/en/sql-reference/identifiers-syntax).
The wording is Snowflake's as users quote it (e.g. https://sambobb.com/posts/snowflake-identifiers);
the error number 000904 / SQLSTATE 42000 is the connector's for it, not confirmed here on a live account.
A model method (``M!PREDICT(…)``) called with a number of arguments it does not take is Snowflake's
``Invalid argument types for function`` (001044, 42P13), with what the method takes added: DuckDB would
name the kit's internal function. That wording and number are Snowflake's for a UDF called with
arguments it does not take, as users quote them; not confirmed here for a model method on a live account.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_MISSING_COLUMN = (
    re.compile(r'Referenced column "(?P<name>[^"]+)" not found'),
    re.compile(r'Table "(?P<table>[^"]+)" does not have a column named "(?P<name>[^"]+)"'),
)
_MISSING_TABLE = re.compile(r'Referenced table "(?P<name>[^"]+)" not found')
_CANDIDATES = re.compile(r"Candidate (?:bindings|tables): [: ]*(?P<names>.+)")

#: Snowflake's error number and SQLSTATE for an invalid identifier.
INVALID_IDENTIFIER_ERRNO = 904
INVALID_IDENTIFIER_SQLSTATE = "42000"


#: Snowflake's error number and SQLSTATE for a function called with arguments it does not take.
INVALID_ARGUMENTS_ERRNO = 1044
INVALID_ARGUMENTS_SQLSTATE = "42P13"


def model_arguments_message(model: str, method: str, inputs: Sequence[str], given: int | None = None) -> str:
    """What a call of ``model``'s ``method`` with the wrong arguments is told (see the module docstring)."""
    passes = "" if given is None else f"; the call passes {given}"
    return (
        f"SQL compilation error:\nInvalid argument types for function '{method}': model {model} {method} takes "
        f"{len(inputs)} argument{'s' if len(inputs) != 1 else ''}, its feature columns in this order: "
        f"{', '.join(inputs)}{passes}"
    )


@dataclass(frozen=True)
class MissingReference:
    """A column (``T.X`` or ``X``) or a table qualifier that binds to nothing, upper case as
    Snowflake reads unquoted names, and DuckDB's nearest candidates for it."""

    name: str
    is_table: bool
    candidates: tuple[str, ...]

    def snowflake_message(self, sql: str | None = None, *, with_candidates: bool = False) -> str:
        """``invalid identifier 'X'``, preceded by Snowflake's ``SQL compilation error`` line with
        where ``X`` first appears in ``sql`` when given; DuckDB's candidates appended on request."""
        text = f"invalid identifier '{self.name}'"
        if self.is_table:
            text += ": no table of that name in FROM"
        if with_candidates and self.candidates:
            text += (
                f" (the nearest {'tables' if self.is_table else 'columns'} that exist: {', '.join(self.candidates)})"
            )
        if sql is None:
            return text
        where = _position(sql, self.name.split(".")[-1] if not self.is_table else self.name)
        header = (
            f"SQL compilation error: error line {where[0]} at position {where[1]}"
            if where
            else "SQL compilation error:"
        )
        return f"{header}\n{text}"


def missing_reference(duckdb_message: str) -> MissingReference | None:
    """The reference DuckDB's binder could not resolve, or None for any other message."""
    for pattern in _MISSING_COLUMN:
        found = pattern.search(duckdb_message)
        if found:
            parts = [part for part in (found.groupdict().get("table"), found["name"]) if part]
            return MissingReference(".".join(parts).upper(), False, _candidates(duckdb_message))
    found = _MISSING_TABLE.search(duckdb_message)
    if found:
        return MissingReference(found["name"].upper(), True, _candidates(duckdb_message))
    return None


def _candidates(duckdb_message: str) -> tuple[str, ...]:
    found = _CANDIDATES.search(duckdb_message)
    if not found:
        return ()
    names = (name.strip().strip('"').upper() for name in found["names"].split(","))
    return tuple(name for name in names if name)


def _position(sql: str, name: str) -> tuple[int, int] | None:
    """Line (from 1) and position in it (from 0) of ``name``'s first appearance as a whole word."""
    found = re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", sql, flags=re.IGNORECASE)
    if found is None:
        return None
    before = sql[: found.start()]
    return before.count("\n") + 1, found.start() - (before.rfind("\n") + 1)
