"""A small read-only reader of MLflow's SQLite schema, so reads need not import MLflow.

Importing MLflow and opening its store take 2-3 s; listing three runs from the file takes a few
milliseconds. The local tracker and registry read through this reader whenever the store is the
kit's own SQLite file and its schema revision is one this reader was tested against
(``TESTED_REVISIONS``, checked by tests/local/test_sqlite_reader.py, which compares every record
with what MlflowClient reads from the same store); otherwise they read through MlflowClient.

Read-only means read-only: the file is opened with ``mode=ro``, and nothing is ever written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from mlops_kit.adapters.local.mlflow_records import (
    ExperimentRecord,
    LoggedModelRecord,
    ModelRecord,
    RunRecord,
    VersionRecord,
    latest_metrics,
)

#: Alembic revisions of MLflow's schema this reader was checked against (mlflow 3.17.2's head).
TESTED_REVISIONS = frozenset({"dc11669786a5"})
#: What MLflow writes into ``model_versions.current_stage`` of a deleted version: MLflow keeps the
#: row (and its tags) and skips it when reading, and so does this reader.
_DELETED_VERSION = "Deleted_Internal"


def revision(path: Path) -> str | None:
    """The schema revision of an MLflow SQLite file, None when it has none (or is not one)."""
    try:
        with _connect(path) as con:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        yield con
    finally:
        con.close()


class SqliteRecords:
    """Records read straight from the kit's MLflow SQLite file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: Path) -> SqliteRecords | None:
        """A reader of ``path``, or None when its schema is not one this reader knows."""
        if not path.is_file() or revision(path) not in TESTED_REVISIONS:
            return None
        return cls(path)

    def _rows(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple]:
        with _connect(self.path) as con:
            return con.execute(sql, parameters).fetchall()

    # Experiments and runs.

    def experiment(self, name: str) -> ExperimentRecord | None:
        found = self._experiments("AND name = ?", (name,))
        return found[0] if found else None

    def experiments(self) -> list[ExperimentRecord]:
        return self._experiments("", ())

    def _experiments(self, condition: str, parameters: tuple[object, ...]) -> list[ExperimentRecord]:
        rows = self._rows(
            f"SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' {condition} ORDER BY name",
            parameters,
        )
        tags: dict[str, dict[str, str]] = {str(r[0]): {} for r in rows}
        for experiment_id, key, value in self._rows("SELECT experiment_id, key, value FROM experiment_tags"):
            if str(experiment_id) in tags:
                tags[str(experiment_id)][key] = value
        return [ExperimentRecord(str(i), n, tags[str(i)]) for i, n in rows]

    def runs(self, experiment_id: str, name: str | None = None) -> list[RunRecord]:
        condition, parameters = "", (int(experiment_id),)
        if name is not None:
            condition, parameters = "AND name = ?", (int(experiment_id), name)
        rows = self._rows(
            "SELECT run_uuid, name, status, start_time, end_time FROM runs "
            f"WHERE experiment_id = ? AND lifecycle_stage = 'active' {condition} ORDER BY start_time, run_uuid",
            parameters,
        )
        if not rows:
            return []
        ids = tuple(r[0] for r in rows)
        marks = ",".join("?" * len(ids))
        params = _grouped(self._rows(f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", ids))
        tags = _grouped(self._rows(f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", ids))
        metrics: dict[str, dict[str, float]] = {}
        for run_id, key, value, is_nan in self._rows(
            f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})", ids
        ):
            metrics.setdefault(run_id, {})[key] = float("nan") if is_nan else float(value)
        inputs: dict[str, dict[str, dict[str, str]]] = {}
        for run_id, input_id, key, value in self._rows(
            "SELECT i.destination_id, i.input_uuid, t.name, t.value FROM inputs i "
            "LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid "
            f"WHERE i.destination_type = 'RUN' AND i.source_type = 'DATASET' AND i.destination_id IN ({marks}) "
            "ORDER BY i.rowid",
            ids,
        ):
            tags_of_input = inputs.setdefault(run_id, {}).setdefault(input_id, {})
            if key is not None:
                tags_of_input[key] = value
        return [
            RunRecord(
                run_id=run_id,
                name=run_name,
                status=status,
                start_ms=start,
                end_ms=end,
                params=params.get(run_id, {}),
                metrics=metrics.get(run_id, {}),
                tags=tags.get(run_id, {}),
                input_tags=tuple(inputs.get(run_id, {}).values()),
            )
            for run_id, run_name, status, start, end in rows
        ]

    def run_names(self, run_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        ids = tuple(set(run_ids))
        if not ids:
            return {}
        rows = self._rows(
            "SELECT r.run_uuid, e.name, r.name FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
            f"WHERE r.lifecycle_stage = 'active' AND r.run_uuid IN ({','.join('?' * len(ids))})",
            ids,
        )
        return {run_id: (experiment, run) for run_id, experiment, run in rows}

    # Registered models, versions and logged models.

    def model(self, name: str) -> ModelRecord | None:
        found = self._models("WHERE name = ?", (name,))
        return found[0] if found else None

    def models(self) -> list[ModelRecord]:
        return self._models("", ())

    def _models(self, condition: str, parameters: tuple[object, ...]) -> list[ModelRecord]:
        rows = self._rows(f"SELECT name, description FROM registered_models {condition} ORDER BY name", parameters)
        aliases: dict[str, dict[str, str]] = {r[0]: {} for r in rows}
        for model, alias, version in self._rows("SELECT name, alias, version FROM registered_model_aliases"):
            if model in aliases:
                aliases[model][alias] = str(version)
        return [ModelRecord(n, d or "", aliases[n]) for n, d in rows]

    def versions(self, name: str) -> list[VersionRecord]:
        rows = self._rows(
            "SELECT version, source, run_id, description, creation_time FROM model_versions "
            "WHERE name = ? AND current_stage != ? ORDER BY version",
            (name, _DELETED_VERSION),
        )
        tags: dict[str, dict[str, str]] = {}
        for version, key, value in self._rows(
            "SELECT version, key, value FROM model_version_tags WHERE name = ?", (name,)
        ):
            tags.setdefault(str(version), {})[key] = value
        return [
            VersionRecord(
                name=name,
                number=str(version),
                source=source,
                run_id=run_id or None,
                description=description or "",
                created_ms=created,
                tags=tags.get(str(version), {}),
            )
            for version, source, run_id, description, created in rows
        ]

    def logged_model(self, model_id: str) -> LoggedModelRecord | None:
        return self.logged_models([model_id]).get(model_id)

    def logged_models(self, model_ids: Iterable[str]) -> dict[str, LoggedModelRecord]:
        ids = tuple(set(model_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(
            "SELECT model_id, experiment_id, artifact_location FROM logged_models "
            f"WHERE lifecycle_stage = 'active' AND model_id IN ({marks})",
            ids,
        )
        params = _grouped(
            self._rows(
                f"SELECT model_id, param_key, param_value FROM logged_model_params WHERE model_id IN ({marks})", ids
            )
        )
        tags = _grouped(
            self._rows(f"SELECT model_id, tag_key, tag_value FROM logged_model_tags WHERE model_id IN ({marks})", ids)
        )
        points: dict[str, list[tuple[str, float, int, int]]] = {}
        for model_id, key, value, timestamp, step in self._rows(
            "SELECT model_id, metric_name, metric_value, metric_timestamp_ms, metric_step FROM logged_model_metrics "
            f"WHERE model_id IN ({marks})",
            ids,
        ):
            points.setdefault(model_id, []).append((key, float(value), timestamp, step))
        return {
            model_id: LoggedModelRecord(
                model_id=model_id,
                experiment_id=str(experiment_id),
                artifact_location=location,
                params=params.get(model_id, {}),
                tags=tags.get(model_id, {}),
                metrics=latest_metrics(points.get(model_id, [])),
            )
            for model_id, experiment_id, location in rows
        }


def _grouped(rows: list[tuple]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {}
    for owner, key, value in rows:
        grouped.setdefault(owner, {})[key] = value
    return grouped
