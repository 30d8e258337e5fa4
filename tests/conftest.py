"""Shared fixtures: every test runs against throwaway stores, never the user's ~/.mlops_kit."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before anything imports mlflow or the local adapter.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="mlops_kit_tests_"))
os.environ["MLOPS_KIT_HOME"] = str(_SESSION_HOME / "default_home")
# The pre-migrated MLflow store template is built once per test session, not in the user's cache.
os.environ["MLOPS_KIT_CACHE_DIR"] = str(_SESSION_HOME / "cache")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("MLFLOW_REGISTRY_URI", None)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def local_lab(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The churn lab on the local backend, once per session: (backend, output folder, results).

    The results are gathered as soon as the lab finishes, before any test changes the stores."""
    from lab_results import collect, run_lab

    import mlops_kit

    home, out = tmp_path_factory.mktemp("lab_home"), tmp_path_factory.mktemp("lab_out")
    backend = mlops_kit.connect("local", home=home)
    lab, output = run_lab(backend, out)
    return backend, out, collect(backend, lab, output)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001, ARG001
    """How to enable the live Snowflake tier, once per session (not once per skipped test)."""
    from live_snowflake import skipped_because

    if skipped_because:
        terminalreporter.section("live Snowflake tests skipped")
        terminalreporter.write_line(f"Live Snowflake tests did not run: {skipped_because[0]}")
