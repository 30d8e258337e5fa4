"""``LocalTracker``: experiments and runs in a real MLflow tracking store.

Anything the MLflow UI or an MLflow client reads works on what this writes: runs carry their
params, metrics, artifacts and, as MLflow dataset inputs, the training set and feature view
versions they used. The core keeps run names unique within an experiment (MLflow does not insist).

Experiments open in the MLflow UI's model-training view (the ``mlflow.experimentKind`` tag), keep
their artifacts in the home (never the working folder), and are deleted for good, with their runs,
logged models and artifacts, so the name is free again and nothing is left behind. Each run records
the process that owns it (``mlops_kit.owner``); ``set_experiment`` marks FAILED the RUNNING runs of
processes that are gone (killed with SIGKILL, say).

``LocalTracker`` runs in the user's process; what it writes, the ``@operation`` functions at the end
of this file do in the MLflow worker process (``mlflow_worker.py``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_kit.adapters.local.errors import LocalErrorKinds
from mlops_kit.adapters.local.mlflow_store import logged_model_id, purge
from mlops_kit.adapters.local.mlflow_worker import Session, operation
from mlops_kit.clock import from_epoch_millis
from mlops_kit.errors import InvalidInputError, NotFoundError
from mlops_kit.processes import ProcessOwner
from mlops_kit.tracker import Tracker
from mlops_kit.types import Artifact, Experiment, Run, RunInput, RunRef, RunStatus

if TYPE_CHECKING:
    from mlops_kit.adapters.local.home import LocalPaths
    from mlops_kit.adapters.local.mlflow_records import RunRecord
    from mlops_kit.adapters.local.mlflow_store import MlflowConnection

_TAG_KIND = "mlops_kit.kind"
_TAG_NAME = "mlops_kit.name"
_TAG_VERSION = "mlops_kit.version"
_TAG_OWNER = "mlops_kit.owner"
_TAG_DELETING = "mlops_kit.deleting"
_NOTE = "mlflow.note.content"  # the run's description in the MLflow UI
#: The experiment tag the MLflow UI reads to choose its view, and its value for model training
#: (``ExperimentKind.CUSTOM_MODEL_DEVELOPMENT`` in MLflow 3's UI; without it the UI guesses, and an
#: experiment with no traces opens in the GenAI view).
EXPERIMENT_KIND = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"
_BATCH_PARAMS, _BATCH_METRICS = 100, 1000  # the most MLflow takes in one log_batch call


class LocalTracker(LocalErrorKinds, Tracker):
    def __init__(self, mlflow: MlflowConnection, paths: LocalPaths) -> None:
        super().__init__()
        self._mlflow = mlflow
        self.paths = paths

    def _create_experiment(self, name: str) -> Experiment:
        experiment_id = self._mlflow.call("ensure_experiment", name, self.paths.experiment_artifact_location(name))
        self._mlflow.experiment_id = experiment_id
        return Experiment(name, experiment_id)

    def _list_experiments(self) -> list[Experiment]:
        return [Experiment(e.name, e.experiment_id) for e in self._mlflow.records().experiments()]

    def _delete_experiment(self, name: str) -> None:
        experiment_id = self._experiment_id(name)
        self._mlflow.call("delete_experiment", experiment_id, name)
        if self._mlflow.experiment_id == experiment_id:
            self._mlflow.experiment_id = None

    def _begin_run(self, experiment: str, name: str) -> RunRef:
        run_id = self._mlflow.call(
            "create_run", self._experiment_id(experiment), name, ProcessOwner.current().to_text()
        )
        return RunRef(experiment, name, run_id)

    def _finish_run(self, ref: RunRef, status: RunStatus) -> None:
        self._mlflow.call("end_run", ref.run_id, status.value)

    def _runs(self, experiment: str, name: str | None = None) -> list[Run] | None:
        records = self._mlflow.records()
        found = records.experiment(experiment)
        if found is None:
            return None
        return [_run(experiment, r) for r in records.runs(found.experiment_id, name)]

    def _log_batch(self, ref: RunRef, params: Mapping[str, str], metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        metric_rows = [(key, value, now, step) for key, value in metrics.items()]
        self._mlflow.call("log_batch", ref.run_id, list(params.items()), metric_rows)

    def _log_artifact(self, ref: RunRef, local_path: Path, artifact_path: str | None) -> None:
        self._mlflow.call("log_artifact", ref.run_id, str(local_path), artifact_path)

    def _log_inputs(self, ref: RunRef, inputs: Sequence[RunInput]) -> None:
        datasets = []
        for item in inputs:
            label = f"{item.name}${item.version}" if item.version else item.name
            source = json.dumps({"backend": "local", "kind": item.kind, "name": item.name, "version": item.version})
            tags = {"mlflow.data.context": "training", _TAG_KIND: item.kind, _TAG_NAME: item.name}
            if item.version:
                tags[_TAG_VERSION] = item.version
            datasets.append((label, hashlib.sha256(source.encode()).hexdigest()[:8], source, tags))
        self._mlflow.call("log_inputs", ref.run_id, datasets)

    def _list_artifacts(self, ref: RunRef, path: str | None) -> list[Artifact]:
        return [Artifact(*item) for item in self._mlflow.call("list_artifacts", ref.run_id, path)]

    def _download_artifact(self, ref: RunRef, path: str, dst: Path) -> Path:
        return Path(self._mlflow.call("download_artifacts", ref.run_id, ref.name, path, str(dst)))

    def _delete_run(self, ref: RunRef) -> None:
        self._mlflow.call("delete_runs", [ref.run_id])

    def _experiment_id(self, name: str) -> str:
        found = self._mlflow.records().experiment(name)
        if found is None:
            raise NotFoundError(f"experiment {name} does not exist")
        return found.experiment_id


def _run(experiment: str, run: RunRecord) -> Run:
    inputs = [
        RunInput(tags[_TAG_KIND], tags[_TAG_NAME], tags.get(_TAG_VERSION))
        for tags in run.input_tags
        if _TAG_KIND in tags
    ]
    status = {"FINISHED": RunStatus.FINISHED, "RUNNING": RunStatus.RUNNING}.get(run.status, RunStatus.FAILED)
    return Run(
        experiment=experiment,
        name=run.name,
        run_id=run.run_id,
        status=status,
        params=dict(run.params),
        metrics=dict(run.metrics),
        inputs=tuple(inputs),
        start_time=from_epoch_millis(run.start_ms),
        end_time=from_epoch_millis(run.end_ms),
    )


# What the tracker writes, done in the MLflow worker process.


@operation
def ensure_experiment(session: Session, name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created (in the model-training view) if needed; marks FAILED
    the RUNNING runs of processes that are gone."""
    client = session.client
    found = client.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage == "deleted":
        if _TAG_DELETING not in found.tags:
            raise InvalidInputError(
                f"experiment {name} was deleted outside the kit (id {found.experiment_id}) and MLflow keeps "
                f"its name taken: restore it with `mlflow experiments restore --experiment-id "
                f"{found.experiment_id}`, or remove it for good with `mlflow gc --experiment-ids {found.experiment_id}`"
            )
        _purge_experiment(session, found.experiment_id)  # a delete that a kill interrupted: finish it
        found = None
    if found is None:
        experiment_id = client.create_experiment(
            name, artifact_location=artifact_location, tags={EXPERIMENT_KIND: MODEL_TRAINING}
        )
    else:
        experiment_id = found.experiment_id
        if EXPERIMENT_KIND not in found.tags:
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
    _fail_abandoned_runs(session, experiment_id)
    return experiment_id


