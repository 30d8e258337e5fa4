"""What snowflake-ml's FeatureStore sends that fakesnow lacks: tags and tag references, views that
keep the text they were created with, and the (absent) online feature tables.

An entity is a tag whose ALLOWED_VALUES are its join keys; a feature view version is a view
tagged with the feature store's metadata, read back from ``SHOW VIEWS … text``. Views run on
fakesnow (DuckDB); the emulator keeps what DuckDB cannot: the statement text, comment and tags.

The emulated account has no online feature tables: SHOW lists none, DROP … IF EXISTS succeeds, and
CREATE is not answered. Dynamic tables (feature views with a refresh_freq) are emulated in
``dynamic_tables.py``, tasks (cron feature views) in ``tasks.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlops_kit.adapters.snowflake_emulator import access_control
from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA
from mlops_kit.adapters.snowflake_emulator.queries import query_for_fakesnow
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    NAME,
    SHOW_FILTERS,
    STRING,
    TAG_ASSIGNMENTS,
    Family,
    ObjectName,
    Rewrite,
    Rows,
    Statement,
    already_exists,
    claim_anywhere,
    creates,
    does_not_exist,
    drops,
    invalid,
    quoted,
    registered,
    run_on_fakesnow,
    show_filter,
    sql_string,
    status,
    string_value,
)

family = Family(
    "tags and feature store objects",
    claim_anywhere(
        r"^\s*(?:CREATE|ALTER|DROP|UNDROP)\s+(?:OR\s+REPLACE\s+)?TAG\b",
        r"^\s*SHOW\s+(?:TAGS|VIEWS)\b",
        r"^\s*(?:CREATE|ALTER|DROP|SHOW)\s+(?:OR\s+REPLACE\s+)?ONLINE\s+FEATURE\s+TABLES?\b",
        r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:SECURE\s+)?VIEW\b",
        r"^\s*DROP\s+(?:VIEW|TABLE)\b",
        r"^\s*ALTER\s+(?:VIEW|TABLE)\b[^;]*\b(?:SET|UNSET)\s+(?:TAG|COMMENT)\b",
        r"^\s*ALTER\s+(?:VIEW|TABLE)\b[^;]*\bRENAME\s+TO\b",
        r"\bENTITY_DETAIL\s*\(",
        r"\bSYSTEM\$GET_TAG\s*\(",
    ),
)

_TIMESTAMP = "TIMESTAMP WITH TIME ZONE"

tag_references = Family("TAG_REFERENCES", claim_anywhere(r"\bINFORMATION_SCHEMA\s*\.\s*TAG_REFERENCES\s*\("))
_TAG_REFERENCES = re.compile(
    rf"TABLE\s*\(\s*(?:(?P<db>{IDENT})\s*\.\s*)?INFORMATION_SCHEMA\s*\.\s*TAG_REFERENCES\s*\(\s*"
    rf"(?P<name>{STRING})\s*,\s*(?P<domain>{STRING})\s*\)\s*\)",
    re.IGNORECASE | re.DOTALL,
)


# https://docs.snowflake.com/en/sql-reference/functions/tag_references: the tags set on one object,
# TABLE(<db>.INFORMATION_SCHEMA.TAG_REFERENCES('<object>', '<domain>')), with the documented columns.
@tag_references.statement(r"(?:SELECT|WITH)\b.*")
def tag_references_of(statement: Statement, match: re.Match[str]) -> Rewrite:
    import pyarrow as pa

    found = _TAG_REFERENCES.search(statement.sql)
    if found is None:
        raise invalid("TAG_REFERENCES is read as TABLE(<db>.INFORMATION_SCHEMA.TAG_REFERENCES('<object>', '<domain>'))")
    target = statement.object_name(string_value(found["name"]))
    domain = string_value(found["domain"]).upper()
    rows = statement.account.query(
        f"SELECT tag_database, tag_schema, tag_name, tag_value FROM {STATE_SCHEMA}.tag_references WHERE domain = ? "
        "AND object_database = ? AND object_schema = ? AND object_name = ? ORDER BY 1, 2, 3",
        [domain, *target.parts],
    )
    columns = {"TAG_DATABASE": 0, "TAG_SCHEMA": 1, "TAG_NAME": 2, "TAG_VALUE": 3}
    table = pa.table(
        {
            **{name: pa.array([r[i] for r in rows], pa.string()) for name, i in columns.items()},
            "LEVEL": pa.array([domain] * len(rows), pa.string()),
            "OBJECT_DATABASE": pa.array([target.database] * len(rows), pa.string()),
            "OBJECT_SCHEMA": pa.array([target.schema] * len(rows), pa.string()),
            "OBJECT_NAME": pa.array([target.name] * len(rows), pa.string()),
            "DOMAIN": pa.array([domain] * len(rows), pa.string()),
            "COLUMN_NAME": pa.array([None] * len(rows), pa.string()),
        }
    )
    relation = f"_EMULATOR_TAG_REFERENCES_{statement.session.id}"
    sql = statement.sql[: found.start()] + relation + statement.sql[found.end() :]
    return Rewrite(sql, statement.params, lambda: registered(statement.session, {relation: table}))


# Tags: https://docs.snowflake.com/en/sql-reference/sql/create-tag, …/alter-tag, …/drop-tag,
# …/show-tags (columns created_on, name, database_name, schema_name, owner, comment,
# allowed_values, owner_role_type).


@family.statement(
    creates("TAG") + rf"(?:\s+ALLOWED_VALUES\s+(?P<allowed>{STRING}(?:\s*,\s*{STRING})*))?"
    rf"(?:\s+COMMENT\s*=\s*(?P<comment>{STRING}))?"
)
def create_tag(statement: Statement, match: re.Match[str]) -> Rows:
    tag = statement.object_name(match["name"], "tag")
    if _tag_exists(statement, tag):
        if match["exists"]:
            return status(f"{tag.name} already exists, statement succeeded.")
        if not match["replace"]:
            raise already_exists("Object", tag.name)
    allowed = (
        json.dumps([string_value(v) for v in re.findall(STRING, match["allowed"], re.DOTALL)], separators=(",", ":"))
        if match["allowed"]
        else None
    )
    comment = string_value(match["comment"]) if match["comment"] else None
    statement.account.execute(
        f"INSERT OR REPLACE INTO {STATE_SCHEMA}.tags VALUES (?, ?, ?, ?, ?, now())", [*tag.parts, comment, allowed]
    )
    return status(f"Tag {tag.name} successfully created.")


def _tag_exists(statement: Statement, tag: ObjectName) -> bool:
    return statement.account.has("tags", tag.parts)


@family.statement(
    rf"ALTER\s+TAG\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+"
    rf"(?:SET\s+COMMENT\s*=\s*(?P<comment>{STRING})|(?P<unset>UNSET\s+COMMENT))"
)
def alter_tag(statement: Statement, match: re.Match[str]) -> Rows:
    tag = statement.object_name(match["name"], "tag")
    if not _tag_exists(statement, tag):
        if match["exists"]:
            return status("Statement executed successfully.")
        raise does_not_exist("Tag", tag.fqn)
    comment = None if match["unset"] else string_value(match["comment"])
    statement.account.execute(
        f"UPDATE {STATE_SCHEMA}.tags SET comment = ? WHERE database_name = ? AND schema_name = ? AND name = ?",
        [comment, *tag.parts],
    )
    return status("Statement executed successfully.")


@family.statement(drops("TAG"))
def drop_tag(statement: Statement, match: re.Match[str]) -> Rows:
    tag = statement.object_name(match["name"], "tag")
    if not _tag_exists(statement, tag):
        if match["exists"]:
            return status(f"Drop statement executed successfully ({tag.name} already dropped).")
        raise does_not_exist("Tag", tag.fqn)
    with statement.account.transaction():
        statement.account.execute(
            f"DELETE FROM {STATE_SCHEMA}.tags WHERE database_name = ? AND schema_name = ? AND name = ?",
            list(tag.parts),
        )
        # Dropping a tag unsets it on every object.
        statement.account.execute(
            f"DELETE FROM {STATE_SCHEMA}.tag_references WHERE tag_database = ? AND tag_schema = ? AND tag_name = ?",
            list(tag.parts),
        )
    return status(f"{tag.name} successfully dropped.")


@family.statement(rf"SHOW\s+TAGS{SHOW_FILTERS}")
def show_tags(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    rows = [
        (created_on, name, database, schema, "ACCOUNTADMIN", comment or "", allowed, "ROLE")
        for database, schema, name, comment, allowed, created_on in statement.account.query(
            f"SELECT database_name, schema_name, name, comment, allowed_values, created_on FROM {STATE_SCHEMA}.tags "
            "ORDER BY database_name, schema_name, name"
        )
        if wanted.matches(database, schema, name)
    ]
    return Rows(
        [
            ("created_on", _TIMESTAMP),
            ("name", "VARCHAR"),
            ("database_name", "VARCHAR"),
            ("schema_name", "VARCHAR"),
            ("owner", "VARCHAR"),
            ("comment", "VARCHAR"),
            ("allowed_values", "VARCHAR"),
            ("owner_role_type", "VARCHAR"),
        ],
        rows,
    )


def set_tags(statement: Statement, domain: str, target: ObjectName, assignments: str) -> None:
    """Set tags on an object (https://docs.snowflake.com/en/sql-reference/sql/alter-table, SET TAG)."""
    for name, value in re.findall(rf"({NAME})\s*=\s*({STRING})", assignments, re.DOTALL):
        tag = statement.object_name(name, "tag")
        if not _tag_exists(statement, tag):
            raise does_not_exist("Tag", tag.fqn)
        allowed = statement.account.query(
            f"SELECT allowed_values FROM {STATE_SCHEMA}.tags WHERE database_name = ? AND schema_name = ? AND name = ?",
            list(tag.parts),
        )[0][0]
        text = string_value(value)
        if allowed is not None and text not in json.loads(allowed):
            raise invalid(f"Tag {tag.fqn} does not allow the value '{text}'. Allowed values: {allowed}", 3884)
        statement.account.execute(
            f"INSERT OR REPLACE INTO {STATE_SCHEMA}.tag_references VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [*tag.parts, domain, *target.parts, text],
        )


def unset_tags(statement: Statement, domain: str, target: ObjectName, names: str) -> None:
    for name in re.findall(NAME, names):
        tag = statement.object_name(name, "tag")
        statement.account.execute(
            f"DELETE FROM {STATE_SCHEMA}.tag_references WHERE tag_database = ? AND tag_schema = ? AND tag_name = ? "
            "AND domain = ? AND object_database = ? AND object_schema = ? AND object_name = ?",
            [*tag.parts, domain, *target.parts],
        )


def forget_object(statement: Statement, domain: str, target: ObjectName) -> None:
    """A dropped object's tags, view text, comment and grants go with it."""
    for kind in ("TABLE", "VIEW"):
        access_control.forget_grants(statement, kind, target)
    statement.account.execute(
        f"DELETE FROM {STATE_SCHEMA}.tag_references WHERE domain = ? AND object_database = ? AND object_schema = ? "
        "AND object_name = ?",
        [domain, *target.parts],
    )
    statement.account.execute(
        f"DELETE FROM {STATE_SCHEMA}.warehouse_objects WHERE database_name = ? AND schema_name = ? AND name = ?",
        list(target.parts),
    )


# Views: https://docs.snowflake.com/en/sql-reference/sql/create-view. Snowflake keeps a view's
# statement text as given (SHOW VIEWS … text), its COMMENT and its TAG (…) assignments.

_CREATE_VIEW = (
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?P<secure>SECURE\s+)?VIEW\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?P<name>{NAME})(?:\s*\((?P<columns>[^()]*(?:\([^()]*\)[^()]*)*)\))?"
    rf"(?:\s+COMMENT\s*=\s*(?P<comment>{STRING}))?"
    rf"(?:\s+(?:WITH\s+)?TAG\s*\(\s*{TAG_ASSIGNMENTS}\s*\))?"
    rf"\s+AS\s+(?P<query>.*)"
)


