"""The one parser of model calls in SQL (mlops_kit/model_calls.py), shared by the local backend and
the emulator: Snowflake's three spellings, names as written, never inside literals or comments."""

from __future__ import annotations

import pytest

from mlops_kit.errors import InvalidInputError
from mlops_kit.model_calls import ModelCall, rewrite_model_calls


def _rewrite(sql: str) -> tuple[str, list[ModelCall]]:
    seen: list[ModelCall] = []

    def function_for(call: ModelCall) -> str:
        seen.append(call)
        return f"F{len(seen)}"

    return rewrite_model_calls(sql, function_for), seen


@pytest.mark.parametrize(
    ("sql", "rewritten", "calls"),
    [
        (
            "SELECT REG.CHURN!PREDICT_PROBA(A, B)['output_feature_1'] FROM T",
            "SELECT F1(A, B)['output_feature_1'] FROM T",
            [ModelCall(("REG", "CHURN"), None, "PREDICT_PROBA")],
        ),
        (
            "SELECT MODEL(DB.REG.CHURN, V2)!PREDICT(A) AS P FROM T",
            "SELECT F1(A) AS P FROM T",
            [ModelCall(("DB", "REG", "CHURN"), "V2", "PREDICT")],
        ),
        (
            'SELECT model ( "My Model" , "v1" ) ! explain ( A ) FROM T',
            "SELECT F1( A ) FROM T",
            [ModelCall(('"My Model"',), '"v1"', "explain")],
        ),
        (
            "WITH M AS MODEL REG.CHURN VERSION V1, X AS (SELECT 1 AS A) SELECT M!PREDICT(A) FROM X",
            "WITH X AS (SELECT 1 AS A) SELECT F1(A) FROM X",
            [ModelCall(("REG", "CHURN"), "V1", "PREDICT")],
        ),
        (
            "WITH M AS MODEL CHURN SELECT m!PREDICT(A) FROM T",
            " SELECT F1(A) FROM T",
            [ModelCall(("CHURN",), None, "PREDICT")],
        ),
    ],
)
def test_every_spelling_becomes_a_plain_call(sql: str, rewritten: str, calls: list[ModelCall]) -> None:
    assert _rewrite(sql) == (rewritten, calls)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'M!PREDICT(1)' AS S, \"odd!name\" FROM T -- N!PREDICT(\n",
        "SELECT A != B, NOT(A) FROM T /* MODEL(M, V1)!PREDICT( */",
        "SELECT F(A)!PREDICT(B) FROM T",  # not MODEL(…): no model call
        "SELECT MODEL(A, B, C)!PREDICT(D) FROM T",  # MODEL( takes a name and a version
    ],
)
def test_what_is_not_a_model_call_is_left_alone(sql: str) -> None:
    assert _rewrite(sql) == (sql, [])


def test_a_refused_call_stops_the_rewrite() -> None:
    def refuse(call: ModelCall) -> str:
        raise InvalidInputError(f"no model {call.model_name}")

    with pytest.raises(InvalidInputError, match="no model REG.GONE"):
        rewrite_model_calls("SELECT REG.GONE!PREDICT(A) FROM T", refuse)
