"""The churn lab (shared/LAB.md) end to end, on either backend, through the core interfaces only.

    mlops-kit lab run --backend local          # or: python examples/churn_workflow.py --backend local
    mlops-kit lab run --backend snowflake

Steps: 0 setup and load, 1 explore and label, 2 feature store, 3 training (search, SHAP),
4 experiment tracking (three runs), 5 registry (V2 trained in a run of its own), inference, SQL call,
lineage. ``--from``/``--to`` run a part; every step reads what it needs from the stores, so a later
step can run alone.

Rerun policy: running the lab again replaces what it made. Tables are rewritten, feature view
versions with an identical definition are reused, runs and model versions of the same name are
replaced, so after two runs the stores hold exactly the objects of one. A run killed at any moment
(even with SIGKILL) leaves stores that the next run repairs: step 0 loads both raw tables in one
transaction, registrations finish or undo themselves, runs a dead process left RUNNING are marked
FAILED.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit import Backend, Run

try:  # run as a script from a checkout, or imported as mlops_kit.examples
    from mlops_kit.examples import churn_plots as plots
    from mlops_kit.examples import churn_sql as sql
    from mlops_kit.examples.churn_ml import (
        LABEL,
        Split,
        dataset_info,
        evaluate,
        make_split,
        search_hyperparameters,
        shap_values,
        xgb,
    )
    from mlops_kit.files import writing
except ImportError:  # pragma: no cover - the package is not installed
    sys.exit("mlops_kit is not installed: run `pip install -e '.[lab]'` from the repository first")

SCHEMAS = ("PREP_DATA", "FEATURE_STORE", "MODEL_REGISTRY", "EXPERIMENTS", "ANALYTICS")
ENTITY = "CUSTOMER"
FEATURE_VIEW = "CUSTOMER_FEATURES"
TRAINING_SET = "FEATURE_STORE.TRAINING_DATASET_V1"
PREDICTIONS = "FEATURE_STORE.MODEL_PREDICTIONS_V1"
EXPERIMENT = "CHURN_PREDICTION_EXPERIMENT"
EXPERIMENT_RESULTS = "FEATURE_STORE.EXPERIMENT_RESULTS"
MODEL = "CUSTOMER_CHURN_PREDICTOR"
MODEL_LINEAGE = "MODEL_REGISTRY.MODEL_LINEAGE"
CHURN_RISK = "ANALYTICS.CHURN_RISK_CUSTOMERS"
LAB_TABLES = (
    sql.CUSTOMERS,
    sql.ORDERS,
    sql.CHURN_LABELS,
    PREDICTIONS,
    EXPERIMENT_RESULTS,
    MODEL_LINEAGE,
    CHURN_RISK,
)

#: The three tracked runs of step 4 (LAB.md).
RUNS: dict[str, dict[str, float | int]] = {
    "BASELINE": {"max_depth": 5, "learning_rate": 0.1, "n_estimators": 100, "scale_pos_weight": 2},
    "DEEPTREE": {"max_depth": 10, "learning_rate": 0.1, "n_estimators": 100, "scale_pos_weight": 2},
    "CONSERVATIVE": {"max_depth": 3, "learning_rate": 0.05, "n_estimators": 100, "scale_pos_weight": 3},
}
V2_PARAMS: dict[str, float | int] = {"max_depth": 6, "learning_rate": 0.1, "n_estimators": 200, "scale_pos_weight": 3}
#: The run that trains V2 in step 5: MLflow keeps a model's metrics with the run that measured them,
#: so V2 is trained in a run of its own (not one of the three compared runs of step 4).
V2_RUN = "RETRAIN_V2"


@dataclass
class Options:
    backend: str = "local"
    data_dir: Path | None = None
    customers: int = 3000
    seed: int = 42
    from_step: int = 0
    to_step: int = 5
    out_dir: Path = Path("mlops_lab_output")


@dataclass
class Lab:
    backend: Backend
    options: Options
    created: list[str] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict)
    _split: Split | None = None

    @property
    def plots_dir(self) -> Path:
        path = self.options.out_dir / "plots"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save_figure(self, figure: Any, name: str) -> Path:
        path = self.plots_dir / name
        with writing(path, "the plot"):
            figure.savefig(path, dpi=110, bbox_inches="tight")
        return path

    def split(self) -> Split:
        if self._split is None:
            self._split = make_split(self.backend.feature_store.get_training_set(TRAINING_SET), self.options.seed)
        return self._split

    def note(self, what: str) -> None:
        self.created.append(what)


# Output helpers.


def say(text: str) -> None:
    print(text, flush=True)


def show(title: str, df: pd.DataFrame) -> None:
    """A small table in the log, printed by the command line's renderer (whole numbers as integers)."""
    from mlops_kit.cli.output import emit

    say("")
    emit(df, "table", title=title, indent=2, too_wide="a wider terminal shows it as a table")


