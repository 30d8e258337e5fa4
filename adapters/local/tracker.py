"""``LocalTracker``: experiments and runs in a real MLflow tracking store.

Anything the MLflow UI or an MLflow client reads works on what this writes: runs carry their
params, metrics, artifacts and, as MLflow dataset inputs, the training set and feature view
versions they used. Run names are kept unique within an experiment (MLflow does not insist).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_kit import names
from mlops_kit.errors import InvalidInputError, NotFoundError
from mlops_kit.tracker import Tracker
from mlops_kit.types import Artifact, Experiment, Run, RunInput, RunRef, RunStatus

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run as MlflowRun

    from mlops_kit.adapters.local.home import LocalPaths
    from mlops_kit.adapters.local.mlflow_store import MlflowConnection

_TAG_KIND = "mlops_kit.kind"
_TAG_NAME = "mlops_kit.name"
_TAG_VERSION = "mlops_kit.version"


class LocalTracker(Tracker):
    def __init__(self, mlflow: MlflowConnection, paths: LocalPaths) -> None:
        super().__init__()
        self._mlflow = mlflow
        self.paths = paths

    @property
    def client(self) -> MlflowClient:
        return self._mlflow.client

    def _create_experiment(self, name: str) -> Experiment:
        found = self.client.get_experiment_by_name(name)
        if found is None:
            location = (self.paths.artifact_root / name).as_uri() if self.paths.owns_mlflow_store else None
            experiment_id = self.client.create_experiment(name, artifact_location=location)
            return Experiment(name, experiment_id)
        return Experiment(name, found.experiment_id)

    def _begin_run(self, experiment: str, name: str) -> RunRef:
        experiment_id = self._experiment_id(experiment)
        run = self.client.create_run(experiment_id, run_name=name)
        return RunRef(experiment, name, run.info.run_id)

    def _finish_run(self, ref: RunRef, status: RunStatus) -> None:
        self.client.set_terminated(ref.run_id, status=status.value)

    def log_batch(
        self, params: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None, step: int = 0
    ) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.exceptions import MlflowException

        ref = self._require_active()
        now = int(time.time() * 1000)
        metric_rows = []
        for key, value in (metrics or {}).items():
            try:
                metric_rows.append(Metric(key, float(value), now, int(step)))
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"metric {key!r} of run {ref.name} is not a number: {value!r}") from exc
        param_rows = [Param(key, _param_text(value)) for key, value in (params or {}).items()]
        try:  # MLflow takes at most 100 params or 1,000 metrics per call.
            for i in range(0, len(param_rows), 100):
                self.client.log_batch(ref.run_id, params=param_rows[i : i + 100])
            for i in range(0, len(metric_rows), 1000):
                self.client.log_batch(ref.run_id, metrics=metric_rows[i : i + 1000])
        except MlflowException as exc:
            raise InvalidInputError(f"run {ref.name}: {exc.message}") from exc

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        ref = self._require_active()
        path = Path(local_path)
        if not path.exists():
            raise InvalidInputError(f"run {ref.name}: cannot log {path}: no such file")
        if path.is_dir():
            self.client.log_artifacts(ref.run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(ref.run_id, str(path), artifact_path)

    def log_inputs(self, inputs: Sequence[RunInput]) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        ref = self._require_active()
        datasets = []
        for item in inputs:
            label = f"{item.name}${item.version}" if item.version else item.name
            source = json.dumps({"backend": "local", "kind": item.kind, "name": item.name, "version": item.version})
            digest = hashlib.sha256(source.encode()).hexdigest()[:8]
            tags = [
                InputTag("mlflow.data.context", "training"),
                InputTag(_TAG_KIND, item.kind),
                InputTag(_TAG_NAME, item.name),
            ]
            if item.version:
                tags.append(InputTag(_TAG_VERSION, item.version))
            datasets.append(DatasetInput(Dataset(label, digest, "mlops_kit", source), tags))
        self.client.log_inputs(ref.run_id, datasets=datasets)

    def list_experiments(self) -> list[Experiment]:
        return sorted(
            (Experiment(e.name, e.experiment_id) for e in self.client.search_experiments()), key=lambda e: e.name
        )

    def list_runs(self, experiment: str | None = None) -> list[Run]:
        name = self._experiment_name(experiment)
        runs = self.client.search_runs([self._experiment_id(name)], order_by=["attributes.start_time ASC"])
        return [_run(name, r) for r in runs]

    def get_run(self, name: str, experiment: str | None = None) -> Run:
        return _run(self._experiment_name(experiment), self._find(name, experiment))

    def list_artifacts(self, run_name: str, path: str | None = None, experiment: str | None = None) -> list[Artifact]:
        run = self._find(run_name, experiment)
        found: list[Artifact] = []
        pending = [path]
        while pending:
            for info in self.client.list_artifacts(run.info.run_id, pending.pop()):
                found.append(Artifact(info.path, info.is_dir, info.file_size))
                if info.is_dir:
                    pending.append(info.path)
        return sorted(found, key=lambda a: a.path)

    def download_artifacts(self, run_name: str, path: str, dst: str | Path, experiment: str | None = None) -> Path:
        from mlflow.exceptions import MlflowException

        run = self._find(run_name, experiment)
        Path(dst).mkdir(parents=True, exist_ok=True)
        try:
            local = self.client.download_artifacts(run.info.run_id, path, str(dst))
        except (MlflowException, OSError) as exc:
            raise NotFoundError(f"run {run_name.upper()} has no artifact {path!r}") from exc
        return Path(local)

    def delete_run(self, name: str, experiment: str | None = None) -> None:
        self.client.delete_run(self._find(name, experiment).info.run_id)

    def delete_experiment(self, name: str) -> None:
        canonical = names.identifier(name, "experiment")
        experiment_id = self._experiment_id(canonical)
        for run in self.client.search_runs([experiment_id]):
            self.client.delete_run(run.info.run_id)
        # MLflow keeps a deleted experiment's name taken; rename it first so the name is free again.
        self.client.rename_experiment(experiment_id, f"{canonical}__DELETED_{experiment_id}")
        self.client.delete_experiment(experiment_id)
        if self._experiment == canonical:
            self._experiment = None

    # Internals.

    def _experiment_name(self, experiment: str | None) -> str:
        return names.identifier(experiment, "experiment") if experiment else self.experiment

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is None or found.lifecycle_stage == "deleted":
            raise NotFoundError(f"experiment {name} does not exist")
        return found.experiment_id

    def _find(self, name: str, experiment: str | None) -> MlflowRun:
        run_name = names.identifier(name, "run name")
        experiment_name = self._experiment_name(experiment)
        runs = self.client.search_runs(
            [self._experiment_id(experiment_name)],
            filter_string=f"attributes.run_name = '{run_name}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not runs:
            raise NotFoundError(f"experiment {experiment_name} has no run called {run_name}")
        return runs[0]


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except TypeError:
        return str(value)


def _run(experiment: str, run: MlflowRun) -> Run:
    inputs = []
    for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
        tags = {t.key: t.value for t in dataset_input.tags}
        if _TAG_KIND in tags:
            inputs.append(RunInput(tags[_TAG_KIND], tags[_TAG_NAME], tags.get(_TAG_VERSION)))
    status = {"FINISHED": RunStatus.FINISHED, "RUNNING": RunStatus.RUNNING}.get(run.info.status, RunStatus.FAILED)
    return Run(
        experiment=experiment,
        name=run.info.run_name,
        run_id=run.info.run_id,
        status=status,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        inputs=tuple(inputs),
        start_time=_time(run.info.start_time),
        end_time=_time(run.info.end_time),
    )


def _time(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000) if millis else None
