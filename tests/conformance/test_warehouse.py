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


def test_whole_numbers_are_integers_and_float_where_null(backend: mlops_kit.Backend, unique: str) -> None:
    """Snowflake's NUMBER(p,0) reaches pandas as integers, as float64 where the column holds a NULL
    (docs.snowflake.com/en/developer-guide/python-connector/python-connector-pandas); DuckDB's SUM is HUGEINT."""
    table = f"PREP_DATA.ORDERS_{unique}"
    backend.warehouse.write_table(table, _orders())
    rows = backend.warehouse.query(
        "SELECT CUSTOMER_ID, COUNT(*) AS ORDERS, SUM(CASE WHEN STATUS = 'FULFILLED' THEN 1 ELSE 0 END) AS FULFILLED, "
        "CAST(SUM(AMOUNT) AS NUMBER) AS ROUNDED, MAX(CASE WHEN STATUS = 'RETURNED' THEN 1 END) AS RETURNED "
        f"FROM {table} GROUP BY CUSTOMER_ID ORDER BY CUSTOMER_ID"
    )
    for column in ("ORDERS", "FULFILLED", "ROUNDED"):
        assert pd.api.types.is_integer_dtype(rows[column].dtype), (column, rows.dtypes.to_dict())
    assert rows["FULFILLED"].tolist() == [1, 1, 0]
    assert rows["RETURNED"].dtype == "float64" and rows["RETURNED"].isna().tolist() == [False, True, True]


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


@pytest.mark.parametrize(
    ("select", "named"),
    [
        ("CUSTOMER_IDX", "CUSTOMER_IDX"),
        ("customer_idx, AMOUNT", "CUSTOMER_IDX"),
        ("o.CUSTOMER_IDX", "O.CUSTOMER_IDX"),
    ],
)
def test_a_column_that_does_not_exist_is_an_invalid_identifier(
    backend: mlops_kit.Backend, unique: str, select: str, named: str
) -> None:
    """Snowflake's words (``invalid identifier 'X'``), not a translation's artefact (DuckDB read the
    Snowflake column name ``X AS "X"`` as an alias referenced before it is defined)."""
    table = f"PREP_DATA.IDENT_{unique}"
    backend.warehouse.write_table(table, _orders())
    with pytest.raises(InvalidInputError, match=f"invalid identifier '{named}'") as raised:
        backend.warehouse.query(f"SELECT {select} FROM {table} o")
    assert "before it is defined" not in str(raised.value)
    if backend.name == "local":  # DuckDB's candidates are kept (Snowflake names none)
        assert "CUSTOMER_ID" in str(raised.value).split("exist:")[-1]


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
def test_sql_inside_a_string_literal_is_only_text(
    backend: mlops_kit.Backend, sql: str, column: str, value: str
) -> None:
    assert backend.warehouse.query(sql)[column].tolist() == [value]


@pytest.mark.emulator_gap(reason="fakesnow names an unaliased column as DuckDB does: count_star(), not COUNT(*)")
def test_unaliased_columns_are_named_as_on_snowflake(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.NAMED_{unique}"
    backend.warehouse.write_table(table, _orders())
    rows = backend.warehouse.query(
        f"select count(*), customer_id, max(amount) as top from {table} group by 2 order by 2"
    )
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


# Bad input (issue 10): each case gets a kit error naming the argument, table or column, and the
# warehouse is left as it was (no new table in the schema).


def _unchanged(backend: mlops_kit.Backend, before: list[str], schema: str = "PREP_DATA") -> None:
    assert backend.warehouse.list_tables(schema) == before


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (None, "sql must be a string of SQL, not NoneType"),
        (42, "sql must be a string of SQL, not int"),
        ("", "no SQL statement given: sql is empty"),
        ("   \n\t", "no SQL statement given: sql is empty"),
        ("-- only a comment", "no SQL statement given: sql holds only comments"),
    ],
    ids=["none", "number", "empty", "whitespace", "comment"],
)
def test_query_without_sql_names_the_argument(backend: mlops_kit.Backend, sql: object, message: str) -> None:
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.query(sql)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.execute(sql)  # type: ignore[arg-type]
    _unchanged(backend, before)


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE {t}",
        "DELETE FROM {t}",
        "INSERT INTO {t} VALUES (2)",
        "CREATE TABLE {t}_COPY AS SELECT * FROM {t}",
        "WITH X AS (SELECT 1) DELETE FROM {t}",
        "SELECT * INTO {t}_COPY FROM {t}",  # issue 17: sqlglot reads it as CREATE TABLE … AS
    ],
    ids=["drop", "delete", "insert", "create", "with-delete", "select-into"],
)
def test_query_only_reads_and_points_to_execute(backend: mlops_kit.Backend, unique: str, statement: str) -> None:
    table = f"PREP_DATA.READS_{unique}"
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1]}))
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match=r"query\(\) only reads.*execute\(\)"):
        backend.warehouse.query(statement.format(t=table))
    _unchanged(backend, before)
    assert backend.warehouse.read_table(table)["A"].tolist() == [1]


