"""What the local tracker and registry read from MLflow, as plain records, from either source.

The tracker and registry turn these records into the kit's types in one place each. The records
come from ``SqliteRecords`` in ``sqlite_reader.py`` (the kit's own SQLite file read directly,
without importing MLflow, which makes the read commands answer in a fraction of a second), or from
``ClientRecords`` (MlflowClient, any store MLflow supports), which runs in the MLflow worker process
and is reached through ``WorkerRecords``. ``MlflowConnection.records()`` picks one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mlops_kit.adapters.local.mlflow_worker import Session, operation

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.mlflow_worker import MlflowWorker


@dataclass(frozen=True)
class ExperimentRecord:
    experiment_id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    name: str
    status: str  # MLflow's: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str]
    metrics: dict[str, float]  # the latest value of each metric, as MLflow reports it
    tags: dict[str, str]
    input_tags: tuple[dict[str, str], ...]  # the tags of each dataset input


@dataclass(frozen=True)
class ModelRecord:
    name: str
    description: str
    aliases: dict[str, str]  # alias -> version number


@dataclass(frozen=True)
class VersionRecord:
    name: str
    number: str
    source: str
    run_id: str | None
    description: str
    created_ms: int | None
    tags: dict[str, str]


@dataclass(frozen=True)
class LoggedModelRecord:
    model_id: str
    experiment_id: str
    artifact_location: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]  # the latest value of each metric (highest step, then latest time)


class RecordSource(Protocol):
    def experiment(self, name: str) -> ExperimentRecord | None:
        """The active experiment called ``name``."""

    def experiments(self) -> list[ExperimentRecord]:
        """Every active experiment, by name."""

    def runs(self, experiment_id: str, name: str | None = None) -> list[RunRecord]:
        """Active runs of an experiment (only those called ``name`` when given), oldest first."""

    def run_names(self, run_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(experiment name, run name) of each active run among ``run_ids``."""

    def model(self, name: str) -> ModelRecord | None: ...

    def models(self) -> list[ModelRecord]: ...

    def versions(self, name: str) -> list[VersionRecord]:
        """Every version of a registered model, by number."""

    def logged_model(self, model_id: str) -> LoggedModelRecord | None:
        """An active logged model."""

    def logged_models(self, model_ids: Iterable[str]) -> dict[str, LoggedModelRecord]:
        """The active logged models among ``model_ids``, by id."""


def latest_metrics(points: Iterable[tuple[str, float, int, int]]) -> dict[str, float]:
    """The latest value per key of ``(key, value, timestamp, step)`` points: highest step, then
    latest timestamp, then largest value (MLflow's rule for a run's latest metrics)."""
    best: dict[str, tuple[int, int, float]] = {}
    for key, value, timestamp, step in points:
        candidate = (step, timestamp, value)
        if key not in best or candidate > best[key]:
            best[key] = candidate
    return {key: point[2] for key, point in best.items()}


