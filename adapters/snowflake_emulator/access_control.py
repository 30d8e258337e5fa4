"""Roles and grants: ``CREATE ROLE``, ``DROP ROLE``, ``GRANT … TO ROLE``, ``GRANT ROLE``, ``REVOKE``,
``SHOW ROLES`` and ``SHOW GRANTS``, kept as Snowflake keeps them, and a grant's life with its object.

https://docs.snowflake.com/en/user-guide/security-access-control-overview: a privilege on an object
is granted to a role; roles are granted to roles and users. The emulator records them: an object's
grants stay with the object (a rename keeps them, ``ALTER TABLE … SWAP WITH`` exchanges them), go
with it when it is dropped or replaced (``CREATE OR REPLACE TABLE``), and are copied to the new table
by ``COPY GRANTS`` (https://docs.snowflake.com/en/sql-reference/sql/create-table, COPY GRANTS).
A session has a current role (the login's ``role``, ``USE ROLE``): a role the emulated user holds,
that is ACCOUNTADMIN, PUBLIC, the system roles under ACCOUNTADMIN, a role granted to the user, or one
granted (directly or through other roles) to a role the user holds
(https://docs.snowflake.com/en/user-guide/security-access-control-overview, "Role hierarchy").
It does not check privileges yet: whatever the current role, every statement runs.
"""

from __future__ import annotations

import re

from mlops_kit.adapters.snowflake_emulator.account import STATE_SCHEMA, EmulatedAccount
from mlops_kit.adapters.snowflake_emulator.statements import (
    IDENT,
    LIKE,
    NAME,
    STRING,
    Family,
    ObjectName,
    Rewrite,
    Rows,
    Statement,
    already_exists,
    claim,
    does_not_exist,
    identifier,
    like_of,
    status,
    string_value,
)

family = Family(
    "roles and grants",
    claim(
        r"(?:CREATE(?:\s+OR\s+REPLACE)?|DROP)\s+ROLE\b",
        r"GRANT\b",
        r"REVOKE\b",
        r"SHOW\s+(?:TERSE\s+)?ROLES\b",
        r"SHOW\s+GRANTS\b",
        r"USE\s+(?:SECONDARY\s+)?ROLES?\b",
        r"CREATE\s+OR\s+REPLACE\s+(?:TRANSIENT\s+)?TABLE\b",
    ),
)

_ROLES = f"{STATE_SCHEMA}.roles"
_GRANTS = f"{STATE_SCHEMA}.grants"
_ROLE_GRANTS = f"{STATE_SCHEMA}.role_grants"
#: The account's system roles (https://docs.snowflake.com/en/user-guide/security-access-control-overview,
#: "System-defined roles"); its one user holds ACCOUNTADMIN.
SYSTEM_ROLES = ("ACCOUNTADMIN", "ORGADMIN", "PUBLIC", "SECURITYADMIN", "SYSADMIN", "USERADMIN")
CURRENT_ROLE = "ACCOUNTADMIN"
#: The emulated user (``connection_parameters``' user) and the roles it holds by default.
USER = "EMULATOR"
_HELD_BY_DEFAULT = {"ACCOUNTADMIN": ("SYSADMIN", "SECURITYADMIN"), "SECURITYADMIN": ("USERADMIN",)}


#: Object kinds a privilege is granted on, and how many parts their names have (0: the account).
_KINDS = {
    "ACCOUNT": 0, "WAREHOUSE": 1, "DATABASE": 1, "INTEGRATION": 1, "ROLE": 1, "SCHEMA": 2, "TABLE": 3,
    "VIEW": 3, "DYNAMIC TABLE": 3, "STAGE": 3, "MODEL": 3, "TAG": 3, "TASK": 3, "FUNCTION": 3,
    "PROCEDURE": 3, "DATASET": 3, "EXPERIMENT": 3,
}  # fmt: skip
_KIND = r"(?P<kind>ACCOUNT|WAREHOUSE|DATABASE|INTEGRATION|SCHEMA|DYNAMIC\s+TABLE|TABLE|VIEW|STAGE|MODEL|TAG|TASK|FUNCTION|PROCEDURE|DATASET|EXPERIMENT)"
_PRIVILEGES = r"(?P<privileges>ALL(?:\s+PRIVILEGES)?|[A-Z_]+(?:\s+[A-Z_]+)*(?:\s*,\s*[A-Z_]+(?:\s+[A-Z_]+)*)*)"


def _role(statement: Statement, text: str, *, must_exist: bool = True) -> str:
    role = identifier(text)
    if (
        must_exist
        and role not in SYSTEM_ROLES
        and not statement.account.query(f"SELECT 1 FROM {_ROLES} WHERE name = ?", [role])
    ):
        raise does_not_exist("Role", role)
    return role


