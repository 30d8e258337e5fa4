"""The churn lab end to end on the local backend, on a small generated data set.

The lab runs once per session (about 20 s, the ``local_lab`` fixture); the tests then check what it left in the stores against
an independent pandas computation from the same CSV files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lab_results import CUSTOMERS, SEED
from mlflow.entities import ViewType

import mlops_kit
from mlops_kit.connect import DEFAULT_DATABASE
from mlops_kit.examples import churn_sql, churn_workflow
from mlops_kit.examples.churn_workflow import EXPERIMENT, FEATURE_VIEW, MODEL, Options


@pytest.fixture(scope="module")
def lab(local_lab) -> tuple[mlops_kit.Backend, Path]:  # noqa: ANN001
    backend, out, _ = local_lab
    return backend, out


def _csv(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = pd.read_csv(out / "data" / "CUSTOMERS.csv")
    orders = pd.read_csv(out / "data" / "ORDERS.csv", parse_dates=["ORDER_DATE"])
    return customers, orders


def _expected_labels(orders: pd.DataFrame) -> pd.Series:
    h1 = orders[(orders.ORDER_DATE >= "2024-01-01") & (orders.ORDER_DATE <= "2024-06-30")]
    h2_customers = set(orders[orders.ORDER_DATE >= "2024-07-01"].CUSTOMER_ID)
    active = sorted(set(h1.CUSTOMER_ID))
    return pd.Series([0 if c in h2_customers else 1 for c in active], index=active, name="IS_CHURNED")


def _expected_features(customers: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    past = orders[orders.ORDER_DATE <= "2024-06-30"]
    grouped = past.groupby("CUSTOMER_ID")
    h1 = past[past.ORDER_DATE >= "2024-01-01"].groupby("CUSTOMER_ID")
    frame = pd.DataFrame(
        {
            "DAYS_SINCE_LAST_ORDER": (pd.Timestamp("2024-06-30") - grouped.ORDER_DATE.max()).dt.days,
            "TOTAL_ORDER_COUNT": grouped.size(),
            "TOTAL_ORDER_AMOUNT": grouped.ORDER_AMOUNT.sum(),
            "AVG_ORDER_AMOUNT": grouped.ORDER_AMOUNT.mean(),
            "ORDER_COUNT_2024_H1": h1.size(),
            "TOTAL_AMOUNT_2024_H1": h1.ORDER_AMOUNT.sum(),
            "RETURN_RATE": grouped.STATUS.apply(lambda s: (s == "RETURNED").mean()),
        }
    )
    return frame.reindex(sorted(customers.CUSTOMER_ID)).fillna(0)


def test_every_table_of_the_lab_exists_with_its_columns(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    expected = {
        "PREP_DATA.CUSTOMERS": ["CUSTOMER_ID", "SEGMENT", "REGISTRATION_DATE", "REGION"],
        "PREP_DATA.ORDERS": ["ORDER_ID", "CUSTOMER_ID", "ORDER_DATE", "ORDER_AMOUNT", "STATUS"],
        "PREP_DATA.CHURN_LABELS": ["CUSTOMER_ID", "IS_CHURNED"],
        "FEATURE_STORE.TRAINING_DATASET_V1": ["CUSTOMER_ID", "IS_CHURNED", *churn_sql.FEATURES_V2],
        "FEATURE_STORE.MODEL_PREDICTIONS_V1": ["CUSTOMER_ID", "IS_CHURNED", "PREDICTED_CHURN", "CHURN_PROBABILITY"],
        "ANALYTICS.CHURN_RISK_CUSTOMERS": ["CUSTOMER_ID", "SEGMENT", "REGION", "CHURN_RISK"],
    }
    for table, columns in expected.items():
        assert list(backend.warehouse.read_table(table).columns) == columns, table
    results = backend.warehouse.read_table("FEATURE_STORE.EXPERIMENT_RESULTS")
    assert sorted(results.RUN_NAME) == ["BASELINE", "CONSERVATIVE", "DEEPTREE"]
    for column in ["F1_SCORE", "ROC_AUC", "OVERFIT_GAP_F1", "PARAMS", "CONFUSION_MATRIX", "FEATURE_IMPORTANCE",
                   "DATASET_INFO", "CREATED_AT"]:  # fmt: skip
        assert column in results.columns


def test_labels_equal_an_independent_pandas_computation(lab) -> None:  # noqa: ANN001
    backend, out = lab
    _, orders = _csv(out)
    got = backend.warehouse.read_table("PREP_DATA.CHURN_LABELS").set_index("CUSTOMER_ID")["IS_CHURNED"].sort_index()
    expected = _expected_labels(orders)
    assert got.index.tolist() == expected.index.tolist()
    assert got.astype(int).tolist() == expected.tolist()
    assert 0.15 < expected.mean() < 0.6  # a real churn signal, not all one class


def test_feature_values_equal_an_independent_pandas_computation(lab) -> None:  # noqa: ANN001
    backend, out = lab
    customers, orders = _csv(out)
    expected = _expected_features(customers, orders)
    for version, columns in (("v1", churn_sql.FEATURES_V1), ("v2", churn_sql.FEATURES_V2)):
        got = backend.feature_store.read_feature_view(FEATURE_VIEW, version).set_index("CUSTOMER_ID").sort_index()
        assert list(got.columns) == list(columns)
        np.testing.assert_allclose(got.to_numpy(dtype=float), expected[list(columns)].to_numpy(dtype=float), rtol=1e-9)


def test_feature_store_holds_entity_and_both_versions(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    fs = backend.feature_store
    assert fs.get_entity("CUSTOMER").join_keys == ("CUSTOMER_ID",)
    views = fs.list_feature_views(FEATURE_VIEW)
    assert [(v.version, len(v.feature_columns)) for v in views] == [("v1", 5), ("v2", 7)]
    assert all(v.description for v in views)
    ts = fs.get_training_set("FEATURE_STORE.TRAINING_DATASET_V1")
    assert ts.feature_views == (mlops_kit.FeatureViewRef(FEATURE_VIEW, "v2"),)
    assert ts.label_cols == ("IS_CHURNED",)


def test_three_named_runs_with_metrics_artifacts_and_inputs(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    tracker = backend.tracker
    runs = {r.name: r for r in tracker.list_runs(EXPERIMENT)}
    assert set(runs) == {"BASELINE", "DEEPTREE", "CONSERVATIVE", churn_workflow.V2_RUN}
    for name, params in churn_workflow.RUNS.items():
        run = runs[name]
        assert run.status is mlops_kit.RunStatus.FINISHED
        for key, value in params.items():
            assert float(run.params[key]) == float(value)
        for metric in ["accuracy", "precision", "recall", "f1_score", "roc_auc", "train_accuracy", "train_f1_score",
                       "overfit_gap_f1", "training_time"]:  # fmt: skip
            assert metric in run.metrics, (name, metric)
        assert run.metrics["overfit_gap_f1"] == pytest.approx(run.metrics["train_f1_score"] - run.metrics["f1_score"])
        assert {f"mean_abs_shap_{f}" for f in churn_sql.FEATURES_V2} <= set(run.metrics)
        for key in ["train_size", "test_size", "feature_count", "train_churn_rate", "test_churn_rate"]:
            assert key in run.params
        assert mlops_kit.RunInput("feature_view", FEATURE_VIEW, "v2") in run.inputs
        files = {a.path for a in tracker.list_artifacts(name, experiment=EXPERIMENT)}
        assert {"plots/confusion_matrix.png", "plots/feature_importance.png", "plots/shap_summary.png",
                "shap/shap_values.csv"} <= files  # fmt: skip


def test_two_model_versions_with_metrics_comments_and_a_default(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    versions = {v.version: v for v in backend.registry.list_versions(MODEL)}
    assert set(versions) == {"V1", "V2"}
    assert sum(v.is_default for v in versions.values()) == 1
    best = churn_workflow.best_run(churn_workflow.Lab(backend, Options()))
    assert versions["V1"].run is not None and versions["V1"].run.run_id == best.run_id
    assert best.name in versions["V1"].comment and EXPERIMENT in versions["V1"].comment
    assert "v2" in versions["V2"].comment and "V1" in versions["V2"].comment
    for version in versions.values():
        assert {"accuracy", "f1_score", "roc_auc", "confusion_matrix"} <= set(version.metrics)


def test_lineage_rows_point_to_the_right_run_and_feature_view(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    lineage = backend.warehouse.read_table("MODEL_REGISTRY.MODEL_LINEAGE").set_index("MODEL_VERSION")
    best = churn_workflow.best_run(churn_workflow.Lab(backend, Options()))
    assert lineage.loc["V1", "RUN_ID"] == best.run_id
    assert lineage.loc["V1", "RUN_NAME"] == best.name
    assert lineage.loc["V1", "EXPERIMENT_NAME"] == EXPERIMENT
    assert (lineage["FEATURE_VIEW_NAME"] == FEATURE_VIEW).all()
    assert (lineage["FEATURE_VIEW_VERSION"] == "v2").all()
    assert (lineage["TRAINING_DATASET"] == "FEATURE_STORE.TRAINING_DATASET_V1").all()
    assert lineage.loc["V1", "F1_SCORE"] == pytest.approx(best.metrics["f1_score"])


def test_the_sql_call_and_the_registry_agree(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    data = backend.warehouse.read_table("FEATURE_STORE.TRAINING_DATASET_V1").sort_values("CUSTOMER_ID")
    features = ", ".join(churn_sql.FEATURES_V2)
    via_sql = backend.warehouse.query(
        f"SELECT CUSTOMER_ID, {DEFAULT_DATABASE}.MODEL_REGISTRY.{MODEL}!PREDICT_PROBA({features})['output_feature_1'] AS P "
        "FROM FEATURE_STORE.TRAINING_DATASET_V1 ORDER BY CUSTOMER_ID"
    )
    via_registry = backend.registry.predict(
        MODEL, data[list(churn_sql.FEATURES_V2)].astype(float), function="predict_proba"
    )
    np.testing.assert_allclose(via_sql["P"].to_numpy(), via_registry["output_feature_1"].to_numpy(), rtol=1e-6)


def test_churn_risk_customers_are_the_predicted_churners(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    risk = backend.warehouse.read_table("ANALYTICS.CHURN_RISK_CUSTOMERS")
    assert len(risk) > 0
    assert risk["CHURN_RISK"].between(0.5, 1.0).all()
    customers = backend.warehouse.read_table("PREP_DATA.CUSTOMERS").set_index("CUSTOMER_ID")
    assert (customers.loc[risk.CUSTOMER_ID, "SEGMENT"].to_numpy() == risk.SEGMENT.to_numpy()).all()


def test_the_experiment_viewer_shows_every_run_with_its_plots(lab, tmp_path: Path) -> None:  # noqa: ANN001
    from mlops_kit.examples.churn_viewer import write_viewer

    backend, _ = lab
    page = write_viewer(backend, EXPERIMENT, tmp_path / "viewer.html").read_text()
    for run_name in [*churn_workflow.RUNS, churn_workflow.V2_RUN]:
        assert f"<h2>{run_name}</h2>" in page
        section = page[page.index(f"<h2>{run_name}</h2>") :].split("</section>")[0]
        assert section.count("<tr><td>DAYS_SINCE_LAST_ORDER</td>") == 1, run_name  # importances, V2's too
    assert "<th>mean |SHAP|</th></tr></table>" not in page  # never an empty importance table
    assert page.count("data:image/png;base64,") == 3 * len(churn_workflow.RUNS)
    assert page.count("class='best'") == 1


def test_plots_are_each_their_own_picture(lab, tmp_path: Path) -> None:  # noqa: ANN001
    backend, out = lab
    step3 = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "plots").glob("step3_*.png")}
    assert len(step3) == 4 and len(set(step3.values())) == 4, step3
    for run_name in churn_workflow.RUNS:
        pictures = {}
        for name in ("confusion_matrix.png", "feature_importance.png", "shap_summary.png"):
            local = backend.tracker.download_artifacts(run_name, f"plots/{name}", tmp_path / run_name, EXPERIMENT)
            pictures[name] = hashlib.sha256(local.read_bytes()).hexdigest()
        assert len(set(pictures.values())) == 3, (run_name, pictures)


def test_mlflow_sees_models_of_runs_with_their_metrics_and_the_kit_names(lab) -> None:  # noqa: ANN001
    backend, _ = lab
    client = backend.raw["mlflow"].client
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # the UI's model-training view
    runs = {r.name: r.run_id for r in backend.tracker.list_runs(EXPERIMENT)}
    aliases = client.get_registered_model(MODEL).aliases
    for version in backend.registry.list_versions(MODEL):
        mv = client.get_model_version_by_alias(MODEL, f"kit-{version.version}")  # the kit's name, in MLflow
        assert mv.tags["mlops_kit.version"] == version.version
        assert mv.source.startswith("models:/m-")
        logged = client.get_logged_model(mv.source.removeprefix("models:/"))
        assert logged.experiment_id == experiment.experiment_id
        assert version.run is not None and logged.source_run_id == version.run.run_id == mv.run_id
        outputs = client.get_run(mv.run_id).outputs.model_outputs
        assert logged.model_id in [o.model_id for o in outputs]  # the run page lists its model
        assert {m.key for m in logged.metrics} >= {"accuracy", "precision", "recall", "f1_score", "roc_auc"}
        assert json.loads(logged.tags["mlflow.modelVersions"]) == [{"name": MODEL, "version": mv.version}]
        assert sorted(mv.tags) == [  # a few lineage tags, no wall of metrics
            "mlops_kit.feature_views", "mlops_kit.metrics", "mlops_kit.model_fingerprint", "mlops_kit.training_set",
            "mlops_kit.version",
        ]  # fmt: skip
        assert (aliases["default"] == mv.version) == version.is_default
    assert backend.registry.get_version(MODEL, "V2").run.name == churn_workflow.V2_RUN
    assert runs[churn_workflow.V2_RUN] == backend.registry.get_version(MODEL, "V2").run.run_id


def _inventory(backend: mlops_kit.Backend) -> dict[str, object]:
    return {
        "tables": {s: sorted(backend.warehouse.list_tables(s)) for s in churn_workflow.SCHEMAS},
        "views": [(v.name, v.version) for v in backend.feature_store.list_feature_views()],
        "entities": [e.name for e in backend.feature_store.list_entities()],
        "runs": sorted(r.name for r in backend.tracker.list_runs(EXPERIMENT)),
        "versions": [v.version for v in backend.registry.list_versions(MODEL)],
    }


def test_rerun_then_cleanup(lab) -> None:  # noqa: ANN001
    backend, out = lab
    before = _inventory(backend)
    churn_workflow.run(backend, Options(customers=CUSTOMERS, seed=SEED, out_dir=out, from_step=2))
    assert _inventory(backend) == before  # the same objects, no duplicates
    client = backend.raw["mlflow"].client
    every = client.search_experiments(view_type=ViewType.ALL)
    assert sorted(e.name for e in every) == sorted(["Default", EXPERIMENT])  # nothing deleted lingers
    ids = [e.experiment_id for e in every]
    assert len(client.search_runs(ids, run_view_type=ViewType.ALL)) == len(churn_workflow.RUNS) + 1
    assert len(client.search_logged_models(ids)) == 2  # one per version: replaced ones are gone
    artifacts = backend.raw["paths"].artifact_root
    assert len(list(artifacts.glob(f"{EXPERIMENT}/models/*"))) == 2

    other = "PREP_DATA.NOT_THE_LABS"
    backend.warehouse.write_table(other, pd.DataFrame({"A": [1]}))
    report = churn_workflow.cleanup(backend, out)
    assert any(item.startswith(f"model {MODEL}") for item in report.removed)
    assert any(item.startswith(f"experiment {EXPERIMENT}") for item in report.removed)
    assert any("schemas" in item for item in report.kept)
    assert not out.exists()  # the output folder held only what the lab wrote
    assert backend.warehouse.list_tables("PREP_DATA") == ["NOT_THE_LABS"]  # nothing else was touched
    for schema in ("FEATURE_STORE", "MODEL_REGISTRY", "ANALYTICS"):
        assert [t for t in backend.warehouse.list_tables(schema) if not t.startswith("MLOPS_KIT_")] == []
    assert backend.feature_store.list_feature_views() == []
    assert backend.feature_store.list_entities() == []
    assert all(m.name != MODEL for m in backend.registry.list_models())
    assert all(e.name != EXPERIMENT for e in backend.tracker.list_experiments())
    assert churn_workflow.cleanup(backend, out).removed == []  # a second cleanup finds nothing
    every = client.search_experiments(view_type=ViewType.ALL)
    assert [e.name for e in every] == ["Default"]  # no experiment renamed and left behind
    assert client.search_logged_models([e.experiment_id for e in every]) == []
    assert [p for p in artifacts.rglob("*") if p.is_file()] == []
