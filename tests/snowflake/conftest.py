"""Fixtures for the Snowflake adapter tests: a fakesnow server session and a SQL-routing Session double.

fakesnow gaps met here (each worked around or left to the autospec tests):
- ``fakesnow.server`` is replaced by its submodule after the first call (see ``start_fakesnow_server``).
- The server shares one database across logins unless ``FAKESNOW_DB_PATH=":isolated:"`` is set.
- ``Session.close()`` fails: fakesnow lacks ``SYSTEM$CANCEL_ALL_QUERIES``, and the connector's
  logout fails silently, so the session stays "open" and Snowpark's atexit hook retries against
  the stopped server. The fixture skips ``cancel_all`` and unregisters that hook.
- ``Session.write_pandas`` and ``create_dataframe`` from pandas do not work; data is loaded with SQL
  ``INSERT`` and ``write_table`` is checked against an autospec Session instead.
- snowflake-ml's FeatureStore, Registry and ExperimentTracking DDL (tags, dynamic tables,
  ``CREATE MODEL``/``EXPERIMENT``) are not emulated; those adapters are checked with autospecs.
"""

from __future__ import annotations

import atexit
import re
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import fakesnow
import pytest
from snowflake.snowpark import DataFrame, Row, Session

DATABASE = "MLOPS_HOL_DB"

# fakesnow.server() imports the submodule fakesnow.server, which then shadows the function on the
# package: keep a reference to the function taken before the first call.
start_fakesnow_server = fakesnow.server


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict[str, Any]]:
    """Connection arguments of one fakesnow server (a start failure fails the tests, never skips).

    Every login asks for an isolated in-memory database (``FAKESNOW_DB_PATH=":isolated:"``): by
    default fakesnow's server shares one database across logins and cannot replace it
    (``CREATE OR REPLACE DATABASE`` fails with "Failed to attach").
    """
    with start_fakesnow_server(session_parameters={"FAKESNOW_DB_PATH": ":isolated:"}) as conn_kwargs:
        yield conn_kwargs


@pytest.fixture
def fake_session(fakesnow_server: dict[str, Any]) -> Iterator[Session]:
    """A real Snowpark Session on fakesnow, one per test."""
    session = Session.builder.configs({**fakesnow_server, "database": DATABASE, "schema": "PUBLIC"}).create()
    session.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}").collect()
    try:
        yield session
    finally:
        # Session.close() runs SYSTEM$CANCEL_ALL_QUERIES, which fakesnow lacks, and the connection
        # never reports closed on fakesnow, so Snowpark's atexit hook would close it again against a
        # stopped server (hanging on retries): skip the cancel and drop the hook.
        with mock.patch.object(session, "cancel_all", autospec=True):
            session.close()
        atexit.unregister(session._close_at_exit)


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
                return answer(query, params)
        return frame([])

    def matching(self, pattern: str) -> list[tuple[str, Any]]:
        return [call for call in self.calls if re.search(pattern, call[0], re.IGNORECASE | re.DOTALL)]


@pytest.fixture
def session_double() -> Any:
    return autospec(Session)


@pytest.fixture
def router(session_double: Any) -> SqlRouter:
    return SqlRouter(session_double)