def is_usable(account: EmulatedAccount, role: str) -> bool:
    """Whether the emulated user may make ``role`` its current role (see the module docstring)."""
    held = {"ACCOUNTADMIN", "PUBLIC"}
    held |= {str(r) for (r,) in account.query(
        f"SELECT role FROM {_ROLE_GRANTS} WHERE grantee_kind = 'USER' AND grantee = ?", [USER]
    )}  # fmt: skip
    grants: dict[str, set[str]] = {}
    for granted, grantee in account.query(f"SELECT role, grantee FROM {_ROLE_GRANTS} WHERE grantee_kind = 'ROLE'"):
        grants.setdefault(str(grantee), set()).add(str(granted))
    for holder, roles in _HELD_BY_DEFAULT.items():
        grants.setdefault(holder, set()).update(roles)
    pending = list(held)
    while pending:
        for granted in grants.get(pending.pop(), set()) - held:
            held.add(granted)
            pending.append(granted)
    return role in held


# https://docs.snowflake.com/en/sql-reference/sql/use-role
@family.statement(rf"USE\s+ROLE\s+(?P<name>{IDENT})")
def use_role(statement: Statement, match: re.Match[str]) -> Rows:
    role = identifier(match["name"])
    if not is_usable(statement.account, role):
        raise does_not_exist("Role", role)
    statement.session.role = role
    return status("Statement executed successfully.")


def _target(statement: Statement, kind: str, text: str | None) -> tuple[str, str, str]:
    """(database, schema, name) of the object a grant is on; '' for the parts its kind has none of."""
    parts = _KINDS[kind]
    if parts == 0 or text is None:
        return "", "", ""
    if parts == 1:
        return "", "", identifier(text)
    if parts == 2:
        schema = statement.schema_name(text)
        return schema.database, schema.schema, ""
    return statement.object_name(text, kind.lower()).parts


# Roles: https://docs.snowflake.com/en/sql-reference/sql/create-role, …/drop-role, …/show-roles.


@family.statement(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?ROLE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{IDENT})"
    rf"(?:\s+COMMENT\s*=\s*(?P<comment>{STRING}))?"
)
def create_role(statement: Statement, match: re.Match[str]) -> Rows:
    role = _role(statement, match["name"], must_exist=False)
    known = role in SYSTEM_ROLES or statement.account.query(f"SELECT 1 FROM {_ROLES} WHERE name = ?", [role])
    if known and match["exists"]:
        return status(f"{role} already exists, statement succeeded.")
    if known and not match["replace"]:
        raise already_exists("Object", role)
    comment = string_value(match["comment"]) if match["comment"] else None
    statement.account.execute(f"INSERT OR REPLACE INTO {_ROLES} VALUES (?, ?, now())", [role, comment])
    return status(f"Role {role} successfully created.")


@family.statement(rf"DROP\s+ROLE\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{IDENT})")
def drop_role(statement: Statement, match: re.Match[str]) -> Rows:
    role = identifier(match["name"])
    if not statement.account.query(f"SELECT 1 FROM {_ROLES} WHERE name = ?", [role]):
        if match["exists"]:
            return status(f"Drop statement executed successfully ({role} already dropped).")
        raise does_not_exist("Role", role)
    with statement.account.transaction():
        statement.account.execute(f"DELETE FROM {_ROLES} WHERE name = ?", [role])
        statement.account.execute(f"DELETE FROM {_GRANTS} WHERE grantee = ?", [role])
        statement.account.execute(
            f"DELETE FROM {_ROLE_GRANTS} WHERE role = ? OR (grantee_kind = 'ROLE' AND grantee = ?)", [role, role]
        )
    return status(f"{role} successfully dropped.")


@family.statement(rf"SHOW\s+(?P<terse>TERSE\s+)?ROLES{LIKE}(?:\s+LIMIT\s+(?P<limit>\d+))?")
def show_roles(statement: Statement, match: re.Match[str]) -> Rows:
    like = like_of(match)
    created = statement.account.created_on
    made = statement.account.query(f"SELECT name, comment, created_on FROM {_ROLES} ORDER BY name")
    roles = [(name, None, created) for name in SYSTEM_ROLES] + [tuple(row) for row in made]
    rows = []
    for name, comment, created_on in sorted(roles, key=lambda role: role[0]):
        if like is not None and not like.fullmatch(name):
            continue
        current = "Y" if name == statement.session.role else "N"
        granted_to = statement.account.query(f"SELECT count(*) FROM {_ROLE_GRANTS} WHERE role = ?", [name])[0][0]
        owner = "" if name in ("ACCOUNTADMIN", "PUBLIC") else "ACCOUNTADMIN"
        rows.append((created_on, name, current, current, "N", 1 if current == "Y" else 0, granted_to, 0, owner,
                     comment or "", "ROLE"))  # fmt: skip
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    return Rows(_ROLE_COLUMNS, rows)