@family.statement(_CREATE_VIEW)
def create_view(statement: Statement, match: re.Match[str]) -> Rows:
    view = statement.object_name(match["name"], "view")
    columns = ""
    if match["columns"]:
        # Column COMMENTs are kept in the text only; DuckDB takes the names.
        names = [re.match(IDENT, part.strip()) for part in split_top_level(match["columns"])]
        columns = " (" + ", ".join(n.group(0) for n in names if n) + ")"
    replace = "OR REPLACE " if match["replace"] else ""
    exists = "IF NOT EXISTS " if match["exists"] else ""
    if match["exists"] and _view_recorded(statement, view):
        return status(f"{view.name} already exists, statement succeeded.")
    query = query_for_fakesnow(match["query"])
    run_on_fakesnow(statement, f"CREATE {replace}VIEW {exists}{view.fqn}{columns} AS {query}", statement.params)
    with statement.account.transaction():
        forget_object(statement, "TABLE", view)
        statement.account.execute(
            f"INSERT INTO {STATE_SCHEMA}.warehouse_objects VALUES ('VIEW', ?, ?, ?, ?, ?, now())",
            [*view.parts, statement.sql, string_value(match["comment"]) if match["comment"] else None],
        )
        if match["assignments"]:
            set_tags(statement, "TABLE", view, match["assignments"])
    return status(f"View {view.name} successfully created.")


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += char == "("
        depth -= char == ")"
        current.append(char)
    parts.append("".join(current))
    return parts


