"""SnowflakeWarehouse against fakesnow: real Snowpark sessions, Snowflake SQL, no account.

Loads a small slice of the churn lab's data with INSERT statements (fakesnow cannot run
``write_pandas``), then runs the lab's label and feature queries as written for Snowflake.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError

CUSTOMERS = [
    ("CUST_00001", "Basic", "2022-03-01", "North"),
    ("CUST_00002", "Premium", "2023-01-15", "East"),
    ("CUST_00003", "Standard", "2022-11-30", "West"),
]
ORDERS = [
    # CUST_00001 orders in H1 and H2: not churned.
    ("ORD_000001", "CUST_00001", "2024-02-10", 100.0, "FULFILLED"),
    ("ORD_000002", "CUST_00001", "2024-06-20", 50.0, "RETURNED"),
    ("ORD_000003", "CUST_00001", "2024-08-01", 75.0, "FULFILLED"),
    # CUST_00002 orders in H1 only: churned.
    ("ORD_000004", "CUST_00002", "2024-03-01", 200.0, "FULFILLED"),
    ("ORD_000005", "CUST_00002", "2024-03-05", 300.0, "CANCELLED"),
    # CUST_00003 orders in H2 only: not in the label population.
    ("ORD_000006", "CUST_00003", "2024-09-09", 40.0, "FULFILLED"),
]

LABEL_SQL = """
SELECT CUSTOMER_ID,
       IFF(COUNT_IF(ORDER_DATE >= '2024-07-01'::DATE) = 0, 1, 0) AS IS_CHURNED
FROM MLOPS_HOL_DB.PREP_DATA.ORDERS
GROUP BY CUSTOMER_ID
HAVING COUNT_IF(ORDER_DATE <= '2024-06-30'::DATE) > 0
"""

FEATURE_SQL = """
SELECT c.CUSTOMER_ID,
       COALESCE(DATEDIFF('day', MAX(o.ORDER_DATE), '2024-06-30'::DATE), 0) AS DAYS_SINCE_LAST_ORDER,
       COUNT(o.ORDER_ID) AS TOTAL_ORDER_COUNT,
       COALESCE(SUM(o.ORDER_AMOUNT), 0) AS TOTAL_ORDER_AMOUNT,
       COALESCE(SUM(IFF(o.STATUS = 'RETURNED', 1, 0)) / NULLIF(COUNT(o.ORDER_ID), 0), 0) AS RETURN_RATE
FROM MLOPS_HOL_DB.PREP_DATA.CUSTOMERS c
LEFT JOIN MLOPS_HOL_DB.PREP_DATA.ORDERS o
  ON o.CUSTOMER_ID = c.CUSTOMER_ID AND o.ORDER_DATE <= '2024-06-30'::DATE
