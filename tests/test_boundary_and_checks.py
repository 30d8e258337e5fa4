"""The core's boundary (errors translated once) and argument checks, on their own."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlops_kit import checks, clock
from mlops_kit.adapters.local.errors import LocalErrorKinds
from mlops_kit.boundary import Boundary
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlops_kit.records import sql_string


class LocalPart(LocalErrorKinds, Boundary):
    pass


def _raise(exc: BaseException) -> None:
    raise exc


def test_the_boundary_translates_engine_errors_and_lets_bugs_through() -> None:
    part = LocalPart()
    con = duckdb.connect()
    with pytest.raises(NotFoundError, match=r"^reading T: Catalog Error") as found:
        with part._boundary("reading T"):
            con.execute("SELECT * FROM T")
    assert isinstance(found.value.__cause__, duckdb.CatalogException)
    with pytest.raises(InvalidInputError, match="^parsing: Parser Error"):
        with part._boundary("parsing"):
            con.execute("SELEC 1")
    with pytest.raises(AlreadyExistsError):  # kit errors pass unchanged
        with part._boundary("anything"):
            _raise(AlreadyExistsError("already there"))
    with pytest.raises(AttributeError):  # our own bugs are not dressed up as bad input
        with part._boundary("anything"):
            _raise(AttributeError("no such attribute"))
    with pytest.raises(InvalidInputError):  # kind= overrides what the engine error would mean
        with part._boundary("writing", kind=InvalidInputError):
            con.execute("SELECT * FROM T")


def test_a_lone_string_is_not_a_list_of_names() -> None:
    with pytest.raises(InvalidInputError, match=r"join_keys must be a list of names, not the string 'CUSTOMER_ID'"):
        checks.identifier_list("CUSTOMER_ID", "join_keys", "join key")
    assert checks.identifier_list(("customer_id", "Region"), "join_keys", "join key") == ("CUSTOMER_ID", "REGION")
    with pytest.raises(InvalidInputError, match="join_keys is empty"):
        checks.identifier_list([], "join_keys", "join key")
    with pytest.raises(InvalidInputError, match="names CUSTOMER_ID more than once"):
        checks.identifier_list(["CUSTOMER_ID", "customer_id"], "join_keys", "join key")
    with pytest.raises(InvalidInputError, match="not int 3"):
        checks.identifier_list(3, "join_keys", "join key")


def test_metric_values_must_be_finite_numbers() -> None:
    assert checks.finite_number(np.float32(0.5), "metric f1") == 0.5
    assert checks.finite_number(np.int64(3), "metric n") == 3.0
    for bad in (True, "0.5", None, math.inf, -math.inf, math.nan):
        with pytest.raises(InvalidInputError, match="metric f1"):
            checks.finite_number(bad, "metric f1")


def test_frames_texts_choices_and_flags() -> None:
    with pytest.raises(InvalidInputError, match=r"sample_input must be a pandas DataFrame, not numpy.ndarray: wrap it"):
        checks.frame(np.zeros((2, 2)), "sample_input")
    with pytest.raises(InvalidInputError, match="df has no rows"):
        checks.frame(pd.DataFrame({"A": []}), "df")
    assert len(checks.frame(pd.DataFrame({"A": []}), "df", allow_empty=True)) == 0
    with pytest.raises(InvalidInputError, match="sql must be a string, not NoneType None"):
        checks.text(None, "sql")
    with pytest.raises(InvalidInputError, match="sql is empty"):
        checks.text("  ", "sql")
    with pytest.raises(InvalidInputError, match="has 10,000 characters; at most 6,000"):
        checks.text("x" * 10_000, "param P", max_length=checks.MAX_PARAM_LENGTH)
    with pytest.raises(InvalidInputError, match="function must be one of 'predict', 'predict_proba', not 'transform'"):
        checks.choice("transform", "function", ("predict", "predict_proba"))
    with pytest.raises(InvalidInputError, match="overwrite must be True or False, not int 1"):
        checks.flag(1, "overwrite")


def test_times_are_aware_utc() -> None:
    assert clock.now().tzinfo == timezone.utc
    naive = datetime(2024, 6, 30, 12, 0)
    assert clock.as_utc(naive) == datetime(2024, 6, 30, 12, 0, tzinfo=timezone.utc)
    plus_two = datetime(2024, 6, 30, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert clock.as_utc(plus_two) == datetime(2024, 6, 30, 12, 0, tzinfo=timezone.utc)
    assert clock.as_utc(pd.Timestamp("2024-06-30 12:00")) == datetime(2024, 6, 30, 12, 0, tzinfo=timezone.utc)
    assert clock.from_epoch_millis(0) is None


def test_record_values_are_quoted_as_snowflake_literals() -> None:
    import sqlglot

    # Snowflake reads a backslash in a literal as an escape: whatever the text, it reads back unchanged.
    for value in ("it's", "a\\b", "x\\'; DROP TABLE T; --", "é\nnew line"):
        assert sqlglot.parse_one(sql_string(value), read="snowflake").this == value
