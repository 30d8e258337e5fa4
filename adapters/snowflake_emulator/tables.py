"""Swapping two tables: ``ALTER TABLE <a> SWAP WITH <b>``, which fakesnow does not know.

Snowflake exchanges the two tables' contents and metadata in one statement
(https://docs.snowflake.com/en/sql-reference/sql/alter-table, SWAP WITH). The emulator does it with
three renames on fakesnow, within one schema, putting back what it renamed if a later rename fails.
"""

from __future__ import annotations

import re
import uuid

from mlops_kit.adapters.snowflake_emulator import access_control
from mlops_kit.adapters.snowflake_emulator.statements import (
    NAME,
    Family,
    Rows,
    Statement,
    claim,
    invalid,
    run_on_fakesnow,
    status,
)

family = Family("table swaps", claim(rf"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?{NAME}\s+SWAP\b"))


@family.statement(rf"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<first>{NAME})\s+SWAP\s+WITH\s+(?P<second>{NAME})")
def swap_tables(statement: Statement, match: re.Match[str]) -> Rows:
    first = statement.object_name(match["first"], "table")
    second = statement.object_name(match["second"], "table")
    if (first.database, first.schema) != (second.database, second.schema):
        raise invalid(f"the emulator swaps tables within one schema only: {first.fqn} and {second.fqn}")
    parking = first.fqn.rsplit(".", 1)[0] + f".SWAP_{uuid.uuid4().hex[:12].upper()}"
    renames = [(first.fqn, parking), (second.fqn, first.fqn), (parking, second.fqn)]
    done: list[tuple[str, str]] = []
    try:
        for old, new in renames:
            run_on_fakesnow(statement, f"ALTER TABLE {old} RENAME TO {new}")
            done.append((old, new))
    except Exception:
        for old, new in reversed(done):
            run_on_fakesnow(statement, f"ALTER TABLE {new} RENAME TO {old}")
        raise
    access_control.swap_grants(statement, first, second)  # each table's grants go with it
    return status("Statement executed successfully.")