GROUP BY c.CUSTOMER_ID
ORDER BY c.CUSTOMER_ID
"""


@pytest.fixture
def warehouse(fake_session) -> SnowflakeWarehouse:
    wh = SnowflakeWarehouse(fake_session, "MLOPS_HOL_DB")
    wh.create_schemas(["PREP_DATA", "ANALYTICS"])
    wh.execute(
        "CREATE TABLE MLOPS_HOL_DB.PREP_DATA.CUSTOMERS (CUSTOMER_ID VARCHAR, SEGMENT VARCHAR, "
        "REGISTRATION_DATE DATE, REGION VARCHAR)"
    )
    wh.execute(
        "CREATE TABLE MLOPS_HOL_DB.PREP_DATA.ORDERS (ORDER_ID VARCHAR, CUSTOMER_ID VARCHAR, ORDER_DATE DATE, "
        "ORDER_AMOUNT NUMBER(10, 2), STATUS VARCHAR)"
    )
    wh.execute(
        "INSERT INTO MLOPS_HOL_DB.PREP_DATA.CUSTOMERS VALUES "
        + ", ".join(f"('{c}', '{s}', '{d}', '{r}')" for c, s, d, r in CUSTOMERS)
    )
    wh.execute(
        "INSERT INTO MLOPS_HOL_DB.PREP_DATA.ORDERS VALUES "
        + ", ".join(f"('{o}', '{c}', '{d}', {a}, '{s}')" for o, c, d, a, s in ORDERS)
    )
    return wh


def test_schemas_and_tables_are_listed(warehouse: SnowflakeWarehouse) -> None:
    assert warehouse.database == "MLOPS_HOL_DB"
    assert warehouse.list_tables("prep_data") == ["CUSTOMERS", "ORDERS"]
    assert warehouse.list_tables("ANALYTICS") == []
    assert warehouse.list_tables("NO_SUCH_SCHEMA") == []
    assert warehouse.table_exists("PREP_DATA.ORDERS")
    assert not warehouse.table_exists("PREP_DATA.CHURN_LABELS")


def test_label_query_creates_the_lab_labels(warehouse: SnowflakeWarehouse) -> None:
    written = warehouse.create_table_as("PREP_DATA.CHURN_LABELS", LABEL_SQL)
    assert written == 2
    labels = warehouse.read_table("PREP_DATA.CHURN_LABELS").sort_values("CUSTOMER_ID").reset_index(drop=True)
    assert list(labels.columns) == ["CUSTOMER_ID", "IS_CHURNED"]
    assert labels.to_dict("list") == {"CUSTOMER_ID": ["CUST_00001", "CUST_00002"], "IS_CHURNED": [0, 1]}


def test_feature_query_matches_pandas(warehouse: SnowflakeWarehouse) -> None:
    features = warehouse.query(FEATURE_SQL)
    orders = pd.DataFrame(ORDERS, columns=["ORDER_ID", "CUSTOMER_ID", "ORDER_DATE", "ORDER_AMOUNT", "STATUS"])
    h1 = orders[pd.to_datetime(orders.ORDER_DATE) <= "2024-06-30"]
    assert features["CUSTOMER_ID"].tolist() == ["CUST_00001", "CUST_00002", "CUST_00003"]
    assert features["TOTAL_ORDER_COUNT"].tolist() == [2, 2, 0]
    expected_days = (pd.Timestamp("2024-06-30") - pd.to_datetime(h1.groupby("CUSTOMER_ID").ORDER_DATE.max())).dt.days
    assert features["DAYS_SINCE_LAST_ORDER"].tolist()[:2] == expected_days.tolist()
    assert features["TOTAL_ORDER_AMOUNT"].astype(float).tolist() == [150.0, 500.0, 0.0]
    assert features["RETURN_RATE"].astype(float).tolist() == [0.5, 0.0, 0.0]


def test_create_table_as_replaces_and_keeps_table_on_failure(warehouse: SnowflakeWarehouse) -> None:
    assert warehouse.create_table_as("ANALYTICS.T", "SELECT 1 AS A UNION ALL SELECT 2") == 2
    assert warehouse.create_table_as("ANALYTICS.T", "SELECT 7 AS A") == 1
    with pytest.raises(InvalidInputError):
        warehouse.create_table_as("ANALYTICS.T", "SELECT * FROM MLOPS_HOL_DB.PREP_DATA.NO_SUCH_TABLE")
    assert warehouse.read_table("ANALYTICS.T")["A"].tolist() == [7]


def test_drop_table_and_schema_report_what_they_dropped(warehouse: SnowflakeWarehouse) -> None:
    warehouse.create_table_as("ANALYTICS.SCRATCH", "SELECT 1 AS A")
    assert warehouse.drop_table("ANALYTICS.SCRATCH") is True
    assert warehouse.drop_table("ANALYTICS.SCRATCH") is False
    assert warehouse.list_tables("ANALYTICS") == []
    assert warehouse.drop_schema("ANALYTICS") is True
    assert warehouse.drop_schema("ANALYTICS") is False


def test_errors_are_translated(warehouse: SnowflakeWarehouse) -> None:
    with pytest.raises(NotFoundError) as missing:
        warehouse.read_table("PREP_DATA.NO_SUCH_TABLE")
    assert missing.value.__cause__ is not None
    with pytest.raises(InvalidInputError):
        warehouse.query("SELEC nonsense FROM")
    with pytest.raises(InvalidInputError):
        warehouse.read_table('PREP_DATA."ORDERS"')  # quoted names never reach SQL
    with pytest.raises(AlreadyExistsError):
        warehouse.write_table("PREP_DATA.ORDERS", pd.DataFrame({"A": [1]}), mode="error")
    with pytest.raises(InvalidInputError):
        warehouse.write_table("PREP_DATA.NEW", pd.DataFrame({"bad column": [1]}))
    assert warehouse.list_tables("PREP_DATA") == ["CUSTOMERS", "ORDERS"]