_ROLE_COLUMNS = [
    ("created_on", "TIMESTAMP WITH TIME ZONE"), ("name", "VARCHAR"), ("is_default", "VARCHAR"),
    ("is_current", "VARCHAR"), ("is_inherited", "VARCHAR"), ("assigned_to_users", "BIGINT"),
    ("granted_to_roles", "BIGINT"), ("granted_roles", "BIGINT"), ("owner", "VARCHAR"), ("comment", "VARCHAR"),
    ("owner_role_type", "VARCHAR"),
]  # fmt: skip


# Grants: https://docs.snowflake.com/en/sql-reference/sql/grant-privilege, …/grant-role,
# …/revoke-privilege, …/revoke-role, …/show-grants.


@family.statement(rf"GRANT\s+ROLE\s+(?P<role>{IDENT})\s+TO\s+(?P<grantee_kind>ROLE|USER)\s+(?P<grantee>{IDENT})")
def grant_role(statement: Statement, match: re.Match[str]) -> Rows:
    role = _role(statement, match["role"])
    kind = match["grantee_kind"].upper()
    grantee = _role(statement, match["grantee"]) if kind == "ROLE" else identifier(match["grantee"])
    statement.account.execute(f"INSERT OR IGNORE INTO {_ROLE_GRANTS} VALUES (?, ?, ?, now())", [role, kind, grantee])
    return status("Statement executed successfully.")


@family.statement(rf"REVOKE\s+ROLE\s+(?P<role>{IDENT})\s+FROM\s+(?P<grantee_kind>ROLE|USER)\s+(?P<grantee>{IDENT})")
def revoke_role(statement: Statement, match: re.Match[str]) -> Rows:
    statement.account.execute(
        f"DELETE FROM {_ROLE_GRANTS} WHERE role = ? AND grantee_kind = ? AND grantee = ?",
        [identifier(match["role"]), match["grantee_kind"].upper(), identifier(match["grantee"])],
    )
    return status("Statement executed successfully.")


_ON = rf"ON\s+(?:{_KIND}(?:\s+(?P<target>{NAME}))?|(?P<scope>ALL|FUTURE)\s+(?P<plural>[A-Z ]+?)S\s+IN\s+(?P<container>DATABASE|SCHEMA)\s+(?P<container_name>{NAME}))"


def _privileges(text: str) -> list[str]:
    if re.fullmatch(r"ALL(?:\s+PRIVILEGES)?", text.strip(), re.IGNORECASE):
        return ["ALL"]
    return [" ".join(part.split()).upper() for part in text.split(",")]


def _grant_rows(statement: Statement, match: re.Match[str]) -> list[tuple[str, str, str, str, str]]:
    """(privilege, granted_on, database, schema, name) of each privilege the statement names."""
    if match["scope"]:  # ON ALL | FUTURE <objects> IN SCHEMA | DATABASE <name>: recorded as such
        kind = " ".join(match["plural"].split()).upper()
        container = match["container"].upper()
        if container == "SCHEMA":
            schema = statement.schema_name(match["container_name"])
            database, schema_part = schema.database, schema.schema
        else:
            database, schema_part = identifier(match["container_name"]), ""
        name = f"<{match['scope'].upper()}>"
        return [(p, kind, database, schema_part, name) for p in _privileges(match["privileges"])]
    kind = " ".join(match["kind"].split()).upper()
    target = _target(statement, kind, match["target"])
    return [(p, kind, *target) for p in _privileges(match["privileges"])]


@family.statement(
    rf"GRANT\s+{_PRIVILEGES}\s+{_ON}\s+TO\s+(?:ROLE\s+)?(?P<grantee>{IDENT})(?:\s+WITH\s+GRANT\s+OPTION)?"
)
def grant_privileges(statement: Statement, match: re.Match[str]) -> Rows:
    grantee = _role(statement, match["grantee"])
    with statement.account.transaction():
        for row in _grant_rows(statement, match):
            statement.account.execute(
                f"INSERT OR IGNORE INTO {_GRANTS} VALUES (?, ?, ?, ?, ?, ?, now())", [*row, grantee]
            )
    return status("Statement executed successfully.")


@family.statement(
    rf"REVOKE\s+{_PRIVILEGES}\s+{_ON}\s+FROM\s+(?:ROLE\s+)?(?P<grantee>{IDENT})(?:\s+(?:CASCADE|RESTRICT))?"
)
def revoke_privileges(statement: Statement, match: re.Match[str]) -> Rows:
    grantee = identifier(match["grantee"])
    with statement.account.transaction():
        for privilege, *on in _grant_rows(statement, match):
            where = "granted_on = ? AND database_name = ? AND schema_name = ? AND name = ? AND grantee = ?"
            if privilege == "ALL":
                statement.account.execute(f"DELETE FROM {_GRANTS} WHERE {where}", [*on, grantee])
            else:
                statement.account.execute(
                    f"DELETE FROM {_GRANTS} WHERE privilege = ? AND {where}", [privilege, *on, grantee]
                )
    return status("Statement executed successfully.")


