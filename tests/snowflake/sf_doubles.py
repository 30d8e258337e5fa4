"""Signature-true doubles for the Snowflake adapter tests: autospec instances and a SQL router."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from unittest import mock

from snowflake.snowpark import DataFrame, Row


def autospec(cls: type, **attrs: Any) -> Any:
    """A signature-true instance double of ``cls`` (``spec_set``: unknown attributes fail too)."""
    double = mock.create_autospec(cls, instance=True, spec_set=True)
    for key, value in attrs.items():
        setattr(double, key, value)
    return double


def frame(rows: list[Row] | None = None, pandas: Any = None, columns: list[str] | None = None) -> Any:
    """A Snowpark DataFrame double whose collect()/to_pandas() return the given results."""
    df = autospec(DataFrame)
    df.collect.return_value = rows or []
    df.to_pandas.return_value = pandas
    if columns is not None:
        df.columns = columns
    return df


class SqlRouter:
    """Answers ``session.sql(query, params)`` on a Session double by the first matching pattern.

    Unmatched statements return no rows; every call is kept in ``calls`` as ``(sql, params)``.
    """

    def __init__(self, session: Any) -> None:
        self.routes: list[tuple[re.Pattern[str], Callable[[str, Any], Any]]] = []
        self.calls: list[tuple[str, Any]] = []
        session.sql.side_effect = self._sql

    def on(self, pattern: str, rows: list[Row] | Callable[[str, Any], Any]) -> None:
        answer = rows if callable(rows) else (lambda _sql, _params, rows=rows: frame(rows))
        self.routes.insert(0, (re.compile(pattern, re.IGNORECASE | re.DOTALL), answer))

    def _sql(self, query: str, params: Any = None) -> Any:
        self.calls.append((query, params))
        for pattern, answer in self.routes:
            if pattern.search(query):
                result = answer(query, params)
                break
        else:
            result = frame([])
        if isinstance(result, DataFrame):
            result.queries = {"queries": [query], "post_actions": []}  # as Snowpark renders session.sql
        return result

    def matching(self, pattern: str) -> list[tuple[str, Any]]:
        return [call for call in self.calls if re.search(pattern, call[0], re.IGNORECASE | re.DOTALL)]
