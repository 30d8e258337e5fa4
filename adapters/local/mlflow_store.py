"""Opening the MLflow tracking store and model registry the local backend uses.

A fresh SQLite store runs MLflow's migrations on first use; several processes doing that at once
all fail (measured: four of four). So the store is opened under an inter-process lock, and the
process-wide MLflow URIs are pointed at the same store, so plain MLflow code (``mlflow.xgboost.
load_model("models:/NAME@default")``) sees what the kit wrote.

Importing mlflow and creating a fresh store cost about 4-5 s, so the client is opened lazily, on
first use, or in a background thread when ``MlflowConnection.warm_up()`` asks for it (the lab does,
and prepares data and trains meanwhile).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.home import LocalPaths

_clients: dict[tuple[str, str], MlflowClient] = {}
_clients_lock = threading.Lock()


def open_client(paths: LocalPaths) -> MlflowClient:
    """An MlflowClient on the local store, initialised once per process, under a file lock."""
    key = (paths.tracking_uri, paths.registry_uri)
    with _clients_lock:
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


class MlflowConnection:
    """The MLflow client of one local home, opened on first use or warmed up in the background."""

    def __init__(self, paths: LocalPaths) -> None:
        self.paths = paths
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def warm_up(self) -> None:
        """Start opening the client in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._open_in_background, name="mlops-kit-mlflow", daemon=True)
            self._thread.start()

    @property
    def client(self) -> MlflowClient:
        if self._thread is not None:
            self._thread.join()
            if self._error is not None:
                raise self._error
        return open_client(self.paths)

    def _open_in_background(self) -> None:
        try:
            open_client(self.paths)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread by ``client``
            self._error = exc
