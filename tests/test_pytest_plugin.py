"""The pytest plugin users get with mlops-kit: its fixtures work, and loading it costs nothing."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import mlops_kit


def test_the_plugin_imports_nothing_heavy() -> None:
    heavy = ("mlflow", "snowflake.", "duckdb", "pandas", "fakesnow", "sklearn")
    probe = f"import sys, mlops_kit.pytest_plugin; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_local_fixture_is_a_fresh_backend(mlops_kit_local: mlops_kit.Backend) -> None:
    assert mlops_kit_local.name == "local"
    assert mlops_kit_local.warehouse.list_tables("PREP_DATA") == []


def test_backend_fixture_runs_the_test_on_each_backend(mlops_kit_backend: mlops_kit.Backend) -> None:
    """What a user's pipeline test looks like: the same code on both backends."""
    kit = mlops_kit_backend
    assert kit.name in ("local", "snowflake-emulator")
    kit.warehouse.create_schemas(["PREP_DATA"])
    kit.warehouse.write_table("PREP_DATA.T", pd.DataFrame({"CUSTOMER_ID": ["C1", "C2"], "N": [1, 2]}))
    assert kit.warehouse.query("SELECT SUM(N) AS S FROM PREP_DATA.T")["S"].tolist() == [3]
