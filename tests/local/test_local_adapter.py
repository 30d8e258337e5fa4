"""What only the local adapter does: a held DuckDB connection, and MLflow opened in the background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlops_kit
from mlops_kit.adapters.local.home import LocalPaths
from mlops_kit.adapters.local.mlflow_store import MlflowConnection
from mlops_kit.connect import DEFAULT_DATABASE


def test_hold_keeps_one_connection_and_model_calls_can_repeat(tmp_path: Path) -> None:
    backend = mlops_kit.connect("local", home=tmp_path)
    features = pd.DataFrame({"A": np.linspace(0, 1, 40), "B": np.linspace(1, 0, 40)})
    model = LogisticRegression().fit(features, (features.A > 0.5).astype(int))
    backend.registry.log_model("HELD", "v1", model, sample_input=features.head())
    backend.warehouse.create_schemas(["PREP_DATA"])
    backend.warehouse.write_table("PREP_DATA.X", features)
    with backend.exclusive("test"):
        backend.warehouse.execute("CREATE TEMP TABLE SCRATCH AS SELECT 1 AS ONE")
        # a temporary table lives as long as its connection: it is still there for the next call
        assert backend.warehouse.query("SELECT ONE FROM SCRATCH")["ONE"].tolist() == [1]
        for _ in range(2):  # the model's SQL function is dropped after each query, so it can come back
            got = backend.warehouse.query("SELECT HELD!PREDICT(A, B)['output_feature_0'] AS C FROM PREP_DATA.X")
            assert got["C"].tolist() == model.predict(features).tolist()
    with pytest.raises(mlops_kit.NotFoundError):
        backend.warehouse.query("SELECT ONE FROM SCRATCH")  # released with the held connection


def test_warm_up_opens_mlflow_in_the_background(tmp_path: Path) -> None:
    backend = mlops_kit.connect("local", home=tmp_path)
    backend.warm_up()
    backend.warm_up()  # idempotent
    experiment = backend.tracker.set_experiment("WARM")
    assert experiment.name == "WARM"


def test_a_worker_failure_surfaces_where_mlflow_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://nowhere")
    connection = MlflowConnection(LocalPaths(tmp_path, DEFAULT_DATABASE))
    connection.warm_up()
    try:
        with pytest.raises(mlops_kit.MlopsKitError, match="nosuchscheme"):
            connection.call("read_records", "experiments")
    finally:
        connection.close()


def test_writes_go_to_the_worker_process_and_mlflow_stays_out_of_this_one(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, mlops_kit, pandas as pd\n"
        "from sklearn.linear_model import LogisticRegression\n"
        f"b = mlops_kit.connect('local', home={str(tmp_path)!r})\n"
        "b.warm_up()\n"
        "b.tracker.set_experiment('W')\n"
        "with b.tracker.start_run('R'):\n"
        "    b.tracker.log_metrics({'f1': 0.5})\n"
        "x = pd.DataFrame({'A': [0.0, 1.0, 2.0, 3.0]})\n"
        "b.registry.log_model('M', 'v1', LogisticRegression().fit(x, [0, 0, 1, 1]), sample_input=x, run=b.tracker.get_run('R'))\n"
        "print(b.registry.predict('M', x)['output_feature_0'].tolist(), b.registry.get_version('M', 'V1').metrics)\n"
        "assert 'mlflow' not in sys.modules, 'mlflow was imported'\n"
        "b.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[0, 0, 1, 1] {}"
