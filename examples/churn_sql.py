"""The lab's label and feature logic, written once in Snowflake's SQL dialect.

Snowflake runs these as they are; the local backend translates them for DuckDB. A test runs them on
both engines (DuckDB and the fakesnow emulator) and checks they give the same rows as an independent
pandas computation.
"""

from __future__ import annotations

OBSERVATION_DATE = "2024-06-30"
H1_START = "2024-01-01"
H2_START = "2024-07-01"

CUSTOMERS = "PREP_DATA.CUSTOMERS"
ORDERS = "PREP_DATA.ORDERS"
CHURN_LABELS = "PREP_DATA.CHURN_LABELS"

#: Customers with an order in H1 (any status); churned when they have no order from H2 on.
#: One pass over ORDERS (a grouped MAX) rather than two DISTINCT scans and a join: same rows.
CHURN_LABELS_SQL = f"""
SELECT CUSTOMER_ID, IFF(MAX(ORDER_DATE) >= '{H2_START}'::DATE, 0, 1) AS IS_CHURNED
FROM {ORDERS}
GROUP BY CUSTOMER_ID
HAVING COUNT_IF(ORDER_DATE BETWEEN '{H1_START}'::DATE AND '{OBSERVATION_DATE}'::DATE) > 0
"""

_V1_COLUMNS = f"""
    COALESCE(DATEDIFF('day', MAX(O.ORDER_DATE), '{OBSERVATION_DATE}'::DATE), 0) AS DAYS_SINCE_LAST_ORDER,
    COUNT(O.ORDER_ID) AS TOTAL_ORDER_COUNT,
    COALESCE(SUM(O.ORDER_AMOUNT), 0) AS TOTAL_ORDER_AMOUNT,
    COALESCE(AVG(O.ORDER_AMOUNT), 0) AS AVG_ORDER_AMOUNT,
    COUNT_IF(O.ORDER_DATE >= '{H1_START}'::DATE) AS ORDER_COUNT_2024_H1"""

_V2_COLUMNS = f"""{_V1_COLUMNS},
    COALESCE(SUM(IFF(O.ORDER_DATE >= '{H1_START}'::DATE, O.ORDER_AMOUNT, 0)), 0) AS TOTAL_AMOUNT_2024_H1,
    COALESCE(COUNT_IF(O.STATUS = 'RETURNED') / NULLIF(COUNT(O.ORDER_ID), 0), 0) AS RETURN_RATE"""


def _feature_query(columns: str) -> str:
    return f"""
SELECT C.CUSTOMER_ID,{columns}
FROM {CUSTOMERS} C
LEFT JOIN {ORDERS} O
    ON C.CUSTOMER_ID = O.CUSTOMER_ID AND O.ORDER_DATE <= '{OBSERVATION_DATE}'::DATE
GROUP BY C.CUSTOMER_ID
"""


#: Feature view CUSTOMER_FEATURES v1: recency, frequency and spend up to the observation date.
FEATURES_V1_SQL = _feature_query(_V1_COLUMNS)
#: v2 adds H1 spend and the share of returned orders.
FEATURES_V2_SQL = _feature_query(_V2_COLUMNS)

FEATURES_V1 = (
    "DAYS_SINCE_LAST_ORDER",
    "TOTAL_ORDER_COUNT",
    "TOTAL_ORDER_AMOUNT",
    "AVG_ORDER_AMOUNT",
    "ORDER_COUNT_2024_H1",
)
FEATURES_V2 = (*FEATURES_V1, "TOTAL_AMOUNT_2024_H1", "RETURN_RATE")

#: The spine of the training set: the labels.
SPINE_SQL = f"SELECT CUSTOMER_ID, IS_CHURNED FROM {CHURN_LABELS}"