# Step 0: setup and load.


def step0_setup(lab: Lab) -> None:
    from mlops_kit.csv_loading import read_csv_checked
    from mlops_kit.examples import churn_data

    wh = lab.backend.warehouse
    if lab.options.data_dir:
        customers_path, orders_path = churn_data.find_csv_files(lab.options.data_dir)
        say(f"  loading the lab's CSV files: {customers_path}, {orders_path}")
    else:
        customers_df, orders_df = churn_data.generate(lab.options.customers, lab.options.seed, progress=True)
        customers_path, orders_path = churn_data.write_csv(customers_df, orders_df, lab.options.out_dir / "data")
        say(f"  generated {len(customers_df):,} customers and {len(orders_df):,} orders into {customers_path.parent}")
    # Everything is checked before anything is written, so a bad file loads nothing.
    customers = read_csv_checked(customers_path, churn_data.CUSTOMERS_COLUMNS)
    orders = read_csv_checked(orders_path, churn_data.ORDERS_COLUMNS)
    churn_data.validate(customers, orders, customers_path, orders_path)
    wh.create_schemas(SCHEMAS)
    say(f"  schemas {', '.join(SCHEMAS)} in {wh.database}")
    wh.write_tables({sql.CUSTOMERS: customers, sql.ORDERS: orders})  # both or neither: never from two files
    lab.note(f"tables {sql.CUSTOMERS} ({len(customers):,} rows), {sql.ORDERS} ({len(orders):,} rows)")


# Step 1: explore, define churn, save labels.


def step1_explore(lab: Lab) -> None:
    wh = lab.backend.warehouse
    show(
        "Row counts",
        wh.query(
            f"SELECT (SELECT COUNT(*) FROM {sql.CUSTOMERS}) AS CUSTOMERS, (SELECT COUNT(*) FROM {sql.ORDERS}) AS ORDERS"
        ),
    )
    for column in ("SEGMENT", "REGION"):
        show(
            f"Customers by {column.lower()}",
            wh.query(
                f"SELECT {column}, COUNT(*) AS CUSTOMERS FROM {sql.CUSTOMERS} GROUP BY {column} ORDER BY {column}"
            ),
        )
    show(
        "Order date range",
        wh.query(f"SELECT MIN(ORDER_DATE) AS FIRST_ORDER, MAX(ORDER_DATE) AS LAST_ORDER FROM {sql.ORDERS}"),
    )
    show(
        "Orders by status",
        wh.query(
            f"SELECT STATUS, COUNT(*) AS ORDERS, ROUND(100 * COUNT(*) / SUM(COUNT(*)) OVER (), 1) AS PERCENT "
            f"FROM {sql.ORDERS} GROUP BY STATUS ORDER BY ORDERS DESC"
        ),
    )
    per_month = wh.query(
        f"SELECT DATE_TRUNC('MONTH', ORDER_DATE) AS MONTH, COUNT(*) AS ORDERS FROM {sql.ORDERS} GROUP BY 1 ORDER BY 1"
    )
    per_month["MONTH"] = per_month["MONTH"].astype(str).str[:7]
    show("Orders per month", per_month)
    show(
        "Order amounts",
        wh.query(
            f"SELECT MIN(ORDER_AMOUNT) AS MIN, MAX(ORDER_AMOUNT) AS MAX, AVG(ORDER_AMOUNT) AS MEAN, "
            f"MEDIAN(ORDER_AMOUNT) AS MEDIAN, STDDEV(ORDER_AMOUNT) AS STDDEV FROM {sql.ORDERS}"
        ),
    )
    rows = wh.create_table_as(sql.CHURN_LABELS, sql.CHURN_LABELS_SQL)
    lab.note(f"table {sql.CHURN_LABELS} ({rows:,} customers with an H1 order)")
    show(
        f"Churn labels (observation date {sql.OBSERVATION_DATE})",
        wh.query(
            f"SELECT COUNT(*) AS CUSTOMERS, SUM({LABEL}) AS CHURNED, AVG({LABEL}) AS CHURN_RATE FROM {sql.CHURN_LABELS}"
        ),
    )
    for column in ("SEGMENT", "REGION"):
        show(
            f"Churn rate by {column.lower()}",
            wh.query(
                f"SELECT C.{column}, COUNT(*) AS CUSTOMERS, AVG(L.{LABEL}) AS CHURN_RATE FROM {sql.CHURN_LABELS} L "
                f"JOIN {sql.CUSTOMERS} C ON C.CUSTOMER_ID = L.CUSTOMER_ID GROUP BY C.{column} ORDER BY C.{column}"
            ),
        )
    show(
        "H1 behaviour by churn class",
        wh.query(
            f"""
            WITH H1 AS (
                SELECT CUSTOMER_ID, COUNT(*) AS ORDERS, SUM(ORDER_AMOUNT) AS TOTAL, AVG(ORDER_AMOUNT) AS AVG_AMOUNT
                FROM {sql.ORDERS} WHERE ORDER_DATE BETWEEN '{sql.H1_START}'::DATE AND '{sql.OBSERVATION_DATE}'::DATE
                GROUP BY CUSTOMER_ID
            )
            SELECT L.{LABEL}, COUNT(*) AS CUSTOMERS, AVG(H1.ORDERS) AS H1_ORDERS, AVG(H1.TOTAL) AS H1_TOTAL,
                   AVG(H1.AVG_AMOUNT) AS H1_AVG_AMOUNT
            FROM {sql.CHURN_LABELS} L JOIN H1 ON H1.CUSTOMER_ID = L.CUSTOMER_ID
            GROUP BY L.{LABEL} ORDER BY L.{LABEL}
            """
        ),
    )


