"""Snowflake Scripting blocks on the emulator (EXECUTE IMMEDIATE $$DECLARE … BEGIN … END$$), with the
block snowflake-ml's feature store runs to snapshot an append-only feature view."""

from __future__ import annotations

import pytest
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException

BLOCK = """DECLARE
    last_seen NUMBER;
BEGIN
    -- if a status row is there, remember it
    SELECT N INTO :last_seen FROM SCRIPT_STATUS LIMIT 1;
    LET skip BOOLEAN := false;
    IF (last_seen IS NOT NULL) THEN
        skip := true;
    END IF;
    IF (:skip = false) THEN
        INSERT INTO SCRIPT_STATUS VALUES (1);
        ALTER DYNAMIC TABLE SCRIPT_DT REFRESH;
    ELSE
        INSERT INTO SCRIPT_STATUS VALUES (:last_seen + 1);
    END IF;
    BEGIN TRANSACTION;
        INSERT INTO SCRIPT_SNAPSHOT SELECT * FROM SCRIPT_DT;
    COMMIT;
END;"""


def test_a_block_runs_its_statements_with_variables_and_branches(emulated_session: Session) -> None:
    session = emulated_session
    session.sql("CREATE OR REPLACE TABLE SCRIPT_SOURCE (ID INT)").collect()
    session.sql("INSERT INTO SCRIPT_SOURCE VALUES (1)").collect()
    session.sql("CREATE OR REPLACE DYNAMIC TABLE SCRIPT_DT TARGET_LAG = '1 day' WAREHOUSE = EMULATOR_WH "
                "AS SELECT ID FROM SCRIPT_SOURCE").collect()  # fmt: skip
    session.sql("CREATE OR REPLACE TABLE SCRIPT_STATUS (N NUMBER)").collect()
    session.sql("CREATE OR REPLACE TABLE SCRIPT_SNAPSHOT (ID INT)").collect()
    session.sql("INSERT INTO SCRIPT_SOURCE VALUES (2)").collect()

    answer = session.sql(f"EXECUTE IMMEDIATE $${BLOCK}$$").collect()
    assert [tuple(r) for r in answer] == [(None,)]  # a block without RETURN
    assert sorted(r[0] for r in session.sql("SELECT ID FROM SCRIPT_SNAPSHOT").collect()) == [1, 2]  # refreshed first
    session.sql(f"EXECUTE IMMEDIATE $${BLOCK}$$").collect()  # the status row is there now: the ELSE branch
    assert sorted(r[0] for r in session.sql("SELECT N FROM SCRIPT_STATUS").collect()) == [1, 2]
    assert session.sql("EXECUTE IMMEDIATE 'SELECT 7 AS SEVEN'").collect()[0]["SEVEN"] == 7


def test_a_construct_the_emulator_does_not_run_is_refused_naming_it(emulated_session: Session) -> None:
    with pytest.raises(SnowparkSQLException, match="FOR"):
        emulated_session.sql("EXECUTE IMMEDIATE $$BEGIN FOR i IN 1 TO 3 DO SELECT 1; END FOR; END;$$").collect()
