"""``SnowflakeWarehouse.write_tables`` on the emulated account with a real Snowpark session: every
frame staged before any table changes, then swapped in; a failed load changes no table."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from snowflake.snowpark import Session

from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.connect import DEFAULT_DATABASE
from mlops_kit.errors import AlreadyExistsError, InvalidInputError

CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"], "segment": ["Basic", "Premium"]})
ORDERS = pd.DataFrame({"order_id": ["O1"], "customer_id": ["C1"], "amount": [12.5]})


@pytest.fixture
def warehouse(emulated_session: Session) -> SnowflakeWarehouse:
    wh = SnowflakeWarehouse(emulated_session, DEFAULT_DATABASE)
    wh.drop_schema("PREP_DATA")  # the emulated account lives as long as the module
    wh.create_schemas(["PREP_DATA"])
    return wh


def _rows(wh: SnowflakeWarehouse, table: str) -> list[tuple]:
    frame = wh.read_table(table)
    return sorted(map(tuple, frame.astype(object).to_numpy().tolist()))


def test_overwrite_replaces_existing_tables_and_creates_new_ones(warehouse: SnowflakeWarehouse) -> None:
    warehouse.write_table("PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["OLD"], "SEGMENT": ["Basic"]}))
    written = warehouse.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "prep_data.orders": ORDERS})
    assert written == {"PREP_DATA.CUSTOMERS": 2, "prep_data.orders": 1}
    assert _rows(warehouse, "PREP_DATA.CUSTOMERS") == [("C1", "Basic"), ("C2", "Premium")]
    assert _rows(warehouse, "PREP_DATA.ORDERS") == [("O1", "C1", 12.5)]
    assert warehouse.list_tables("PREP_DATA") == ["CUSTOMERS", "ORDERS"]  # no staging table left


def test_a_failed_load_changes_no_table(warehouse: SnowflakeWarehouse) -> None:
    warehouse.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.ORDERS": ORDERS})
    mixed = pd.DataFrame({"ORDER_ID": ["O2", "O3"], "AMOUNT": [1, "not a number"]})  # pyarrow refuses it
    with pytest.raises(InvalidInputError, match="ORDERS"):
        warehouse.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS.head(1), "PREP_DATA.ORDERS": mixed})
    assert _rows(warehouse, "PREP_DATA.CUSTOMERS") == [("C1", "Basic"), ("C2", "Premium")]
    assert _rows(warehouse, "PREP_DATA.ORDERS") == [("O1", "C1", 12.5)]
    assert warehouse.list_tables("PREP_DATA") == ["CUSTOMERS", "ORDERS"]


def test_bad_input_is_refused_before_anything_is_loaded(warehouse: SnowflakeWarehouse) -> None:
    warehouse.write_tables({"PREP_DATA.ORDERS": ORDERS})
    with pytest.raises(AlreadyExistsError, match="ORDERS"):
        warehouse.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.ORDERS": ORDERS}, mode="error")
    with pytest.raises(InvalidInputError, match="has the column A twice"):
        warehouse.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.X": pd.DataFrame({"a": [1], "A": [2]})})
    with pytest.raises(InvalidInputError, match="frames names PREP_DATA.ORDERS twice"):
        warehouse.write_tables({"PREP_DATA.ORDERS": ORDERS, "prep_data.ORDERS": ORDERS})
    assert warehouse.list_tables("PREP_DATA") == ["ORDERS"]


def test_append_adds_every_table_in_one_transaction(warehouse: SnowflakeWarehouse) -> None:
    warehouse.write_tables({"PREP_DATA.ORDERS": ORDERS})
    more = pd.DataFrame({"order_id": ["O9"], "customer_id": ["C2"], "amount": [3.0]})
    warehouse.write_tables({"PREP_DATA.ORDERS": more, "PREP_DATA.CUSTOMERS": CUSTOMERS}, mode="append")
    assert _rows(warehouse, "PREP_DATA.ORDERS") == [("O1", "C1", 12.5), ("O9", "C2", 3.0)]
    assert _rows(warehouse, "PREP_DATA.CUSTOMERS") == [("C1", "Basic"), ("C2", "Premium")]


_KILLED_AFTER_THE_LOAD = """
import os, signal, sys
import pandas as pd
from snowflake.connector.cursor import SnowflakeCursor
from mlops_kit.adapters.snowflake_emulator import connect_snowflake_emulator

execute = SnowflakeCursor.execute

def execute_then_die_after_the_load(self, command, *args, **kwargs):
    result = execute(self, command, *args, **kwargs)
    if sys.argv[2] == "kill" and command.lstrip().upper().startswith("COPY INTO"):
        os.kill(os.getpid(), signal.SIGKILL)  # as kill -9: the rows are loaded, nothing renamed yet
    return result

SnowflakeCursor.execute = execute_then_die_after_the_load
backend = connect_snowflake_emulator(home=sys.argv[1])
backend.warehouse.create_schemas(["PREP_DATA"])
backend.warehouse.write_table("PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["C1", "C2", "C3"]}))
print(sorted(backend.warehouse.list_tables("PREP_DATA")))
backend.close()
"""


def test_a_kill_during_a_load_leaves_no_copy_of_the_rows_after_the_rerun(tmp_path: Path) -> None:
    """A kill -9 after the rows are loaded: the rerun ends with the table and nothing else. The connector's
    overwrite path loaded a permanent ``SNOWPARK_TEMP_TABLE_…`` that survived every later run."""
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_THE_LOAD, str(tmp_path), "kill"], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rerun = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_THE_LOAD, str(tmp_path), "rerun"], capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "['CUSTOMERS']"


def _grants(warehouse: SnowflakeWarehouse, table: str) -> list[tuple[str, str]]:
    rows = warehouse.session.sql(f"SHOW GRANTS ON TABLE {DEFAULT_DATABASE}.{table}").collect()
    return sorted((str(row["privilege"]), str(row["grantee_name"])) for row in rows)


def test_an_overwrite_keeps_the_tables_grants(warehouse: SnowflakeWarehouse) -> None:
    """Issue 22: the overwrite swapped a new table in, and an analyst's SELECT grant left with the old
    one (a rerun of the lab's step 0 took it). The same columns: the rows are replaced in the table
    (INSERT OVERWRITE); other columns: the table is replaced COPY GRANTS."""
    warehouse.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.ORDERS": ORDERS})
    warehouse.session.sql("CREATE ROLE IF NOT EXISTS ANALYST").collect()
    for table in ("CUSTOMERS", "ORDERS"):
        warehouse.session.sql(f"GRANT SELECT ON TABLE {DEFAULT_DATABASE}.PREP_DATA.{table} TO ROLE ANALYST").collect()
    rerun = CUSTOMERS.assign(segment=["Premium", "Basic"])
    wider = ORDERS.assign(currency=["EUR"])
    warehouse.write_tables({"PREP_DATA.CUSTOMERS": rerun, "PREP_DATA.ORDERS": wider})
    assert _rows(warehouse, "PREP_DATA.CUSTOMERS") == [("C1", "Premium"), ("C2", "Basic")]
    assert _rows(warehouse, "PREP_DATA.ORDERS") == [("O1", "C1", 12.5, "EUR")]
    for table in ("CUSTOMERS", "ORDERS"):
        assert _grants(warehouse, f"PREP_DATA.{table}") == [("SELECT", "ANALYST")], table
    assert warehouse.list_tables("PREP_DATA") == ["CUSTOMERS", "ORDERS"]