# Step 2: feature store.


def step2_features(lab: Lab) -> None:
    fs = lab.backend.feature_store
    entity = fs.register_entity(ENTITY, ["CUSTOMER_ID"], "A Snow Retail customer, identified by CUSTOMER_ID")
    v1 = fs.register_feature_view(
        FEATURE_VIEW,
        "v1",
        [ENTITY],
        sql.FEATURES_V1_SQL,
        description=f"Recency, frequency and spend per customer from orders up to {sql.OBSERVATION_DATE} (5 features)",
    )
    v2 = fs.register_feature_view(
        FEATURE_VIEW,
        "v2",
        [ENTITY],
        sql.FEATURES_V2_SQL,
        description="v1 plus H1 spend and return rate (7 features)",
    )
    show(
        "Feature store",
        _frame(
            [
                {"object": "entity", "name": entity.name, "version": "", "columns": ", ".join(entity.join_keys)},
                *(
                    {
                        "object": "feature view",
                        "name": v.name,
                        "version": v.version,
                        "columns": ", ".join(v.feature_columns),
                    }
                    for v in (v1, v2)
                ),
            ]
        ),
    )
    training_set = fs.generate_training_set(sql.SPINE_SQL, [v2], label_cols=[LABEL], save_as=TRAINING_SET)
    lab._split = None
    say(
        f"\n  training set {training_set.table}: {training_set.row_count:,} rows, features {', '.join(training_set.feature_columns)}"
    )
    lab.note(
        f"feature store: entity {ENTITY}, feature view {FEATURE_VIEW} v1 and v2 ({v1.object_name}, {v2.object_name})"
    )
    lab.note(f"training set {training_set.table} ({training_set.row_count:,} rows, from {FEATURE_VIEW} v2)")


# Step 3: training.


