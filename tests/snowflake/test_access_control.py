"""Roles and grants on the emulator (adapters/snowflake_emulator/access_control.py), through a real
Snowpark session: kept as Snowflake keeps them, and living and dying with their objects
(https://docs.snowflake.com/en/sql-reference/sql/grant-privilege, …/show-grants, …/create-role,
…/create-table COPY GRANTS, …/alter-table SWAP WITH)."""

from __future__ import annotations

import pytest
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException

SCHEMA = "MLOPS_HOL_DB.GRANTS_TEST"


def _grants_on(session: Session, table: str) -> list[tuple[str, str, str]]:
    rows = session.sql(f"SHOW GRANTS ON TABLE {SCHEMA}.{table}").collect()
    return [(str(r["privilege"]), str(r["name"]), str(r["grantee_name"])) for r in rows]


def test_roles_and_grants_are_kept_and_shown_with_the_documented_columns(emulated_session: Session) -> None:
    session = emulated_session
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}").collect()
    session.sql("CREATE OR REPLACE ROLE LAB_READER COMMENT = 'reads the lab'").collect()
    assert session.sql("CREATE ROLE IF NOT EXISTS LAB_READER").collect()[0][0].endswith("statement succeeded.")
    with pytest.raises(SnowparkSQLException, match="already exists"):
        session.sql("CREATE ROLE LAB_READER").collect()
    session.sql(f"CREATE OR REPLACE TABLE {SCHEMA}.SCORES (A INT)").collect()
    session.sql(f"GRANT SELECT ON TABLE {SCHEMA}.SCORES TO ROLE LAB_READER").collect()
    session.sql("GRANT USAGE ON DATABASE MLOPS_HOL_DB TO ROLE LAB_READER").collect()
    session.sql(f"GRANT SELECT ON FUTURE TABLES IN SCHEMA {SCHEMA} TO ROLE LAB_READER").collect()
    session.sql("GRANT ROLE LAB_READER TO ROLE SYSADMIN").collect()
    with pytest.raises(SnowparkSQLException, match="does not exist"):
        session.sql(f"GRANT SELECT ON TABLE {SCHEMA}.SCORES TO ROLE NOBODY").collect()

    shown = session.sql(f"SHOW GRANTS ON TABLE {SCHEMA}.SCORES").collect()
    assert [f.name.strip('"') for f in session.sql(f"SHOW GRANTS ON TABLE {SCHEMA}.SCORES").schema.fields] == [
        "created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option", "granted_by",
    ]  # fmt: skip
    assert [(r["privilege"], r["granted_on"], r["granted_to"], r["grantee_name"]) for r in shown] == [
        ("SELECT", "TABLE", "ROLE", "LAB_READER")
    ]
    to_role = {
        (r["privilege"], r["granted_on"], r["name"]) for r in session.sql("SHOW GRANTS TO ROLE LAB_READER").collect()
    }
    assert ("USAGE", "DATABASE", "MLOPS_HOL_DB") in to_role and ("SELECT", "TABLE", f"{SCHEMA}.SCORES") in to_role
    roles = session.sql("SHOW ROLES LIKE 'LAB_%'").collect()
    assert [(r["name"], r["comment"], r["granted_to_roles"]) for r in roles] == [("LAB_READER", "reads the lab", 1)]

    session.sql(f"REVOKE SELECT ON TABLE {SCHEMA}.SCORES FROM ROLE LAB_READER").collect()
    assert _grants_on(session, "SCORES") == []
    session.sql("DROP ROLE LAB_READER").collect()
    assert session.sql("SHOW ROLES LIKE 'LAB_%'").collect() == []


