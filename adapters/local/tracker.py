"""``LocalTracker``: experiments and runs in a real MLflow tracking store.

Anything the MLflow UI or an MLflow client reads works on what this writes: runs carry their
params, metrics, artifacts and, as MLflow dataset inputs, the training set and feature view
versions they used. Run names are kept unique within an experiment (MLflow does not insist).

Experiments open in the MLflow UI's model-training view (the ``mlflow.experimentKind`` tag), keep
their artifacts in the home (never the working folder), and are deleted for good, with their runs,
logged models and artifacts, so the name is free again and nothing is left behind. Each run records
the process that owns it (``mlops_kit.owner``); ``set_experiment`` marks FAILED the RUNNING runs of
processes that are gone (killed with SIGKILL, say).
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
from mlops_kit.adapters.local.mlflow_store import logged_model_id, purge
from mlops_kit.errors import InvalidInputError, NotFoundError
from mlops_kit.processes import ProcessOwner
from mlops_kit.tracker import Tracker
from mlops_kit.types import Artifact, Experiment, Run, RunInput, RunRef, RunStatus

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.home import LocalPaths
    from mlops_kit.adapters.local.mlflow_records import RecordSource, RunRecord
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
        if found is not None and found.lifecycle_stage == "deleted":
            if _TAG_DELETING not in found.tags:
                raise InvalidInputError(
                    f"experiment {name} was deleted outside the kit (id {found.experiment_id}) and MLflow keeps "
                    f"its name taken: restore it with `mlflow experiments restore --experiment-id "
                    f"{found.experiment_id}`, or remove it for good with `mlflow gc --experiment-ids {found.experiment_id}`"
                )
            self._purge_experiment(found.experiment_id)  # a delete that a kill interrupted: finish it
            found = None
        if found is None:
            experiment_id = self.client.create_experiment(
                name,
                artifact_location=self.paths.experiment_artifact_location(name),
                tags={EXPERIMENT_KIND: MODEL_TRAINING},
            )
        else:
            experiment_id = found.experiment_id
            if EXPERIMENT_KIND not in found.tags:
                self.client.set_experiment_tag(experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
        self._mlflow.experiment_id = experiment_id
        self._fail_abandoned_runs(experiment_id)
        return Experiment(name, experiment_id)

    def _fail_abandoned_runs(self, experiment_id: str) -> None:
        """Mark FAILED the RUNNING runs whose process is gone; runs of live processes, of other
        hosts, or with no recorded owner are left alone."""
        for run in self.client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
            owner = ProcessOwner.from_text(run.data.tags.get(_TAG_OWNER))
            if owner is None or not owner.is_gone():
                continue
            if _NOTE not in run.data.tags:
                self.client.set_tag(
                    run.info.run_id,
                    _NOTE,
                    f"Marked FAILED by mlops_kit: process {owner.pid} on {owner.host} ended while this run was "
                    "still RUNNING (it was killed, or its machine stopped).",
                )
            self.client.set_terminated(run.info.run_id, status="FAILED")

    def _begin_run(self, experiment: str, name: str) -> RunRef:
        experiment_id = self._experiment_id(experiment)
        run = self.client.create_run(experiment_id, run_name=name, tags={_TAG_OWNER: ProcessOwner.current().to_text()})
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
        experiments = self._mlflow.records().experiments()
        return sorted((Experiment(e.name, e.experiment_id) for e in experiments), key=lambda e: e.name)

    def list_runs(self, experiment: str | None = None) -> list[Run]:
        name = self._experiment_name(experiment)
        records = self._mlflow.records()
        return [_run(name, r) for r in records.runs(self._experiment_id(name, records))]

    def get_run(self, name: str, experiment: str | None = None) -> Run:
        return _run(self._experiment_name(experiment), self._find(name, experiment))

    def list_artifacts(self, run_name: str, path: str | None = None, experiment: str | None = None) -> list[Artifact]:
        run = self._find(run_name, experiment)
        found: list[Artifact] = []
        pending = [path]
        while pending:
            for info in self.client.list_artifacts(run.run_id, pending.pop()):
                found.append(Artifact(info.path, info.is_dir, info.file_size))
                if info.is_dir:
                    pending.append(info.path)
        return sorted(found, key=lambda a: a.path)

    def download_artifacts(self, run_name: str, path: str, dst: str | Path, experiment: str | None = None) -> Path:
        from mlflow.exceptions import MlflowException

        run = self._find(run_name, experiment)
        Path(dst).mkdir(parents=True, exist_ok=True)
        try:
            local = self.client.download_artifacts(run.run_id, path, str(dst))
        except (MlflowException, OSError) as exc:
            raise NotFoundError(f"run {run_name.upper()} has no artifact {path!r}") from exc
        return Path(local)

    def delete_run(self, name: str, experiment: str | None = None) -> None:
        purge(self.client, self.paths.artifact_root, run_ids=[self._find(name, experiment).run_id])

    def delete_experiment(self, name: str) -> None:
        """Delete the experiment for good: runs, logged models, artifacts; the name is free again.

        Raises:
            NotFoundError: no such experiment.
            InvalidInputError: registered model versions use models logged in it (delete them first).
        """
        canonical = names.identifier(name, "experiment")
        experiment_id = self._experiment_id(canonical)
        models = {m.model_id for m in self.client.search_logged_models([experiment_id])}
        in_use = sorted(
            f"{mv.name} version {mv.version}"
            for mv in self.client.search_model_versions()
            if logged_model_id(mv.source) in models
        )
        if in_use:
            raise InvalidInputError(
                f"experiment {canonical} holds the models of registered versions ({', '.join(in_use)}): "
                "delete those versions or models first"
            )
        self.client.set_experiment_tag(experiment_id, _TAG_DELETING, "true")
        self._purge_experiment(experiment_id)
        if self._experiment == canonical:
            self._experiment = None
            self._mlflow.experiment_id = None

    def _purge_experiment(self, experiment_id: str) -> None:
        from mlflow.entities import ViewType

        runs = self.client.search_runs([experiment_id], run_view_type=ViewType.ALL)
        models = self.client.search_logged_models([experiment_id])
        purge(
            self.client,
            self.paths.artifact_root,
            run_ids=[r.info.run_id for r in runs],
            logged_model_ids=[m.model_id for m in models],
            experiment_id=experiment_id,
        )

    # Internals.

    def _experiment_name(self, experiment: str | None) -> str:
        return names.identifier(experiment, "experiment") if experiment else self.experiment

    def _experiment_id(self, name: str, records: RecordSource | None = None) -> str:
        found = (records or self._mlflow.records()).experiment(name)
        if found is None:
            raise NotFoundError(f"experiment {name} does not exist")
        return found.experiment_id

    def _find(self, name: str, experiment: str | None) -> RunRecord:
        """The run called ``name`` (the newest, should plain MLflow have made several)."""
        run_name = names.identifier(name, "run name")
        experiment_name = self._experiment_name(experiment)
        records = self._mlflow.records()
        runs = records.runs(self._experiment_id(experiment_name, records), run_name)
        if not runs:
            raise NotFoundError(f"experiment {experiment_name} has no run called {run_name}")
        return runs[-1]


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except TypeError:
        return str(value)


def _run(experiment: str, run: RunRecord) -> Run:
    inputs = [
        RunInput(tags[_TAG_KIND], tags[_TAG_NAME], tags.get(_TAG_VERSION)) for tags in run.input_tags if _TAG_KIND in tags
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
        start_time=_time(run.start_ms),
        end_time=_time(run.end_ms),
    )


def _time(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000) if millis else None
