"""``SnowflakeWarehouse.write_tables``: every frame staged before any table changes, then swapped in.

Against an autospec Session (fakesnow cannot run ``write_pandas``); the SQL sent is checked.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from sf_doubles import SqlRouter
from snowflake.snowpark import Row

from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.errors import AlreadyExistsError, InvalidInputError

CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"]})
ORDERS = pd.DataFrame({"order_id": ["O1"], "customer_id": ["C1"]})


def _existing(router: SqlRouter, *tables: str) -> None:
    for table in tables:
        router.on(rf"SELECT TABLE_TYPE .*TABLE_NAME = '{table}'", [Row(TABLE_TYPE="BASE TABLE")])


def test_overwrite_stages_both_then_swaps_existing_and_renames_new(session_double: Any, router: SqlRouter) -> None:
    _existing(router, "CUSTOMERS")
    wh = SnowflakeWarehouse(session_double)
    assert wh.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "prep_data.orders": ORDERS}) == {
        "PREP_DATA.CUSTOMERS": 2,
        "prep_data.orders": 1,
    }
    staged = [(c.args[1], c.kwargs["overwrite"]) for c in session_double.write_pandas.call_args_list]
    assert staged == [("CUSTOMERS__MLOPS_KIT_STAGE", True), ("ORDERS__MLOPS_KIT_STAGE", True)]
    assert list(session_double.write_pandas.call_args_list[0].args[0].columns) == ["CUSTOMER_ID"]
    assert [sql for sql, _ in router.matching("^(ALTER|DROP)")] == [
        "ALTER TABLE MLOPS_HOL_DB.PREP_DATA.CUSTOMERS SWAP WITH MLOPS_HOL_DB.PREP_DATA.CUSTOMERS__MLOPS_KIT_STAGE",
        "DROP TABLE IF EXISTS MLOPS_HOL_DB.PREP_DATA.CUSTOMERS__MLOPS_KIT_STAGE",
        "ALTER TABLE MLOPS_HOL_DB.PREP_DATA.ORDERS__MLOPS_KIT_STAGE RENAME TO MLOPS_HOL_DB.PREP_DATA.ORDERS",
    ]


def test_a_failed_load_changes_no_table_and_drops_the_staging_tables(session_double: Any, router: SqlRouter) -> None:
    _existing(router, "CUSTOMERS", "ORDERS")
    # write_pandas converts the frame with pyarrow before uploading it: the real conversion fails here.
    session_double.write_pandas.side_effect = lambda frame, *args, **kwargs: pa.Table.from_pandas(frame)
    wh = SnowflakeWarehouse(session_double)
    mixed = pd.DataFrame({"ORDER_ID": ["O1", "O2"], "AMOUNT": [1, "not a number"]})
    with pytest.raises(InvalidInputError, match="ORDERS.*not a number"):
        wh.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.ORDERS": mixed})
    assert router.matching("^ALTER") == []
    assert [sql for sql, _ in router.matching("^DROP")] == [
        "DROP TABLE IF EXISTS MLOPS_HOL_DB.PREP_DATA.CUSTOMERS__MLOPS_KIT_STAGE",
        "DROP TABLE IF EXISTS MLOPS_HOL_DB.PREP_DATA.ORDERS__MLOPS_KIT_STAGE",
    ]


def test_bad_input_is_refused_before_anything_is_loaded(session_double: Any, router: SqlRouter) -> None:
    _existing(router, "ORDERS")
    wh = SnowflakeWarehouse(session_double)
    with pytest.raises(AlreadyExistsError, match="ORDERS"):
        wh.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.ORDERS": ORDERS}, mode="error")
    with pytest.raises(InvalidInputError, match="collide"):
        wh.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.X": pd.DataFrame({"a": [1], "A": [2]})})
    with pytest.raises(InvalidInputError, match="named twice"):
        wh.write_tables({"PREP_DATA.ORDERS": ORDERS, "prep_data.ORDERS": ORDERS})
    session_double.write_pandas.assert_not_called()


def test_append_inserts_every_table_in_one_transaction(session_double: Any, router: SqlRouter) -> None:
    _existing(router, "CUSTOMERS")
    wh = SnowflakeWarehouse(session_double)
    wh.write_tables({"PREP_DATA.CUSTOMERS": CUSTOMERS, "PREP_DATA.ORDERS": ORDERS}, mode="append")
    assert [sql for sql, _ in router.matching("^(BEGIN|COMMIT|INSERT|CREATE)")] == [
        "BEGIN TRANSACTION",
        "INSERT INTO MLOPS_HOL_DB.PREP_DATA.CUSTOMERS SELECT * FROM MLOPS_HOL_DB.PREP_DATA.CUSTOMERS__MLOPS_KIT_STAGE",
        "CREATE TABLE MLOPS_HOL_DB.PREP_DATA.ORDERS AS SELECT * FROM MLOPS_HOL_DB.PREP_DATA.ORDERS__MLOPS_KIT_STAGE",
        "COMMIT",
    ]
