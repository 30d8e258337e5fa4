"""Feature store conformance: entities, immutable feature view versions, training sets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

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
    with pytest.raises(InvalidInputError, match="join_keys is empty"):
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


def test_versions_that_differ_only_in_case_are_refused(
    backend: mlops_kit.Backend, unique: str, orders_table: str
) -> None:
    """Issue 17: FEATS v1 then V1 overwrote v1's object on DuckDB; one rule on every backend."""
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    name = f"FEATS_{unique}"
    v1 = fs.register_feature_view(name, "v1", [f"CUST_{unique}"], _per_customer(orders_table))
    other = _per_customer(orders_table).replace("SUM(AMOUNT) AS TOTAL", "SUM(AMOUNT) * 1000 AS TOTAL")
    for replace in (False, True):
        with pytest.raises(AlreadyExistsError, match=r"v1.*only in case"):
            fs.register_feature_view(name, "V1", [f"CUST_{unique}"], other, overwrite=replace)
    assert [v.version for v in fs.list_feature_views(name)] == ["v1"]
    assert fs.get_feature_view(name, "v1") == v1
    assert sorted(fs.read_feature_view(name, "v1")["TOTAL"]) == [5.0, 70.0]


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
    rows = ts.to_pandas().sort_values("CUSTOMER_ID").reset_index(drop=True)  # the documented way to the rows
    assert list(rows.columns) == ["CUSTOMER_ID", "LABEL", "N_ORDERS", "TOTAL"]
    assert rows["TOTAL"].tolist()[:2] == [70.0, 5.0]
    assert pd.isna(rows.loc[2, "TOTAL"])  # a spine row without features keeps its place with nulls
    again = fs.get_training_set(f"FEATURE_STORE.TRAIN_{unique}")
    assert len(again.to_pandas()) == 3
    assert again.feature_views == ts.feature_views
    assert again.label_cols == ("LABEL",)
    assert again.row_count == 3
    fs.delete_training_set(f"FEATURE_STORE.TRAIN_{unique}")
    assert not backend.warehouse.table_exists(f"FEATURE_STORE.TRAIN_{unique}")
    with pytest.raises(NotFoundError):
        fs.get_training_set(f"FEATURE_STORE.TRAIN_{unique}")


def test_a_count_feature_is_an_integer(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    """A count written as SUM(CASE … THEN 1 ELSE 0 END) is NUMBER(38,0) on Snowflake: an integer in the
    view's rows and the training set's, so a model's signature reads it as one."""
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    query = (
        f"SELECT CUSTOMER_ID, SUM(CASE WHEN AMOUNT > 15 THEN 1 ELSE 0 END) AS BIG_ORDERS FROM {orders_table} GROUP BY 1"
    )
    view = fs.register_feature_view(f"F_{unique}", "v1", [f"CUST_{unique}"], query)
    read = fs.read_feature_view(f"F_{unique}", "v1").sort_values("CUSTOMER_ID")
    assert pd.api.types.is_integer_dtype(read["BIG_ORDERS"].dtype) and read["BIG_ORDERS"].tolist() == [2, 0]
    spine = "SELECT 'C1' AS CUSTOMER_ID, 1 AS LABEL UNION ALL SELECT 'C2', 0"
    rows = fs.generate_training_set(spine, [view], label_cols=["LABEL"]).to_pandas()
    assert pd.api.types.is_integer_dtype(rows["BIG_ORDERS"].dtype), rows.dtypes.to_dict()


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


@pytest.fixture
def customer(backend: mlops_kit.Backend, unique: str) -> str:
    """The entity ``CUST_<unique>``, joined on CUSTOMER_ID."""
    return backend.feature_store.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"]).name


@pytest.fixture
def per_customer(backend: mlops_kit.Backend, unique: str, orders_table: str, customer: str) -> mlops_kit.FeatureView:
    """The feature view ``F_<unique>/v1``: orders and their total per customer."""
    return backend.feature_store.register_feature_view(f"F_{unique}", "v1", [customer], _per_customer(orders_table))


# One behaviour on every backend (issue 12's divergences).

#: The columns of the kit's training-set record table, the same on every backend.
TRAINING_SET_RECORD_COLUMNS = [
    "TABLE_NAME",
    "SPINE_QUERY",
    "FEATURE_VIEWS",
    "LABEL_COLS",
    "FEATURE_COLUMNS",
    "COLUMNS",
    "SPINE_TIMESTAMP_COL",
    "ROW_COUNT",
    "CREATED_AT",
]


def _stores(backend: mlops_kit.Backend) -> tuple[list[mlops_kit.Entity], list[str]]:
    """What the feature store holds, to show a refused call changed nothing: its entities, and every
    table and view in its schema (feature view versions, training sets, the kit's record tables), so
    a half-made view or record shows too. (Names, not ``list_feature_views()``: on Snowflake that
    reads each version, and the session's store holds every test's views.)"""
    fs = backend.feature_store
    return fs.list_entities(), sorted(backend.warehouse.list_tables(fs.schema))


def test_join_keys_and_entities_given_as_a_string_are_refused(
    backend: mlops_kit.Backend, unique: str, orders_table: str, customer: str
) -> None:
    fs = backend.feature_store
    before = _stores(backend)
    with pytest.raises(InvalidInputError, match=r"join_keys must be a list of names, not the string 'CUSTOMER_ID'"):
        fs.register_entity(f"E_{unique}", "CUSTOMER_ID")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=rf"entities must be a list of names, not the string 'CUST_{unique}'"):
        fs.register_feature_view(f"F_{unique}", "v1", f"CUST_{unique}", _per_customer(orders_table))  # type: ignore[arg-type]
    assert _stores(backend) == before


