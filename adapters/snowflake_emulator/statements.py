"""What every statement family of the emulator shares: reading a statement, naming objects, the
results a handler returns, Snowflake's error codes, and the router that picks the handler.

A family claims statements by their leading words (``CREATE MODEL``, ``SHOW RUNS`` …) and lists
the exact grammar it answers. A claimed statement that matches none of its grammar raises a
syntax-class error naming the statement: the emulator never answers a statement it does not know
with empty rows. Statements no family claims go to fakesnow unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snowflake.connector.errors import ProgrammingError

if TYPE_CHECKING:
    from mlops_kit.adapters.snowflake_emulator.account import EmulatedAccount
    from mlops_kit.adapters.snowflake_emulator.server import EmulatorSession

#: An identifier as Snowflake reads it: quoted (case kept, "" escapes a quote) or plain.
IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
#: A name of up to three parts (database.schema.object).
NAME = rf"{IDENT}(?:\s*\.\s*{IDENT}){{0,2}}"
#: A string literal: single-quoted ('' or \ escapes) or dollar-quoted.
STRING = r"(?:'(?:[^'\\]|''|\\.)*'|\$\$.*?\$\$)"

_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
_QUOTED = re.compile(r"'(?:[^'\\]|''|\\.)*'|\$\$.*?\$\$|\"(?:[^\"]|\"\")*\"", re.DOTALL)


#: Tag assignments: <tag> = '<value>' [, …] (group ``assignments``).
TAG_ASSIGNMENTS = rf"(?P<assignments>{NAME}\s*=\s*{STRING}(?:\s*,\s*{NAME}\s*=\s*{STRING})*)"


def creates(kind: str) -> str:
    """``CREATE [OR REPLACE] <kind> [IF NOT EXISTS] <name>`` (groups ``replace``, ``exists``, ``name``)."""
    return rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?{kind}\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME})"


def drops(kind: str) -> str:
    """``DROP <kind> [IF EXISTS] <name>`` (groups ``exists``, ``name``)."""
    return rf"DROP\s+{kind}\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})"


def without_comments(sql: str) -> str:
    """``sql`` with comments outside literals removed, trimmed, without a trailing semicolon."""
    out: list[str] = []
    position = 0
    for literal in _QUOTED.finditer(sql):
        out.append(_COMMENT.sub(" ", sql[position : literal.start()]))
        out.append(literal.group(0))
        position = literal.end()
    out.append(_COMMENT.sub(" ", sql[position:]))
    return "".join(out).strip().rstrip(";").strip()


def masked(sql: str) -> str:
    """``sql`` with the insides of string literals blanked, so patterns never match text in them."""
    return _QUOTED.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], sql)


def identifier(text: str) -> str:
    """One identifier as Snowflake stores it: quoted keeps case, plain is upper-cased."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1].replace('""', '"')
    return text.upper()


def split_name(text: str) -> list[str]:
    """The parts of a dotted name, each as :func:`identifier` stores it."""
    return [identifier(part) for part in re.findall(IDENT, text)]