def _view_recorded(statement: Statement, view: ObjectName) -> bool:
    return bool(
        statement.account.query(
            "SELECT 1 FROM duckdb_views() WHERE database_name = ? AND schema_name = ? AND view_name = ?",
            list(view.parts),
        )
    )


@family.statement(
    rf"DROP\s+(?P<kind>VIEW|TABLE)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})(?P<tail>\s+(?:CASCADE|RESTRICT))?"
)
def drop_view_or_table(statement: Statement, match: re.Match[str]) -> Any:
    target = statement.object_name(match["name"], match["kind"].lower())
    cursor = run_on_fakesnow(statement, statement.sql, statement.params)
    forget_object(statement, "TABLE", target)
    return Rows([("status", "VARCHAR")], [tuple(row) for row in cursor.fetchall()])


# ALTER VIEW | TABLE … RENAME TO: https://docs.snowflake.com/en/sql-reference/sql/alter-view,
# https://docs.snowflake.com/en/sql-reference/sql/alter-table. The object keeps its tags, its view
# text and its comment under the new name (the feature store renames a view into place).
@family.statement(
    rf"ALTER\s+(?P<kind>VIEW|TABLE)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+RENAME\s+TO\s+(?P<new>{NAME})"
)
def rename_view_or_table(statement: Statement, match: re.Match[str]) -> Rows:
    kind = match["kind"].lower()
    target, renamed = statement.object_name(match["name"], kind), statement.object_name(match["new"], kind)
    if not object_exists(statement, target):
        if match["exists"]:
            return status("Statement executed successfully.")
        raise does_not_exist(match["kind"].capitalize(), target.fqn)
    if renamed.parts[:2] != target.parts[:2]:
        raise invalid(f"the emulator renames a {kind} within its schema only")
    if object_exists(statement, renamed):
        raise already_exists("Object", renamed.name)
    run_on_fakesnow(statement, f"ALTER {kind.upper()} {target.fqn} RENAME TO {quoted(renamed.name)}")
    with statement.account.transaction():
        statement.account.execute(
            f"UPDATE {STATE_SCHEMA}.tag_references SET object_name = ? WHERE domain = 'TABLE' "
            "AND object_database = ? AND object_schema = ? AND object_name = ?",
            [renamed.name, *target.parts],
        )
        statement.account.execute(
            f"UPDATE {STATE_SCHEMA}.warehouse_objects SET name = ? WHERE kind = ? AND database_name = ? "
            "AND schema_name = ? AND name = ?",
            [renamed.name, kind.upper(), *target.parts],
        )
        access_control.move_grants(statement, kind.upper(), target, renamed)
    return status("Statement executed successfully.")