def _fail_abandoned_runs(session: Session, experiment_id: str) -> None:
    """Mark FAILED the RUNNING runs whose process is gone; runs of live processes, of other hosts,
    or with no recorded owner are left alone."""
    client = session.client
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        owner = ProcessOwner.from_text(run.data.tags.get(_TAG_OWNER))
        if owner is None or not owner.is_gone():
            continue
        if _NOTE not in run.data.tags:
            client.set_tag(
                run.info.run_id,
                _NOTE,
                f"Marked FAILED by mlops_kit: process {owner.pid} on {owner.host} ended while this run was "
                "still RUNNING (it was killed, or its machine stopped).",
            )
        client.set_terminated(run.info.run_id, status="FAILED")


@operation
def create_run(session: Session, experiment_id: str, name: str, owner: str) -> str:
    return session.client.create_run(experiment_id, run_name=name, tags={_TAG_OWNER: owner}).info.run_id


@operation
def end_run(session: Session, run_id: str, status: str) -> None:
    session.client.set_terminated(run_id, status=status)


@operation
def log_batch(
    session: Session, run_id: str, params: list[tuple[str, str]], metrics: list[tuple[str, float, int, int]]
) -> None:
    from mlflow.entities import Metric, Param

    for i in range(0, len(params), _BATCH_PARAMS):
        session.client.log_batch(run_id, params=[Param(*p) for p in params[i : i + _BATCH_PARAMS]])
    for i in range(0, len(metrics), _BATCH_METRICS):
        session.client.log_batch(run_id, metrics=[Metric(*m) for m in metrics[i : i + _BATCH_METRICS]])


