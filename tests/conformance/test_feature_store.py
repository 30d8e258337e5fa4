"""Feature store conformance: entities, immutable feature view versions, training sets."""

from __future__ import annotations

import pandas as pd
import pytest

import mlops_kit
from mlops_kit import AlreadyExistsError, FeatureViewRef, InvalidInputError, NotFoundError


@pytest.fixture
def orders_table(backend: mlops_kit.Backend, unique: str) -> str:
    table = f"PREP_DATA.FS_ORDERS_{unique}"
    backend.warehouse.write_table(
        table,
        pd.DataFrame(
            {
                "CUSTOMER_ID": ["C1", "C1", "C1", "C2"],
                "TS": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-15"]),
                "AMOUNT": [10.0, 20.0, 40.0, 5.0],
            }
        ),
    )
    return table


def _per_customer(table: str) -> str:
    return f"SELECT CUSTOMER_ID, COUNT(*) AS N_ORDERS, SUM(AMOUNT) AS TOTAL FROM {table} GROUP BY CUSTOMER_ID"


def _running_total(table: str) -> str:
    return (
        f"SELECT CUSTOMER_ID, TS, SUM(AMOUNT) OVER (PARTITION BY CUSTOMER_ID ORDER BY TS) AS RUNNING_TOTAL FROM {table}"
    )


def test_entity_lifecycle(backend: mlops_kit.Backend, unique: str) -> None:
    fs = backend.feature_store
    entity = fs.register_entity(f"cust_{unique}", ["customer_id"], "a customer")
    assert entity == mlops_kit.Entity(f"CUST_{unique}", ("CUSTOMER_ID",), "a customer")
    assert fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"], "a customer") == entity  # idempotent
    assert entity in fs.list_entities()
    assert fs.get_entity(f"Cust_{unique}") == entity
    with pytest.raises(AlreadyExistsError, match="join keys"):
        fs.register_entity(f"CUST_{unique}", ["OTHER_ID"], "a customer")
    fs.delete_entity(f"CUST_{unique}")
    with pytest.raises(NotFoundError):
        fs.get_entity(f"CUST_{unique}")
    with pytest.raises(NotFoundError):
        fs.delete_entity(f"CUST_{unique}")


@pytest.mark.parametrize("bad", ["", "1ABC", "A-B", "A B", "X;DROP"])
def test_entity_names_are_validated(backend: mlops_kit.Backend, bad: str) -> None:
    with pytest.raises(InvalidInputError):
        backend.feature_store.register_entity(bad, ["ID"])


def test_entity_needs_join_keys(backend: mlops_kit.Backend, unique: str) -> None:
    with pytest.raises(InvalidInputError, match="join keys"):
        backend.feature_store.register_entity(f"E_{unique}", [])