@family.statement(
    rf"ALTER\s+(?P<kind>VIEW|TABLE)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+"
    rf"(?:SET\s+(?:COMMENT\s*=\s*(?P<comment>{STRING})|TAG\s+{TAG_ASSIGNMENTS})|UNSET\s+TAG\s+(?P<unset>{NAME}(?:\s*,\s*{NAME})*))"
)
def alter_view_or_table(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], match["kind"].lower())
    if not object_exists(statement, target):
        if match["exists"]:
            return status("Statement executed successfully.")
        raise does_not_exist(match["kind"].capitalize(), target.fqn)
    if match["comment"] is not None:
        if match["kind"].upper() == "TABLE":
            run_on_fakesnow(statement, statement.sql, statement.params)
        else:
            statement.account.execute(
                f"UPDATE {STATE_SCHEMA}.warehouse_objects SET comment = ? WHERE database_name = ? AND schema_name = ? "
                "AND name = ?",
                [string_value(match["comment"]), *target.parts],
            )
    elif match["assignments"]:
        set_tags(statement, "TABLE", target, match["assignments"])
    else:
        unset_tags(statement, "TABLE", target, match["unset"])
    return status("Statement executed successfully.")


def object_exists(statement: Statement, target: ObjectName) -> bool:
    """Whether a table or view ``target`` exists."""
    return bool(
        statement.account.query(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ? "
            "UNION ALL SELECT 1 FROM duckdb_views() WHERE database_name = ? AND schema_name = ? AND view_name = ?",
            [*target.parts, *target.parts],
        )
    )


