"""Local backend: DuckDB warehouse and feature store, MLflow tracker and registry, in one folder.

``connect_local()`` wires them together; see ``home.py`` for where the files live.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock
from mlops_kit.adapters.local.feature_store import LocalFeatureStore
from mlops_kit.adapters.local.home import LocalPaths, resolve_home
from mlops_kit.adapters.local.registry import LocalRegistry
from mlops_kit.adapters.local.tracker import LocalTracker
from mlops_kit.adapters.local.warehouse import LocalWarehouse

from mlops_kit.connect import Backend

__all__ = ["LocalFeatureStore", "LocalRegistry", "LocalTracker", "LocalWarehouse", "connect_local"]


def connect_local(
    home: str | Path | None = None, database: str = "MLOPS_HOL_DB", feature_store_schema: str = "FEATURE_STORE"
) -> Backend:
    """The local backend in ``home`` (default ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``)."""
    from mlops_kit.adapters.local.mlflow_store import open_client

    paths = LocalPaths(resolve_home(home), database.upper())
    client = open_client(paths)
    registry = LocalRegistry(client)
    warehouse = LocalWarehouse(paths, model_functions=registry.sql_function)
    return Backend(
        name="local",
        warehouse=warehouse,
        feature_store=LocalFeatureStore(warehouse, feature_store_schema),
        tracker=LocalTracker(client, paths),
        registry=registry,
        raw={"paths": paths, "client": client},
        locations={
            "DuckDB database": str(paths.duckdb_file),
            "MLflow tracking store": paths.tracking_uri,
            "MLflow artifacts": str(paths.artifact_root),
            "MLflow UI": "mlops-kit ui  (then open http://127.0.0.1:5000)",
        },
        lock_factory=lambda name: FileLock(str(paths.home / f"{name}.lock")),
    )
