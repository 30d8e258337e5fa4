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


def test_a_model_records_its_libraries_at_the_versions_that_trained_it(tmp_path: Path) -> None:
    """MLflow's requirements.txt pins what loading the model needs: for an XGBoost model and for an
    XGBoost step inside a scikit-learn pipeline (the sklearn flavour), ``xgboost`` at the installed version."""
    import mlflow.artifacts
    import xgboost
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    backend = mlops_kit.connect("local", home=tmp_path)
    features = pd.DataFrame({"A": np.linspace(0, 1, 40), "B": np.linspace(1, 0, 40)})
    labels = (features.A > 0.5).astype(int)
    backend.registry.log_model("BOOSTED", "V1", xgboost.XGBClassifier(n_estimators=3).fit(features, labels),
                               sample_input=features.head())  # fmt: skip
    piped = make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=3)).fit(features, labels)
    backend.registry.log_model("PIPED", "V1", piped, sample_input=features.head())
    store = backend.registry.client.tracking_uri  # type: ignore[attr-defined]
    for name in ("BOOSTED", "PIPED"):
        uri = f"models:/{name}@kit-V1"
        folder = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / name), tracking_uri=store)
        pins = (Path(folder) / "requirements.txt").read_text().split()
        assert f"xgboost=={xgboost.__version__}" in pins, (name, pins)
        assert any(p.startswith("scikit-learn==") for p in pins), (name, pins)
    backend.close()


def test_a_models_input_example_is_stored_only_when_asked(tmp_path: Path) -> None:
    """MLflow's input example is real rows of ``sample_input``: ``input_example=False`` stores none."""
    import mlflow.models

    backend = mlops_kit.connect("local", home=tmp_path)
    features = pd.DataFrame({"SPEND": np.linspace(0, 1, 12), "VISITS": np.arange(12)})
    model = LogisticRegression().fit(features, np.arange(12) % 2)
    backend.registry.log_model("WITH_EXAMPLE", "V1", model, sample_input=features)
    backend.registry.log_model("WITHOUT_EXAMPLE", "V1", model, sample_input=features, input_example=False)
    store = backend.registry.client.tracking_uri  # type: ignore[attr-defined]
    mlflow.set_tracking_uri(store)
    try:
        kept = mlflow.models.get_model_info("models:/WITH_EXAMPLE@kit-V1")
        left_out = mlflow.models.get_model_info("models:/WITHOUT_EXAMPLE@kit-V1")
    finally:
        mlflow.set_tracking_uri(None)
    assert kept.saved_input_example_info is not None and left_out.saved_input_example_info is None
    assert (
        backend.registry.predict("WITHOUT_EXAMPLE", features)["output_feature_0"].tolist()
        == model.predict(features).tolist()
    )
    backend.close()