def test_query_only_reads_inside_a_held_connection(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.HELD_{unique}"
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1]}))
    with backend.exclusive(f"test_{unique}"), pytest.raises(InvalidInputError, match="execute"):
        backend.warehouse.query(f"DELETE FROM {table}")
    assert backend.warehouse.read_table(table)["A"].tolist() == [1]


def test_execute_runs_exactly_one_statement(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.ONE_{unique}"
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1]}))
    with pytest.raises(InvalidInputError, match="expected one SQL statement, got 2"):
        backend.warehouse.execute(f"DELETE FROM {table}; DROP TABLE {table}")
    assert backend.warehouse.read_table(table)["A"].tolist() == [1]


def test_create_table_as_takes_one_query(backend: mlops_kit.Backend, unique: str) -> None:
    keep, target = f"PREP_DATA.KEEP_{unique}", f"PREP_DATA.CTAS_{unique}"
    backend.warehouse.write_table(keep, pd.DataFrame({"A": [1]}))
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match="expected one SQL statement, got 2"):
        backend.warehouse.create_table_as(target, f"SELECT 1 AS A; DROP TABLE {keep}")
    with pytest.raises(InvalidInputError, match=r"sql must be a query.*not DELETE"):
        backend.warehouse.create_table_as(target, f"DELETE FROM {keep}")
    with pytest.raises(InvalidInputError, match="no SQL statement given: sql is empty"):
        backend.warehouse.create_table_as(target, "")
    _unchanged(backend, before)
    assert backend.warehouse.read_table(keep)["A"].tolist() == [1]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("numpy", "must be a pandas DataFrame, not numpy.ndarray: wrap it"),
        ("dict", "must be a pandas DataFrame, not dict"),
        (None, "must be a pandas DataFrame, not NoneType"),
        ("no-columns", "has no columns"),
        ("int-columns", r"column 0 of PREP_DATA\.BADFRAME_\w+ is not a string"),
        ("duplicate", r"PREP_DATA\.BADFRAME_\w+ has the column A twice"),
        ("case-duplicate", r"PREP_DATA\.BADFRAME_\w+ has the column AMOUNT twice .*amount, Amount"),
        ("quoted-column", r"column of PREP_DATA\.BADFRAME_\w+ 'a\"b' is not a plain identifier"),
        ("semicolon-column", r"column of PREP_DATA\.BADFRAME_\w+ 'A; DROP TABLE X' is not a plain identifier"),
        ("empty-column-name", r"column of PREP_DATA\.BADFRAME_\w+ '' is not a plain identifier"),
        ("multiindex-columns", r"column \('A', 'B'\) of PREP_DATA\.BADFRAME_\w+ is not a string"),
    ],
)
def test_write_table_refuses_a_bad_frame(backend: mlops_kit.Backend, unique: str, frame: object, message: str) -> None:
    import numpy as np

    frames = {
        "numpy": np.array([[1, 2]]),
        "dict": {"A": [1]},
        None: None,
        "no-columns": pd.DataFrame(),
        "int-columns": pd.DataFrame(np.array([[1, 2]])),
        "duplicate": pd.DataFrame([[1, 2]], columns=["A", "A"]),
        "case-duplicate": pd.DataFrame([[1, 2]], columns=["amount", "Amount"]),
        "quoted-column": pd.DataFrame({'a"b': [1]}),
        "semicolon-column": pd.DataFrame({"A; DROP TABLE X": [1]}),
        "empty-column-name": pd.DataFrame({"": [1]}),
        "multiindex-columns": pd.DataFrame([[1]], columns=pd.MultiIndex.from_tuples([("A", "B")])),
    }
    table = f"PREP_DATA.BADFRAME_{unique}"
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match=message) as one:
        backend.warehouse.write_table(table, frames[frame])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=message) as many:
        backend.warehouse.write_tables({f"PREP_DATA.OK_{unique}": pd.DataFrame({"A": [1]}), table: frames[frame]})
    if message.startswith(("must", "has")):  # about the frame itself: the argument is named
        assert str(one.value).startswith(f"df {message[:8]}")
        assert str(many.value).startswith(f"the frame for {table} {message[:8]}")
    _unchanged(backend, before)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("PREP_DATA.T'; DROP TABLE X; --", "is not a plain identifier"),
        ('PREP_DATA."T"', "is not a plain identifier"),
        ("PREP_DATA.T;", "is not a plain identifier"),
        ("T", "needs a schema"),
        ("PREP_DATA.", "is not a plain identifier"),
        (None, "table name None is empty"),
        (42, "table name 42"),
        ("OTHER_DB.PREP_DATA.T", "is in database OTHER_DB"),
        ("PREP_DATA.TÄBLE", "is not a plain identifier"),
        ("PREP_DATA." + "T" * 256, "is not a plain identifier"),
    ],
    ids=[
        "injection",
        "quoted",
        "semicolon",
        "no-schema",
        "empty-part",
        "none",
        "number",
        "other-database",
        "non-ascii",
        "too-long",
    ],  # fmt: skip
)
def test_bad_table_names_name_the_table(backend: mlops_kit.Backend, table: object, message: str) -> None:
    before = backend.warehouse.list_tables("PREP_DATA")
    frame = pd.DataFrame({"A": [1]})
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.write_table(table, frame)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.create_table_as(table, "SELECT 1 AS A")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.drop_table(table)  # type: ignore[arg-type]
    _unchanged(backend, before)