def test_feature_view_versions_side_by_side(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    name = f"FEATS_{unique}"
    v1 = fs.register_feature_view(name, "v1", [f"CUST_{unique}"], _per_customer(orders_table), description="one")
    v2 = fs.register_feature_view(
        name,
        "v2",
        [f"CUST_{unique}"],
        _per_customer(orders_table).replace("SUM(AMOUNT) AS TOTAL", "SUM(AMOUNT) AS TOTAL, AVG(AMOUNT) AS MEAN"),
        description="two",
    )
    assert (v1.version, v2.version) == ("v1", "v2")  # versions keep their case
    assert v1.feature_columns == ("N_ORDERS", "TOTAL")
    assert v2.feature_columns == ("N_ORDERS", "TOTAL", "MEAN")
    assert f"{name}$v1" in v1.object_name
    assert [v.version for v in fs.list_feature_views(name)] == ["v1", "v2"]
    assert fs.get_feature_view(name, "v2") == v2
    rows = fs.read_feature_view(name, "v1").sort_values("CUSTOMER_ID")
    assert rows["TOTAL"].tolist() == [70.0, 5.0]
    assert rows["N_ORDERS"].tolist() == [3, 1]
    # each version is an object of its own in the warehouse
    assert f"{name}$v1" in backend.warehouse.list_tables("FEATURE_STORE")


def test_feature_view_versions_are_immutable(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    name = f"FEATS_{unique}"
    first = fs.register_feature_view(name, "v1", [f"CUST_{unique}"], _per_customer(orders_table))
    assert fs.register_feature_view(name, "v1", [f"CUST_{unique}"], _per_customer(orders_table)) == first
    other = f"SELECT CUSTOMER_ID, MAX(AMOUNT) AS TOP FROM {orders_table} GROUP BY CUSTOMER_ID"
    with pytest.raises(AlreadyExistsError, match="immutable"):
        fs.register_feature_view(name, "v1", [f"CUST_{unique}"], other)
    replaced = fs.register_feature_view(name, "v1", [f"CUST_{unique}"], other, overwrite=True)
    assert replaced.feature_columns == ("TOP",)
    assert fs.read_feature_view(name, "v1").columns.tolist() == ["CUSTOMER_ID", "TOP"]


def test_feature_view_errors(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    with pytest.raises(NotFoundError, match="entity"):
        fs.register_feature_view(f"F_{unique}", "v1", [f"NOPE_{unique}"], _per_customer(orders_table))
    with pytest.raises(InvalidInputError, match="CUSTOMER_ID"):
        fs.register_feature_view(
            f"F_{unique}", "v1", [f"CUST_{unique}"], f"SELECT SUM(AMOUNT) AS S FROM {orders_table}"
        )
    with pytest.raises(InvalidInputError, match="version"):
        fs.register_feature_view(f"F_{unique}", "v 1", [f"CUST_{unique}"], _per_customer(orders_table))
    with pytest.raises(NotFoundError):
        fs.get_feature_view(f"F_{unique}", "v9")
    with pytest.raises(NotFoundError):
        fs.read_feature_view(f"F_{unique}", "v9")


def test_delete_feature_view_then_entity(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    fs.register_feature_view(f"F_{unique}", "v1", [f"CUST_{unique}"], _per_customer(orders_table))
    with pytest.raises(InvalidInputError, match="used by"):
        fs.delete_entity(f"CUST_{unique}")
    fs.delete_feature_view(f"F_{unique}", "v1")
    assert fs.list_feature_views(f"F_{unique}") == []
    assert f"F_{unique}$v1" not in backend.warehouse.list_tables("FEATURE_STORE")
    with pytest.raises(NotFoundError):
        fs.delete_feature_view(f"F_{unique}", "v1")
    fs.delete_entity(f"CUST_{unique}")


def test_training_set_plain_join_saved_and_recorded(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    view = fs.register_feature_view(f"F_{unique}", "v1", [f"CUST_{unique}"], _per_customer(orders_table))
    spine = "SELECT 'C1' AS CUSTOMER_ID, 1 AS LABEL UNION ALL SELECT 'C2', 0 UNION ALL SELECT 'C9', 1"
    ts = fs.generate_training_set(spine, [view], label_cols=["LABEL"], save_as=f"TRAIN_{unique}")
    assert ts.table == f"FEATURE_STORE.TRAIN_{unique}"
    assert ts.row_count == 3
    assert ts.feature_columns == ("N_ORDERS", "TOTAL")
    assert ts.feature_views == (FeatureViewRef(f"F_{unique}", "v1"),)
    rows = ts.data.sort_values("CUSTOMER_ID").reset_index(drop=True)
    assert rows["TOTAL"].tolist()[:2] == [70.0, 5.0]
    assert pd.isna(rows.loc[2, "TOTAL"])  # a spine row without features keeps its place with nulls
    again = fs.get_training_set(f"FEATURE_STORE.TRAIN_{unique}")
    assert again.feature_views == ts.feature_views
    assert again.label_cols == ("LABEL",)
    assert again.row_count == 3
    fs.delete_training_set(f"FEATURE_STORE.TRAIN_{unique}")
    assert not backend.warehouse.table_exists(f"FEATURE_STORE.TRAIN_{unique}")
    with pytest.raises(NotFoundError):
        fs.get_training_set(f"FEATURE_STORE.TRAIN_{unique}")


def test_training_set_is_point_in_time_correct(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    view = fs.register_feature_view(
        f"RUN_{unique}", "v1", [f"CUST_{unique}"], _running_total(orders_table), timestamp_col="TS"
    )
    spine = (
        "SELECT 'C1' AS CUSTOMER_ID, '2024-02-15'::TIMESTAMP AS AS_OF, 1 AS LABEL "
        "UNION ALL SELECT 'C1', '2024-03-01'::TIMESTAMP, 0 "
        "UNION ALL SELECT 'C1', '2023-12-31'::TIMESTAMP, 0 "
        "UNION ALL SELECT 'C2', '2024-06-01'::TIMESTAMP, 1"
    )
    ts = fs.generate_training_set(spine, [view], label_cols=["LABEL"], spine_timestamp_col="AS_OF")
    got = {
        (r.CUSTOMER_ID, str(r.AS_OF.date())): (None if pd.isna(r.RUNNING_TOTAL) else r.RUNNING_TOTAL)
        for r in ts.data.itertuples()
    }
    assert got == {
        ("C1", "2024-02-15"): 30.0,  # Feb 1 row, not the Mar 1 one
        ("C1", "2024-03-01"): 70.0,  # a feature row at exactly the spine time counts
        ("C1", "2023-12-31"): None,  # nothing known yet
        ("C2", "2024-06-01"): 5.0,
    }


def test_training_set_errors(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    view = fs.register_feature_view(f"F_{unique}", "v1", [f"CUST_{unique}"], _per_customer(orders_table))
    with pytest.raises(InvalidInputError, match="CUSTOMER_ID"):
        fs.generate_training_set("SELECT 1 AS OTHER_ID", [view])
    with pytest.raises(InvalidInputError, match="LABEL"):
        fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [view], label_cols=["LABEL"])
    with pytest.raises(InvalidInputError, match="TOTAL"):
        fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [view, view])
    with pytest.raises(NotFoundError):
        fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [(f"F_{unique}", "v7")])
