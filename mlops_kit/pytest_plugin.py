"""pytest fixtures for testing your own pipeline code the way mlops_kit tests its lab.

Installed as a pytest plugin (entry point ``pytest11``), so with mlops-kit installed these fixtures
are available in any test, no import needed:

- ``mlops_kit_local``: a fresh local backend (DuckDB + MLflow) in the test's ``tmp_path``;
- ``mlops_kit_emulator``: a fresh ``snowflake-emulator`` backend in ``tmp_path``: the Snowflake
  adapter, snowflake-ml-python and Snowpark on an emulated account (needs ``mlops-kit[emulator]``);
- ``mlops_kit_backend``: each of the two in turn (the test runs twice, ids ``local`` and
  ``snowflake-emulator``).

The backends are closed after the test. pytest imports this module in every run of an environment
that has mlops-kit installed, so it imports nothing heavy itself: backends load when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mlops_kit.connect import Backend


def _backend(name: str, home: Path) -> Iterator[Backend]:
    from mlops_kit import connect

    backend = connect(name, home=home)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def mlops_kit_local(tmp_path: Path) -> Iterator[Backend]:
    """A fresh local backend whose stores live in ``tmp_path``."""
    yield from _backend("local", tmp_path / "mlops_kit_home")


@pytest.fixture
def mlops_kit_emulator(tmp_path: Path) -> Iterator[Backend]:
    """A fresh ``snowflake-emulator`` backend whose emulated account lives in ``tmp_path``."""
    yield from _backend("snowflake-emulator", tmp_path / "mlops_kit_home")


@pytest.fixture(params=["local", "snowflake-emulator"])
def mlops_kit_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn, fresh in ``tmp_path``: the same test runs on both."""
    yield from _backend(request.param, tmp_path / "mlops_kit_home")
