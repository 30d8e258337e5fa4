"""SQL safety in the core: statements counted and classified by sqlglot's tokenizer, and a Snowflake
query refused before it is sent. How the local adapter finds model calls: tests/local/test_sql.py."""

from __future__ import annotations

from unittest.mock import create_autospec

import pytest

from mlops_kit import statements
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
        ("SELECT * INTO PREP_DATA.T2 FROM PREP_DATA.T", "SELECT INTO", False),
        ("WITH a AS (SELECT 1) SELECT * INTO X FROM a", "SELECT INTO", False),
        ("SELECT 'INTO' AS A, \"INTO\" FROM t", "SELECT", True),
    ],
)
def test_statements_are_classified_by_what_they_do(sql: str, kind: str, reading: bool) -> None:
    assert statements.kind(sql) == kind
    assert statements.is_reading(sql) is reading


@pytest.mark.parametrize("bad", ["", "  ;  ", "SELECT 1; SELECT 2", "SELECT 'unterminated", None, 42])
def test_single_refuses_anything_but_one_statement(bad: object) -> None:
    with pytest.raises(InvalidInputError):
        statements.single(bad)  # type: ignore[arg-type]


def test_snowflake_query_refuses_two_statements_before_sending_anything() -> None:
    from snowflake.snowpark import Session

    from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse

    session = create_autospec(Session, instance=True, spec_set=True)
    with pytest.raises(InvalidInputError, match="expected one SQL statement, got 2"):
        SnowflakeWarehouse(session).query("SELECT 1 AS A; DROP TABLE PREP_DATA.CUSTOMERS")
    session.sql.assert_not_called()