class ClientRecords:
    """Records read through MlflowClient."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def experiment(self, name: str) -> ExperimentRecord | None:
        found = self.client.get_experiment_by_name(name)
        if found is None or found.lifecycle_stage != "active":
            return None
        return ExperimentRecord(found.experiment_id, found.name, dict(found.tags))

    def experiments(self) -> list[ExperimentRecord]:
        found = [ExperimentRecord(e.experiment_id, e.name, dict(e.tags)) for e in self.client.search_experiments()]
        return sorted(found, key=lambda e: e.name)

    def runs(self, experiment_id: str, name: str | None = None) -> list[RunRecord]:
        query = f"attributes.run_name = '{name}'" if name else ""
        found = self.client.search_runs([experiment_id], filter_string=query, order_by=["attributes.start_time ASC"])
        return [_run_record(run) for run in found]

    def run_names(self, run_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        from mlflow.exceptions import MlflowException

        names: dict[str, tuple[str, str]] = {}
        for run_id in set(run_ids):
            try:
                run = self.client.get_run(run_id)
            except MlflowException:
                continue
            if run.info.lifecycle_stage == "active":
                names[run_id] = (self.client.get_experiment(run.info.experiment_id).name, run.info.run_name)
        return names

    def model(self, name: str) -> ModelRecord | None:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_registered_model(name)
        except MlflowException:
            return None
        return _model_record(found)

    def models(self) -> list[ModelRecord]:
        return [_model_record(m) for m in self.client.search_registered_models()]

    def versions(self, name: str) -> list[VersionRecord]:
        found = self.client.search_model_versions(f"name = '{name}'")
        return sorted((version_record(mv) for mv in found), key=lambda v: int(v.number))

    def logged_models(self, model_ids: Iterable[str]) -> dict[str, LoggedModelRecord]:
        found = {model_id: self.logged_model(model_id) for model_id in set(model_ids)}
        return {model_id: record for model_id, record in found.items() if record is not None}

    def logged_model(self, model_id: str) -> LoggedModelRecord | None:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_logged_model(model_id)
        except MlflowException:
            return None
        return LoggedModelRecord(
            model_id=found.model_id,
            experiment_id=found.experiment_id,
            artifact_location=found.artifact_location,
            params=dict(found.params),
            tags=dict(found.tags),
            metrics=latest_metrics((m.key, m.value, m.timestamp, m.step) for m in found.metrics or ()),
        )


def _model_record(model: object) -> ModelRecord:
    aliases = {alias: str(number) for alias, number in model.aliases.items()}  # type: ignore[attr-defined]
    return ModelRecord(model.name, model.description or "", aliases)  # type: ignore[attr-defined]


class WorkerRecords:
    """``ClientRecords`` of the worker process, from the user's process."""

    def __init__(self, worker: MlflowWorker) -> None:
        self._worker = worker

    def _read(self, method: str, *args: Any) -> Any:
        return self._worker.call("read_records", method, *args)

    def experiment(self, name: str) -> ExperimentRecord | None:
        return self._read("experiment", name)

    def experiments(self) -> list[ExperimentRecord]:
        return self._read("experiments")

    def runs(self, experiment_id: str, name: str | None = None) -> list[RunRecord]:
        return self._read("runs", experiment_id, name)

    def run_names(self, run_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        return self._read("run_names", list(run_ids))

    def model(self, name: str) -> ModelRecord | None:
        return self._read("model", name)

    def models(self) -> list[ModelRecord]:
        return self._read("models")

    def versions(self, name: str) -> list[VersionRecord]:
        return self._read("versions", name)

    def logged_model(self, model_id: str) -> LoggedModelRecord | None:
        return self._read("logged_model", model_id)

    def logged_models(self, model_ids: Iterable[str]) -> dict[str, LoggedModelRecord]:
        return self._read("logged_models", list(model_ids))


@operation
def read_records(session: Session, method: str, *args: Any) -> Any:
    """A ``ClientRecords`` read, in the worker."""
    return getattr(ClientRecords(session.client), method)(*args)


def version_record(mv: object) -> VersionRecord:
    """A record of an MLflow ``ModelVersion`` entity."""
    return VersionRecord(
        name=mv.name,  # type: ignore[attr-defined]
        number=str(mv.version),  # type: ignore[attr-defined]
        source=mv.source,  # type: ignore[attr-defined]
        run_id=mv.run_id or None,  # type: ignore[attr-defined]
        description=mv.description or "",  # type: ignore[attr-defined]
        created_ms=mv.creation_timestamp,  # type: ignore[attr-defined]
        tags=dict(mv.tags),  # type: ignore[attr-defined]
    )


def _run_record(run: object) -> RunRecord:
    info, data = run.info, run.data  # type: ignore[attr-defined]
    inputs: Sequence[object] = run.inputs.dataset_inputs if run.inputs else ()  # type: ignore[attr-defined]
    return RunRecord(
        run_id=info.run_id,
        name=info.run_name,
        status=info.status,
        start_ms=info.start_time,
        end_ms=info.end_time,
        params=dict(data.params),
        metrics=dict(data.metrics),
        tags=dict(data.tags),
        input_tags=tuple({t.key: t.value for t in item.tags} for item in inputs),  # type: ignore[attr-defined]
    )
