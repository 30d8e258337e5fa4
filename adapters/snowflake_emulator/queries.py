"""Queries fakesnow runs once they are rewritten into the spelling it reads.

Snowpark writes a small local frame (``session.create_dataframe(rows, schema)``) as
``SELECT $1 AS "A", … FROM VALUES (…), (…)``: in Snowflake, ``$n`` is the n-th column of the VALUES
list and the list needs no parentheses (https://docs.snowflake.com/en/sql-reference/constructs/values).
fakesnow reads ``SELECT COLUMN1 … FROM (VALUES …)`` only, so the emulator writes it that way.
"""

from __future__ import annotations

import re

from mlops_kit.adapters.snowflake_emulator.statements import Family, Rewrite, Statement, claim_anywhere, masked

family = Family("queries over VALUES", claim_anywhere(r"\bFROM\s+\(?\s*VALUES\b"))

_FROM_VALUES = re.compile(r"\bFROM\s+VALUES\b", re.IGNORECASE)
_POSITIONAL = re.compile(r"\$(\d+)\b(?!\s*:)")


# Any statement: a query, or one that holds a query (CREATE TABLE … AS, INSERT … SELECT, a view).
@family.statement(r".*")
def from_values(statement: Statement, match: re.Match[str]) -> Rewrite:
    return Rewrite(values_as_fakesnow_reads(statement.sql), statement.params)


def query_for_fakesnow(sql: str) -> str:
    """A query inside another statement (a view's, a dynamic table's) as the emulator rewrites a query
    of its own: VALUES lists and ASOF joins in the spelling fakesnow runs."""
    from mlops_kit.adapters.snowflake_emulator import asof_joins

    if family.claims.search(masked(sql)):
        sql = values_as_fakesnow_reads(sql)
    if asof_joins.family.claims.search(masked(sql)):
        sql = asof_joins.asof_as_duckdb_reads(sql)
    return sql


def values_as_fakesnow_reads(sql: str) -> str:
    blanked = masked(sql)
    for found in reversed(list(_FROM_VALUES.finditer(blanked))):
        end = _end_of_values(blanked, found.end())
        sql = f"{sql[: found.start()]}FROM (VALUES {sql[found.end() : end].strip()}){sql[end:]}"
        blanked = masked(sql)
    spans = [(m.start(), m.end(), m.group(1)) for m in _POSITIONAL.finditer(masked(sql))]
    for start, end, number in reversed(spans):
        sql = f"{sql[:start]}COLUMN{number}{sql[end:]}"
    return sql


def _end_of_values(sql: str, position: int) -> int:
    """Where a VALUES list that starts at ``position`` ends: after its last parenthesised row."""
    end = position
    index = position
    while True:
        while index < len(sql) and sql[index].isspace():
            index += 1
        if index >= len(sql) or sql[index] != "(":
            return end
        depth = 0
        while index < len(sql):
            depth += sql[index] == "("
            depth -= sql[index] == ")"
            index += 1
            if depth == 0:
                break
        end = index
        rest = sql[index:].lstrip()
        if not rest.startswith(","):
            return end
        index = len(sql) - len(rest) + 1
