"""Local backend: DuckDB warehouse and feature store, MLflow tracker and registry, in one folder.

``connect_local()`` wires them together; see ``home.py`` for where the files live and
``locks.py`` for how processes share them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from mlops_kit.adapters.local.feature_store import LocalFeatureStore
from mlops_kit.adapters.local.home import LocalPaths, check_user_stores, create_private_folder, resolve_home
from mlops_kit.adapters.local.locks import HomeLock
from mlops_kit.adapters.local.mlflow_store import UI_START_PAGE, MlflowConnection
from mlops_kit.adapters.local.registry import LocalRegistry
from mlops_kit.adapters.local.tracker import LocalTracker
from mlops_kit.adapters.local.warehouse import LocalWarehouse
from mlops_kit.connect import DEFAULT_DATABASE, Backend

__all__ = ["LocalFeatureStore", "LocalRegistry", "LocalTracker", "LocalWarehouse", "connect_local"]


def connect_local(
    home: str | Path | None = None,
    database: str = DEFAULT_DATABASE,
    feature_store_schema: str = "FEATURE_STORE",
    lock_timeout: float | None = None,
) -> Backend:
    """The local backend in ``home`` (default ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``).

    ``lock_timeout``: seconds to wait while another process holds the DuckDB file (default
    ``$MLOPS_KIT_LOCK_TIMEOUT``, else 60) before raising ``StoreLockedError``.
    """
    paths = LocalPaths(resolve_home(home), database.upper())
    check_user_stores(paths)
    if paths.keeps_artifacts_in_home:  # before MLflow creates it as the umask says
        create_private_folder(paths.artifact_root, "the MLflow artifact folder")
    mlflow = MlflowConnection(paths)
    registry = LocalRegistry(mlflow)
    warehouse = LocalWarehouse(paths, model_functions=registry.sql_function, lock_timeout=lock_timeout)

    @contextlib.contextmanager
    def exclusive(name: str) -> Iterator[None]:
        # One holder per home at a time, waiting as long as it takes (labs take turns); meanwhile
        # the DuckDB file stays open (no reopen per call).
        with HomeLock(paths.home, name).held(), warehouse.hold():
            yield

    return Backend(
        name="local",
        warehouse=warehouse,
        feature_store=LocalFeatureStore(warehouse, feature_store_schema),
        tracker=LocalTracker(mlflow, paths),
        registry=registry,
        raw={"paths": paths, "mlflow": mlflow, "close": mlflow.close},
        locations={
            "DuckDB database": str(paths.duckdb_file),
            "MLflow tracking store": paths.tracking_uri,
            "MLflow artifacts": str(paths.artifact_root),
            "MLflow UI": f"mlops-kit ui  (then open http://127.0.0.1:5000/{UI_START_PAGE})",
        },
        lock_factory=exclusive,
        warm_up_hook=mlflow.warm_up,
    )