@family.statement(rf"SHOW\s+GRANTS\s+ON\s+{_KIND}(?:\s+(?P<target>{NAME}))?")
def show_grants_on(statement: Statement, match: re.Match[str]) -> Rows:
    kind = " ".join(match["kind"].split()).upper()
    target = _target(statement, kind, match["target"])
    found = statement.account.query(
        f"SELECT created_on, privilege, granted_on, database_name, schema_name, name, grantee FROM {_GRANTS} "
        "WHERE granted_on = ? AND database_name = ? AND schema_name = ? AND name = ? ORDER BY grantee, privilege",
        [kind, *target],
    )
    return Rows(_GRANT_COLUMNS, [_grant_row(row) for row in found])


@family.statement(rf"SHOW\s+GRANTS\s+TO\s+ROLE\s+(?P<role>{IDENT})")
def show_grants_to_role(statement: Statement, match: re.Match[str]) -> Rows:
    role = _role(statement, match["role"])
    found = statement.account.query(
        f"SELECT created_on, privilege, granted_on, database_name, schema_name, name, grantee FROM {_GRANTS} "
        "WHERE grantee = ? ORDER BY granted_on, database_name, schema_name, name, privilege",
        [role],
    )
    roles = statement.account.query(
        f"SELECT created_on, 'USAGE', 'ROLE', '', '', role, grantee FROM {_ROLE_GRANTS} "
        "WHERE grantee_kind = 'ROLE' AND grantee = ? ORDER BY role",
        [role],
    )
    return Rows(_GRANT_COLUMNS, [_grant_row(row) for row in [*found, *roles]])


def _grant_row(row: tuple[object, ...]) -> tuple[object, ...]:
    created, privilege, granted_on, database, schema, name, grantee = row
    shown = ".".join(part for part in (database, schema, name) if part)  # type: ignore[misc]
    return (created, privilege, granted_on.replace(" ", "_"), shown, "ROLE", grantee, "false", CURRENT_ROLE)  # type: ignore[union-attr]


_GRANT_COLUMNS = [
    ("created_on", "TIMESTAMP WITH TIME ZONE"), ("privilege", "VARCHAR"), ("granted_on", "VARCHAR"),
    ("name", "VARCHAR"), ("granted_to", "VARCHAR"), ("grantee_name", "VARCHAR"), ("grant_option", "VARCHAR"),
    ("granted_by", "VARCHAR"),
]  # fmt: skip


# A grant's life with its object (see the module docstring).


@family.statement(
    rf"CREATE\s+OR\s+REPLACE\s+(?P<transient>TRANSIENT\s+)?TABLE\s+(?P<name>{NAME})(?P<copy>\s+COPY\s+GRANTS)?(?P<rest>.*)"
)
def replace_table(statement: Statement, match: re.Match[str]) -> Rewrite:
    """The table that is replaced takes its grants with it, unless ``COPY GRANTS`` keeps them."""
    table = statement.object_name(match["name"], "table")
    if not match["copy"]:
        forget_grants(statement, "TABLE", table)
    transient = "TRANSIENT " if match["transient"] else ""
    return Rewrite(f"CREATE OR REPLACE {transient}TABLE {match['name']}{match['rest']}", statement.params)


def forget_grants(statement: Statement, kind: str, target: ObjectName) -> None:
    """A dropped (or replaced) object's grants go with it."""
    statement.account.execute(
        f"DELETE FROM {_GRANTS} WHERE granted_on = ? AND database_name = ? AND schema_name = ? AND name = ?",
        [kind, *target.parts],
    )


def move_grants(statement: Statement, kind: str, source: ObjectName, target: ObjectName) -> None:
    """A renamed object keeps its grants under its new name."""
    statement.account.execute(
        f"UPDATE {_GRANTS} SET database_name = ?, schema_name = ?, name = ? WHERE granted_on = ? "
        "AND database_name = ? AND schema_name = ? AND name = ?",
        [*target.parts, kind, *source.parts],
    )


def swap_grants(statement: Statement, first: ObjectName, second: ObjectName) -> None:
    """``ALTER TABLE a SWAP WITH b``: each table keeps its own grants under the other's name."""
    parked = ObjectName(first.database, first.schema, f"\x00{first.name}")
    with statement.account.transaction():
        move_grants(statement, "TABLE", first, parked)
        move_grants(statement, "TABLE", second, first)
        move_grants(statement, "TABLE", parked, second)