def test_feature_column_clashing_with_a_spine_column_is_refused(
    backend: mlops_kit.Backend, unique: str, orders_table: str, per_customer: mlops_kit.FeatureView
) -> None:
    fs, view = backend.feature_store, per_customer
    spine = "SELECT 'C1' AS CUSTOMER_ID, 1.0 AS TOTAL"
    with pytest.raises(InvalidInputError, match=rf"F_{unique}/v1.*TOTAL|TOTAL.*F_{unique}/v1"):
        fs.generate_training_set(spine, [view], save_as=f"TRAIN_{unique}")
    assert not backend.warehouse.table_exists(f"FEATURE_STORE.TRAIN_{unique}")


def test_training_set_record_table_has_one_schema(
    backend: mlops_kit.Backend, unique: str, orders_table: str, per_customer: mlops_kit.FeatureView
) -> None:
    fs, view = backend.feature_store, per_customer
    fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [view], save_as=f"TRAIN_{unique}")
    columns = backend.warehouse.query("SELECT * FROM FEATURE_STORE.MLOPS_KIT_TRAINING_SETS LIMIT 0").columns
    assert [str(c).upper() for c in columns] == TRAINING_SET_RECORD_COLUMNS


def test_missing_join_key_names_the_key_the_view_and_the_spine_columns(
    backend: mlops_kit.Backend, unique: str, orders_table: str, per_customer: mlops_kit.FeatureView
) -> None:
    fs, view = backend.feature_store, per_customer
    with pytest.raises(InvalidInputError) as raised:
        fs.generate_training_set("SELECT 1 AS OTHER_ID, 2 AS LABEL", [view])
    message = str(raised.value)
    assert "join key" in message and "CUSTOMER_ID" in message and f"F_{unique}/v1" in message
    assert "OTHER_ID" in message and "LABEL" in message  # what the spine does have


def _is_utc(value: object) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() == timedelta(0)


def test_timestamps_are_timezone_aware_utc(
    backend: mlops_kit.Backend, unique: str, orders_table: str, customer: str
) -> None:
    fs = backend.feature_store
    started = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    view = fs.register_feature_view(f"F_{unique}", "v1", [f"CUST_{unique}"], _per_customer(orders_table))
    assert _is_utc(view.created_at) and view.created_at >= started
    fetched = fs.get_feature_view(f"F_{unique}", "v1")
    assert _is_utc(fetched.created_at) and abs(fetched.created_at - view.created_at) < timedelta(seconds=2)
    saved = fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [view], save_as=f"TRAIN_{unique}")
    assert _is_utc(saved.created_at) and saved.created_at >= started
    again = fs.get_training_set(f"TRAIN_{unique}")
    assert _is_utc(again.created_at) and abs(again.created_at - saved.created_at) < timedelta(seconds=2)


