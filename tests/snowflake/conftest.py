"""Fixtures for the Snowflake adapter tests: the emulated account (fakesnow's server with the
emulation layer in front) and real Snowpark sessions on it. No account, no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from snowflake.snowpark import Session

from mlops_kit.adapters.snowflake_emulator import Emulator, start_emulator, stop_emulator
from mlops_kit.connect import DEFAULT_DATABASE

DATABASE = DEFAULT_DATABASE


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """An emulated account for the module, in a folder of its own."""
    running = start_emulator(tmp_path_factory.mktemp("emulated_account") / "snowflake-emulator")
    yield running
    stop_emulator(running)


@pytest.fixture
def emulated_session(emulator: Emulator) -> Iterator[Session]:
    """A real Snowpark session on the emulated account, one per test."""
    session = emulator.session(DATABASE, "PUBLIC")
    session.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}").collect()
    yield session
    session.close()


@pytest.fixture
def account_root(emulator: Emulator) -> Path:
    return emulator.root
