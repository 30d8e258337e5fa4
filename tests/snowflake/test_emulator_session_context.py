"""The session context of databases and schemas, SHOW DATABASES, the pipe operator and LAST_QUERY_ID
on the emulator, through a real Snowpark session (the pages each behaviour follows are cited in
adapters/snowflake_emulator/databases.py, server.py and session.py)."""

from __future__ import annotations

import pytest
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException


def _context(session: Session) -> tuple[str | None, str | None]:
    row = session.sql("SELECT CURRENT_DATABASE(), CURRENT_SCHEMA()").collect()[0]
    return row[0], row[1]


def test_create_and_use_database_make_public_current(emulated_session: Session) -> None:
    session = emulated_session
    session.sql("CREATE DATABASE CTX_DB").collect()
    assert _context(session) == ("CTX_DB", "PUBLIC")
    session.sql("CREATE SCHEMA CTX_SCHEMA").collect()  # an unqualified name lands in the current database
    assert _context(session) == ("CTX_DB", "CTX_SCHEMA")
    session.sql("USE DATABASE CTX_DB").collect()
    assert _context(session) == ("CTX_DB", "PUBLIC")
    session.sql("CREATE DATABASE IF NOT EXISTS CTX_DB").collect()  # an existing one changes nothing
    with pytest.raises(SnowparkSQLException, match="already exists"):
        session.sql("CREATE DATABASE CTX_DB").collect()
    session.sql("DROP DATABASE CTX_DB").collect()
    with pytest.raises(SnowparkSQLException, match="does not have a current database") as refused:
        session.sql("CREATE SCHEMA ORPHAN").collect()
    assert refused.value.sql_error_code == 90105
    with pytest.raises(SnowparkSQLException, match="does not exist"):
        session.sql("USE DATABASE CTX_DB").collect()


def test_show_databases_and_the_pipe_operator(emulated_session: Session) -> None:
    session = emulated_session
    session.sql("CREATE DATABASE PIPE_TEST_A COMMENT = 'first'").collect()
    session.sql("CREATE DATABASE PIPE_TEST_B").collect()
    shown = session.sql("SHOW DATABASES LIKE 'pipe_test_%'").collect()
    assert [(r["name"], r["owner"], r["comment"]) for r in shown] == [
        ("PIPE_TEST_A", "ACCOUNTADMIN", "first"), ("PIPE_TEST_B", "ACCOUNTADMIN", "")
    ]  # fmt: skip
    # $1 is the statement one place back; a new database is not older than two hours
    old = session.sql(
        """SHOW DATABASES LIKE 'pipe_test_%' ->> SELECT "name" FROM $1
           WHERE "created_on" < DATEADD('minute', -120, CURRENT_TIMESTAMP()) AND "owner" = 'ACCOUNTADMIN'"""
    ).collect()
    assert old == []
    chained = session.sql(
        """SHOW DATABASES LIKE 'pipe_test_%' ->> SELECT "name" FROM $1 WHERE "comment" = 'first'
           ->> SELECT COUNT(*) AS N FROM $2 ->> SELECT * FROM $2"""
    ).collect()
    assert [r["name"] for r in chained] == ["PIPE_TEST_A"]
    with pytest.raises(SnowparkSQLException, match="pipe reference"):
        session.sql("SHOW DATABASES ->> SELECT * FROM $2").collect()
    session.sql("SELECT 42 AS ANSWER").collect()
    assert session.sql("SELECT * FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))").collect()[0]["ANSWER"] == 42
    for name in ("PIPE_TEST_A", "PIPE_TEST_B"):
        session.sql(f"DROP DATABASE {name}").collect()
    assert session.sql("SHOW DATABASES LIKE 'pipe_test_%'").collect() == []


def test_asof_join_pads_unmatched_spine_rows_with_nulls(emulated_session: Session) -> None:
    rows = emulated_session.sql(
        """WITH spine AS (SELECT COLUMN1 AS ID, COLUMN2 AS TS FROM (VALUES (1, 100), (1, 80), (2, 50))),
                feature AS (SELECT COLUMN1 AS ID, COLUMN2 AS TS, COLUMN3 AS F FROM (VALUES (1, 90, 7), (1, 60, 6)))
           SELECT spine.ID, spine.TS, feature.F FROM spine
           ASOF JOIN feature MATCH_CONDITION (spine.TS >= feature.TS) ON spine.ID = feature.ID
           ORDER BY spine.ID, spine.TS"""
    ).collect()
    assert [tuple(r) for r in rows] == [(1, 80, 6), (1, 100, 7), (2, 50, None)]
