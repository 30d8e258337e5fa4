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

from snowflake.ml._internal.utils.sql_identifier import SqlIdentifier
from snowflake.ml.experiment import ExperimentTracking
from snowflake.ml.experiment._client import artifact, experiment_tracking_sql_client

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SnowflakeErrorKinds, translated
from mlops_kit.errors import NotFoundError
from mlops_kit.tracker import Tracker
from mlops_kit.types import Artifact, Experiment, Run, RunInput, RunRef, RunStatus

if TYPE_CHECKING:
    from snowflake.snowpark import Session

INPUT_PREFIX = "mlops_kit.input."
_STATUSES = {s.value: s for s in RunStatus}


def _input_param(item: RunInput) -> tuple[str, str]:
    value = json.dumps({"kind": item.kind, "name": item.name, "version": item.version}, sort_keys=True)
    return f"{INPUT_PREFIX}{item.kind}.{item.name}", value


def _status(metadata: str | None) -> RunStatus:
    return _STATUSES.get(str(json.loads(metadata or "{}").get("status", "")).upper(), RunStatus.RUNNING)


def _inputs(params: Mapping[str, str]) -> list[RunInput]:
    return [RunInput(**json.loads(value)) for key, value in sorted(params.items()) if key.startswith(INPUT_PREFIX)]