def step3_train(lab: Lab) -> None:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    split, seed = lab.split(), lab.options.seed
    say(f"  split 80/20 (seed {seed}): {len(split.x_train):,} train, {len(split.x_test):,} test rows")
    search = search_hyperparameters(split, seed)
    best = {k: (round(float(v), 4) if isinstance(v, float) else int(v)) for k, v in search.best_params_.items()}
    say(f"  best parameters (CV F1 {search.best_score_:.3f}): {best}")
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    cv = cross_val_score(xgb(best, seed), split.x_train, split.y_train, cv=folds, scoring="f1")
    say(f"  5-fold CV F1 of the best parameters: {cv.mean():.3f} ± {cv.std():.3f}")
    tuned = search.best_estimator_
    default_model = xgb({}, seed).fit(split.x_train, split.y_train)
    tuned_metrics, default_metrics = (
        evaluate(tuned, split.x_test, split.y_test),
        evaluate(default_model, split.x_test, split.y_test),
    )
    show(
        "Default vs tuned XGBoost on the test set",
        _frame(
            [
                {"model": name, **{k: v for k, v in m.items() if k != "confusion_matrix"}}
                for name, m in (("default", default_metrics), ("tuned", tuned_metrics))
            ]
        ),
    )
    matrix = np.array(tuned_metrics["confusion_matrix"])
    say(f"  confusion matrix (rows actual 0/1, columns predicted 0/1): {matrix.tolist()}")

    importances = [float(v) for v in tuned.feature_importances_]
    values, sample, explainer = shap_values(tuned, split.x_train, seed)
    probability = tuned.predict_proba(split.x_test)[:, 1]
    churner = int(np.argmax(np.where(tuned.predict(split.x_test) == 1, probability, -1)))
    explanation = explainer(split.x_test.iloc[[churner]])[0]
    customer = split.ids_test.iloc[churner]
    for figure, name in (
        (
            plots.feature_importance(split.features, importances, "Tuned model: feature importance"),
            "step3_feature_importance.png",
        ),
        (plots.shap_summary(values, sample, "SHAP summary (500 training rows)"), "step3_shap_summary.png"),
        (plots.shap_waterfall(explanation, f"Why {customer} is predicted to churn"), "step3_shap_waterfall.png"),
        (plots.confusion_matrix(matrix, "Tuned model: test set"), "step3_confusion_matrix.png"),
    ):
        lab.save_figure(figure, name)
        plots.close(figure)
    say(f"  plots: {lab.plots_dir}/step3_*.png")

    predictions = _frame(
        {
            "CUSTOMER_ID": split.ids_test.to_numpy(),
            LABEL: split.y_test.to_numpy(),
            "PREDICTED_CHURN": tuned.predict(split.x_test).astype("int64"),
            "CHURN_PROBABILITY": probability.astype("float64"),
        }
    )
    lab.backend.warehouse.write_table(PREDICTIONS, predictions)
    lab.note(f"table {PREDICTIONS} ({len(predictions):,} test-set predictions of the tuned model)")


# Step 4: experiment tracking.