# SHOW VIEWS: https://docs.snowflake.com/en/sql-reference/sql/show-views (columns created_on, name,
# reserved, database_name, schema_name, owner, comment, text, is_secure, is_materialized,
# owner_role_type, change_tracking)


@family.statement(rf"SHOW\s+(?P<terse>TERSE\s+)?VIEWS{SHOW_FILTERS}")
def show_views(statement: Statement, match: re.Match[str]) -> Rows:
    wanted = show_filter(statement, match)
    found = statement.account.query(
        f"""
        SELECT v.database_name, v.schema_name, v.view_name, coalesce(o.definition, v.sql), o.comment,
               coalesce(o.created_on, to_timestamp(0))
        FROM duckdb_views() v
        LEFT JOIN {STATE_SCHEMA}.warehouse_objects o
          ON o.kind = 'VIEW' AND o.database_name = v.database_name AND o.schema_name = v.schema_name
             AND o.name = v.view_name
        WHERE NOT v.internal AND v.schema_name NOT IN ('_fs_information_schema', 'information_schema', 'main')
          AND v.database_name NOT IN ('system', 'temp', '_fs_global')
        ORDER BY 1, 2, 3
        """
    )
    rows = [
        (created, name, "", database, schema, "ACCOUNTADMIN", comment or "", text, "false", "false", "ROLE", "OFF")
        for database, schema, name, text, comment, created in found
        if wanted.matches(database, schema, name)
    ]
    return Rows(
        [
            ("created_on", _TIMESTAMP),
            ("name", "VARCHAR"),
            ("reserved", "VARCHAR"),
            ("database_name", "VARCHAR"),
            ("schema_name", "VARCHAR"),
            ("owner", "VARCHAR"),
            ("comment", "VARCHAR"),
            ("text", "VARCHAR"),
            ("is_secure", "VARCHAR"),
            ("is_materialized", "VARCHAR"),
            ("owner_role_type", "VARCHAR"),
            ("change_tracking", "VARCHAR"),
        ],
        rows,
    )


# Online feature tables do not exist in the emulated account: SHOW lists none
# (https://docs.snowflake.com/en/sql-reference/sql/show-online-feature-tables for the columns),
# DROP/ALTER … IF EXISTS succeed without one, and anything else (CREATE …) is a statement the emulator
# does not answer. Dynamic tables are emulated in dynamic_tables.py, tasks in tasks.py.


@family.statement(
    rf"(?P<verb>DROP|ALTER)\s+(?P<kind>ONLINE\s+FEATURE\s+TABLE)\s+(?P<exists>IF\s+EXISTS\s+)?"
    rf"(?P<name>{NAME})(?:\s+.*)?"
)
def drop_or_alter_absent(statement: Statement, match: re.Match[str]) -> Rows:
    target = statement.object_name(match["name"], match["kind"].lower())
    if match["exists"]:
        if match["verb"].upper() == "DROP":
            return status(f"Drop statement executed successfully ({target.name} already dropped).")
        return status("Statement executed successfully.")
    raise does_not_exist(" ".join(match["kind"].split()).title(), target.fqn)