def test_a_grant_lives_and_dies_with_its_table(emulated_session: Session) -> None:
    session = emulated_session
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}").collect()
    session.sql("CREATE ROLE IF NOT EXISTS LAB_ANALYST").collect()
    session.sql(f"CREATE OR REPLACE TABLE {SCHEMA}.OLD (A INT)").collect()
    session.sql(f"CREATE OR REPLACE TABLE {SCHEMA}.NEW (A INT)").collect()
    session.sql(f"GRANT SELECT ON TABLE {SCHEMA}.OLD TO ROLE LAB_ANALYST").collect()

    session.sql(f"ALTER TABLE {SCHEMA}.OLD SWAP WITH {SCHEMA}.NEW").collect()  # the grant goes with its table
    assert _grants_on(session, "OLD") == [] and _grants_on(session, "NEW") == [
        ("SELECT", f"{SCHEMA}.NEW", "LAB_ANALYST")
    ]
    session.sql(f"CREATE OR REPLACE TABLE {SCHEMA}.NEW COPY GRANTS AS SELECT 1 AS A").collect()
    assert _grants_on(session, "NEW") == [("SELECT", f"{SCHEMA}.NEW", "LAB_ANALYST")]
    session.sql(f"ALTER TABLE {SCHEMA}.NEW RENAME TO {SCHEMA}.RENAMED").collect()
    assert _grants_on(session, "RENAMED") == [("SELECT", f"{SCHEMA}.RENAMED", "LAB_ANALYST")]
    session.sql(f"CREATE OR REPLACE TABLE {SCHEMA}.RENAMED AS SELECT 2 AS A").collect()  # replaced: the grant goes
    assert _grants_on(session, "RENAMED") == []
    session.sql(f"GRANT SELECT ON TABLE {SCHEMA}.RENAMED TO ROLE LAB_ANALYST").collect()
    session.sql(f"DROP TABLE {SCHEMA}.RENAMED").collect()
    session.sql(f"CREATE TABLE {SCHEMA}.RENAMED (A INT)").collect()  # a new table of that name has none
    assert _grants_on(session, "RENAMED") == []


def test_a_session_uses_a_role_the_user_holds(emulator) -> None:  # noqa: ANN001
    """The login's role and USE ROLE (https://docs.snowflake.com/en/sql-reference/sql/use-role): a role
    granted to the user, or under a role it holds; CURRENT_ROLE() and the connector follow it."""
    from snowflake.connector.errors import DatabaseError

    admin = emulator.session()
    admin.sql("CREATE ROLE IF NOT EXISTS LAB_USER_ROLE").collect()
    admin.sql("CREATE ROLE IF NOT EXISTS LAB_UNDER_SYSADMIN").collect()
    admin.sql("CREATE ROLE IF NOT EXISTS LAB_NOT_HELD").collect()
    admin.sql("GRANT ROLE LAB_UNDER_SYSADMIN TO ROLE SYSADMIN").collect()
    with pytest.raises(DatabaseError, match="LAB_USER_ROLE' specified in the connect string is not granted"):
        emulator.session(role="LAB_USER_ROLE")
    admin.sql("GRANT ROLE LAB_USER_ROLE TO USER EMULATOR").collect()
    session = emulator.session(role="LAB_USER_ROLE")
    try:
        assert session.sql("SELECT CURRENT_ROLE()").collect()[0][0] == "LAB_USER_ROLE"
        assert session.get_current_role() == '"LAB_USER_ROLE"'
        session.sql("USE ROLE LAB_UNDER_SYSADMIN").collect()
        assert session.sql("SELECT CURRENT_ROLE()").collect()[0][0] == "LAB_UNDER_SYSADMIN"
        with pytest.raises(SnowparkSQLException, match="Role 'LAB_NOT_HELD' does not exist or not authorized"):
            session.sql("USE ROLE LAB_NOT_HELD").collect()
        current = [r["name"] for r in session.sql("SHOW ROLES LIKE 'LAB_%'").collect() if r["is_current"] == "Y"]
        assert current == ["LAB_UNDER_SYSADMIN"]
    finally:
        session.close()
        admin.close()


def test_the_command_line_and_connect_select_the_role(tmp_path) -> None:  # noqa: ANN001
    """``--role`` (or MLOPS_KIT_ROLE) selects the session's role on snowflake and snowflake-emulator alike;
    on the local backend it is refused as the Snowflake option it is."""
    import os
    import subprocess
    import sys

    from mlops_kit.adapters.snowflake_emulator import connect_snowflake_emulator

    admin = connect_snowflake_emulator(home=tmp_path)
    try:
        session = admin.raw["session"]
        session.sql("CREATE ROLE IF NOT EXISTS MLOPS_HOL_ROLE").collect()
        session.sql("GRANT ROLE MLOPS_HOL_ROLE TO USER EMULATOR").collect()
    finally:
        admin.close()
    as_role = connect_snowflake_emulator(home=tmp_path, role="MLOPS_HOL_ROLE")
    try:
        assert as_role.warehouse.query("SELECT CURRENT_ROLE() AS R")["R"].tolist() == ["MLOPS_HOL_ROLE"]
    finally:
        as_role.close()

    env = {**os.environ, "MLOPS_KIT_HOME": str(tmp_path)}
    cli = [sys.executable, "-m", "mlops_kit.cli", "models", "list"]
    listed = subprocess.run([*cli, "--backend", "snowflake-emulator", "--role", "MLOPS_HOL_ROLE"], env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    refused = subprocess.run([*cli, "--backend", "local", "--role", "MLOPS_HOL_ROLE"], env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert refused.returncode == 2 and "--role is the Snowflake role of the session" in refused.stderr