@pytest.mark.parametrize("mode", ["replace", "OVERWRITE", "", None, True])
def test_an_unknown_write_mode_is_refused(backend: mlops_kit.Backend, unique: str, mode: object) -> None:
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match="mode must be one of 'overwrite', 'append', 'error'"):
        backend.warehouse.write_table(f"PREP_DATA.MODE_{unique}", pd.DataFrame({"A": [1]}), mode=mode)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="mode must be one of"):
        backend.warehouse.write_tables({f"PREP_DATA.MODE_{unique}": pd.DataFrame({"A": [1]})}, mode=mode)  # type: ignore[arg-type]
    _unchanged(backend, before)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ({}, "frames is empty: give at least one table"),
        (None, "frames must be a dict"),
        ([("PREP_DATA.T", None)], "frames must be a dict"),
        ({42: pd.DataFrame({"A": [1]})}, "table name 42 must be a string, not int"),
        ("dupes", r"frames names PREP_DATA\.TWICE_\w+ twice \(as 'PREP_DATA\.TWICE_\w+' and 'prep_data\.twice_\w+'\)"),
    ],
    ids=["empty", "none", "list", "number-key", "same-table-twice"],
)
def test_write_tables_refuses_bad_frames(backend: mlops_kit.Backend, unique: str, frames: object, message: str) -> None:
    if frames == "dupes":
        frames = {
            f"PREP_DATA.TWICE_{unique}": pd.DataFrame({"A": [1]}),
            f"prep_data.twice_{unique}": pd.DataFrame({"A": [2]}),
        }
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.write_tables(frames)  # type: ignore[arg-type]
    _unchanged(backend, before)


def test_write_into_a_missing_schema_names_it(backend: mlops_kit.Backend, unique: str) -> None:
    with pytest.raises(InvalidInputError, match=rf"schema NOWHERE_{unique} does not exist.*create_schemas"):
        backend.warehouse.write_table(f"NOWHERE_{unique}.T", pd.DataFrame({"A": [1]}))
    assert backend.warehouse.list_tables(f"NOWHERE_{unique}") == []


