"""Snowflake Scripting blocks: ``EXECUTE IMMEDIATE $$DECLARE … BEGIN … END$$`` (and a task's body).

https://docs.snowflake.com/en/developer-guide/snowflake-scripting/index (blocks, variables,
``LET``, assignment ``:=``, ``SELECT … INTO :var``, ``IF … THEN … [ELSEIF …] [ELSE …] END IF``,
nested ``BEGIN … END``, ``BEGIN TRANSACTION … COMMIT``) and
https://docs.snowflake.com/en/sql-reference/sql/execute-immediate.

The emulator runs the subset snowflake-ml's feature store sends (its snapshot refresh of an
append-only feature view): each SQL statement of the block goes through the emulator like a
statement of its own; variables are written into statements as literals (``:var`` in SQL, bare in
an IF condition); a condition is evaluated with ``SELECT (<condition>)``. Loops, cursors,
exceptions handlers and RETURN of a table are not emulated and are refused naming the construct.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_kit.adapters.snowflake_emulator.statements import invalid, masked, sql_literal

#: Runs one SQL statement through the emulator; returns its rows.
RunStatement = Callable[[str], Sequence[Sequence[Any]]]

_BLOCK = re.compile(r"^\s*(?:DECLARE\b(?P<declare>.*?))?\bBEGIN\b(?P<body>.*)\bEND\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_UNSUPPORTED = re.compile(
    r"^\s*(?:FOR|WHILE|REPEAT|LOOP|CASE|RETURN|EXCEPTION|RAISE|LET\s+\w+\s+(?:CURSOR|RESULTSET))\b", re.I
)


def is_block(sql: str) -> bool:
    """Whether ``sql`` is a scripting block (``DECLARE … BEGIN … END`` or ``BEGIN … END``)."""
    text = sql.strip()
    return bool(re.match(r"(?:DECLARE\b|BEGIN\b(?!\s+TRANSACTION\b)(?!\s*;))", text, re.IGNORECASE)) and bool(
        re.search(r"\bEND\s*;?\s*$", text, re.IGNORECASE)
    )


@dataclass
class Script:
    """One block's variables, run statement by statement."""

    run_statement: RunStatement
    variables: dict[str, Any] = field(default_factory=dict)

    def run(self, block: str) -> None:
        found = _BLOCK.match(block)
        if found is None:
            raise invalid("a Snowflake Scripting block is DECLARE … BEGIN … END", errno=1003, sqlstate="42601")
        for declaration in _statements(found["declare"] or ""):
            name = declaration.split()[0].upper()
            default = re.search(r"(?:DEFAULT|:=)\s*(?P<value>.+)$", declaration, re.IGNORECASE | re.DOTALL)
            self.variables[name] = self._value(default["value"]) if default else None
        self._run_all(_statements(found["body"]))

    def _run_all(self, statements: list[str]) -> None:
        for text in statements:
            self._run_one(text)

    def _run_one(self, text: str) -> None:
        if _UNSUPPORTED.match(text):
            raise invalid(f"the Snowflake emulator does not run this scripting construct: {text.split()[0].upper()}")
        head = text.split(None, 1)[0].upper()
        if head == "IF":
            self._if(text)
        elif head == "LET":
            let = re.match(r"LET\s+(?P<name>\w+)(?:\s+\w+)?\s*(?::=|DEFAULT)\s*(?P<value>.+)$", text, re.I | re.DOTALL)
            if let is None:
                raise invalid(f"cannot read the LET statement: {text[:120]}")
            self.variables[let["name"].upper()] = self._value(let["value"])
        elif re.match(r"\w+\s*:=", text):
            name, value = text.split(":=", 1)
            self.variables[name.strip().upper()] = self._value(value)
        elif head == "BEGIN" and not re.match(r"BEGIN\s+(?:TRANSACTION|WORK)\b", text, re.IGNORECASE):
            Script(self.run_statement, self.variables).run(text)
        else:
            self._sql(text)

    def _if(self, text: str) -> None:
        branches: list[tuple[str | None, str]] = []
        rest = re.sub(r"\bEND\s+IF\s*$", "", text, flags=re.IGNORECASE).strip()
        for part in _split_branches(rest):
            keyword, _, remainder = part.partition(" ")
            if keyword.upper() in ("IF", "ELSEIF"):
                condition, body = _condition_and_body(remainder)
                branches.append((condition, body))
            else:
                branches.append((None, remainder))
        for condition, body in branches:
            if condition is None or self._true(condition):
                self._run_all(_statements(body))
                return

    def _true(self, condition: str) -> bool:
        rows = self.run_statement(f"SELECT ({self._with_variables(condition, bare=True)})")
        return bool(rows and rows[0][0])

    def _value(self, expression: str) -> Any:
        rows = self.run_statement(f"SELECT ({self._with_variables(expression.strip(), bare=True)})")
        return rows[0][0] if rows else None

    def _sql(self, text: str) -> None:
        into = re.match(r"(?P<select>SELECT\b.*?)\bINTO\s+(?P<targets>:?\w+(?:\s*,\s*:?\w+)*)\s+(?P<rest>FROM\b.*)$",
                        text, re.IGNORECASE | re.DOTALL)  # fmt: skip
        if into is not None:
            targets = [t.strip().lstrip(":").upper() for t in into["targets"].split(",")]
            rows = self.run_statement(self._with_variables(f"{into['select']} {into['rest']}"))
            for position, target in enumerate(targets):
                self.variables[target] = rows[0][position] if rows else None
            return
        self.run_statement(self._with_variables(text))

    def _with_variables(self, sql: str, *, bare: bool = False) -> str:
        """``sql`` with ``:var`` (and, in a condition, a bare ``var``) written as the variable's value."""
        blanked = masked(sql)
        names = "|".join(re.escape(name) for name in sorted(self.variables, key=len, reverse=True))
        if not names:
            return sql
        pattern = rf"(?<![\w.:$]):(?P<a>{names})\b" + (rf"|(?<![\w.:$\"'])(?P<b>{names})\b(?!\s*\()" if bare else "")
        out, at = [], 0
        for found in re.finditer(pattern, blanked, re.IGNORECASE):
            out.append(sql[at : found.start()])
            out.append(sql_literal(self.variables[(found["a"] or found["b"]).upper()]))
            at = found.end()
        out.append(sql[at:])
        return "".join(out)