# Point-in-time ties: rows of a feature view with the same key and timestamp.


def _tied_view(backend: mlops_kit.Backend, unique: str, amounts: list[float]) -> mlops_kit.FeatureView:
    table = f"PREP_DATA.FS_TIES_{unique}"
    backend.warehouse.write_table(
        table,
        pd.DataFrame(
            {
                "CUSTOMER_ID": ["C1", "C1", "C1", "C2"],
                "TS": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-01-15"]),
                "AMOUNT": amounts,
            }
        ),
    )
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    return fs.register_feature_view(
        f"TIES_{unique}", "v1", [f"CUST_{unique}"], f"SELECT CUSTOMER_ID, TS, AMOUNT FROM {table}", timestamp_col="TS"
    )


_TIE_SPINE = (
    "SELECT 'C1' AS CUSTOMER_ID, '2024-02-15'::TIMESTAMP AS AS_OF "
    "UNION ALL SELECT 'C1', '2024-01-10'::TIMESTAMP UNION ALL SELECT 'C2', '2024-03-01'::TIMESTAMP"
)


def test_point_in_time_ties_with_different_values_are_refused(backend: mlops_kit.Backend, unique: str) -> None:
    view = _tied_view(backend, unique, [10.0, 20.0, 99.0, 5.0])
    with pytest.raises(InvalidInputError) as raised:
        backend.feature_store.generate_training_set(
            _TIE_SPINE, [view], spine_timestamp_col="AS_OF", save_as=f"TRAIN_{unique}"
        )
    message = str(raised.value)
    assert f"TIES_{unique}/v1" in message and "C1" in message and "2024-02-01" in message
    assert "1 group" in message and "QUALIFY ROW_NUMBER()" in message
    assert not backend.warehouse.table_exists(f"FEATURE_STORE.TRAIN_{unique}")


def test_point_in_time_ties_that_are_exact_duplicates_are_reproducible(backend: mlops_kit.Backend, unique: str) -> None:
    view = _tied_view(backend, unique, [10.0, 20.0, 20.0, 5.0])
    runs = [
        backend.feature_store.generate_training_set(_TIE_SPINE, [view], spine_timestamp_col="AS_OF").data
        for _ in range(2)
    ]
    first, second = (d.sort_values(["CUSTOMER_ID", "AS_OF"]).reset_index(drop=True) for d in runs)
    pd.testing.assert_frame_equal(first, second)
    assert first["AMOUNT"].tolist() == [10.0, 20.0, 5.0]


def test_repeated_keys_without_a_point_in_time_are_refused(backend: mlops_kit.Backend, unique: str) -> None:
    """Issue 17: a view whose keys repeat turned a spine of n rows into more; one row per spine row."""
    table = f"PREP_DATA.REPEATS_{unique}"
    backend.warehouse.write_table(
        table, pd.DataFrame({"CUSTOMER_ID": ["C1", "C1", "C2", "C3", "C3"], "SCORE": [1.0, 2.0, 3.0, 4.0, 4.0]})
    )
    fs = backend.feature_store
    fs.register_entity(f"CUST_{unique}", ["CUSTOMER_ID"])
    view = fs.register_feature_view(f"REPEATS_{unique}", "v1", [f"CUST_{unique}"], f"SELECT * FROM {table}")
    spine = "SELECT 'C1' AS CUSTOMER_ID UNION ALL SELECT 'C2' UNION ALL SELECT 'C3'"
    with pytest.raises(InvalidInputError) as raised:
        fs.generate_training_set(spine, [view], save_as=f"TRAIN_{unique}")
    message = str(raised.value)
    assert f"REPEATS_{unique}/v1" in message and "2 CUSTOMER_ID values" in message
    assert "CUSTOMER_ID=C1 (2 rows)" in message and "CUSTOMER_ID=C3 (2 rows)" in message
    assert not backend.warehouse.table_exists(f"FEATURE_STORE.TRAIN_{unique}")
    unique_rows = fs.register_feature_view(
        f"REPEATS_{unique}", "v2", [f"CUST_{unique}"], f"SELECT DISTINCT * FROM {table} WHERE SCORE <> 1.0"
    )
    assert len(fs.generate_training_set(spine, [unique_rows]).data) == 3


