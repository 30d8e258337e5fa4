"""ASOF JOIN as Snowflake writes it, for fakesnow (DuckDB) to run.

https://docs.snowflake.com/en/sql-reference/constructs/asof-join:
``FROM l ASOF JOIN r MATCH_CONDITION (l.t >= r.t) [ON l.k = r.k [AND …] | USING (k, …)]``; for each
left row the one closest right row that meets the match condition, and "when there is no match for a
row in the left table, the columns from the right table are null-padded". DuckDB's ASOF join takes
the equalities and the one inequality together in ON, and keeps unmatched left rows only as ASOF
LEFT JOIN; sqlglot reads Snowflake's form, and the emulator rewrites each such join in the syntax
tree (not in the text: a CTE, a subquery or a string literal holding the words changes nothing).
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from mlops_kit.adapters.snowflake_emulator.statements import Family, Rewrite, Statement, claim_anywhere, invalid

family = Family("ASOF JOIN", claim_anywhere(r"\bMATCH_CONDITION\b"))


@family.statement(r".*")
def asof_join(statement: Statement, match: re.Match[str]) -> Rewrite:
    return Rewrite(asof_as_duckdb_reads(statement.sql), statement.params)


def asof_as_duckdb_reads(sql: str) -> str:
    """``sql`` with each ``ASOF JOIN … MATCH_CONDITION`` as DuckDB's ASOF LEFT JOIN."""
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.ParseError as exc:
        raise invalid(f"cannot read the ASOF JOIN: {exc}", errno=1003, sqlstate="42000") from exc
    for join in list(tree.find_all(exp.Join)):
        condition = join.args.get("match_condition")
        if condition is None:
            continue
        if isinstance(condition, exp.Paren):
            condition = condition.this
        equalities = _using_as_equalities(join) if join.args.get("using") else join.args.get("on")
        join.set("using", None)
        join.set("on", exp.and_(equalities, condition) if equalities is not None else condition)
        join.set("match_condition", None)
        join.set("side", "LEFT")
    return tree.sql(dialect="snowflake")


def _using_as_equalities(join: exp.Join) -> exp.Expression:
    """``USING (k, …)`` as ``left.k = right.k AND …`` (DuckDB's ASOF join reads its keys from ON)."""
    select = join.parent
    source = select.args.get("from") or select.args.get("from_") if select is not None else None
    if source is None:
        raise invalid("an ASOF JOIN … USING needs a FROM table to join to")
    left = source.this.alias_or_name
    right = join.this.alias_or_name
    keys = [column.name for column in join.args["using"]]
    return exp.and_(*[exp.EQ(this=exp.column(key, left), expression=exp.column(key, right)) for key in keys])