def _statements(text: str) -> list[str]:
    """The statements of a block body: split at ``;`` outside literals, parentheses and nested
    ``BEGIN … END`` / ``IF … END IF`` blocks (``BEGIN TRANSACTION`` opens no block)."""
    blanked = masked(text)
    parts, depth, parens, start = [], 0, 0, 0
    tokens = re.finditer(r"\bBEGIN\b(?!\s+(?:TRANSACTION|WORK)\b)|\bEND\s+IF\b|\bEND\b|\bIF\b|[();]", blanked, re.I)
    for token in tokens:
        word = " ".join(token.group(0).upper().split())
        if word == "(":
            parens += 1
        elif word == ")":
            parens -= 1
        elif parens:
            continue
        elif word in ("BEGIN", "IF") and not _inside_if_exists(blanked, token.start()):
            depth += 1
        elif word in ("END", "END IF"):
            depth -= 1
        elif word == ";" and depth == 0:
            parts.append(text[start : token.start()].strip())
            start = token.end()
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _inside_if_exists(blanked: str, position: int) -> bool:
    """``IF`` of ``IF EXISTS`` / ``IF NOT EXISTS`` inside a statement opens no block."""
    after = blanked[position + 2 : position + 20].lstrip().upper()
    return after.startswith(("EXISTS", "NOT EXISTS"))


def _split_branches(text: str) -> list[str]:
    """``IF c THEN … ELSEIF c THEN … ELSE …`` into its branches (nested IF blocks stay whole)."""
    blanked = masked(text)
    cuts, depth = [0], 0
    for token in re.finditer(r"\bEND\s+IF\b|\bIF\b|\bELSEIF\b|\bELSE\b", blanked, re.IGNORECASE):
        word = " ".join(token.group(0).upper().split())
        if word == "IF" and token.start() > 0 and not _inside_if_exists(blanked, token.start()):
            depth += 1
        elif word == "END IF":
            depth -= 1
        elif word in ("ELSEIF", "ELSE") and depth == 0:
            cuts.append(token.start())
    cuts.append(len(text))
    return [text[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b].strip()]


def _condition_and_body(text: str) -> tuple[str, str]:
    found = re.search(r"\bTHEN\b", masked(text), re.IGNORECASE)
    if found is None:
        raise invalid(f"an IF needs THEN: {text[:120]}")
    return text[: found.start()].strip(), text[found.end() :]