# Bad input (issue 10 and what a reviewer would try next): a kit error naming the argument,
# and the stores as they were.


#: register_feature_view arguments that are refused: what to change -> what the message says.
#: ``{orders}`` stands for the orders table.
BAD_FEATURE_VIEWS: dict[str, tuple[dict[str, object], str]] = {
    "query-none": ({"query": None}, "query must be a string"),
    "query-empty": ({"query": ""}, "query is empty"),
    "query-whitespace": ({"query": "   \n "}, "query is empty"),
    "query-two-statements": (
        {"query": "SELECT 'C1' AS CUSTOMER_ID; SELECT 'C2' AS CUSTOMER_ID"},
        "one SQL statement, got 2",
    ),
    "query-writes": ({"query": "DELETE FROM {orders}"}, "must only read, but it is a DELETE statement"),
    "name-quote": ({"name": 'F"X'}, "feature view 'F\"X' is not a plain identifier"),
    "name-semicolon": ({"name": "F;DROP TABLE X"}, "feature view 'F;DROP TABLE X' is not a plain identifier"),
    "name-space": ({"name": "F X"}, "feature view 'F X' is not a plain identifier"),
    "name-none": ({"name": None}, "feature view None is not a plain identifier"),
    "name-number": ({"name": 7}, "feature view 7 is not a plain identifier"),
    "version-space": ({"version": "v 1"}, "feature view version 'v 1' is invalid"),
    "version-semicolon": ({"version": "v1;DROP"}, "feature view version 'v1;DROP' is invalid"),
    "version-quote": ({"version": 'v"1'}, "feature view version 'v\"1' is invalid"),
    "version-empty": ({"version": ""}, "feature view version '' is invalid"),
    "version-dot": ({"version": ".v1"}, "feature view version '.v1' is invalid"),
    "version-dash": ({"version": "-v1"}, "feature view version '-v1' is invalid"),
    "version-none": ({"version": None}, "feature view version None is invalid"),
    "version-number": ({"version": 1}, "feature view version 1 is invalid"),
    "entities-empty": ({"entities": []}, "entities is empty"),
    "entities-none": ({"entities": None}, "entities must be a list of names"),
    "timestamp-missing": ({"timestamp_col": "EVENT_TIME"}, "lacks the timestamp column EVENT_TIME"),
    "timestamp-semicolon": ({"timestamp_col": "TS;DROP"}, "timestamp_col 'TS;DROP' is not a plain identifier"),
    "overwrite-string": ({"overwrite": "yes"}, "overwrite must be True or False"),
    "description-number": ({"description": 42}, "description must be a string"),
}


@pytest.mark.parametrize("case", list(BAD_FEATURE_VIEWS))
def test_bad_feature_view_registration_is_refused(
    backend: mlops_kit.Backend, unique: str, orders_table: str, customer: str, case: str
) -> None:
    change, expected = BAD_FEATURE_VIEWS[case]
    arguments: dict[str, object] = {
        "name": f"F_{unique}",
        "version": "v1",
        "entities": [customer],
        "query": _per_customer(orders_table),
    }
    arguments.update({k: v.format(orders=orders_table) if isinstance(v, str) else v for k, v in change.items()})
    before = _stores(backend)
    with pytest.raises(InvalidInputError, match=re.escape(expected)):
        backend.feature_store.register_feature_view(**arguments)  # type: ignore[arg-type]
    assert _stores(backend) == before
    assert len(backend.warehouse.read_table(orders_table)) == 4  # nothing ran


@pytest.mark.parametrize(
    ("join_keys", "expected"),
    [
        ([], "join_keys is empty"),
        (["ID", "id"], "join_keys names ID more than once"),
        (["ID;DROP TABLE X"], "join key in join_keys 'ID;DROP TABLE X' is not a plain identifier"),
        (['ID"'], "join key in join_keys 'ID\"' is not a plain identifier"),
        ([None], "join key in join_keys None"),
        (None, "join_keys must be a list of names"),
    ],
    ids=["empty", "duplicate", "semicolon", "quote", "none-item", "none"],
)
def test_bad_join_keys_are_refused(backend: mlops_kit.Backend, unique: str, join_keys: object, expected: str) -> None:
    before = _stores(backend)
    with pytest.raises(InvalidInputError, match=re.escape(expected)):
        backend.feature_store.register_entity(f"E_{unique}", join_keys)  # type: ignore[arg-type]
    assert _stores(backend) == before


