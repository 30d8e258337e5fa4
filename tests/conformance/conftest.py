"""The conformance suite's ``backend`` fixture: the local backend always, Snowflake when a
connection is configured (otherwise skipped with a reason that says how to configure one).

Backends are opened once per session (a fresh MLflow store costs seconds to create); tests keep
out of each other's way by giving every object a unique name (the ``unique`` fixture).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator

import pytest

import mlops_kit

_counter = itertools.count()


def _snowflake_or_skip() -> mlops_kit.Backend:
    try:
        from mlops_kit.adapters.snowflake.session import live_connection_configured
    except ImportError as exc:  # the extra is missing
        pytest.skip(
            f"Snowflake half skipped: the snowflake extra is not installed ({exc}); pip install 'mlops-kit[snowflake]'"
        )
    configured, reason = live_connection_configured()
    if not configured:
        pytest.skip(f"Snowflake half skipped: {reason}")
    return mlops_kit.connect("snowflake", database=os.environ.get("MLOPS_KIT_TEST_DATABASE", "MLOPS_KIT_TEST_DB"))


@pytest.fixture(scope="session", params=["local", "snowflake"])
def backend(request: pytest.FixtureRequest) -> Iterator[mlops_kit.Backend]:
    if request.param == "local":
        home = tempfile.mkdtemp(prefix="mlops_kit_conformance_")
        connected = mlops_kit.connect("local", home=home)
    else:
        connected = _snowflake_or_skip()
    connected.warehouse.create_schemas(["PREP_DATA", "FEATURE_STORE", "MODEL_REGISTRY", "EXPERIMENTS", "ANALYTICS"])
    yield connected
    connected.close()


@pytest.fixture
def unique() -> str:
    """A suffix that makes names unique within the session: ``T<pid>_<n>``."""
    return f"T{os.getpid()}_{next(_counter)}"