def test_append_with_other_columns_names_them_and_keeps_the_rows(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.APPEND_{unique}"
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1], "B": ["x"]}))
    with pytest.raises(
        InvalidInputError, match=r"cannot append to .*missing from the frame: \['B'\]; not in the table: \['C'\]"
    ):
        backend.warehouse.write_table(table, pd.DataFrame({"A": [2], "C": ["y"]}), mode="append")
    assert backend.warehouse.read_table(table).to_dict("records") == [{"A": 1, "B": "x"}]


@pytest.mark.parametrize("many", [False, True], ids=["write_table", "write_tables"])
def test_append_matches_columns_by_name_not_position(backend: mlops_kit.Backend, unique: str, many: bool) -> None:
    table = f"PREP_DATA.BYNAME_{unique}"
    backend.warehouse.write_table(table, pd.DataFrame({"A": [1], "B": ["x"]}))
    swapped = pd.DataFrame({"b": ["y"], "a": [2]})
    if many:
        backend.warehouse.write_tables({table: swapped}, mode="append")
    else:
        backend.warehouse.write_table(table, swapped, mode="append")
    rows = backend.warehouse.query(f"SELECT A, B FROM {table} ORDER BY A")
    assert rows.to_dict("records") == [{"A": 1, "B": "x"}, {"A": 2, "B": "y"}]


@pytest.mark.parametrize(
    ("schemas", "message"),
    [
        ("PREP_DATA", "schemas must be a list of names, not the string 'PREP_DATA'"),
        (None, "schemas must be a list of names"),
        (["OK_SCHEMA", "BAD; DROP"], "schema in schemas 'BAD; DROP' is not a plain identifier"),
        (["OK_SCHEMA", "ok_schema"], "schemas names OK_SCHEMA more than once"),
    ],
    ids=["string", "none", "injection", "twice"],
)
def test_create_schemas_refuses_bad_names(backend: mlops_kit.Backend, schemas: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.create_schemas(schemas)  # type: ignore[arg-type]
    assert backend.warehouse.drop_schema("OK_SCHEMA") is False  # checked before any schema is made


@pytest.mark.parametrize("schema", ["", None, "A;B", "PREP_DATA.X"])
def test_schema_arguments_are_identifiers(backend: mlops_kit.Backend, schema: object) -> None:
    for method in (backend.warehouse.list_tables, backend.warehouse.drop_schema):
        with pytest.raises(InvalidInputError, match="schema"):
            method(schema)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "columns", "message"),
    [
        (None, COLUMNS, "path must be the path of a CSV file, not NoneType"),
        ("", COLUMNS, "path must be the path of a CSV file"),
        (42, COLUMNS, "path must be the path of a CSV file, not int"),
        ("ok", None, "columns must be a dict of column name -> type"),
        ("ok", {}, "columns is empty"),
        ("ok", {"CUSTOMER_ID": "text"}, "columns: CUSTOMER_ID has type 'text'; use one of"),
        ("ok", {"CUSTOMER ID": "string"}, "column in columns 'CUSTOMER ID' is not a plain identifier"),
    ],
    ids=["none", "empty", "number", "no-columns", "empty-columns", "unknown-type", "bad-column"],
)
def test_load_csv_refuses_bad_arguments(
    backend: mlops_kit.Backend, unique: str, tmp_path: Path, path: object, columns: object, message: str
) -> None:
    good = tmp_path / "c.csv"
    good.write_text("customer_id,signup,amount,visits\nC1,2023-01-02,10.5,3\n")
    before = backend.warehouse.list_tables("PREP_DATA")
    with pytest.raises(InvalidInputError, match=message):
        backend.warehouse.load_csv(f"PREP_DATA.LOAD_{unique}", good if path == "ok" else path, columns)  # type: ignore[arg-type]
    _unchanged(backend, before)