def quoted(name: str) -> str:
    """A stored identifier written so Snowflake reads it back unchanged."""
    if re.fullmatch(r"[A-Z_][A-Z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def string_value(literal: str) -> str:
    """The value of a string literal ('…' or $$…$$)."""
    if literal.startswith("$$"):
        return literal[2:-2]
    body = literal[1:-1]
    return re.sub(r"''|\\(.)", lambda m: "'" if m.group(0) == "''" else _escape(m.group(1)), body)


def _escape(char: str) -> str:
    return {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(char, char)


def sql_string(value: str) -> str:
    """``value`` as a single-quoted SQL literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def like_pattern(pattern: str) -> re.Pattern[str]:
    """A SHOW … LIKE pattern as a regular expression (% and _ wildcards, case-insensitive)."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def sql_literal(value: Any) -> str:
    """A bound value (or a scripting variable's) written as a SQL literal."""
    import datetime

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime.datetime):
        return f"{sql_string(value.isoformat(sep=' '))}::{'TIMESTAMP_TZ' if value.tzinfo else 'TIMESTAMP_NTZ'}"
    if isinstance(value, datetime.date):
        return f"{sql_string(value.isoformat())}::DATE"
    return sql_string(value if isinstance(value, str) else str(value))


def option_value(text: str) -> str:
    """The value of a ``KEY = value`` option: a string literal's text, or the word as written."""
    return string_value(text) if text.startswith(("'", "$$")) else text


def options_pattern(*keys: str) -> re.Pattern[str]:
    """``KEY = value`` options of a DDL statement (groups ``key``, ``value``), for the given keys."""
    return re.compile(rf"(?P<key>{'|'.join(keys)})\s*=\s*(?P<value>{STRING}|{IDENT}|\d+)", re.IGNORECASE | re.DOTALL)


def inline_params(sql: str, params: Any) -> str:
    """``sql`` with its positional ``?`` bindings written in as literals."""
    if not isinstance(params, tuple | list):
        return sql
    values = iter(params)
    out: list[str] = []
    position = 0
    for found in re.finditer(r"\?", masked(sql)):
        out.append(sql[position : found.start()])
        out.append(sql_literal(next(values, None)))
        position = found.end()
    out.append(sql[position:])
    return "".join(out)


@dataclass(frozen=True)
class ObjectName:
    """A schema-level object's full name, each part as Snowflake stores it."""

    database: str
    schema: str
    name: str

    @property
    def fqn(self) -> str:
        """``DB.SCHEMA.NAME`` quoted where needed, as Snowflake prints it in messages."""
        return ".".join(quoted(part) for part in (self.database, self.schema, self.name))

    @property
    def parts(self) -> tuple[str, str, str]:
        return (self.database, self.schema, self.name)


@dataclass(frozen=True)
class SchemaName:
    database: str
    schema: str


@dataclass
class Statement:
    """One statement as a handler sees it."""

    sql: str  # without comments or a trailing semicolon
    params: Any  # positional tuple, named dict, or None
    session: EmulatorSession
    describe_only: bool = False

    @property
    def account(self) -> EmulatedAccount:
        return self.session.account

    def object_name(self, text: str, kind: str = "object") -> ObjectName:
        """Resolve a one-, two- or three-part name against the session's database and schema."""
        parts = split_name(text)
        database, schema = self.session.database, self.session.schema
        if len(parts) == 3:
            database, schema = parts[0], parts[1]
        elif len(parts) == 2:
            schema = parts[0]
        if not database or not schema:
            raise ProgrammingError(
                msg=f"Cannot perform operation on {kind} {text}. This session does not have a current "
                "database or schema. Call 'USE SCHEMA', or use a qualified name.",
                errno=90106,
                sqlstate="22000",
            )
        return ObjectName(database, schema, parts[-1])

    def schema_name(self, text: str | None) -> SchemaName:
        """Resolve ``DB.SCHEMA`` / ``SCHEMA`` / nothing (the current schema)."""
        parts = split_name(text) if text else []
        database = parts[0] if len(parts) == 2 else self.session.database
        schema = parts[-1] if parts else self.session.schema
        if not database or not schema:
            raise ProgrammingError(
                msg="This session does not have a current schema. Call 'USE SCHEMA', or use a qualified name.",
                errno=90106,
                sqlstate="22000",
            )
        return SchemaName(database, schema)


# SHOW … [LIKE '<pattern>'] [IN ACCOUNT | DATABASE [<db>] | SCHEMA [<schema>] | <schema>]

#: An optional LIKE '<pattern>' (group ``like``; read it with :func:`like_of`).
LIKE = rf"(?:\s+LIKE\s+(?P<like>{STRING}))?"

SHOW_FILTERS = (
    LIKE
    + rf"(?:\s+IN\s+(?P<scope>ACCOUNT|DATABASE(?:\s+(?P<database>{IDENT}))?|SCHEMA(?:\s+(?P<schema>{NAME}))?|(?P<bare>{NAME})))?"
)


@dataclass(frozen=True)
class ShowFilter:
    """What a SHOW command lists: objects whose name matches ``like`` within a database or schema."""

    like: re.Pattern[str] | None
    database: str | None  # None: the whole account
    schema: str | None  # None: every schema of the database

    def matches(self, database: str, schema: str, name: str) -> bool:
        if self.database is not None and database != self.database:
            return False
        if self.schema is not None and schema != self.schema:
            return False
        return self.like is None or bool(self.like.fullmatch(name))


def like_of(match: re.Match[str]) -> re.Pattern[str] | None:
    """The LIKE pattern a statement matched by :data:`LIKE` gives, if any."""
    return like_pattern(string_value(match["like"])) if match["like"] else None


def show_filter(statement: Statement, match: re.Match[str]) -> ShowFilter:
    """The LIKE pattern and IN scope of a SHOW command (groups from ``SHOW_FILTERS``).

    Without IN, a SHOW lists the current database (the whole account when there is none).
    """
    like = like_of(match)
    scope = (match["scope"] or "").upper()
    if scope == "ACCOUNT":
        return ShowFilter(like, None, None)
    if scope.startswith("DATABASE"):
        database = identifier(match["database"]) if match["database"] else statement.session.database
        return ShowFilter(like, database, None)
    if scope.startswith("SCHEMA") or match["bare"]:
        name = statement.schema_name(match["schema"] or match["bare"])
        return ShowFilter(like, name.database, name.schema)
    return ShowFilter(like, statement.session.database, None)


def run_on_fakesnow(statement: Statement, sql: str, params: Any = None) -> Any:
    """Run ``sql`` through fakesnow for this session now; its errors are Snowflake's errors."""
    cursor = statement.session.conn.cursor()
    cursor.execute(sql, binding_params=params, server=True)
    return cursor


@contextmanager
def registered(session: EmulatorSession, tables: dict[str, Any]) -> Iterator[None]:
    """Arrow tables as relations of the session's DuckDB connection for the length of one statement."""
    for name, table in tables.items():
        session.conn._duck_conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            session.conn._duck_conn.unregister(name)


# Results a handler returns.


@dataclass
class Rows:
    """A result set: columns as (name, DuckDB type) and rows of Python values."""

    columns: Sequence[tuple[str, str]]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def status(message: str) -> Rows:
    """The one-row ``status`` result Snowflake gives for DDL."""
    return Rows([("status", "VARCHAR")], [(message,)])


@dataclass
class Rewrite:
    """Run ``sql`` on fakesnow in place of the statement, inside ``context`` (e.g. registered functions)."""

    sql: str
    params: Any = None
    context: Callable[[], AbstractContextManager[Any]] | None = None


@dataclass
class FileTransfer:
    """A PUT or GET: the ``data`` the connector needs to move files itself (local file system)."""

    data: dict[str, Any]


Result = Rows | Rewrite | FileTransfer
Handler = Callable[[Statement, "re.Match[str]"], Result]


# Snowflake's errors, with its error numbers and SQL states.


def does_not_exist(kind: str, name: str) -> ProgrammingError:
    return ProgrammingError(
        msg=f"SQL compilation error:\n{kind} '{name}' does not exist or not authorized.", errno=2003, sqlstate="02000"
    )


def already_exists(kind: str, name: str) -> ProgrammingError:
    return ProgrammingError(
        msg=f"SQL compilation error:\n{kind} '{name}' already exists.", errno=2002, sqlstate="42710"
    )


def invalid(message: str, errno: int = 2140, sqlstate: str = "22023") -> ProgrammingError:
    """A statement Snowflake understands but refuses for its values (errno 2140 is Snowflake's
    "invalid value" of DDL options)."""
    return ProgrammingError(msg=f"SQL compilation error:\n{message}", errno=errno, sqlstate=sqlstate)


def unknown_statement(sql: str, family: str) -> ProgrammingError:
    text = " ".join(sql.split())
    return ProgrammingError(
        msg=(f"SQL compilation error:\nthe Snowflake emulator does not answer this statement ({family}): {text[:300]}"),
        errno=1003,
        sqlstate="42000",
    )


# Routing.


@dataclass
class Family:
    """Statements of one kind: what the family claims, and the grammar it answers."""

    name: str
    claims: re.Pattern[str]
    grammar: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list)

    def statement(self, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler for statements matching ``pattern`` in full (case-insensitive)."""

        def register(handler: Handler) -> Handler:
            self.grammar.append((re.compile(pattern, re.IGNORECASE | re.DOTALL), handler))
            return handler

        return register


def claim(*leading: str) -> re.Pattern[str]:
    """A pattern claiming statements that start with any of ``leading`` (regular expressions)."""
    return re.compile(r"^\s*(?:" + "|".join(leading) + r")", re.IGNORECASE | re.DOTALL)


def claim_anywhere(*patterns: str) -> re.Pattern[str]:
    """A pattern claiming statements that contain any of ``patterns`` outside string literals."""
    return re.compile("|".join(patterns), re.IGNORECASE | re.DOTALL)


class Router:
    """Finds the handler of a statement among the families, in order."""

    def __init__(self, families: Sequence[Family]) -> None:
        self.families = list(families)

    def route(self, sql: str, skip: frozenset[str] = frozenset()) -> tuple[Family, Handler, re.Match[str]] | None:
        """The family, handler and match for ``sql``; None when no family (outside ``skip``)
        claims it (fakesnow answers it).

        Raises:
            ProgrammingError: a family claims ``sql`` but knows no such statement.
        """
        blanked = masked(sql)
        for family in self.families:
            if family.name in skip or not family.claims.search(blanked):
                continue
            for pattern, handler in family.grammar:
                match = pattern.fullmatch(sql)
                if match:
                    return family, handler, match
            raise unknown_statement(sql, family.name)
        return None

    def statements(self) -> Iterator[tuple[str, str]]:
        """(family, pattern) of every statement the emulator answers, for documentation."""
        for family in self.families:
            for pattern, _ in family.grammar:
                yield family.name, pattern.pattern
