"""The conformance suite's ``backend`` fixture, one parameter per backend:

- ``local``: DuckDB + MLflow in a temporary home, always;
- ``snowflake-emulator``: the Snowflake adapter, the real snowflake-ml-python and Snowpark on the
  emulated account, always (a temporary home; no account, no network);
- ``snowflake``: a real account, when a connection is configured (otherwise skipped; how to
  configure one is printed once at the end of the session).

Backends are opened once per session (a fresh MLflow store costs seconds to create); tests keep
out of each other's way by giving every object a unique name (the ``unique`` fixture).

A behaviour the emulator cannot show is marked with ``emulator_gap(reason)``: a strict xfail on the
``snowflake-emulator`` parameter only, so it fails the suite the day the gap closes. A behaviour a
backend declares it lacks (a ``supports_*`` capability of an interface, false) is marked with
``@pytest.mark.needs_capability("warehouse.supports_model_sql")``: a strict xfail on every backend
whose ``backend.warehouse.supports_model_sql`` is false.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator

import pytest
from live_snowflake import live_connection_or_skip

import mlops_kit

_counter = itertools.count()
SCHEMAS = ["PREP_DATA", "FEATURE_STORE", "MODEL_REGISTRY", "EXPERIMENTS", "ANALYTICS"]


def _connect(name: str) -> mlops_kit.Backend:
    if name == "local":
        return mlops_kit.connect("local", home=tempfile.mkdtemp(prefix="mlops_kit_conformance_"))
    if name == "snowflake-emulator":
        return mlops_kit.connect("snowflake-emulator", home=tempfile.mkdtemp(prefix="mlops_kit_conformance_emulator_"))
    live_connection_or_skip()
    return mlops_kit.connect("snowflake", database=os.environ.get("MLOPS_KIT_TEST_DATABASE", "MLOPS_KIT_TEST_DB"))


@pytest.fixture(scope="session", params=["local", "snowflake-emulator", "snowflake"])
def backend(request: pytest.FixtureRequest) -> Iterator[mlops_kit.Backend]:
    connected = _connect(request.param)
    connected.warehouse.create_schemas(SCHEMAS)
    yield connected
    connected.close()


@pytest.fixture
def unique() -> str:
    """A suffix that makes names unique within the session: ``T<pid>_<n>``."""
    return f"T{os.getpid()}_{next(_counter)}"


def emulator_gap(reason: str) -> pytest.MarkDecorator:
    """Mark a test the emulator cannot pass (a strict xfail on the emulator parameter only)."""
    return pytest.mark.emulator_gap(reason=reason)


@pytest.fixture(autouse=True)
def _declared_gaps(request: pytest.FixtureRequest) -> None:
    """``needs_capability("<part>.<flag>")``: a strict xfail where the backend declares the flag false."""
    marker = request.node.get_closest_marker("needs_capability")
    if marker is None or "backend" not in request.fixturenames:
        return
    part, flag = marker.args[0].split(".")
    connected = request.getfixturevalue("backend")
    if not getattr(getattr(connected, part), flag):
        reason = f"{connected.name} declares {part}.{flag} = False"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        gap = item.get_closest_marker("emulator_gap")
        callspec = getattr(item, "callspec", None)
        if gap and callspec is not None and callspec.params.get("backend") == "snowflake-emulator":
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"emulator gap: {gap.kwargs['reason']}"))
