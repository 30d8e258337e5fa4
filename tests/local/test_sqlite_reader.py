"""The read-only SQLite reader returns what MlflowClient returns from the same store, record for record.

The store holds what the kit and plain MLflow write: runs with params, stepped and NaN metrics,
dataset inputs, a failed and a deleted run; a model with kit versions, a deleted version, a pending
one, aliases and LoggedModel metrics; a deleted experiment. Then the local tracker and registry
answer from the file without importing MLflow, and a schema the reader does not know falls back to
MlflowClient.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lab_processes import child_env
from sklearn.linear_model import LogisticRegression

import mlops_kit
from mlops_kit.adapters.local.mlflow_records import ClientRecords, WorkerRecords
from mlops_kit.adapters.local.sqlite_reader import TESTED_REVISIONS, SqliteRecords, revision


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[mlops_kit.Backend, Path]:
    home = tmp_path_factory.mktemp("reader_home")
    backend = mlops_kit.connect("local", home=home)
    tracker, registry = backend.tracker, backend.registry
    client = backend.raw["mlflow"].client
    tracker.set_experiment("READER")
    with tracker.start_run("FIRST"):
        tracker.log_params({"depth": 3, "note": "text"})
        tracker.log_metrics({"f1": 0.5})
        # The kit refuses NaN metrics; plain MLflow writes them into the same store.
        client.log_metric(tracker.active_run.run_id, "nothing", float("nan"))
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            tracker.log_metric("loss", loss, step=step)
        tracker.log_inputs([mlops_kit.RunInput("training_set", "FS.T"), mlops_kit.RunInput("feature_view", "F", "v2")])
    with pytest.raises(ZeroDivisionError), tracker.start_run("BROKEN"):
        1 / 0  # noqa: B018
    with tracker.start_run("GONE"):
        pass
    client.delete_run(tracker.get_run("GONE").run_id)  # soft-deleted by plain MLflow: no reader shows it
    features = pd.DataFrame({"A": np.linspace(0, 1, 30), "B": np.arange(30)})
    model = LogisticRegression().fit(features, (features.A > 0.5).astype(int))
    run = tracker.get_run("FIRST")
    registry.log_model("READ_ME", "v1", model, sample_input=features.head(), run=run, metrics={"f1": 0.5, "cm": [[1]]})
    registry.log_model("READ_ME", "v2", model, sample_input=features.head(), comment="second", metrics={"f1": 0.7})
    registry.log_model("READ_ME", "v3", model, sample_input=features.head())
    registry.set_default("READ_ME", "v2")
    registry.delete_version("READ_ME", "v3")
    pending = registry.log_model("READ_ME", "v4", model, sample_input=features.head())
    number = next(
        v.version
        for v in client.search_model_versions("name = 'READ_ME'")
        if v.tags.get("mlops_kit.version") == pending.version
    )
    client.set_model_version_tag("READ_ME", number, "mlops_kit.pending", "{}")  # as a killed registration leaves it
    tracker.set_experiment("DROPPED")
    client.delete_experiment(client.get_experiment_by_name("DROPPED").experiment_id)
    return backend, home / "mlflow.db"


def _plain(value: Any) -> Any:
    """Records as plain data, NaN made comparable."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return _plain(asdict(value))
    return value


def test_every_record_equals_what_mlflow_client_reads(store: tuple[mlops_kit.Backend, Path]) -> None:
    backend, path = store
    assert revision(path) in TESTED_REVISIONS
    sqlite, client = SqliteRecords(path), ClientRecords(backend.raw["mlflow"].client)
    assert _plain(sqlite.experiments()) == _plain(client.experiments())
    assert {e.name for e in sqlite.experiments()} == {"Default", "READER"}
    assert sqlite.experiment("DROPPED") is None and client.experiment("DROPPED") is None
    experiment = sqlite.experiment("READER")
    assert _plain(experiment) == _plain(client.experiment("READER"))
    runs = sqlite.runs(experiment.experiment_id)
    assert _plain(runs) == _plain(client.runs(experiment.experiment_id))
    assert [(r.name, r.status) for r in runs] == [("FIRST", "FINISHED"), ("BROKEN", "FAILED")]
    assert runs[0].metrics["loss"] == 0.3 and math.isnan(runs[0].metrics["nothing"])
    assert _plain(sqlite.runs(experiment.experiment_id, "FIRST")) == _plain(
        client.runs(experiment.experiment_id, "FIRST")
    )
    assert _plain(sqlite.models()) == _plain(client.models())
    assert _plain(sqlite.model("READ_ME")) == _plain(client.model("READ_ME"))
    assert sqlite.model("NOT_THERE") is None and client.model("NOT_THERE") is None
    versions = sqlite.versions("READ_ME")
    assert _plain(versions) == _plain(client.versions("READ_ME"))
    assert len(versions) == 3  # the deleted one is gone, the pending one is there (the registry hides it)
    model_ids = [version.source.removeprefix("models:/") for version in versions]
    for model_id in model_ids:
        assert _plain(sqlite.logged_model(model_id)) == _plain(client.logged_model(model_id))
    assert _plain(sqlite.logged_models(model_ids)) == _plain(client.logged_models(model_ids))
    assert sorted(sqlite.logged_models(model_ids)) == sorted(model_ids)
    run_ids = [r.run_id for r in runs]
    assert sqlite.run_names(run_ids) == client.run_names(run_ids) == {r.run_id: ("READER", r.name) for r in runs}
    first = sqlite.logged_model(versions[0].source.removeprefix("models:/"))
    assert first is not None and first.metrics == {"f1": 0.5} and first.params == {"depth": "3", "note": "text"}


def test_the_tracker_and_registry_read_the_file_without_importing_mlflow(store: tuple[mlops_kit.Backend, Path]) -> None:
    _, path = store
    code = (
        "import sys, mlops_kit\n"
        "b = mlops_kit.connect('local')\n"
        "runs = b.tracker.compare_runs('READER')\n"
        "versions = [(v.version, v.is_default, sorted(v.metrics)) for v in b.registry.list_versions('READ_ME')]\n"
        "lineage = b.registry.get_lineage('READ_ME', 'V1')\n"
        "print(list(runs.run_name), versions, lineage.run.name, lineage.params)\n"
        "assert 'mlflow' not in sys.modules, 'mlflow was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=child_env(path.parent), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == (
        "['FIRST', 'BROKEN'] [('V1', False, ['cm', 'f1']), ('V2', True, ['f1'])] FIRST {'depth': '3', 'note': 'text'}"
    )


def test_a_schema_the_reader_does_not_know_is_read_through_mlflow(
    store: tuple[mlops_kit.Backend, Path], tmp_path: Path
) -> None:
    _, path = store
    shutil.copyfile(path, tmp_path / "mlflow.db")
    with sqlite3.connect(tmp_path / "mlflow.db") as con:
        con.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    assert SqliteRecords.open(tmp_path / "mlflow.db") is None
    assert isinstance(mlops_kit.connect("local", home=tmp_path).raw["mlflow"].records(), WorkerRecords)
