"""Names as Snowflake treats them, on every backend.

Object names are plain SQL identifiers: case-insensitive and canonically upper case. Anything else
(quotes, spaces, semicolons) is rejected here, so a name is never pasted into SQL unchecked.
Feature view versions keep their case (Snowflake stores ``CUSTOMER_FEATURES$v1``); model version
names are identifiers (``v1`` becomes ``V1``). A database, schema, entity, feature view, experiment,
run or model name is not one of Snowflake's reserved keywords: those names reach Snowflake's DDL
unquoted (through snowflake-ml too), where ``MINUS`` or ``REGEXP`` would not parse. Table and column
names, which the kit quotes, may be keywords (a user's own SQL quotes them, as on Snowflake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlops_kit.errors import InvalidInputError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
_FEATURE_VIEW_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")

#: Snowflake's reserved keywords (https://docs.snowflake.com/en/sql-reference/reserved-keywords: those
#: "reserved by ANSI" or by Snowflake, and those that cannot name a table or be a column reference).
RESERVED_KEYWORDS = frozenset(
    """
    ACCOUNT ALL ALTER AND ANY AS BETWEEN BY CASE CAST CHECK COLUMN CONNECT CONNECTION CONSTRAINT CREATE
    CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DATABASE DELETE DISTINCT DROP
    ELSE EXISTS FALSE FOLLOWING FOR FROM FULL GRANT GROUP GSCLUSTER HAVING ILIKE IN INCREMENT INNER INSERT
    INTERSECT INTO IS ISSUE JOIN LATERAL LEFT LIKE LOCALTIME LOCALTIMESTAMP MINUS NATURAL NOT NULL OF ON
    OR ORDER ORGANIZATION QUALIFY REGEXP REVOKE RIGHT RLIKE ROW ROWS SAMPLE SCHEMA SELECT SET SOME START
    TABLE TABLESAMPLE THEN TO TRIGGER TRUE TRY_CAST UNION UNIQUE UPDATE USING VALUES VIEW WHEN WHENEVER
    WHERE WINDOW WITH
    """.split()
)


def identifier(name: str, what: str = "name", *, keyword_ok: bool = False) -> str:
    """Return ``name`` upper-cased after checking it is a plain SQL identifier.

    Args:
        keyword_ok: accept a reserved keyword (for column names, which the kit quotes).
    Raises:
        InvalidInputError: ``name`` is empty, not a plain identifier, or a reserved keyword; the
            message names ``what``.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InvalidInputError(
            f"{what} {name!r} is not a plain identifier: use letters, digits, '_' or '$', "
            "starting with a letter or '_' (quoted identifiers are not supported)"
        )
    if not keyword_ok and name.upper() in RESERVED_KEYWORDS:
        raise InvalidInputError(
            f"{what} {name!r} is a reserved keyword in Snowflake SQL and cannot name an object there: "
            f"choose another name, e.g. {name.upper()}_1"
        )
    return name.upper()


def model_version(name: str) -> str:
    """Canonical model version name: an identifier, upper case (``v1`` -> ``V1``)."""
    return identifier(name, "model version")


def feature_view_version(version: str) -> str:
    """A feature view version, kept as given (``v1`` stays ``v1``) after validation."""
    if not isinstance(version, str) or not _FEATURE_VIEW_VERSION.fullmatch(version):
        raise InvalidInputError(
            f"feature view version {version!r} is invalid: use letters, digits, '_', '.' or '-' "
            "(at most 128 characters, not starting with '.' or '-')"
        )
    return version


def feature_view_object(name: str, version: str) -> str:
    """The object name a feature view version has in the warehouse, as Snowflake names it."""
    return f"{identifier(name, 'feature view')}${feature_view_version(version)}"


@dataclass(frozen=True)
class TableName:
    """A table name split into its parts, each canonical."""

    schema: str
    table: str
    database: str | None = None

    def qualified(self) -> str:
        parts = [self.database, self.schema, self.table] if self.database else [self.schema, self.table]
        return ".".join(parts)

    def quoted(self) -> str:
        """The name quoted part by part (``"PREP_DATA"."ORDER"``): the same object as ``qualified()``,
        since every part is canonical, and safe where a part is a reserved word."""
        parts = [self.database, self.schema, self.table] if self.database else [self.schema, self.table]
        return ".".join(f'"{part}"' for part in parts)

    def __str__(self) -> str:
        return self.qualified()


def table_name(name: str, default_schema: str | None = None) -> TableName:
    """Parse ``TABLE``, ``SCHEMA.TABLE`` or ``DATABASE.SCHEMA.TABLE`` into canonical parts.

    Raises:
        InvalidInputError: a part is not an identifier, or no schema is given and there is no default.
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"table name {name!r} is empty")
    parts = name.split(".")
    if len(parts) > 3:
        raise InvalidInputError(f"table name {name!r} has more than three parts (database.schema.table)")
    table = identifier(parts[-1], f"table name in {name!r}", keyword_ok=True)  # the kit quotes table names
    if len(parts) == 1:
        if default_schema is None:
            raise InvalidInputError(f"table name {name!r} needs a schema: write SCHEMA.{parts[0]}")
        return TableName(schema=identifier(default_schema, "schema"), table=table)
    schema = identifier(parts[-2], f"schema in {name!r}")
    database = identifier(parts[0], f"database in {name!r}") if len(parts) == 3 else None
    return TableName(schema=schema, table=table, database=database)
