"""Fixtures for the local adapter's own tests: a fresh home per test, with a short lock timeout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mlops_kit

#: Long enough for DuckDB to open a file, short enough to keep a test that must time out quick.
LOCK_TIMEOUT = 1.0


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "kit home"


@pytest.fixture
def kit(home: Path) -> mlops_kit.Backend:
    """A local backend holding PREP_DATA.CUSTOMERS and the feature view CUSTOMER_FEATURES/v1 over it."""
    backend = mlops_kit.connect("local", home=home, lock_timeout=LOCK_TIMEOUT)
    backend.warehouse.create_schemas(["PREP_DATA", "FEATURE_STORE"])
    customers = pd.DataFrame({"CUSTOMER_ID": ["C1", "C2", "C3"], "SPEND": [10.0, 20.5, 3.25]})
    backend.warehouse.write_table("PREP_DATA.CUSTOMERS", customers)
    backend.feature_store.register_entity("CUSTOMER", ["CUSTOMER_ID"], "a customer")
    backend.feature_store.register_feature_view(
        "CUSTOMER_FEATURES",
        "v1",
        ["CUSTOMER"],
        "SELECT CUSTOMER_ID, SPEND * 2 AS DOUBLE_SPEND FROM PREP_DATA.CUSTOMERS",
    )
    return backend