@pytest.mark.parametrize(
    ("spine", "expected"),
    [
        (pd.DataFrame({"CUSTOMER_ID": ["C1"]}), "spine_query must be a string"),
        (None, "spine_query must be a string"),
        ("  ", "spine_query is empty"),
        ("SELECT 'C1' AS CUSTOMER_ID; DROP TABLE X", "one SQL statement, got 2"),
    ],
    ids=["dataframe", "none", "blank", "two-statements"],
)
def test_bad_spine_is_refused(
    backend: mlops_kit.Backend,
    unique: str,
    orders_table: str,
    per_customer: mlops_kit.FeatureView,
    spine: object,
    expected: str,
) -> None:
    fs, view = backend.feature_store, per_customer
    with pytest.raises(InvalidInputError, match=re.escape(expected)):
        fs.generate_training_set(spine, [view], save_as=f"TRAIN_{unique}")  # type: ignore[arg-type]
    assert not backend.warehouse.table_exists(f"FEATURE_STORE.TRAIN_{unique}")


def test_spine_missing_its_timestamp_column_is_refused(
    backend: mlops_kit.Backend, unique: str, orders_table: str, customer: str
) -> None:
    fs = backend.feature_store
    view = fs.register_feature_view(
        f"RUN_{unique}", "v1", [f"CUST_{unique}"], _running_total(orders_table), timestamp_col="TS"
    )
    with pytest.raises(InvalidInputError, match=r"spine_timestamp_col.*AS_OF.*CUSTOMER_ID"):
        fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [view], spine_timestamp_col="AS_OF")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"feature_views": []}, "feature_views is empty"),
        ({"feature_views": "F/v1"}, "feature_views must be a list"),
        ({"label_cols": "LABEL"}, "label_cols must be a list of names, not the string 'LABEL'"),
        ({"save_as": "FEATURE_STORE.T;DROP"}, "is not a plain identifier"),
    ],
    ids=["no-views", "views-string", "labels-string", "save-as-semicolon"],
)
def test_bad_training_set_arguments_are_refused(
    backend: mlops_kit.Backend,
    unique: str,
    orders_table: str,
    per_customer: mlops_kit.FeatureView,
    kwargs: dict[str, object],
    expected: str,
) -> None:
    fs, view = backend.feature_store, per_customer
    arguments: dict[str, object] = {"feature_views": [view], **kwargs}
    with pytest.raises(InvalidInputError, match=re.escape(expected)):
        fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID, 1 AS LABEL", **arguments)  # type: ignore[arg-type]


def test_deleting_what_does_not_exist_is_not_found(backend: mlops_kit.Backend, unique: str, orders_table: str) -> None:
    fs = backend.feature_store
    before = _stores(backend)
    with pytest.raises(NotFoundError, match=f"NEVER_{unique}"):
        fs.delete_feature_view(f"NEVER_{unique}", "v1")
    with pytest.raises(NotFoundError, match=f"NEVER_{unique}"):
        fs.delete_entity(f"NEVER_{unique}")
    # a table that is not a saved training set is not one to delete
    with pytest.raises(NotFoundError, match="training set"):
        fs.delete_training_set(orders_table)
    assert len(backend.warehouse.read_table(orders_table)) == 4
    assert _stores(backend) == before


def test_saving_a_training_set_over_a_table_of_the_user_is_refused(
    backend: mlops_kit.Backend, unique: str, orders_table: str, per_customer: mlops_kit.FeatureView
) -> None:
    fs, view = backend.feature_store, per_customer
    with pytest.raises(AlreadyExistsError, match=orders_table):
        fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID", [view], save_as=orders_table)
    assert backend.warehouse.read_table(orders_table).columns.tolist() == ["CUSTOMER_ID", "TS", "AMOUNT"]