@operation
def log_artifact(session: Session, run_id: str, local_path: str, artifact_path: str | None) -> None:
    if Path(local_path).is_dir():
        session.client.log_artifacts(run_id, local_path, artifact_path)
    else:
        session.client.log_artifact(run_id, local_path, artifact_path)


@operation
def log_inputs(session: Session, run_id: str, datasets: list[tuple[str, str, str, dict[str, str]]]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    session.client.log_inputs(
        run_id,
        datasets=[
            DatasetInput(Dataset(label, digest, "mlops_kit", source), [InputTag(k, v) for k, v in tags.items()])
            for label, digest, source, tags in datasets
        ],
    )


@operation
def list_artifacts(session: Session, run_id: str, path: str | None) -> list[tuple[str, bool, int | None]]:
    found = []
    pending = [path]
    while pending:
        for info in session.client.list_artifacts(run_id, pending.pop()):
            found.append((info.path, info.is_dir, info.file_size))
            if info.is_dir:
                pending.append(info.path)
    return found


@operation
def download_artifacts(session: Session, run_id: str, run_name: str, path: str, dst: str) -> str:
    from mlflow.exceptions import MlflowException

    try:
        return session.client.download_artifacts(run_id, path, dst)
    except (MlflowException, OSError) as exc:
        raise NotFoundError(f"run {run_name} has no artifact {path!r}") from exc


@operation
def delete_runs(session: Session, run_ids: list[str]) -> None:
    purge(session.client, session.paths.artifact_root, run_ids=run_ids)


@operation
def delete_experiment(session: Session, experiment_id: str, name: str) -> None:
    client = session.client
    models = {m.model_id for m in client.search_logged_models([experiment_id])}
    in_use = sorted(
        f"{mv.name} version {mv.version}"
        for mv in client.search_model_versions()
        if logged_model_id(mv.source) in models
    )
    if in_use:
        raise InvalidInputError(
            f"experiment {name} holds the models of registered versions ({', '.join(in_use)}): "
            "delete those versions or models first"
        )
    client.set_experiment_tag(experiment_id, _TAG_DELETING, "true")
    _purge_experiment(session, experiment_id)


def _purge_experiment(session: Session, experiment_id: str) -> None:
    from mlflow.entities import ViewType

    runs = session.client.search_runs([experiment_id], run_view_type=ViewType.ALL)
    models = session.client.search_logged_models([experiment_id])
    purge(
        session.client,
        session.paths.artifact_root,
        run_ids=[r.info.run_id for r in runs],
        logged_model_ids=[m.model_id for m in models],
        experiment_id=experiment_id,
    )