def tracked_run(lab: Lab, run_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Train one model of step 4 inside a tracked run and log all LAB.md asks for."""
    from sklearn.metrics import accuracy_score, f1_score

    tracker, split, seed = lab.backend.tracker, lab.split(), lab.options.seed
    info = dataset_info(split)
    with tracker.start_run(run_name, replace=True):
        tracker.log_params({**params, **info})
        tracker.log_training_set(split.training_set)
        started = time.perf_counter()
        model = xgb(params, seed).fit(split.x_train, split.y_train)
        training_time = time.perf_counter() - started
        test = evaluate(model, split.x_test, split.y_test)
        train_predicted = model.predict(split.x_train)
        scores = {k: v for k, v in test.items() if k != "confusion_matrix"}
        scores["train_accuracy"] = float(accuracy_score(split.y_train, train_predicted))
        scores["train_f1_score"] = float(f1_score(split.y_train, train_predicted))
        scores["overfit_gap_f1"] = scores["train_f1_score"] - scores["f1_score"]
        scores["training_time"] = training_time
        importances = dict(zip(split.features, (float(v) for v in model.feature_importances_), strict=True))
        values, sample, _ = shap_values(model, split.x_train, seed)
        mean_shap = dict(zip(split.features, (float(v) for v in abs(values).mean(axis=0)), strict=True))
        tracker.log_metrics(
            {
                **scores,
                **importance_metrics(importances),
                **{f"mean_abs_shap_{k}": v for k, v in mean_shap.items()},
            }
        )
        import numpy as np
        import pandas as pd

        for figure, name in (
            (
                plots.confusion_matrix(np.array(test["confusion_matrix"]), f"{run_name}: test set"),
                "confusion_matrix.png",
            ),
            (
                plots.feature_importance(split.features, list(importances.values()), f"{run_name}: importance"),
                "feature_importance.png",
            ),
            (plots.shap_summary(values, sample, f"{run_name}: SHAP summary"), "shap_summary.png"),
        ):
            tracker.log_figure(figure, name, artifact_path="plots")
            plots.close(figure)
        tracker.log_table(pd.DataFrame(values, columns=list(split.features)), "shap_values.csv", artifact_path="shap")
    lab.models[run_name] = model
    say(f"  run {run_name:<13} f1 {scores['f1_score']:.3f}  roc_auc {scores['roc_auc']:.3f}  {training_time:.2f}s")
    return {
        "RUN_NAME": run_name,
        **{k.upper(): v for k, v in scores.items()},
        "PARAMS": json.dumps(params),
        "CONFUSION_MATRIX": json.dumps(test["confusion_matrix"]),
        "FEATURE_IMPORTANCE": json.dumps(importances),
        "MEAN_ABS_SHAP": json.dumps(mean_shap),
        "DATASET_INFO": json.dumps(info),
    }


def step4_track(lab: Lab) -> None:
    tracker = lab.backend.tracker
    tracker.set_experiment(EXPERIMENT)
    say(f"  experiment {EXPERIMENT}")
    rows = [tracked_run(lab, name, params) for name, params in RUNS.items()]
    runs = {run.name: run for run in tracker.list_runs(EXPERIMENT) if run.name in RUNS}
    created = datetime.now().replace(microsecond=0)
    results = _frame([{**row, "RUN_ID": runs[row["RUN_NAME"]].run_id, "CREATED_AT": created} for row in rows])
    lab.backend.warehouse.write_table(EXPERIMENT_RESULTS, results)
    compared = tracker.compare_runs(EXPERIMENT).set_index("run_name").loc[list(RUNS)]
    metrics = ["metric.accuracy", "metric.precision", "metric.recall", "metric.f1_score", "metric.roc_auc"]
    show(
        "Runs side by side (from the tracker)",
        compared[metrics + ["param.max_depth", "param.learning_rate"]].reset_index(),
    )
    figure = plots.run_comparison(compared[metrics].rename(columns=lambda c: c[7:]), metrics=[m[7:] for m in metrics],
                                  title=f"{EXPERIMENT}: runs compared")  # fmt: skip
    lab.save_figure(figure, "step4_run_comparison.png")
    plots.close(figure)
    best = best_run(lab)
    say(
        f"\n  best run by test F1: {best.name} (f1 {best.metrics['f1_score']:.3f}); chart {lab.plots_dir}/step4_run_comparison.png"
    )
    lab.note(f"experiment {EXPERIMENT}: runs {', '.join(RUNS)} (best {best.name}); table {EXPERIMENT_RESULTS}")

    # A past run's artifacts can be listed, downloaded and its SHAP summary re-drawn from the CSV.
    import pandas as pd

    listed = tracker.list_artifacts(best.name, experiment=EXPERIMENT)
    say(f"  artifacts of {best.name}: {', '.join(a.path for a in listed if not a.is_dir)}")
    local = tracker.download_artifacts(best.name, "shap/shap_values.csv", lab.options.out_dir / "downloads", EXPERIMENT)
    figure = plots.mean_abs_shap(pd.read_csv(local), f"{best.name}: mean |SHAP| re-drawn from shap_values.csv")
    lab.save_figure(figure, "step4_shap_from_csv.png")
    plots.close(figure)


def lab_runs(lab: Lab) -> list[Run]:
    """The lab's finished runs (those of RUNS with an F1 score); none when the experiment does not exist."""
    from mlops_kit.errors import NotFoundError

    try:
        found = lab.backend.tracker.list_runs(EXPERIMENT)
    except NotFoundError:
        return []
    return [r for r in found if r.name in RUNS and "f1_score" in r.metrics]


def best_run(lab: Lab) -> Run:
    runs = lab_runs(lab)
    if not runs:
        from mlops_kit.errors import NotFoundError

        raise NotFoundError(f"experiment {EXPERIMENT} has no finished lab runs: run step 4 first (--from 4)")
    return max(runs, key=lambda r: r.metrics["f1_score"])


# Step 5: registry, inference, SQL, lineage.


def importance_metrics(importances: dict[str, float]) -> dict[str, float]:
    """Feature importances as run metrics ``importance_<FEATURE>`` (the experiment viewer's table)."""
    return {f"importance_{k}": v for k, v in importances.items()}


def step5_registry(lab: Lab) -> None:
    registry, split, seed = lab.backend.registry, lab.split(), lab.options.seed
    best = best_run(lab)
    best_params = RUNS[best.name]
    model_v1 = lab.models.get(best.name) or xgb(dict(best_params), seed).fit(split.x_train, split.y_train)
    metrics_v1 = evaluate(model_v1, split.x_test, split.y_test)
    sample = split.x_train.head(10)
    v1 = registry.log_model(
        MODEL, "v1", model_v1, sample_input=sample, metrics=metrics_v1, run=best, training_set=split.training_set,
        overwrite=True,
        comment=(
            f"Best run {best.name} of experiment {EXPERIMENT} (run id {best.run_id}); params {json.dumps(best_params)}; "
            f"test f1 {metrics_v1['f1_score']:.3f}, accuracy {metrics_v1['accuracy']:.3f}, roc_auc {metrics_v1['roc_auc']:.3f}; "
            f"features {', '.join(split.features)}"
        ),
    )  # fmt: skip
    tracker = lab.backend.tracker
    tracker.set_experiment(EXPERIMENT)
    with tracker.start_run(V2_RUN, replace=True):
        tracker.log_params({**V2_PARAMS, **dataset_info(split)})
        tracker.log_training_set(split.training_set)
        model_v2 = xgb(dict(V2_PARAMS), seed).fit(split.x_train, split.y_train)
        metrics_v2 = evaluate(model_v2, split.x_test, split.y_test)
        scores_v2 = {k: v for k, v in metrics_v2.items() if k != "confusion_matrix"}
        importances_v2 = dict(zip(split.features, (float(v) for v in model_v2.feature_importances_), strict=True))
        tracker.log_metrics({**scores_v2, **importance_metrics(importances_v2)})
    v2 = registry.log_model(
        MODEL, "v2", model_v2, sample_input=sample, metrics=metrics_v2, run=tracker.get_run(V2_RUN),
        training_set=split.training_set, overwrite=True,
        comment=(
            f"Retrained with {json.dumps(V2_PARAMS)} on feature view {FEATURE_VIEW} v2 via training set "
            f"{split.training_set.table}; base version {v1.version}; test f1 {metrics_v2['f1_score']:.3f}"
        ),
    )  # fmt: skip
    show(
        "V1 vs V2 on the test set", registry.compare_versions(MODEL).drop(columns=["confusion_matrix"], errors="ignore")
    )

    better, other = (v2, v1) if metrics_v2["f1_score"] >= metrics_v1["f1_score"] else (v1, v2)
    registry.set_default(MODEL, other.version)
    previous = registry.set_default(MODEL, better.version)
    say(
        f"  default version: {better.version} (switched from {previous}; roll back with set_default({MODEL!r}, {previous!r}))"
    )
    lab.note(
        f"model {MODEL}: versions {v1.version} (from run {best.name}) and {v2.version} (from run {V2_RUN}); "
        f"default {better.version}"
    )

    lineage_rows = []
    for version in registry.list_versions(MODEL):
        lineage = registry.get_lineage(MODEL, version.version)
        for view in lineage.feature_views or (None,):
            lineage_rows.append(
                {
                    "MODEL_NAME": lineage.model,
                    "MODEL_VERSION": lineage.version,
                    "FEATURE_VIEW_NAME": view.name if view else None,
                    "FEATURE_VIEW_VERSION": view.version if view else None,
                    "TRAINING_DATASET": lineage.training_set,
                    "EXPERIMENT_NAME": lineage.run.experiment if lineage.run else None,
                    "RUN_NAME": lineage.run.name if lineage.run else None,
                    "RUN_ID": lineage.run.run_id if lineage.run else None,
                    "PARAMS": json.dumps(lineage.params, sort_keys=True),
                    "ACCURACY": lineage.metrics.get("accuracy"),
                    "F1_SCORE": lineage.metrics.get("f1_score"),
                    "CREATED_AT": lineage.created_at,
                }
            )
    lab.backend.warehouse.write_table(MODEL_LINEAGE, _frame(lineage_rows))
    show(
        f"{MODEL_LINEAGE}: which features and which run made each version",
        lab.backend.warehouse.query(
            f"SELECT MODEL_VERSION, FEATURE_VIEW_NAME, FEATURE_VIEW_VERSION, TRAINING_DATASET, RUN_NAME, F1_SCORE "
            f"FROM {MODEL_LINEAGE} ORDER BY MODEL_VERSION"
        ),
    )
    lab.note(f"table {MODEL_LINEAGE}")
    batch_inference(lab)


def batch_inference(lab: Lab) -> None:
    """Score the test customers with the registered default version, then the same from SQL."""
    import numpy as np

    wh, registry, split = lab.backend.warehouse, lab.backend.registry, lab.split()
    scored = registry.predict(MODEL, split.x_test, function="predict_proba")
    predicted = registry.predict(MODEL, split.x_test)
    at_risk = _frame(
        {
            "CUSTOMER_ID": split.ids_test.to_numpy(),
            "CHURN_RISK": scored["output_feature_1"].to_numpy(),
            "PREDICTED": predicted["output_feature_0"].to_numpy(),
        }
    )
    at_risk = at_risk[at_risk["PREDICTED"] == 1].drop(columns="PREDICTED")
    customers = wh.query(f"SELECT CUSTOMER_ID, SEGMENT, REGION FROM {sql.CUSTOMERS}")
    risk = customers.merge(at_risk, on="CUSTOMER_ID")[["CUSTOMER_ID", "SEGMENT", "REGION", "CHURN_RISK"]]
    wh.write_table(CHURN_RISK, risk.sort_values("CHURN_RISK", ascending=False))
    say(
        f"\n  {len(risk):,} of {len(split.x_test):,} test customers predicted to churn (default version, loaded from the registry)"
    )
    for column in ("SEGMENT", "REGION"):
        show(
            f"Customers at risk by {column.lower()}",
            wh.query(
                f"SELECT {column}, COUNT(*) AS CUSTOMERS, AVG(CHURN_RISK) AS AVG_RISK FROM {CHURN_RISK} "
                f"GROUP BY {column} ORDER BY CUSTOMERS DESC"
            ),  # fmt: skip
        )
    lab.note(f"table {CHURN_RISK} ({len(risk):,} customers)")

    if not wh.supports_model_sql:
        say("  (this backend cannot call models from SQL)")
        return
    arguments = ", ".join(split.features)
    query = (
        f"SELECT CUSTOMER_ID, {wh.database}.MODEL_REGISTRY.{MODEL}!PREDICT_PROBA({arguments})['output_feature_1'] "
        f"AS CHURN_PROBABILITY FROM {TRAINING_SET}"
    )
    say(f"\n  the model from SQL:\n    {query}")
    via_sql = wh.query(query).set_index("CUSTOMER_ID")["CHURN_PROBABILITY"].astype("float64")
    expected = scored["output_feature_1"].to_numpy()
    got = via_sql.loc[split.ids_test.to_numpy()].to_numpy()
    gap = float(np.max(np.abs(got - expected)))
    say(f"  SQL and registry predictions agree on {len(expected):,} test customers (largest difference {gap:.2e})")


STEPS: dict[int, tuple[str, Callable[[Lab], None]]] = {
    0: ("setup: schemas, load CUSTOMERS and ORDERS", step0_setup),
    1: ("explore, define churn, save labels", step1_explore),
    2: ("feature store: entity, feature views v1/v2, training set", step2_features),
    3: ("training: search, CV, SHAP, test metrics", step3_train),
    4: ("experiment tracking: three runs", step4_track),
    5: ("registry, inference, SQL call, lineage", step5_registry),
}

#: The earlier steps whose results a step reads from the stores.
NEEDS: dict[int, tuple[int, ...]] = {0: (), 1: (0,), 2: (0, 1), 3: (2,), 4: (2,), 5: (0, 2, 4)}


def missing_steps(lab: Lab) -> list[int]:
    """The steps before ``from_step`` that the chosen steps need and whose results are not in the stores."""
    wh = lab.backend.warehouse
    made: dict[int, Callable[[], bool]] = {
        0: lambda: wh.table_exists(sql.CUSTOMERS) and wh.table_exists(sql.ORDERS),
        1: lambda: wh.table_exists(sql.CHURN_LABELS),
        2: lambda: wh.table_exists(TRAINING_SET),
        4: lambda: bool(lab_runs(lab)),
    }
    needed: set[int] = set()
    pending = [n for step in range(lab.options.from_step, lab.options.to_step + 1) for n in NEEDS[step]]
    while pending:
        step = pending.pop()
        if step < lab.options.from_step and step not in needed:
            needed.add(step)
            pending.extend(NEEDS[step])
    return sorted(step for step in needed if not made[step]())


def _steps_text(steps: list[int]) -> str:
    """``[0, 1, 2]`` as ``0–2``, ``[0, 2, 4]`` as ``0, 2 and 4``."""
    if steps == list(range(steps[0], steps[-1] + 1)) and len(steps) > 2:
        return f"{steps[0]}–{steps[-1]}"
    return ", ".join(map(str, steps[:-1])) + (" and " if len(steps) > 1 else "") + str(steps[-1])


def run(backend: Backend, options: Options) -> Lab:
    """Run steps ``from_step`` to ``to_step`` and print a summary.

    Raises:
        NotFoundError: ``from_step`` skips steps whose results are not in the stores (nothing runs).
    """
    from mlops_kit.errors import NotFoundError

    lab = Lab(backend, options)
    started = time.perf_counter()
    backend.warm_up()  # e.g. the local MLflow store opens while steps 0-3 prepare data and train
    with backend.exclusive("churn_lab"):
        missing = missing_steps(lab) if options.from_step > 0 else []
        if missing:
            raise NotFoundError(
                f"--from {options.from_step} reads what step{'s' if len(missing) > 1 else ''} {_steps_text(missing)} "
                f"make, and it is not in the {backend.name} stores: run them first "
                f"(mlops-kit lab run --to {missing[-1]}), or the whole lab"
            )
        for number in range(options.from_step, options.to_step + 1):
            title, step = STEPS[number]
            say(f"\n== Step {number}: {title}")
            began = time.perf_counter()
            step(lab)
            say(f"  (step {number} took {time.perf_counter() - began:.1f}s)")
    summary(lab, time.perf_counter() - started)
    return lab


def summary(lab: Lab, seconds: float) -> None:
    say(f"\n== Done in {seconds:.0f}s on the {lab.backend.name} backend. Created:")
    for item in lab.created:
        say(f"  - {item}")
    say("Where to look:")
    for what, where in lab.backend.locations.items():
        say(f"  {what:<22} {where}")
    say(f"  {'plots':<22} {lab.plots_dir}")
    say(f"  {'feature store':<22} mlops-kit features --backend {lab.backend.name}")
    say(
        f"  {'runs side by side':<22} mlops-kit runs {EXPERIMENT} -m accuracy,precision,recall,f1_score,roc_auc --backend {lab.backend.name}"
    )
    say(f"  {'experiment viewer':<22} mlops-kit lab viewer --backend {lab.backend.name}  (one HTML page)")
    say(f"  {'model versions':<22} mlops-kit models list {MODEL} --backend {lab.backend.name}")
    say(f"  {'lineage':<22} mlops-kit lineage {MODEL} V1 --backend {lab.backend.name}")
    say(f"  {'remove it all':<22} mlops-kit lab cleanup --backend {lab.backend.name}")


@dataclass
class CleanupReport:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what stayed, and why


#: What the lab writes into its output folder (relative paths; folders are removed once empty).
OUTPUT_FILES = ("data/CUSTOMERS.csv", "data/ORDERS.csv", "downloads/shap_values.csv", "downloads/shap/shap_values.csv",
                "experiment_viewer.html")  # fmt: skip
OUTPUT_PLOTS = ("plots/step3_*.png", "plots/step4_*.png")
OUTPUT_FOLDERS = ("data", "plots", "downloads/shap", "downloads")  # deepest first


def cleanup(backend: Backend, out_dir: Path | None = None) -> CleanupReport:
    """Remove everything the lab created, and nothing else: tables, feature store objects, the
    experiment (runs, logged models, artifacts), the model (versions, their logged models and files)
    and, when ``out_dir`` is given, the files the lab wrote there. Says what it kept and why (the
    schemas, the stores themselves, files in ``out_dir`` the lab did not write)."""
    from mlops_kit.errors import NotFoundError

    report = CleanupReport()

    def attempt(description: str, action: Callable[[], object]) -> None:
        try:
            result = action()
        except NotFoundError:
            return
        if result is not False:
            report.removed.append(description)

    # The model first: the experiment holds the logged models its versions are made from.
    attempt(f"model {MODEL} (its versions and their logged models and files)",
            lambda: backend.registry.delete_model(MODEL))  # fmt: skip
    attempt(f"experiment {EXPERIMENT} (its runs, logged models and artifacts)",
            lambda: backend.tracker.delete_experiment(EXPERIMENT))  # fmt: skip
    attempt(f"training set {TRAINING_SET}", lambda: backend.feature_store.delete_training_set(TRAINING_SET))
    for version in ("v1", "v2"):
        attempt(f"feature view {FEATURE_VIEW} {version}",
                lambda v=version: backend.feature_store.delete_feature_view(FEATURE_VIEW, v))  # fmt: skip
    attempt(f"entity {ENTITY}", lambda: backend.feature_store.delete_entity(ENTITY))
    for table in LAB_TABLES:
        attempt(f"table {table}", lambda t=table: backend.warehouse.drop_table(t))
    report.kept.append(
        f"schemas {', '.join(SCHEMAS)} of {backend.warehouse.database}: other work may live in them "
        "(nothing of the lab's is left in them)"
    )
    report.kept.append(
        f"the {backend.name} backend itself (its database and stores, listed under 'Where to look' after a lab "
        "run): it is not the lab's and may hold other work"
    )
    if out_dir is not None:
        _remove_output(Path(out_dir), report)
    return report


def _remove_output(out_dir: Path, report: CleanupReport) -> None:
    if not out_dir.is_dir():
        return
    files = [out_dir / name for name in OUTPUT_FILES] + [f for pattern in OUTPUT_PLOTS for f in out_dir.glob(pattern)]
    removed = [f for f in files if f.is_file()]
    for file in removed:
        file.unlink()
    for folder in (out_dir / name for name in OUTPUT_FOLDERS):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    others = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    if others:
        report.kept.append(f"folder {out_dir} with files the lab did not write: {', '.join(others[:10])}")
    else:
        out_dir.rmdir()
    if removed:
        report.removed.append(f"output folder {out_dir} ({len(removed)} files: data, plots, downloads)")


def _frame(rows: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """``python examples/churn_workflow.py [OPTIONS]``: the same as ``mlops-kit lab run [OPTIONS]``."""
    from mlops_kit.cli import main as command_line

    return command_line(["lab", "run", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
