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
from collections.abc import Iterator
from typing import Any
from unittest import mock

import fakesnow
import pytest
from sf_doubles import SqlRouter, autospec
from snowflake.snowpark import Session

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


@pytest.fixture
def session_double() -> Any:
    return autospec(Session)


@pytest.fixture
def router(session_double: Any) -> SqlRouter:
    return SqlRouter(session_double)
