"""The lab as real processes: what lands in the working folder, and what a SIGKILL leaves behind.

One clean lab run in a scratch folder is the reference. Another home goes through a lab killed
while loading, a full run, a rerun killed while tuning, a rerun killed while registering, and a last
full rerun; it must then hold exactly what the clean home holds, with nothing pending or orphaned.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lab_processes import child_env, mlflow_inventory, run_lab, start_lab

import mlops_kit
from mlops_kit.examples import churn_workflow

CUSTOMERS = "200"  # small: each lab process takes a few seconds


def _inventory(home: Path) -> dict[str, Any]:
    backend = mlops_kit.connect("local", home=home)
    try:
        return {
            "tables": {s: sorted(backend.warehouse.list_tables(s)) for s in churn_workflow.SCHEMAS},
            "views": [(v.name, v.version) for v in backend.feature_store.list_feature_views()],
            "entities": [e.name for e in backend.feature_store.list_entities()],
            "mlflow": mlflow_inventory(home),
        }
    finally:
        backend.close()


@pytest.fixture(scope="module")
def clean_lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One lab run from an empty home, in an empty working folder: (home, working folder)."""
    home, work = tmp_path_factory.mktemp("clean_home"), tmp_path_factory.mktemp("clean_work")
    run_lab(home, work, "--customers", CUSTOMERS)
    return home, work


def test_the_working_folder_holds_only_the_documented_output(clean_lab: tuple[Path, Path]) -> None:
    home, work = clean_lab
    assert sorted(p.name for p in work.iterdir()) == ["mlops_lab_output"]
    assert sorted(p.name for p in (work / "mlops_lab_output").iterdir()) == ["data", "downloads", "plots"]
    artifacts = home / "mlartifacts" / churn_workflow.EXPERIMENT
    assert sorted(p.name for p in artifacts.rglob("*.png")) != []  # run plots live in the home
    assert list(artifacts.glob("models/*/artifacts/MLmodel"))  # and so do the models


PLAIN_MLFLOW = textwrap.dedent(
    """
    import json, os, duckdb, mlflow
    home = os.environ["MLOPS_KIT_HOME"]
    mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
    rows = duckdb.connect(f"{home}/MLOPS_HOL_DB.duckdb", read_only=True).sql(
        "SELECT * FROM FEATURE_STORE.TRAINING_DATASET_V1 ORDER BY CUSTOMER_ID").df()
    model = mlflow.pyfunc.load_model("models:/CUSTOMER_CHURN_PREDICTOR@default")
    info = mlflow.models.get_model_info("models:/CUSTOMER_CHURN_PREDICTOR@default")
    features = model.metadata.get_input_schema().input_names()
    print(json.dumps({
        "classes": [int(c) for c in model.predict(rows)],
        "churn": model.get_raw_model().predict_proba(rows[features])[:, 1].tolist(),
        "kit_v1": type(mlflow.pyfunc.load_model("models:/CUSTOMER_CHURN_PREDICTOR@kit-V1").get_raw_model()).__name__,
        "inputs": {c["name"]: c["type"] for c in info.signature.inputs.to_dict()},
        "outputs": info.signature.outputs.to_dict(),
        "example": info.saved_input_example_info is not None,
    }))
    """
)


def test_plain_mlflow_scores_the_feature_stores_rows_after_the_working_folder_is_gone(
    clean_lab: tuple[Path, Path], tmp_path: Path
) -> None:
    home, work = clean_lab
    moved = tmp_path / "moved"
    (work / "mlops_lab_output").rename(moved)  # as `git clean` or moving the folder would
    try:
        result = subprocess.run(
            [sys.executable, "-c", PLAIN_MLFLOW], cwd=tmp_path, env=child_env(home), capture_output=True, text=True
        )
    finally:
        moved.rename(work / "mlops_lab_output")
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    backend = mlops_kit.connect("local", home=home)
    rows = backend.warehouse.read_table(churn_workflow.TRAINING_SET).sort_values("CUSTOMER_ID")
    assert got["classes"] == backend.registry.predict(churn_workflow.MODEL, rows)["output_feature_0"].tolist()
    expected = backend.registry.predict(churn_workflow.MODEL, rows, function="predict_proba")["output_feature_1"]
    np.testing.assert_allclose(got["churn"], expected.to_numpy(), rtol=1e-6)
    assert got["kit_v1"] == "XGBClassifier"
    assert got["inputs"]["TOTAL_ORDER_COUNT"] == "long" and got["inputs"]["RETURN_RATE"] == "double"
    assert got["outputs"] and got["example"]


def _kill_when(home: Path, work: Path, marker: str, delay: float = 0.0, *args: str) -> str:
    """Start the lab, SIGKILL it ``delay`` seconds after ``marker`` shows in its output."""
    proc = start_lab(home, work, "--customers", CUSTOMERS, *args)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            proc.kill()
            break
    after, _ = proc.communicate(timeout=120)  # what its orphaned MLflow worker printed (it shares the output)
    assert "Traceback" not in after and "BrokenPipeError" not in after, after[-3000:]
    text = "".join(seen)
    assert marker in text, f"the lab never printed {marker!r}:\n{text[-3000:]}"
    assert "== Done in" not in text, f"the lab finished before it was killed at {marker!r}"
    return text


def test_a_lab_killed_while_loading_tuning_or_registering_is_repaired_by_a_rerun(
    clean_lab: tuple[Path, Path], tmp_path: Path
) -> None:
    clean_home, _ = clean_lab
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    _kill_when(home, work, "generated")  # step 0: checking and loading the raw tables
    run_lab(home, work, "--customers", CUSTOMERS)
    _kill_when(home, work, "split 80/20")  # step 3: the hyperparameter search starts right after
    _kill_when(home, work, "== Step 5", 0.4)  # step 5: re-registering V1 (and V2)
    run_lab(home, work, "--customers", CUSTOMERS)
    repaired, clean = _inventory(home), _inventory(clean_home)
    for key in clean["mlflow"]:
        assert repaired["mlflow"][key] == clean["mlflow"][key], key
    assert repaired == clean