class SnowflakeTracker(SnowflakeErrorKinds, Tracker):
    """Experiments and runs in one Snowflake schema."""

    supports_run_end_time = False  # SHOW RUNS reports when a run was created, not when it ended

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
        # Reads of a run's artifacts go through the library's own SQL client for the schema: its
        # public list/download work on the experiment set_experiment put in context, and
        # set_experiment always sends CREATE EXPERIMENT IF NOT EXISTS, which Snowflake checks the
        # CREATE privilege for even when the experiment exists (a reader's role has none).
        self._reader = experiment_tracking_sql_client.ExperimentTrackingSQLClient(
            session, database_name=SqlIdentifier(self.database), schema_name=SqlIdentifier(self.schema)
        )

    def _fqn(self, experiment: str) -> str:
        return f"{self.database}.{self.schema}.{experiment}"

    def _use(self, experiment: str) -> None:
        """Make ``experiment`` the one ExperimentTracking works on (it keeps one in context)."""
        if self._current != experiment:
            self.tracking.set_experiment(experiment, database_name=self.database, schema_name=self.schema)
            self._current = experiment

    def _create_experiment(self, name: str) -> Experiment:
        self._current = None
        self._use(name)
        return Experiment(name, self._fqn(name))

    def _list_experiments(self) -> list[Experiment]:
        rows = self.session.sql(f"SHOW EXPERIMENTS IN SCHEMA {self.database}.{self.schema}").collect()
        return [Experiment(str(row["name"]), self._fqn(str(row["name"]))) for row in rows]

    def _delete_experiment(self, name: str) -> None:
        self.tracking.delete_experiment(name, database_name=self.database, schema_name=self.schema)
        if self._current == name:
            self._current = None

    def _begin_run(self, experiment: str, name: str) -> RunRef:
        self._use(experiment)
        self.tracking.start_run(name)
        return RunRef(experiment, name, name)

    def _finish_run(self, ref: RunRef, status: RunStatus) -> None:
        self._use(ref.experiment)
        self.tracking.end_run(run_name=ref.name, status=status.value)

    def _runs(self, experiment: str, name: str | None = None) -> list[Run] | None:
        if experiment not in {e.name for e in self._list_experiments()}:
            return None
        # LIKE narrows the listing ('_' matches any character, so compare names exactly after);
        # names are checked identifiers, with nothing to escape.
        like = f" LIKE '{name}'" if name else ""
        found = self.session.sql(f"SHOW RUNS{like} IN EXPERIMENT {self._fqn(experiment)}").collect()
        rows = [row for row in found if name is None or str(row["name"]) == name]
        if not rows:
            return []
        params = self._latest("PARAMETERS", experiment, name)
        metrics = self._latest("METRICS", experiment, name)
        runs = []
        for row in sorted(rows, key=lambda r: r["created_on"]):
            run = str(row["name"])
            logged = {k: str(v) for k, v in params.get(run, {}).items()}
            runs.append(
                Run(
                    experiment=experiment,
                    name=run,
                    run_id=run,
                    status=_status(row["metadata"]),
                    params={k: v for k, v in logged.items() if not k.startswith(INPUT_PREFIX)},
                    metrics={k: float(v) for k, v in metrics.get(run, {}).items()},
                    inputs=tuple(_inputs(logged)),
                    start_time=row["created_on"],
                )
            )
        return runs

    def _latest(self, kind: str, experiment: str, run: str | None) -> dict[str, dict[str, Any]]:
        """``{run: {name: value}}`` of params or metrics; of a metric, the value at its highest step."""
        clause = f" RUN {run}" if run else ""
        rows = self.session.sql(f"SHOW RUN {kind} IN EXPERIMENT {self._fqn(experiment)}{clause}").collect()
        best: dict[str, dict[str, tuple[int, Any]]] = {}
        for row in rows:
            data = row.as_dict()
            step = int(data.get("step") or 0)
            values = best.setdefault(str(data["run_name"]), {})
            if str(data["name"]) not in values or step >= values[str(data["name"])][0]:
                values[str(data["name"])] = (step, data["value"])
        return {run: {k: v for k, (_, v) in values.items()} for run, values in best.items()}

    def _log_batch(self, ref: RunRef, params: Mapping[str, str], metrics: Mapping[str, float], step: int) -> None:
        self._use(ref.experiment)
        if params:
            self.tracking.log_params(dict(params))
        if metrics:
            self.tracking.log_metrics(dict(metrics), step=step)

    def _log_artifact(self, ref: RunRef, local_path: Path, artifact_path: str | None) -> None:
        self._use(ref.experiment)
        self.tracking.log_artifact(str(local_path), artifact_path)

    def _log_inputs(self, ref: RunRef, inputs: Sequence[RunInput]) -> None:
        self._use(ref.experiment)
        self.tracking.log_params(dict(_input_param(item) for item in inputs))

    def _artifact_infos(self, ref: RunRef, path: str | None) -> list[Any]:
        return list(
            self._reader.list_artifacts(
                experiment_name=SqlIdentifier(ref.experiment),
                run_name=SqlIdentifier(ref.name),
                artifact_path=path or "",
            )
        )

    def _list_artifacts(self, ref: RunRef, path: str | None) -> list[Artifact]:
        infos = self._artifact_infos(ref, path)
        # Snowflake lists files only: add the folders on their paths (below ``path``), as the local
        # backend lists them.
        found: dict[str, Artifact] = {}
        for info in infos:
            name = str(info.name)
            if path and name != path and not name.startswith(f"{path}/"):
                continue
            found[name] = Artifact(name, False, int(info.size))
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if not path or folder.startswith(f"{path}/"):
                    found[folder] = Artifact(folder, True)
        return list(found.values())

    def _download_artifact(self, ref: RunRef, path: str, dst: Path) -> Path:
        infos = self._artifact_infos(ref, path)
        if not infos:
            raise NotFoundError(f"run {ref.name} has no artifact {path!r}")
        for relative_path, local_dir in artifact.get_download_path_pairs(infos, str(dst)):  # as the library does
            self._reader.get_artifact(
                experiment_name=SqlIdentifier(ref.experiment), run_name=SqlIdentifier(ref.name),
                artifact_path=relative_path, target_path=local_dir,
            )  # fmt: skip
        return dst / path  # files keep their path under the run's artifact root, as MLflow does

    def _delete_run(self, ref: RunRef) -> None:
        self._use(ref.experiment)
        self.tracking.delete_run(ref.name)