def test_load_csv_checks_the_table_name_before_reading(backend: mlops_kit.Backend, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is not a plain identifier"):
        backend.warehouse.load_csv("PREP_DATA.X;Y", tmp_path / "missing.csv", COLUMNS)


def test_an_empty_frame_with_columns_writes_an_empty_table(backend: mlops_kit.Backend, unique: str) -> None:
    table = f"PREP_DATA.EMPTY_{unique}"
    assert backend.warehouse.write_table(table, pd.DataFrame({"A": pd.Series([], dtype="int64")})) == 0
    assert backend.warehouse.table_exists(table)
    assert len(backend.warehouse.read_table(table)) == 0


def test_reserved_words_as_table_and_column_names(backend: mlops_kit.Backend, unique: str) -> None:
    # ORDER and SELECT are reserved in Snowflake's SQL: the kit's own SQL quotes its (canonical) names.
    backend.warehouse.create_schemas([f"RESERVED_{unique}"])
    table = f"RESERVED_{unique}.ORDER"
    backend.warehouse.write_table(table, pd.DataFrame({"select": [1], "B": ["x"]}))
    backend.warehouse.write_tables({table: pd.DataFrame({"B": ["y"], "SELECT": [2]})}, mode="append")
    assert backend.warehouse.read_table(table).sort_values("SELECT").to_dict("records") == [
        {"SELECT": 1, "B": "x"},
        {"SELECT": 2, "B": "y"},
    ]
    quoted = f'RESERVED_{unique}."ORDER"'  # the user's own SQL quotes a reserved name, as on Snowflake
    assert backend.warehouse.create_table_as(f"RESERVED_{unique}.GROUP", f"SELECT * FROM {quoted}") == 2
    assert backend.warehouse.table_exists(table)
    assert backend.warehouse.drop_table(table) is True
    assert backend.warehouse.drop_table(f"RESERVED_{unique}.GROUP") is True
    assert backend.warehouse.drop_schema(f"RESERVED_{unique}") is True


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM sqlite_scan('/tmp/mlops_kit_no_such.db', 'T')",
        "SELECT * FROM '/etc/passwd'",
    ],
    ids=["read_text", "read_csv", "sqlite_scan", "file-as-table"],
)
def test_sql_cannot_reach_local_files_or_extensions(backend: mlops_kit.Backend, statement: str) -> None:
    """Issue 17: Snowflake's SQL has no local files and no extensions; neither has the kit's, on any backend."""
    with pytest.raises(mlops_kit.MlopsKitError) as refused:
        backend.warehouse.query(statement)
    assert "root:" not in str(refused.value)  # nothing of the file came back


def test_a_feature_view_over_a_local_file_is_refused(backend: mlops_kit.Backend, unique: str) -> None:
    fs = backend.feature_store
    fs.register_entity(f"FILE_E_{unique}", ["CUSTOMER_ID"])
    with pytest.raises(mlops_kit.MlopsKitError):
        fs.register_feature_view(
            f"FILE_FV_{unique}",
            "v1",
            [f"FILE_E_{unique}"],
            "SELECT column0 AS CUSTOMER_ID FROM read_csv('/etc/passwd')",
        )
    assert all(v.name != f"FILE_FV_{unique}" for v in fs.list_feature_views())


@pytest.mark.parametrize(
    "table",
    ["FEATURE_STORE.MLOPS_KIT_TRAINING_SETS", "MODEL_REGISTRY.MLOPS_KIT_VERSION_LINEAGE", "FEATURE_STORE.MLOPS_KIT_X"],
)
def test_the_kits_record_tables_are_the_kits_alone(backend: mlops_kit.Backend, table: str) -> None:
    """Issue 17: a user's write_table or drop_table on a record table left records the kit could not read."""
    frame = pd.DataFrame({"A": [1]})
    for attempt in (
        lambda: backend.warehouse.write_table(table, frame),
        lambda: backend.warehouse.write_tables({table: frame}, mode="append"),
        lambda: backend.warehouse.create_table_as(table, "SELECT 1 AS A"),
        lambda: backend.warehouse.drop_table(table),
    ):
        with pytest.raises(InvalidInputError, match="record tables"):
            attempt()
    backend.feature_store.list_feature_views()  # the records still read
