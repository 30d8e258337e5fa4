"""The lab's label and feature SQL, written once in Snowflake's dialect, gives the same rows on the
Snowflake emulator (a real Snowpark session, data loaded with write_pandas) and on the local DuckDB
warehouse.

The emulator runs on DuckDB through sqlglot too, so this proves the Snowpark path and the dialect
handling of both sides agree; only a live account proves Snowflake's own engine (tests/snowflake/test_live.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from snowflake.snowpark import Session

from mlops_kit.adapters.local.home import LocalPaths
from mlops_kit.adapters.local.warehouse import LocalWarehouse
from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.connect import DEFAULT_DATABASE
from mlops_kit.examples import churn_data, churn_sql


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return churn_data.generate(customers=60, seed=11)


def _load_emulator(session: Session, customers: pd.DataFrame, orders: pd.DataFrame) -> SnowflakeWarehouse:
    warehouse = SnowflakeWarehouse(session, DEFAULT_DATABASE)
    warehouse.create_schemas(["PREP_DATA"])
    warehouse.write_table(churn_sql.CUSTOMERS, customers)
    warehouse.write_table(churn_sql.ORDERS, orders)
    return warehouse


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    out = df.sort_values("CUSTOMER_ID").reset_index(drop=True)
    for column in out.columns:
        if column != "CUSTOMER_ID":
            out[column] = out[column].astype("float64")
    return out


@pytest.mark.parametrize(
    "query",
    [churn_sql.CHURN_LABELS_SQL, churn_sql.FEATURES_V1_SQL, churn_sql.FEATURES_V2_SQL],
    ids=["labels", "features_v1", "features_v2"],
)
def test_lab_sql_gives_the_same_rows_on_both_engines(
    emulated_session: Session, tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], query: str
) -> None:
    customers, orders = data
    emulator = _load_emulator(emulated_session, customers, orders)
    local = LocalWarehouse(LocalPaths(tmp_path, DEFAULT_DATABASE))
    local.create_schemas(["PREP_DATA"])
    local.write_table(churn_sql.CUSTOMERS, customers)
    local.write_table(churn_sql.ORDERS, orders)

    on_emulator, on_duckdb = _canonical(emulator.query(query)), _canonical(local.query(query))
    assert len(on_duckdb) > 10
    assert list(on_emulator.columns) == list(on_duckdb.columns)
    assert on_emulator["CUSTOMER_ID"].tolist() == on_duckdb["CUSTOMER_ID"].tolist()
    numeric = [c for c in on_duckdb.columns if c != "CUSTOMER_ID"]
    np.testing.assert_allclose(on_emulator[numeric].to_numpy(), on_duckdb[numeric].to_numpy(), rtol=1e-9, atol=1e-9)
