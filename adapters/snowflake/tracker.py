"""``SnowflakeTracker``: the Tracker interface over snowflake-ml's ExperimentTracking.

ExperimentTracking is a process-wide singleton with no run listing; runs, params and metrics are
read back with the same SQL snowflake-ml itself issues (``SHOW RUNS IN EXPERIMENT``,
``SHOW RUN PARAMETERS|METRICS IN EXPERIMENT``; see its ``experiment_tracking_sql_client.py``).

Run inputs have no native counterpart: ``log_inputs`` records each input as a run *param* named
``mlops_kit.input.<kind>.<name>`` whose value is JSON (``{"kind", "name", "version"}``). Those
params are shown in ``Run.inputs`` and left out of ``Run.params``. A run's ``run_id`` is its name
(run names are unique within an experiment on Snowflake).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snowflake.ml.experiment import ExperimentTracking

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SnowflakeErrorKinds, translated
from mlops_kit.errors import InvalidInputError, NotFoundError
from mlops_kit.tracker import Tracker
from mlops_kit.types import Artifact, Experiment, Run, RunInput, RunRef, RunStatus

if TYPE_CHECKING:
    from snowflake.snowpark import Session

INPUT_PREFIX = "mlops_kit.input."
_STATUSES = {s.value: s for s in RunStatus}


def _input_param(item: RunInput) -> tuple[str, str]:
    value = json.dumps({"kind": item.kind, "name": item.name, "version": item.version}, sort_keys=True)
    return f"{INPUT_PREFIX}{item.kind}.{item.name}", value


class SnowflakeTracker(SnowflakeErrorKinds, Tracker):
    """Experiments and runs in one Snowflake schema."""

    def __init__(
        self,
        session: Session,
        *,
        database: str = "MLOPS_HOL_DB",
        schema: str = "EXPERIMENTS",
        tracking: ExperimentTracking | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.database = names.identifier(database, "database")
        self.schema = names.identifier(schema, "experiment schema")
        if tracking is None:
            # A singleton that ignores the arguments of later constructions: drop any instance made
            # for another session or schema so this tracker gets its own database and schema.
            ExperimentTracking._instance = None
            with translated("could not open experiment tracking"):
                tracking = ExperimentTracking(
                    session, database_name=self.database, schema_name=self.schema, capture_source_info=False
                )
        #: The snowflake-ml ExperimentTracking (escape hatch).
        self.tracking = tracking
        self._current: str | None = None

    def _fqn(self, experiment: str) -> str:
        return f"{self.database}.{self.schema}.{names.identifier(experiment, 'experiment')}"

    def _use(self, experiment: str) -> None:
        """Make ``experiment`` the one ExperimentTracking works on (it keeps one in context)."""
        if self._current != experiment:
            with translated(f"experiment {experiment}"):
                self.tracking.set_experiment(experiment, database_name=self.database, schema_name=self.schema)
            self._current = experiment

    def _sql(self, sql: str, what: str) -> list[Any]:
        with translated(what):
            return self.session.sql(sql).collect()

    # Primitives

    def _create_experiment(self, name: str) -> Experiment:
        self._current = None
        self._use(name)
        return Experiment(name, self._fqn(name))

    def _begin_run(self, experiment: str, name: str) -> RunRef:
        self._use(experiment)
        with translated(f"could not start run {name}"):
            self.tracking.start_run(name)
        return RunRef(experiment, name, name)

    def _finish_run(self, ref: RunRef, status: RunStatus) -> None:
        if status is RunStatus.RUNNING:
            raise InvalidInputError("a run can only be ended as FINISHED or FAILED")
        self._use(ref.experiment)
        with translated(f"could not end run {ref.name}"):
            self.tracking.end_run(run_name=ref.name, status=status.value)

    def log_batch(
        self, params: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None, step: int = 0
    ) -> None:
        ref = self._require_active()
        values: dict[str, float] = {}
        for key, value in (metrics or {}).items():
            if isinstance(value, bool):
                raise InvalidInputError(f"metric {key} is a bool, not a number")
            try:
                values[key] = float(value)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"metric {key}={value!r} is not a number") from exc
        texts = {key: str(value) for key, value in (params or {}).items()}
        if texts:
            logged = self._params(ref.experiment, ref.name)
            changed = {k: (logged[k], v) for k, v in texts.items() if k in logged and logged[k] != v}
            if changed:
                raise InvalidInputError(f"params cannot change once logged (old, new): {changed}")
        self._use(ref.experiment)
        with translated(f"could not log to run {ref.name}"):
            if texts:
                self.tracking.log_params(texts)
            if values:
                self.tracking.log_metrics(values, step=step)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        ref = self._require_active()
        path = Path(local_path)
        if not path.exists():
            raise InvalidInputError(f"cannot log artifact: no such file {path}")
        self._use(ref.experiment)
        with translated(f"could not log artifact {path.name}", default=InvalidInputError):
            self.tracking.log_artifact(str(path), artifact_path)

    def log_inputs(self, inputs: Sequence[RunInput]) -> None:
        self.log_batch(params=dict(_input_param(item) for item in inputs))

    # Reading back

    def list_experiments(self) -> list[Experiment]:
        rows = self._sql(f"SHOW EXPERIMENTS IN SCHEMA {self.database}.{self.schema}", "could not list experiments")
        found = [Experiment(str(row["name"]), self._fqn(str(row["name"]))) for row in rows]
        return sorted(found, key=lambda e: e.name)

    def _params(self, experiment: str, run: str | None = None) -> dict[str, Any]:
        """Params of one run (``{key: value}``), or of all runs (``{run: {key: value}}``)."""
        clause = f" RUN {names.identifier(run, 'run name')}" if run else ""
        rows = self._sql(
            f"SHOW RUN PARAMETERS IN EXPERIMENT {self._fqn(experiment)}{clause}", f"experiment {experiment}"
        )
        by_run: dict[str, dict[str, str]] = {}
        for row in rows:
            by_run.setdefault(str(row["run_name"]), {})[str(row["name"])] = str(row["value"])
        return by_run.get(run, {}) if run else by_run

    def _metrics(self, experiment: str) -> dict[str, dict[str, float]]:
        """Latest (highest step) value of each metric, per run."""
        rows = self._sql(f"SHOW RUN METRICS IN EXPERIMENT {self._fqn(experiment)}", f"experiment {experiment}")
        best: dict[str, dict[str, tuple[int, float]]] = {}
        for row in rows:
            data = row.as_dict()
            step = int(data.get("step") or 0)
            metrics = best.setdefault(str(data["run_name"]), {})
            if str(data["name"]) not in metrics or step >= metrics[str(data["name"])][0]:
                metrics[str(data["name"])] = (step, float(data["value"]))
        return {run: {k: v for k, (_, v) in m.items()} for run, m in best.items()}

    def list_runs(self, experiment: str | None = None) -> list[Run]:
        exp = names.identifier(experiment, "experiment") if experiment else self.experiment
        rows = self._sql(f"SHOW RUNS IN EXPERIMENT {self._fqn(exp)}", f"experiment {exp}")
        params = self._params(exp) if rows else {}
        metrics = self._metrics(exp) if rows else {}
        runs = []
        for row in sorted(rows, key=lambda r: r["created_on"]):
            name = str(row["name"])
            metadata = json.loads(row["metadata"] or "{}")
            run_params = params.get(name, {})
            inputs = tuple(
                RunInput(**json.loads(v)) for k, v in sorted(run_params.items()) if k.startswith(INPUT_PREFIX)
            )
            runs.append(
                Run(
                    experiment=exp,
                    name=name,
                    run_id=name,
                    status=_STATUSES.get(str(metadata.get("status", "")).upper(), RunStatus.RUNNING),
                    params={k: v for k, v in run_params.items() if not k.startswith(INPUT_PREFIX)},
                    metrics=metrics.get(name, {}),
                    inputs=inputs,
                    start_time=row["created_on"],
                )
            )
        return runs

    def get_run(self, name: str, experiment: str | None = None) -> Run:
        run_name = names.identifier(name, "run name")
        for run in self.list_runs(experiment):
            if run.name == run_name:
                return run
        raise NotFoundError(f"experiment {experiment or self.experiment} has no run {run_name}")

    def list_artifacts(self, run_name: str, path: str | None = None, experiment: str | None = None) -> list[Artifact]:
        run = self.get_run(run_name, experiment)
        self._use(run.experiment)
        with translated(f"artifacts of run {run.name}"):
            infos = self.tracking.list_artifacts(run.name, artifact_path=path)
        # Snowflake lists files only: add the folders on their paths (below ``path``), as the local
        # backend lists them.
        base = path.strip("/") if path else ""
        found: dict[str, Artifact] = {}
        for info in infos:
            name = str(info.name)
            if base and name != base and not name.startswith(f"{base}/"):
                continue
            found[name] = Artifact(name, False, int(info.size))
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if not base or folder.startswith(f"{base}/"):
                    found[folder] = Artifact(folder, True)
        return sorted(found.values(), key=lambda a: a.path)

    def download_artifacts(self, run_name: str, path: str, dst: str | Path, experiment: str | None = None) -> Path:
        artifacts = self.list_artifacts(run_name, path, experiment)
        if not artifacts:
            raise NotFoundError(f"run {run_name.upper()} has no artifact {path}")
        target = Path(dst).resolve()
        target.mkdir(parents=True, exist_ok=True)
        with translated(f"could not download artifact {path} of run {run_name}"):
            self.tracking.download_artifacts(names.identifier(run_name), artifact_path=path, target_path=str(target))
        # Files keep their path under the run's artifact root, as MLflow does.
        return target / path.strip("/")

    def delete_run(self, name: str, experiment: str | None = None) -> None:
        run = self.get_run(name, experiment)
        self._use(run.experiment)
        with translated(f"could not delete run {run.name}"):
            self.tracking.delete_run(run.name)

    def delete_experiment(self, name: str) -> None:
        exp = names.identifier(name, "experiment")
        if exp not in {e.name for e in self.list_experiments()}:
            raise NotFoundError(f"no experiment {exp}")
        with translated(f"could not delete experiment {exp}"):
            self.tracking.delete_experiment(exp, database_name=self.database, schema_name=self.schema)
        if self._current == exp:
            self._current = None
        if self._experiment == exp:
            self._experiment = None