def test_an_unchanged_model_registered_again_keeps_its_mlflow_version_number(tmp_path: Path) -> None:
    """MLflow never reuses a number: an overwrite that made a new MLflow version would turn the
    kit's V1 into "Version 3" and break ``models:/NAME/1``. Only a changed model gets a new number."""
    backend = mlops_kit.connect("local", home=tmp_path)
    features = pd.DataFrame({"A": np.linspace(0, 1, 40), "B": np.linspace(1, 0, 40)})
    labels = (features.A > 0.5).astype(int)
    tracker, registry, client = backend.tracker, backend.registry, backend.registry.client  # type: ignore[attr-defined]
    tracker.set_experiment("NUMBERS")

    def tracked_run() -> mlops_kit.Run:
        with tracker.start_run("FIT", replace=True):
            tracker.log_params({"c": 1.0})
        return tracker.get_run("FIT")

    def register(model: LogisticRegression, run: mlops_kit.Run, comment: str, f1: float) -> str:
        registry.log_model("NUMBERED", "V1", model, sample_input=features.head(), run=run,
                           metrics={"f1_score": f1}, comment=comment, overwrite=True)  # fmt: skip
        return client.get_model_version_by_alias("NUMBERED", "kit-V1").version

    first_run = tracked_run()
    number = register(LogisticRegression().fit(features, labels), first_run, "first", 0.5)
    assert register(LogisticRegression().fit(features, labels), first_run, "again", 0.6) == number
    kept = registry.get_version("NUMBERED", "V1")
    assert (kept.comment, kept.metrics["f1_score"], kept.is_default) == ("again", 0.6, True)
    assert client.get_model_version("NUMBERED", number).description == "again"

    second_run = tracked_run()  # re-tracked: the same model from a new run keeps the number too
    assert register(LogisticRegression().fit(features, labels), second_run, "re-tracked", 0.7) == number
    assert registry.get_lineage("NUMBERED", "V1").run.run_id == second_run.run_id  # type: ignore[union-attr]
    outputs = client.get_run(second_run.run_id).outputs.model_outputs
    source = client.get_model_version("NUMBERED", number)
    assert [f"models:/{o.model_id}" for o in outputs] == [source.source]  # the run's page lists the model
    assert source.run_id == second_run.run_id  # MLflow's "Source Run" is the run that exists
    assert client.get_logged_model(source.source.removeprefix("models:/")).source_run_id == second_run.run_id

    changed = LogisticRegression(C=0.01).fit(features, labels)
    new_number = register(changed, second_run, "changed", 0.8)
    assert int(new_number) > int(number)  # a changed model is a new MLflow version
    assert registry.get_version("NUMBERED", "V1").is_default  # its default status kept
    assert client.get_model_version_by_alias("NUMBERED", "default").version == new_number
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(f"models:/NUMBERED/{new_number}")
    assert loaded.predict(features).tolist() == changed.predict(features).tolist()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("sqlite:////{tmp}/no/such/folder/x.db", r"the folder .*no/such/folder does not exist"),
        ("sqlite:///:memory:", "in-memory SQLite database: it keeps nothing"),
        ("sqlite:////{tmp}", "names the folder"),
        ("foo://somewhere", r"MLFLOW_TRACKING_URI='foo://somewhere': the local backend keeps MLflow in a database"),
        ("databricks", "the local backend keeps MLflow in a database"),
        ("http://127.0.0.1:9", r"'http://127.0.0.1:9': no MLflow tracking server answers there \(.*refused"),
    ],
)
def test_a_tracking_uri_the_local_backend_cannot_use_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str, message: str
) -> None:
    """Issue 17: MLflow creates a missing folder, so a typo in MLFLOW_TRACKING_URI put the lab's runs
    where nobody looks; an unknown scheme failed after minutes with MLflow's traceback in the message."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(tmp=str(tmp_path).lstrip("/")))
    home = tmp_path / "home"
    with pytest.raises(mlops_kit.InvalidInputError, match=message):
        mlops_kit.connect("local", home=home)
    assert not (tmp_path / "no").exists()
    assert not (home / "mlflow.db").exists() and not (home / "mlartifacts").exists()


def test_what_the_kit_stores_from_a_query_keeps_whole_numbers_as_bigint(tmp_path: Path) -> None:
    """A count (SUM(CASE … 1 ELSE 0 END), DuckDB's HUGEINT) is BIGINT in the feature view, the training
    set and a create_table_as table, so plain DuckDB reading the file gets integers, as the model's
    signature says (issue 23: plain MLflow refused plain DuckDB's float64)."""
    import duckdb

    backend = mlops_kit.connect("local", home=tmp_path)
    backend.warehouse.create_schemas(["PREP_DATA"])
    orders = pd.DataFrame({"CUSTOMER_ID": ["C1", "C1", "C2"], "AMOUNT": [5.0, 50.0, 7.0]})
    backend.warehouse.write_table("PREP_DATA.ORDERS", orders)
    count = "SUM(CASE WHEN AMOUNT > 10 THEN 1 ELSE 0 END) AS BIG -- a comment at the end\n"
    query = f"SELECT CUSTOMER_ID, {count} FROM PREP_DATA.ORDERS GROUP BY CUSTOMER_ID"
    fs = backend.feature_store
    fs.register_entity("CUSTOMER", ["CUSTOMER_ID"])
    view = fs.register_feature_view("COUNTS", "v1", ["CUSTOMER"], query)
    fs.generate_training_set("SELECT 'C1' AS CUSTOMER_ID, 1 AS LABEL", [view], save_as="TRAIN")
    backend.warehouse.create_table_as("PREP_DATA.COUNTED", query)
    backend.close()
    con = duckdb.connect(str(tmp_path / f"{DEFAULT_DATABASE}.duckdb"), read_only=True)
    for table in ('FEATURE_STORE."COUNTS$v1"', "FEATURE_STORE.TRAIN", "PREP_DATA.COUNTED"):
        types = {row[0]: row[1] for row in con.sql(f"DESCRIBE SELECT * FROM {table}").fetchall()}
        assert types["BIG"] == "BIGINT", (table, types)
    con.close()


def test_a_worker_whose_process_is_gone_ends_without_a_traceback(tmp_path: Path) -> None:
    """Issue 17: after a kill -9 of the lab, its orphaned MLflow worker printed a BrokenPipeError
    traceback into the lab's output when it answered the call in flight."""
    import pickle
    import subprocess
    import sys

    from mlops_kit.adapters.local import mlflow_worker

    worker = subprocess.Popen(
        [sys.executable, "-c", "from mlops_kit.adapters.local.mlflow_worker import serve; serve()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert worker.stdin is not None and worker.stdout is not None and worker.stderr is not None
    mlflow_worker._send(worker.stdin, pickle.dumps((LocalPaths(tmp_path, DEFAULT_DATABASE), sys.path)))
    worker.stdout.close()  # the caller is gone, as after a kill -9: nobody reads the answer
    mlflow_worker._send(worker.stdin, mlflow_worker._dumps(("read_records", ("experiments",), {})))
    worker.stdin.close()
    printed = worker.stderr.read().decode()
    assert worker.wait(timeout=120) == 0
    assert "Traceback" not in printed and "BrokenPipeError" not in printed, printed[-3000:]
