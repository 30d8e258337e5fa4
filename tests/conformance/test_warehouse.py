"""Warehouse conformance: tables, Snowflake-dialect SQL, strict CSV loads, names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mlops_kit
from mlops_kit import AlreadyExistsError, InvalidInputError, NotFoundError

COLUMNS = {"CUSTOMER_ID": "string", "SIGNUP": "date", "AMOUNT": "float", "VISITS": "int"}


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2", "C3"],
            "order_date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-10", "2024-07-02"]),
            "amount": [10.0, 30.0, 5.5, 7.0],
            "status": ["FULFILLED", "RETURNED", "FULFILLED", "CANCELLED"],
        }
    )


def test_write_query_and_read_back(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.ORDERS_{unique}"
    assert backend.warehouse.write_table(table, _orders()) == 4
    assert backend.warehouse.table_exists(table)
    assert f"ORDERS_{unique}" in backend.warehouse.list_tables("PREP_DATA")
    back = backend.warehouse.read_table(table)
    assert list(back.columns) == ["CUSTOMER_ID", "ORDER_DATE", "AMOUNT", "STATUS"]
    assert sorted(back["AMOUNT"]) == [5.5, 7.0, 10.0, 30.0]


def test_snowflake_dialect_runs_with_the_same_rows(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.ORDERS_{unique}"
    backend.warehouse.write_table(table, _orders())
    rows = backend.warehouse.query(
        f"""
        SELECT CUSTOMER_ID,
               DATEDIFF('day', MAX(ORDER_DATE), '2024-06-30'::DATE) AS DAYS_SINCE,
               COUNT_IF(STATUS = 'RETURNED') / COUNT(*) AS RETURN_RATE,
               IFF(COUNT(*) > 1, 1, 0) AS REPEAT,
               ZEROIFNULL(NULL) AS ZERO
        FROM {backend.warehouse.database}.{table}
        WHERE ORDER_DATE <= '2024-06-30'
        GROUP BY CUSTOMER_ID ORDER BY CUSTOMER_ID
        """
    )
    assert rows["CUSTOMER_ID"].tolist() == ["C1", "C2"]
    assert rows["DAYS_SINCE"].tolist() == [121, 141]
    assert rows["RETURN_RATE"].tolist() == [0.5, 0.0]
    assert rows["REPEAT"].tolist() == [1, 0]
    assert rows["ZERO"].tolist() == [0, 0]


def test_write_modes(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.MODES_{unique}"
    frame = pd.DataFrame({"A": [1, 2]})
    backend.warehouse.write_table(table, frame, mode="error")
    with pytest.raises(AlreadyExistsError):
        backend.warehouse.write_table(table, frame, mode="error")
    backend.warehouse.write_table(table, frame, mode="append")
    assert len(backend.warehouse.read_table(table)) == 4
    backend.warehouse.write_table(table, frame.head(1), mode="overwrite")
    assert len(backend.warehouse.read_table(table)) == 1


def test_create_table_as_and_execute(backend: mlops_kit.Backend, unique: str) -> None:
    source, target = f"PREP_DATA.SRC_{unique}", f"ANALYTICS.DST_{unique}"
    backend.warehouse.write_table(source, _orders())
    assert backend.warehouse.create_table_as(target, f"SELECT CUSTOMER_ID FROM {source} WHERE AMOUNT > 6") == 3
    backend.warehouse.execute(f"DELETE FROM {target} WHERE CUSTOMER_ID = 'C3'")
    assert backend.warehouse.read_table(target)["CUSTOMER_ID"].tolist() == ["C1", "C1"]


def test_failed_create_table_as_leaves_the_old_table(backend: mlops_kit.Backend, unique: str) -> None:
    target = f"ANALYTICS.KEEP_{unique}"
    backend.warehouse.write_table(target, pd.DataFrame({"A": [1, 2, 3]}))
    with pytest.raises(mlops_kit.MlopsKitError):
        backend.warehouse.create_table_as(target, "SELECT NO_SUCH_COLUMN FROM PREP_DATA.NO_SUCH_TABLE")
    assert backend.warehouse.read_table(target)["A"].tolist() == [1, 2, 3]


def test_drop_table_and_schema(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"SCRATCH_{unique}.T"
    backend.warehouse.create_schemas([f"SCRATCH_{unique}"])
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1]}))
    assert backend.warehouse.drop_table(table) is True
    assert backend.warehouse.drop_table(table) is False
    assert backend.warehouse.drop_schema(f"SCRATCH_{unique}") is True
    assert backend.warehouse.list_tables(f"SCRATCH_{unique}") == []


def test_missing_table_is_not_found(backend: mlops_kit.Backend) -> None:
    with pytest.raises(NotFoundError, match="NO_SUCH_TABLE"):
        backend.warehouse.read_table("PREP_DATA.NO_SUCH_TABLE")


@pytest.mark.parametrize("bad", ["ORDERS; DROP TABLE X", 'PREP_DATA."weird"', "PREP DATA.T", "A.B.C.D", ""])
def test_bad_table_names_are_rejected_before_any_sql(backend: mlops_kit.Backend, bad: str) -> None:
    with pytest.raises(InvalidInputError):
        backend.warehouse.write_table(bad, pd.DataFrame({"A": [1]}))


def test_bad_column_name_is_rejected(backend: mlops_kit.Backend, unique: str) -> None:
    with pytest.raises(InvalidInputError, match="column"):
        backend.warehouse.write_table(f"PREP_DATA.COLS_{unique}", pd.DataFrame({"a b": [1]}))


def test_load_csv_types_the_columns(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("customer_id,signup,amount,visits\nC1,2023-01-02,10.5,3\nC2,2023-02-03,4,0\n")
    assert backend.warehouse.load_csv(f"PREP_DATA.CSV_{unique}", path, COLUMNS) == 2
    rows = backend.warehouse.query(
        f"SELECT CUSTOMER_ID, YEAR(SIGNUP) AS Y, AMOUNT + VISITS AS S FROM PREP_DATA.CSV_{unique} ORDER BY 1"
    )
    assert rows["Y"].tolist() == [2023, 2023]
    assert rows["S"].tolist() == [13.5, 4.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("customer_id,signup,amount\nC1,2023-01-02,1\n", r"missing column\(s\) VISITS"),
        ("customer_id,signup,amount,visits,extra\nC1,2023-01-02,1,1,x\n", r"unexpected column\(s\) EXTRA"),
        ("customer_id,signup,amount,visits\nC1,2023-01-02,1,1\nC2,2023-13-45,1,1\n", r"SIGNUP .*row 3: '2023-13-45'"),
        ("customer_id,signup,amount,visits\nC1,2023-01-02,ten,1\n", r"AMOUNT expects a float.*row 2: 'ten'"),
        ("customer_id,signup,amount,visits\nC1,2023-01-02,1,1.5\n", r"VISITS expects a int.*row 2: '1.5'"),
        ("customer_id,signup,amount,visits\n,2023-01-02,1,1\n", r"CUSTOMER_ID .*row 2"),
        ("", "empty"),
        ("customer_id,signup,amount,visits\n", "no data rows"),
    ],
    ids=["missing-column", "extra-column", "bad-date", "bad-float", "bad-int", "blank-id", "empty-file", "header-only"],
)
def test_bad_csv_names_the_problem_and_loads_nothing(
    backend: mlops_kit.Backend, unique: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    table = f"PREP_DATA.BAD_{unique}"
    with pytest.raises(InvalidInputError, match=message) as caught:
        backend.warehouse.load_csv(table, path, COLUMNS)
    assert str(path) in str(caught.value)
    assert not backend.warehouse.table_exists(table)


def test_bad_csv_does_not_touch_an_existing_table(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    table = f"PREP_DATA.EXISTING_{unique}"
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("customer_id,signup,amount,visits\nC1,2023-01-02,1,1\n")
    bad.write_text("customer_id,signup,amount,visits\nC1,2023-01-02,-,1\n")
    backend.warehouse.load_csv(table, good, COLUMNS)
    with pytest.raises(InvalidInputError):
        backend.warehouse.load_csv(table, bad, COLUMNS)
    assert backend.warehouse.read_table(table)["CUSTOMER_ID"].tolist() == ["C1"]


def test_query_runs_exactly_one_statement(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.KEEP_{unique}"
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1]}))
    with pytest.raises(InvalidInputError, match=r"expected one SQL statement, got 2: \[1\] SELECT 1 AS A \[2\] DROP"):
        backend.warehouse.query(f"SELECT 1 AS A; DROP TABLE {table}")
    assert backend.warehouse.table_exists(table)  # nothing ran
    assert backend.warehouse.query("SELECT 1 AS A;")["A"].tolist() == [1]  # a trailing ; is one statement
    with pytest.raises(InvalidInputError, match="no SQL statement"):
        backend.warehouse.query(" ; -- nothing\n")


@pytest.mark.parametrize(
    ("sql", "column", "value"),
    [
        ("SELECT 'Hello!World(' AS G", "G", "Hello!World("),
        ("SELECT 'a; DROP TABLE X' AS S", "S", "a; DROP TABLE X"),
        ("SELECT 'M!PREDICT(1)' AS S -- and X!PREDICT( in a comment", "S", "M!PREDICT(1)"),
        ("SELECT 'WITH M AS MODEL X VERSION V1' AS S", "S", "WITH M AS MODEL X VERSION V1"),
    ],
    ids=["exclamation", "semicolon", "model-call-text", "model-cte-text"],
)
def test_sql_inside_a_string_literal_is_only_text(backend: mlops_kit.Backend, sql: str, column: str, value: str) -> None:
    assert backend.warehouse.query(sql)[column].tolist() == [value]


@pytest.mark.emulator_gap(reason="fakesnow names an unaliased column as DuckDB does: count_star(), not COUNT(*)")
def test_unaliased_columns_are_named_as_on_snowflake(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.NAMED_{unique}"
    backend.warehouse.write_table(table, _orders())
    rows = backend.warehouse.query(f"select count(*), customer_id, max(amount) as top from {table} group by 2 order by 2")
    assert list(rows.columns) == ["COUNT(*)", "CUSTOMER_ID", "TOP"]
    assert rows["COUNT(*)"].tolist() == [2, 1, 1]


def test_show_tables_lists_the_schema(backend: mlops_kit.Backend, unique: str) -> None:
    backend.warehouse.create_schemas([f"SHOWN_{unique}"])
    backend.warehouse.write_table(f"SHOWN_{unique}.ORDERS", _orders())
    backend.warehouse.write_table(f"SHOWN_{unique}.OTHER", pd.DataFrame({"A": [1]}))
    rows = backend.warehouse.query(f"SHOW TABLES LIKE 'ord%' IN SCHEMA SHOWN_{unique}")
    assert rows["name"].tolist() == ["ORDERS"]
    assert rows["schema_name"].str.upper().tolist() == [f"SHOWN_{unique}"]
    everything = backend.warehouse.query("SHOW TABLES IN DATABASE")  # bare SHOW TABLES: the current schema's
    assert {"ORDERS", "OTHER"} <= set(everything["name"])
    backend.warehouse.drop_schema(f"SHOWN_{unique}")
