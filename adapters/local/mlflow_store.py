"""Opening the MLflow tracking store and model registry the local backend uses, and deleting from it.

A fresh SQLite store runs MLflow's migrations on first use; several processes doing that at once
all fail (measured: four of four). So the store is opened under an inter-process lock, and a new
store of the kit's own starts as a copy of a pre-migrated template (``store_template.py``).

``MlflowConnection`` is what the tracker and registry hold: writes go to the worker process
(``mlflow_worker.py``, which calls ``open_client``), reads come from the SQLite file directly when
possible. Its ``client`` opens MLflow in the user's process too, for code that wants MLflow's own
API, and points MLflow's process-wide URIs at the same store, so plain MLflow code there
(``mlflow.xgboost.load_model("models:/NAME@default")``) sees what the kit wrote; the environment
variables ``mlflow.set_tracking_uri`` also sets are put back, so they never look like the user's choice.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_kit.adapters.local import store_template
from mlops_kit.adapters.local.mlflow_records import RecordSource, WorkerRecords
from mlops_kit.adapters.local.sqlite_reader import SqliteRecords
from mlops_kit.errors import BackendUnavailableError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.home import LocalPaths

#: Where to open the MLflow UI on the kit's store. MLflow 3.17's UI picks the GenAI or the Model
#: training view with a switch kept in the browser (GenAI unless chosen), which this query sets; UIs
#: without the switch read each experiment's ``mlflow.experimentKind`` tag, which the tracker sets.
UI_START_PAGE = "#/experiments?workflowType=machine_learning"

_clients: dict[tuple[str, str], MlflowClient] = {}
_clients_lock = threading.Lock()


#: Every SQLite database file starts with these 16 bytes (https://www.sqlite.org/fileformat.html).
_SQLITE_HEADER = b"SQLite format 3\x00"


def check_store_file(paths: LocalPaths) -> None:
    """Refuse the kit's own MLflow store when it is not a SQLite database: empty (a full disk, a copy
    cut short) or overwritten. MLflow would migrate an empty file into a fresh store, hiding that the
    runs and models it held are gone, and meet a foreign file with a SQLAlchemy traceback.

    Raises:
        BackendUnavailableError: naming the file and what to do.
    """
    if not paths.owns_mlflow_store:
        return
    file = paths.mlflow_db
    try:
        with open(file, "rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return  # a new home: the store is created from the template
    except IsADirectoryError:
        raise BackendUnavailableError(
            f"the MLflow store {file} is a folder, not a SQLite database: move it away"
        ) from None
    except OSError as exc:
        raise BackendUnavailableError(f"cannot read the MLflow store {file}: {exc.strerror or exc}") from exc
    if head == _SQLITE_HEADER:
        return
    what = "is empty (0 bytes)" if not head else f"is not a SQLite database (it starts with {head[:8]!r})"
    raise BackendUnavailableError(
        f"the MLflow store {file} {what}: it is damaged (a full disk, a copy cut short?) and the runs and models it "
        "held cannot be read. Restore it from a copy, or move it away and the kit starts a fresh store (the "
        f"artifacts stay in {paths.artifact_root})"
    )


def open_client(paths: LocalPaths) -> MlflowClient:
    """An MlflowClient on the local store, initialised once per process, under a file lock."""
    key = (paths.tracking_uri, paths.registry_uri)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        from filelock import FileLock

        # The kit prints its own progress; MLflow's per-download bars would only add noise.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        with FileLock(str(paths.mlflow_lock), timeout=600):
            if paths.owns_mlflow_store and not paths.mlflow_db.exists():
                store_template.copy_template(paths.mlflow_db)
        from mlflow import MlflowClient

        _point_mlflow_at(paths)
        with FileLock(str(paths.mlflow_lock), timeout=600):
            if paths.owns_mlflow_store and not _has_default_experiment(paths):
                # MLflow creates its Default experiment when it first opens a store, with artifacts
                # under the store's artifact root: open it once with the home's root, else that
                # would be ./mlruns of the working folder. Without a template this also migrates.
                from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

                SqlAlchemyStore(paths.tracking_uri, paths.artifact_root.as_uri())
            # Creating the client opens the tracking store, which runs its migrations on a fresh
            # database; the first calls create the tables of both stores. All of it under the lock.
            client = MlflowClient(tracking_uri=paths.tracking_uri, registry_uri=paths.registry_uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
        _clients[key] = client
        return client


def _point_mlflow_at(paths: LocalPaths) -> None:
    """Make the kit's store MLflow's process-wide default, leaving the environment as it was."""
    import mlflow

    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(paths.tracking_uri)
    mlflow.set_registry_uri(paths.registry_uri)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _has_default_experiment(paths: LocalPaths) -> bool:
    if not paths.mlflow_db.exists():
        return False
    uri = f"{paths.mlflow_db.as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            return con.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchone() is not None
    except sqlite3.Error:
        return False


class MlflowConnection:
    """MLflow for one local home: writes go to its worker process (``mlflow_worker.py``), reads come
    from the SQLite file when it can be read directly, and ``client`` is an MlflowClient in this
    process for anyone who wants MLflow's own API (it imports MLflow here)."""

    def __init__(self, paths: LocalPaths) -> None:
        from mlops_kit.adapters.local.mlflow_worker import MlflowWorker

        self.paths = paths
        #: The experiment the tracker works in (set by ``set_experiment``): where the registry logs a
        #: model that comes with no run, as MLflow puts such a model in the active experiment.
        self.experiment_id: str | None = None
        self._worker = MlflowWorker(paths)
        self._reader: SqliteRecords | None = None
        self._store_checked = False

    def _check_store(self) -> None:
        """``check_store_file`` once, before MLflow is first used through this connection."""
        if not self._store_checked:
            check_store_file(self.paths)
            self._store_checked = True

    def warm_up(self) -> None:
        """Start the worker process, which opens MLflow meanwhile (idempotent, returns at once)."""
        self._worker.start()

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Run a worker operation (see ``mlflow_worker.operation``)."""
        self._check_store()
        return self._worker.call(operation, *args, **kwargs)

    def records(self) -> RecordSource:
        """Where reads come from: the kit's own SQLite file read directly (no MLflow import) when
        its schema is one the reader knows, else MlflowClient in the worker."""
        self._check_store()
        if self._reader is None and self.paths.owns_mlflow_store and self.paths.user_registry_uri is None:
            self._reader = SqliteRecords.open(self.paths.mlflow_db)
        return self._reader or WorkerRecords(self._worker)

    @property
    def client(self) -> MlflowClient:
        self._check_store()
        return open_client(self.paths)

    def close(self) -> None:
        self._worker.close()


def logged_model_id(source: str | None) -> str | None:
    """The LoggedModel id of a model version registered from ``models:/m-…`` (MLflow 3's way)."""
    if source and source.startswith("models:/m-"):
        return source[len("models:/") :].split("/", 1)[0]
    return None


def purge(
    client: MlflowClient,
    root: Path,
    *,
    run_ids: Iterable[str] = (),
    logged_model_ids: Iterable[str] = (),
    experiment_id: str | None = None,
) -> None:
    """Delete runs, logged models and an experiment for good, artifacts included.

    The same two steps as ``mlflow gc``: remove the artifacts, then the records. In that order a
    kill in between leaves a record without artifacts, which stays visible and is deleted again by
    the next rerun or cleanup, never artifacts nobody can see. Empty folders left under ``root``
    (the home's artifact folder) go too. A store that cannot delete for good (a tracking server)
    keeps MLflow's soft delete.
    """
    from mlflow.entities import LifecycleStage
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    store = client._tracking_client.store
    hard = all(hasattr(store, name) for name in ("_hard_delete_run", "_hard_delete_logged_model"))
    for run_id in run_ids:
        run = client.get_run(run_id)
        if not hard:
            if run.info.lifecycle_stage != LifecycleStage.DELETED:
                client.delete_run(run_id)
            continue
        get_artifact_repository(run.info.artifact_uri).delete_artifacts()
        store._hard_delete_run(run_id)
        _remove_empty_folders(run.info.artifact_uri, root)
    for model_id in logged_model_ids:
        try:
            model = store.get_logged_model(model_id, allow_deleted=True)
        except MlflowException:
            continue  # already gone
        if not hard:
            client.delete_logged_model(model_id)
            continue
        get_artifact_repository(model.artifact_location).delete_artifacts()
        store._hard_delete_logged_model(model_id)
        _remove_empty_folders(model.artifact_location, root)
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.DELETED:
            client.delete_experiment(experiment_id)  # MLflow deletes an experiment for good only once deleted
        if hasattr(store, "_hard_delete_experiment"):
            store._hard_delete_experiment(experiment_id)
            _remove_empty_folders(experiment.artifact_location, root, including_itself=True)


def can_relink_runs(client: MlflowClient) -> bool:
    """Whether ``relink_run`` can work on this store: MLflow's SQL stores (a tracking server cannot)."""
    registry = client._get_registry_client().store
    tracking = client._tracking_client.store
    return all(hasattr(registry, n) for n in ("ManagedSessionMaker", "_get_sql_model_version")) and hasattr(
        tracking, "ManagedSessionMaker"
    )


def relink_run(client: MlflowClient, name: str, number: str, model_id: str | None, run_id: str) -> None:
    """Make ``run_id`` the source run of model version ``name``/``number`` and of its LoggedModel.

    MLflow's API cannot change a version's run (its SQL store sets it once, at creation); the kit
    keeps an unchanged model's version number across a re-tracked run, so it updates the two rows
    as MLflow's own ``update_model_version`` updates a description, in the store's own session.
    """
    from mlflow.store.tracking.dbmodels.models import SqlLoggedModel
    from mlflow.utils.time import get_current_time_millis

    registry = client._get_registry_client().store
    with registry.ManagedSessionMaker(read_only=False) as session:
        version = registry._get_sql_model_version(session, name=name, version=number)
        version.run_id = run_id
        version.run_link = None
        version.last_updated_time = get_current_time_millis()
        session.add(version)
    if model_id is None:
        return
    with client._tracking_client.store.ManagedSessionMaker(read_only=False) as session:
        logged = session.get(SqlLoggedModel, model_id)
        if logged is not None:
            logged.source_run_id = run_id
            session.add(logged)


def _remove_empty_folders(uri: str | None, root: Path, including_itself: bool = False) -> None:
    """Remove empty folders at and above a local artifact location, up to (not including) ``root``."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    if not uri:
        return
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return
    folder = Path(url2pathname(parsed.path)).resolve()
    root = root.resolve()
    if root not in folder.parents:
        return
    if including_itself and folder.exists():
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                sub.rmdir()  # only empty ones: anything still holding a file stays
    while folder != root and root in folder.parents:
        if folder.exists():
            try:
                folder.rmdir()
            except OSError:
                break  # not empty: it holds something else
        folder = folder.parent