@family.statement(rf"SHOW\s+ONLINE\s+FEATURE\s+TABLES{SHOW_FILTERS}")
def show_online_feature_tables(statement: Statement, match: re.Match[str]) -> Rows:
    # https://docs.snowflake.com/en/sql-reference/sql/show-online-feature-tables
    show_filter(statement, match)
    columns = ["created_on", "name", "database_name", "schema_name", "owner", "comment", "target_lag",
               "refresh_mode", "warehouse", "store_type", "owner_role_type"]  # fmt: skip
    return Rows([(c, _TIMESTAMP if c == "created_on" else "VARCHAR") for c in columns])


# ENTITY_DETAIL is the system function snowflake-ml reads tag references with (not in Snowflake's
# public reference): ('TAG', <tag>, '["TAG_REFERENCES_INTERNAL"]') lists the objects a tag is set on,
# (<domain>, <object>, '["TAG_REFERENCES"]') the tags set on an object. The JSON has the fields
# snowflake-ml reads (feature_store.py, _lookup_tags / _lookup_tagged_objects).


@family.statement(
    rf"SELECT\s+ENTITY_DETAIL\s*\(\s*(?P<domain>{STRING})\s*,\s*(?P<name>{STRING})\s*,\s*(?P<what>{STRING})\s*\)"
)
def entity_detail(statement: Statement, match: re.Match[str]) -> Rows:
    domain = string_value(match["domain"]).upper()
    target = statement.object_name(string_value(match["name"]))
    what = json.loads(string_value(match["what"]))
    call = " ".join(match.group(0)[len("SELECT") :].split())
    if domain == "TAG" and what == ["TAG_REFERENCES_INTERNAL"]:
        if not _tag_exists(statement, target):
            raise does_not_exist("Tag", target.fqn)
        rows = statement.account.query(
            f"SELECT * FROM {STATE_SCHEMA}.tag_references WHERE tag_database = ? AND tag_schema = ? AND tag_name = ? "
            "ORDER BY object_database, object_schema, object_name",
            list(target.parts),
        )
        detail = {"referencedEntities": {"tagReferenceList": [_reference(row) for row in rows]}}
    elif what == ["TAG_REFERENCES"]:
        rows = statement.account.query(
            f"SELECT * FROM {STATE_SCHEMA}.tag_references WHERE domain = ? AND object_database = ? "
            "AND object_schema = ? AND object_name = ? ORDER BY tag_database, tag_schema, tag_name",
            [domain, *target.parts],
        )
        detail = {"tagReferencesInfo": {"tagReferenceList": [_reference(row) for row in rows]}}
    else:
        raise invalid(f"ENTITY_DETAIL of {domain} {what} is not emulated")
    return Rows([(call.upper(), "VARCHAR")], [(json.dumps(detail),)])


def _reference(row: tuple[Any, ...]) -> dict[str, str]:
    tag_database, tag_schema, tag_name, domain, database, schema, name, value = row
    return {
        "tagDatabase": tag_database,
        "tagSchema": tag_schema,
        "tagName": tag_name,
        "tagValue": value,
        "domain": domain,
        "entityDatabase": database,
        "entitySchema": schema,
        "entityName": name,
    }


# https://docs.snowflake.com/en/sql-reference/functions/system_get_tag: the tag's value on the
# object, NULL when it is not set.
@family.statement(
    rf"SELECT\s+SYSTEM\$GET_TAG\s*\(\s*(?P<tag>{STRING})\s*,\s*(?P<name>{STRING})\s*,\s*(?P<domain>{STRING})\s*\)"
    rf"(?:\s+AS\s+(?P<alias>{IDENT}))?"
)
def get_tag(statement: Statement, match: re.Match[str]) -> Rows:
    tag = statement.object_name(string_value(match["tag"]), "tag")
    if not _tag_exists(statement, tag):
        raise does_not_exist("Tag", tag.fqn)
    target = statement.object_name(string_value(match["name"]))
    found = statement.account.query(
        f"SELECT tag_value FROM {STATE_SCHEMA}.tag_references WHERE tag_database = ? AND tag_schema = ? "
        "AND tag_name = ? AND domain = ? AND object_database = ? AND object_schema = ? AND object_name = ?",
        [*tag.parts, string_value(match["domain"]).upper(), *target.parts],
    )
    column = match["alias"].upper() if match["alias"] else f"SYSTEM$GET_TAG({sql_string(tag.fqn)})"
    return Rows([(column, "VARCHAR")], [(found[0][0] if found else None,)])
