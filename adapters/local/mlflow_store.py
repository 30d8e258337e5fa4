"""Opening the MLflow tracking store and model registry the local backend uses.

A fresh SQLite store runs MLflow's migrations on first use; several processes doing that at once
all fail (measured: four of four). So the first open happens under an inter-process lock, and the
process-wide MLflow URIs are pointed at the same store, so plain MLflow code (``mlflow.xgboost.
load_model("models:/NAME@default")``) sees what the kit wrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlops_kit.adapters.local.home import LocalPaths

_clients: dict[tuple[str, str], MlflowClient] = {}


def open_client(paths: LocalPaths) -> MlflowClient:
    """An MlflowClient on the local store, initialised once per process, under a file lock."""
    key = (paths.tracking_uri, paths.registry_uri)
    if key in _clients:
        return _clients[key]
    import os

    # The kit prints its own progress; MLflow's per-download bars would only add noise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from filelock import FileLock
    from mlflow import MlflowClient

    paths.artifact_root.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(paths.tracking_uri)
    mlflow.set_registry_uri(paths.registry_uri)
    with FileLock(str(paths.mlflow_lock), timeout=600):
        # Creating the client opens the tracking store, which runs its migrations on a fresh
        # database; the first calls create the tables of both stores. All of it under the lock.
        client = MlflowClient(tracking_uri=paths.tracking_uri, registry_uri=paths.registry_uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    _clients[key] = client
    return client
