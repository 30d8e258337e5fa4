"""SQL safety in the core: statements counted and classified by sqlglot's tokenizer, model calls
found among tokens (never in literals or comments), and a Snowflake query refused before it is sent."""

from __future__ import annotations

from unittest.mock import create_autospec

import pytest

from mlops_kit import statements
from mlops_kit.adapters.local.sql import extract_model_calls, to_duckdb
from mlops_kit.errors import InvalidInputError


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;", ["SELECT 1"]),
        ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';' AS S", ["SELECT ';' AS S"]),
        ('SELECT 1 AS "a;b"', ['SELECT 1 AS "a;b"']),
        ("SELECT $$a;b$$", ["SELECT $$a;b$$"]),
        ("SELECT 1 -- ; DROP TABLE X\n", ["SELECT 1 -- ; DROP TABLE X"]),
        ("SELECT 1 /* ; */", ["SELECT 1 /* ; */"]),
        (";; SELECT 1 ;;", ["SELECT 1"]),
        ("  ", []),
        ("-- only a comment", []),
    ],
)
def test_split_counts_statements_not_semicolons(sql: str, expected: list[str]) -> None:
    assert statements.split(sql) == expected


@pytest.mark.parametrize(
    ("sql", "kind", "reading"),
    [
        ("select * from t", "SELECT", True),
        ("(SELECT 1) UNION (SELECT 2)", "SELECT", True),
        ("WITH a AS (SELECT 1) SELECT * FROM a", "SELECT", True),
        ("WITH m AS MODEL X VERSION V1 SELECT m!PREDICT(a) FROM t", "SELECT", True),
        ("VALUES (1), (2)", "VALUES", True),
        ("SHOW TABLES", "SHOW", True),
        ("DESCRIBE TABLE PREP_DATA.ORDERS", "DESCRIBE", True),
        ("EXPLAIN SELECT 1", "EXPLAIN SELECT", True),
        ("EXPLAIN ANALYZE DELETE FROM T", "EXPLAIN DELETE", False),
        ("WITH a AS (SELECT 1) DELETE FROM t", "DELETE", False),
        ("DROP TABLE PREP_DATA.CUSTOMERS", "DROP", False),
        ("delete from t", "DELETE", False),
        ("UPDATE t SET a = 1", "UPDATE", False),
        ("INSERT INTO t SELECT 1", "INSERT", False),
        ("CREATE TABLE t AS SELECT 1", "CREATE", False),
        ("CALL cleanup()", "CALL", False),
        ("COPY INTO t FROM @s", "COPY", False),
    ],
)
def test_statements_are_classified_by_what_they_do(sql: str, kind: str, reading: bool) -> None:
    assert statements.kind(sql) == kind
    assert statements.is_reading(sql) is reading


@pytest.mark.parametrize("bad", ["", "  ;  ", "SELECT 1; SELECT 2", "SELECT 'unterminated", None, 42])
def test_single_refuses_anything_but_one_statement(bad: object) -> None:
    with pytest.raises(InvalidInputError):
        statements.single(bad)  # type: ignore[arg-type]


def test_model_calls_inside_literals_and_comments_are_left_alone() -> None:
    sql = "SELECT 'Hello!World(' AS G, 'M!PREDICT(1)' AS H -- X!PREDICT(\nFROM T"
    assert extract_model_calls(sql) == (sql, [])


def test_a_named_version_among_other_ctes() -> None:
    sql = "WITH A AS (SELECT 1 AS X), M AS MODEL REG.CHURN VERSION v2 SELECT M!PREDICT(X)['output_feature_0'] FROM A"
    plain, calls = extract_model_calls(sql)
    assert plain == "WITH A AS (SELECT 1 AS X) SELECT MLOPS_MODEL_0_PREDICT(X)['output_feature_0'] FROM A"
    assert [(c.model, c.version, c.function) for c in calls] == [("CHURN", "V2", "PREDICT")]


def test_two_model_ctes_and_a_default_version_call() -> None:
    sql = (
        "WITH OLD AS MODEL CHURN VERSION V1, NEW AS MODEL CHURN VERSION V2 "
        "SELECT OLD!PREDICT(X), NEW!PREDICT(X), DB.SCH.CHURN!PREDICT_PROBA(X), OLD!PREDICT(Y) FROM T"
    )
    plain, calls = extract_model_calls(sql)
    assert plain.strip().startswith("SELECT MLOPS_MODEL_0_PREDICT(X), MLOPS_MODEL_1_PREDICT(X)")
    assert [(c.model, c.version, c.function) for c in calls] == [
        ("CHURN", "V1", "PREDICT"),
        ("CHURN", "V2", "PREDICT"),
        ("CHURN", None, "PREDICT_PROBA"),
    ]
    assert plain.count("MLOPS_MODEL_0_PREDICT(") == 2  # one function per (model, version, method)


def test_an_unsupported_model_method_is_named() -> None:
    with pytest.raises(InvalidInputError, match="model method EXPLAIN is not supported"):
        extract_model_calls("SELECT M!EXPLAIN(X) FROM T")


def test_a_model_call_column_is_named_after_the_model() -> None:
    plain, calls = extract_model_calls("SELECT CHURN!PREDICT(X) FROM T")
    assert to_duckdb(plain, calls) == 'SELECT MLOPS_MODEL_0_PREDICT(X) AS "CHURN!PREDICT(X)" FROM T'


def test_a_parse_error_is_plain_text() -> None:
    with pytest.raises(InvalidInputError) as caught:
        to_duckdb("SELECT (1")
    assert "\x1b" not in str(caught.value)
    assert "line 1, column 9" in str(caught.value)


def test_snowflake_query_refuses_two_statements_before_sending_anything() -> None:
    from snowflake.snowpark import Session

    from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse

    session = create_autospec(Session, instance=True, spec_set=True)
    with pytest.raises(InvalidInputError, match="expected one SQL statement, got 2"):
        SnowflakeWarehouse(session).query("SELECT 1 AS A; DROP TABLE PREP_DATA.CUSTOMERS")
    session.sql.assert_not_called()
