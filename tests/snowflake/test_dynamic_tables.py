"""Dynamic tables on the emulator, through the real snowflake-ml FeatureStore and plain SQL
(https://docs.snowflake.com/en/sql-reference/sql/create-dynamic-table, …/alter-dynamic-table,
…/show-dynamic-tables, …/functions/dynamic_table_refresh_history)."""

from __future__ import annotations

import pytest
from snowflake.ml.feature_store import CreationMode, Entity, FeatureStore, FeatureView
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException

from mlops_kit.connect import DEFAULT_DATABASE


def test_a_feature_view_with_a_refresh_freq_is_a_dynamic_table_materialised_and_refreshed(
    emulated_session: Session,
) -> None:
    session = emulated_session
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {DEFAULT_DATABASE}.DT_SRC").collect()
    source = f"{DEFAULT_DATABASE}.DT_SRC.ORDERS"
    session.sql(f"CREATE OR REPLACE TABLE {source} (CUSTOMER_ID VARCHAR, AMOUNT FLOAT)").collect()
    session.sql(f"INSERT INTO {source} VALUES ('C1', 10.0), ('C1', 5.0), ('C2', 7.0)").collect()
    store = FeatureStore(
        session, DEFAULT_DATABASE, "DT_FS", "EMULATOR_WH", creation_mode=CreationMode.CREATE_IF_NOT_EXIST
    )
    customer = Entity("CUSTOMER", ["CUSTOMER_ID"], desc="a customer")
    store.register_entity(customer)
    features = session.sql(f"SELECT CUSTOMER_ID, SUM(AMOUNT) AS TOTAL FROM {source} GROUP BY CUSTOMER_ID")
    view = FeatureView("TOTALS", [customer], features, refresh_freq="1 hour", desc="totals")
    registered = store.register_feature_view(view, "v1")

    # materialised when created
    rows = store.read_feature_view(registered).to_pandas().sort_values("CUSTOMER_ID")
    assert rows["TOTAL"].tolist() == [15.0, 7.0]
    shown = session.sql(f"SHOW DYNAMIC TABLES LIKE 'TOTALS%' IN SCHEMA {DEFAULT_DATABASE}.DT_FS").collect()
    assert [(r["name"], r["target_lag"], r["scheduling_state"]) for r in shown] == [("TOTALS$v1", "1 hour", "ACTIVE")]
    assert store.get_feature_view("TOTALS", "v1").refresh_freq == "1 hour"

    # not refreshed by itself (the emulator has no scheduler), refreshed when asked
    session.sql(f"INSERT INTO {source} VALUES ('C2', 3.0)").collect()
    assert sorted(store.read_feature_view(registered).to_pandas()["TOTAL"]) == [7.0, 15.0]
    store.refresh_feature_view(registered)
    assert sorted(store.read_feature_view(registered).to_pandas()["TOTAL"]) == [10.0, 15.0]
    history = store.get_refresh_history(registered).to_pandas()
    assert len(history) >= 2 and set(history["STATE"]) == {"SUCCEEDED"}
    verbose = store.get_refresh_history(registered, verbose=True).to_pandas()
    assert {"QUALIFIED_NAME", "COMPLETION_TARGET", "REFRESH_TRIGGER", "TARGET_LAG_SEC"} <= set(verbose.columns)
    assert set(verbose["QUALIFIED_NAME"]) == {f"{DEFAULT_DATABASE}.DT_FS.TOTALS$v1"}

    # overwritten by a view (no refresh_freq): the library renames its new view into place, and the
    # feature view is found again under its name, with its tags
    as_view = FeatureView("TOTALS", [customer], features, desc="now a view")
    store.register_feature_view(as_view, "v1", overwrite=True)
    found = store.get_feature_view("TOTALS", "v1")
    assert found.refresh_freq is None and found.desc == "now a view"
    assert session.sql(f"SHOW DYNAMIC TABLES IN SCHEMA {DEFAULT_DATABASE}.DT_FS").collect() == []
    store.delete_feature_view(found)
    registered = store.register_feature_view(view, "v1")

    # suspend / resume are the feature view's status
    store.suspend_feature_view(registered)
    assert store.get_feature_view("TOTALS", "v1").status.value == "SUSPENDED"
    store.resume_feature_view(registered)
    assert store.get_feature_view("TOTALS", "v1").status.value == "ACTIVE"

    store.delete_feature_view(registered)
    assert session.sql(f"SHOW DYNAMIC TABLES IN SCHEMA {DEFAULT_DATABASE}.DT_FS").collect() == []


def test_dynamic_table_statements_as_snowflake_refuses_them(emulated_session: Session) -> None:
    session = emulated_session
    target = f"{DEFAULT_DATABASE}.PUBLIC.DT_REFUSED"
    with pytest.raises(SnowparkSQLException, match="TARGET_LAG"):
        session.sql(f"CREATE DYNAMIC TABLE {target} WAREHOUSE = EMULATOR_WH AS SELECT 1 AS A").collect()
    session.sql(
        f"CREATE DYNAMIC TABLE {target} TARGET_LAG = '1 day' WAREHOUSE = EMULATOR_WH AS SELECT 1 AS A"
    ).collect()
    with pytest.raises(SnowparkSQLException, match="already exists"):
        session.sql(
            f"CREATE DYNAMIC TABLE {target} TARGET_LAG = '1 day' WAREHOUSE = EMULATOR_WH AS SELECT 1 AS A"
        ).collect()
    session.sql(f"DROP DYNAMIC TABLE {target}").collect()
    with pytest.raises(SnowparkSQLException, match="does not exist"):
        session.sql(f"ALTER DYNAMIC TABLE {target} REFRESH").collect()
