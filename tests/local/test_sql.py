"""The local adapter's SQL translation (adapters/local/sql.py): model calls found among sqlglot's
tokens (never in literals or comments), named as on Snowflake, and parse errors as plain text."""

from __future__ import annotations

import pytest

from mlops_kit.adapters.local.sql import extract_model_calls, to_duckdb
from mlops_kit.errors import InvalidInputError


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
