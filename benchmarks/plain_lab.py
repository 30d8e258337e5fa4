"""The churn lab written without the kit, twice over (used by benchmarks 1, 2 and 8).

``tracking="none"``: a plain script: DuckDB SQL by hand in one DuckDB file, pandas, scikit-learn,
XGBoost; plots and SHAP CSVs to disk, models saved as XGBoost JSON and loaded back for inference.
``tracking="mlflow"``: the same, with steps 4-5 written on MLflow's defaults as its docs show them:
the fluent API, one ``log_metric`` call per metric, ``log_model`` with an input example and no
``pip_requirements`` (so MLflow infers requirements), ``registered_model_name=``, an alias for the
default version, tags for metrics and lineage.

Both reuse the lab's own training functions (``search_hyperparameters``, ``evaluate``, ``xgb``,
``shap_values``, the plots), so the three implementations compute the same things.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

OBS, H1, H2 = "2024-06-30", "2024-01-01", "2024-07-01"

LABELS_SQL = f"""
CREATE OR REPLACE TABLE PREP_DATA.CHURN_LABELS AS
SELECT H1.CUSTOMER_ID, CASE WHEN H2.CUSTOMER_ID IS NULL THEN 1 ELSE 0 END AS IS_CHURNED
FROM (SELECT DISTINCT CUSTOMER_ID FROM PREP_DATA.ORDERS WHERE ORDER_DATE BETWEEN DATE '{H1}' AND DATE '{OBS}') H1
LEFT JOIN (SELECT DISTINCT CUSTOMER_ID FROM PREP_DATA.ORDERS WHERE ORDER_DATE >= DATE '{H2}') H2
    ON H1.CUSTOMER_ID = H2.CUSTOMER_ID
"""
V1_COLUMNS = f"""
    COALESCE(DATE_DIFF('day', MAX(O.ORDER_DATE), DATE '{OBS}'), 0) AS DAYS_SINCE_LAST_ORDER,
    COUNT(O.ORDER_ID) AS TOTAL_ORDER_COUNT,
    COALESCE(SUM(O.ORDER_AMOUNT), 0) AS TOTAL_ORDER_AMOUNT,
    COALESCE(AVG(O.ORDER_AMOUNT), 0) AS AVG_ORDER_AMOUNT,
    COUNT(*) FILTER (WHERE O.ORDER_DATE >= DATE '{H1}') AS ORDER_COUNT_2024_H1"""
V2_COLUMNS = f"""{V1_COLUMNS},
    COALESCE(SUM(CASE WHEN O.ORDER_DATE >= DATE '{H1}' THEN O.ORDER_AMOUNT ELSE 0 END), 0) AS TOTAL_AMOUNT_2024_H1,
    COALESCE(COUNT(*) FILTER (WHERE O.STATUS = 'RETURNED') / NULLIF(COUNT(O.ORDER_ID), 0), 0) AS RETURN_RATE"""


def features_sql(columns: str) -> str:
    return f"""SELECT C.CUSTOMER_ID,{columns}
FROM PREP_DATA.CUSTOMERS C
LEFT JOIN PREP_DATA.ORDERS O ON C.CUSTOMER_ID = O.CUSTOMER_ID AND O.ORDER_DATE <= DATE '{OBS}'
GROUP BY C.CUSTOMER_ID"""


def run(args: dict[str, Any]) -> dict[str, Any]:
    """Child entry: the whole lab, timed from interpreter start; then what the checks compare."""
    out = Path(args["out_dir"])
    home = Path(args.get("home") or out)
    result = lab(
        out, int(args["customers"]), int(args["seed"]), args["tracking"], home, Path(args.get("db_dir") or home)
    )
    seconds = time.perf_counter() - args["t0"]
    return {"seconds": seconds, "check": result}


def lab(out: Path, customers: int, seed: int, tracking: str, home: Path, db_dir: Path) -> dict[str, Any]:  # noqa: PLR0915
    import duckdb
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

    from mlops_kit.examples import churn_data
    from mlops_kit.examples import churn_plots as plots
    from mlops_kit.examples.churn_ml import Split, evaluate, search_hyperparameters, shap_values, xgb
    from mlops_kit.examples.churn_workflow import EXPERIMENT, MODEL, RUNS, V2_PARAMS

    use_mlflow = tracking == "mlflow"
    plots_dir = out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)

    def save(figure: Any, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plots.close(figure)

    def show(title: str, df: pd.DataFrame) -> None:
        print(f"\n  {title}\n{df.to_string(index=False)}", flush=True)

    if use_mlflow:
        import mlflow
        from mlflow import MlflowClient

        mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
        client = MlflowClient()

    # Step 0: data.
    customers_df, orders_df = churn_data.generate(customers, seed)
    customers_csv, orders_csv = churn_data.write_csv(customers_df, orders_df, out / "data")
    con = duckdb.connect(str(db_dir / "plain_lab.duckdb"))
    for schema in ("PREP_DATA", "FEATURE_STORE", "MODEL_REGISTRY", "EXPERIMENTS", "ANALYTICS"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(f"CREATE OR REPLACE TABLE PREP_DATA.CUSTOMERS AS SELECT * FROM read_csv('{customers_csv}')")
    con.execute(f"CREATE OR REPLACE TABLE PREP_DATA.ORDERS AS SELECT * FROM read_csv('{orders_csv}')")

    # Step 1: explore, labels.
    q = lambda sql: con.execute(sql).df()  # noqa: E731
    show(
        "Row counts",
        q(
            "SELECT (SELECT COUNT(*) FROM PREP_DATA.CUSTOMERS) AS CUSTOMERS, (SELECT COUNT(*) FROM PREP_DATA.ORDERS) AS ORDERS"
        ),
    )
    for column in ("SEGMENT", "REGION"):
        show(column, q(f"SELECT {column}, COUNT(*) AS CUSTOMERS FROM PREP_DATA.CUSTOMERS GROUP BY 1 ORDER BY 1"))
    show("Dates", q("SELECT MIN(ORDER_DATE), MAX(ORDER_DATE) FROM PREP_DATA.ORDERS"))
    show(
        "Status",
        q(
            "SELECT STATUS, COUNT(*) AS N, ROUND(100 * COUNT(*) / SUM(COUNT(*)) OVER (), 1) AS PCT FROM PREP_DATA.ORDERS GROUP BY 1 ORDER BY 2 DESC"
        ),
    )
    show(
        "Per month",
        q("SELECT DATE_TRUNC('month', ORDER_DATE) AS MONTH, COUNT(*) FROM PREP_DATA.ORDERS GROUP BY 1 ORDER BY 1"),
    )
    show(
        "Amounts",
        q(
            "SELECT MIN(ORDER_AMOUNT), MAX(ORDER_AMOUNT), AVG(ORDER_AMOUNT), MEDIAN(ORDER_AMOUNT), STDDEV(ORDER_AMOUNT) FROM PREP_DATA.ORDERS"
        ),
    )
    con.execute(LABELS_SQL)
    show("Churn", q("SELECT COUNT(*), SUM(IS_CHURNED), AVG(IS_CHURNED) FROM PREP_DATA.CHURN_LABELS"))
    for column in ("SEGMENT", "REGION"):
        show(
            column,
            q(
                f"SELECT C.{column}, COUNT(*), AVG(L.IS_CHURNED) FROM PREP_DATA.CHURN_LABELS L JOIN PREP_DATA.CUSTOMERS C USING (CUSTOMER_ID) GROUP BY 1 ORDER BY 1"
            ),
        )
    show(
        "H1 by class",
        q(f"""WITH H1 AS (SELECT CUSTOMER_ID, COUNT(*) AS ORDERS, SUM(ORDER_AMOUNT) AS TOTAL, AVG(ORDER_AMOUNT) AS AVG_AMOUNT
        FROM PREP_DATA.ORDERS WHERE ORDER_DATE BETWEEN DATE '{H1}' AND DATE '{OBS}' GROUP BY 1)
        SELECT L.IS_CHURNED, COUNT(*), AVG(ORDERS), AVG(TOTAL), AVG(AVG_AMOUNT) FROM PREP_DATA.CHURN_LABELS L JOIN H1 USING (CUSTOMER_ID) GROUP BY 1 ORDER BY 1"""),
    )

    # Step 2: features v1 and v2 as views, the training set as a table.
    con.execute(f"CREATE OR REPLACE VIEW FEATURE_STORE.CUSTOMER_FEATURES_V1 AS {features_sql(V1_COLUMNS)}")
    con.execute(f"CREATE OR REPLACE VIEW FEATURE_STORE.CUSTOMER_FEATURES_V2 AS {features_sql(V2_COLUMNS)}")
    con.execute(
        "CREATE OR REPLACE TABLE FEATURE_STORE.TRAINING_DATASET_V1 AS SELECT L.CUSTOMER_ID, L.IS_CHURNED, F.* EXCLUDE (CUSTOMER_ID) "
        "FROM PREP_DATA.CHURN_LABELS L LEFT JOIN FEATURE_STORE.CUSTOMER_FEATURES_V2 F USING (CUSTOMER_ID)"
    )
    data = q("SELECT * FROM FEATURE_STORE.TRAINING_DATASET_V1").sort_values("CUSTOMER_ID").reset_index(drop=True)
    features = tuple(c for c in data.columns if c not in ("CUSTOMER_ID", "IS_CHURNED"))

    # Step 3: training.
    x, y = data[list(features)].astype("float64"), data["IS_CHURNED"].astype("int64")
    x_train, x_test, y_train, y_test, _, ids_test = train_test_split(
        x, y, data["CUSTOMER_ID"], test_size=0.2, random_state=seed, stratify=y
    )
    split = Split(None, features, x_train, x_test, y_train, y_test, ids_test)  # type: ignore[arg-type]
    search = search_hyperparameters(split, seed)
    best = {k: (round(float(v), 4) if isinstance(v, float) else int(v)) for k, v in search.best_params_.items()}
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    cv = cross_val_score(xgb(best, seed), x_train, y_train, cv=folds, scoring="f1")
    print(f"cv f1 {cv.mean():.3f} ± {cv.std():.3f}")
    tuned = search.best_estimator_
    default_model = xgb({}, seed).fit(x_train, y_train)
    tuned_metrics, default_metrics = evaluate(tuned, x_test, y_test), evaluate(default_model, x_test, y_test)
    show(
        "default vs tuned",
        pd.DataFrame(
            [{k: v for k, v in m.items() if k != "confusion_matrix"} for m in (default_metrics, tuned_metrics)]
        ),
    )
    matrix = np.array(tuned_metrics["confusion_matrix"])
    values, sample, explainer = shap_values(tuned, x_train, seed)
    probability = tuned.predict_proba(x_test)[:, 1]
    predicted = tuned.predict(x_test)
    churner = int(np.argmax(np.where(predicted == 1, probability, -1)))
    explanation = explainer(x_test.iloc[[churner]])[0]
    save(
        plots.feature_importance(features, [float(v) for v in tuned.feature_importances_], "importance"),
        plots_dir / "step3_feature_importance.png",
    )
    save(plots.shap_summary(values, sample, "SHAP summary"), plots_dir / "step3_shap_summary.png")
    save(plots.shap_waterfall(explanation, f"Why {ids_test.iloc[churner]}"), plots_dir / "step3_shap_waterfall.png")
    save(plots.confusion_matrix(matrix, "tuned"), plots_dir / "step3_confusion_matrix.png")
    predictions = pd.DataFrame({"CUSTOMER_ID": ids_test.to_numpy(), "IS_CHURNED": y_test.to_numpy(),
                                "PREDICTED_CHURN": predicted.astype("int64"), "CHURN_PROBABILITY": probability.astype("float64")})  # fmt: skip
    con.execute("CREATE OR REPLACE TABLE FEATURE_STORE.MODEL_PREDICTIONS_V1 AS SELECT * FROM predictions")

    # Step 4: three runs.
    info = {"dataset_name": "FEATURE_STORE.TRAINING_DATASET_V1", "train_size": len(x_train), "test_size": len(x_test),
            "feature_count": len(features), "train_churn_rate": round(float(y_train.mean()), 4),
            "test_churn_rate": round(float(y_test.mean()), 4)}  # fmt: skip
    if use_mlflow:
        mlflow.set_experiment(EXPERIMENT)
        dataset = mlflow.data.from_pandas(data, name="FEATURE_STORE.TRAINING_DATASET_V1", targets="IS_CHURNED")
    rows, models, run_ids = [], {}, {}
    for run_name, params in RUNS.items():
        run_dir = out / "runs" / run_name
        active = mlflow.start_run(run_name=run_name) if use_mlflow else None
        if use_mlflow:
            mlflow.log_params({**params, **info})
            mlflow.log_input(dataset, context="training")
        started = time.perf_counter()
        model = xgb(params, seed).fit(x_train, y_train)
        training_time = time.perf_counter() - started
        test = evaluate(model, x_test, y_test)
        train_predicted = model.predict(x_train)
        scores = {k: v for k, v in test.items() if k != "confusion_matrix"}
        scores["train_accuracy"] = float(accuracy_score(y_train, train_predicted))
        scores["train_f1_score"] = float(f1_score(y_train, train_predicted))
        scores["overfit_gap_f1"] = scores["train_f1_score"] - scores["f1_score"]
        scores["training_time"] = training_time
        importances = dict(zip(features, (float(v) for v in model.feature_importances_), strict=True))
        run_values, run_sample, _ = shap_values(model, x_train, seed)
        mean_shap = dict(zip(features, (float(v) for v in abs(run_values).mean(axis=0)), strict=True))
        figures = {
            "confusion_matrix.png": plots.confusion_matrix(np.array(test["confusion_matrix"]), run_name),
            "feature_importance.png": plots.feature_importance(features, list(importances.values()), run_name),
            "shap_summary.png": plots.shap_summary(run_values, run_sample, run_name),
        }
        shap_frame = pd.DataFrame(run_values, columns=list(features))
        all_metrics = {**scores, **{f"importance_{k}": v for k, v in importances.items()},
                       **{f"mean_abs_shap_{k}": v for k, v in mean_shap.items()}}  # fmt: skip
        if use_mlflow:
            for key, value in all_metrics.items():
                mlflow.log_metric(key, value)
            for name, figure in figures.items():
                mlflow.log_figure(figure, f"plots/{name}")
                plots.close(figure)
            run_dir.mkdir(parents=True, exist_ok=True)
            shap_frame.to_csv(run_dir / "shap_values.csv", index=False)
            mlflow.log_artifact(str(run_dir / "shap_values.csv"), "shap")
            run_ids[run_name] = active.info.run_id
            mlflow.end_run()
        else:
            for name, figure in figures.items():
                save(figure, run_dir / "plots" / name)
            (run_dir / "shap").mkdir(parents=True, exist_ok=True)
            shap_frame.to_csv(run_dir / "shap" / "shap_values.csv", index=False)
        models[run_name] = model
        rows.append({"RUN_NAME": run_name, **{k.upper(): v for k, v in scores.items()}, "PARAMS": json.dumps(params),
                     "CONFUSION_MATRIX": json.dumps(test["confusion_matrix"]), "FEATURE_IMPORTANCE": json.dumps(importances),
                     "MEAN_ABS_SHAP": json.dumps(mean_shap), "DATASET_INFO": json.dumps(info),
                     "RUN_ID": run_ids.get(run_name, run_name), "CREATED_AT": datetime.now().replace(microsecond=0)})  # fmt: skip
    results = pd.DataFrame(rows)
    con.execute("CREATE OR REPLACE TABLE FEATURE_STORE.EXPERIMENT_RESULTS AS SELECT * FROM results")
    metric_names = ["accuracy", "precision", "recall", "f1_score", "roc_auc"]
    if use_mlflow:
        compared = mlflow.search_runs(experiment_names=[EXPERIMENT]).set_index("tags.mlflow.runName")
        table = compared[[f"metrics.{m}" for m in metric_names]].rename(columns=lambda c: c[8:])
        best_name = str(compared["metrics.f1_score"].idxmax())
    else:
        table = results.set_index("RUN_NAME")[[m.upper() for m in metric_names]].rename(columns=str.lower)
        best_name = str(results.loc[results["F1_SCORE"].idxmax(), "RUN_NAME"])
    show("runs", table.reset_index())
    save(
        plots.run_comparison(table, metrics=metric_names, title="runs compared"), plots_dir / "step4_run_comparison.png"
    )
    if use_mlflow:
        pending, listed = [None], []
        while pending:
            for item in client.list_artifacts(run_ids[best_name], pending.pop()):
                (pending if item.is_dir else listed).append(item.path)
        local = mlflow.artifacts.download_artifacts(run_id=run_ids[best_name], artifact_path="shap/shap_values.csv",
                                                    dst_path=str(out / "downloads"))  # fmt: skip
    else:
        listed = sorted(str(p.relative_to(out / "runs" / best_name)) for p in (out / "runs" / best_name).rglob("*.*"))
        local = out / "runs" / best_name / "shap" / "shap_values.csv"
    print("artifacts:", listed)
    save(plots.mean_abs_shap(pd.read_csv(local), "re-drawn"), plots_dir / "step4_shap_from_csv.png")

    # Step 5: two versions, default, lineage, batch inference.
    model_v1 = models[best_name]
    metrics_v1 = evaluate(model_v1, x_test, y_test)
    model_v2 = xgb(dict(V2_PARAMS), seed).fit(x_train, y_train)
    metrics_v2 = evaluate(model_v2, x_test, y_test)
    sample_input = x_train.head(10)
    comments = {"v1": f"best run {best_name} of {EXPERIMENT}; params {json.dumps(RUNS[best_name])}; f1 {metrics_v1['f1_score']:.3f}",
                "v2": f"retrained with {json.dumps(V2_PARAMS)} on CUSTOMER_FEATURES v2; f1 {metrics_v2['f1_score']:.3f}"}  # fmt: skip
    lineage = []
    better = "v2" if metrics_v2["f1_score"] >= metrics_v1["f1_score"] else "v1"
    if use_mlflow:
        from mlflow.models import infer_signature

        signature = infer_signature(sample_input)
        numbers = {}
        for tag, model, metrics, run_id in (
            ("v1", model_v1, metrics_v1, run_ids[best_name]),
            ("v2", model_v2, metrics_v2, None),
        ):
            with mlflow.start_run(run_id=run_id) if run_id else mlflow.start_run(run_name=f"{MODEL}_{tag}"):
                info_ = mlflow.xgboost.log_model(model, name="model", registered_model_name=MODEL,
                                                 input_example=sample_input, signature=signature)  # fmt: skip
            number = str(info_.registered_model_version)
            numbers[tag] = number
            client.update_model_version(MODEL, number, description=comments[tag])
            for key, value in metrics.items():
                client.set_model_version_tag(MODEL, number, f"metric.{key}", json.dumps(value))
            client.set_model_version_tag(MODEL, number, "training_set", "FEATURE_STORE.TRAINING_DATASET_V1")
            client.set_model_version_tag(MODEL, number, "feature_view", "CUSTOMER_FEATURES/v2")
        other = "v1" if better == "v2" else "v2"
        client.set_registered_model_alias(MODEL, "default", numbers[other])
        client.set_registered_model_alias(MODEL, "default", numbers[better])
        for mv in client.search_model_versions(f"name = '{MODEL}'"):
            mv = client.get_model_version(MODEL, mv.version)
            run = client.get_run(mv.run_id) if mv.run_id else None
            lineage.append({"MODEL_NAME": MODEL, "MODEL_VERSION": f"V{mv.version}", "FEATURE_VIEW_NAME": "CUSTOMER_FEATURES",
                            "FEATURE_VIEW_VERSION": "v2", "TRAINING_DATASET": mv.tags.get("training_set"),
                            "EXPERIMENT_NAME": EXPERIMENT, "RUN_NAME": run.info.run_name if run else None,
                            "RUN_ID": mv.run_id, "PARAMS": json.dumps(run.data.params if run else {}),
                            "ACCURACY": json.loads(mv.tags["metric.accuracy"]), "F1_SCORE": json.loads(mv.tags["metric.f1_score"]),
                            "CREATED_AT": datetime.fromtimestamp(mv.creation_timestamp / 1000)})  # fmt: skip
        loaded = mlflow.xgboost.load_model(f"models:/{MODEL}@default")
    else:
        models_dir = out / "models"
        models_dir.mkdir(parents=True, exist_ok=True)
        for tag, model, metrics in (("v1", model_v1, metrics_v1), ("v2", model_v2, metrics_v2)):
            model.save_model(models_dir / f"{tag}.json")
            (models_dir / f"{tag}.meta.json").write_text(json.dumps({"comment": comments[tag], "metrics": metrics}))
            lineage.append({"MODEL_NAME": MODEL, "MODEL_VERSION": tag.upper(), "FEATURE_VIEW_NAME": "CUSTOMER_FEATURES",
                            "FEATURE_VIEW_VERSION": "v2", "TRAINING_DATASET": "FEATURE_STORE.TRAINING_DATASET_V1",
                            "EXPERIMENT_NAME": EXPERIMENT if tag == "v1" else None, "RUN_NAME": best_name if tag == "v1" else None,
                            "RUN_ID": None, "PARAMS": json.dumps(RUNS[best_name] if tag == "v1" else V2_PARAMS),
                            "ACCURACY": metrics["accuracy"], "F1_SCORE": metrics["f1_score"], "CREATED_AT": datetime.now()})  # fmt: skip
        (models_dir / "default").write_text(better)
        from xgboost import XGBClassifier

        loaded = XGBClassifier()
        loaded.load_model(models_dir / f"{(models_dir / 'default').read_text()}.json")
    lineage_df = pd.DataFrame(lineage)
    con.execute("CREATE OR REPLACE TABLE MODEL_REGISTRY.MODEL_LINEAGE AS SELECT * FROM lineage_df")
    show("lineage", q("SELECT MODEL_VERSION, RUN_NAME, F1_SCORE FROM MODEL_REGISTRY.MODEL_LINEAGE ORDER BY 1"))
    risk_all = loaded.predict_proba(x_test)[:, 1]
    at_risk = pd.DataFrame(
        {"CUSTOMER_ID": ids_test.to_numpy(), "CHURN_RISK": risk_all, "PREDICTED": loaded.predict(x_test)}
    )
    at_risk = at_risk[at_risk["PREDICTED"] == 1].drop(columns="PREDICTED")
    risk = q("SELECT CUSTOMER_ID, SEGMENT, REGION FROM PREP_DATA.CUSTOMERS").merge(at_risk, on="CUSTOMER_ID")
    risk = risk.sort_values("CHURN_RISK", ascending=False)
    con.execute("CREATE OR REPLACE TABLE ANALYTICS.CHURN_RISK_CUSTOMERS AS SELECT * FROM risk")
    for column in ("SEGMENT", "REGION"):
        show(
            column,
            q(
                f"SELECT {column}, COUNT(*), AVG(CHURN_RISK) FROM ANALYTICS.CHURN_RISK_CUSTOMERS GROUP BY 1 ORDER BY 2 DESC"
            ),
        )
    # What the lab does with the model from SQL: score the whole training set, compare on the test rows.
    everything = pd.Series(
        loaded.predict_proba(data[list(features)].astype("float64"))[:, 1], index=data["CUSTOMER_ID"]
    )
    gap = float(np.max(np.abs(everything.loc[ids_test.to_numpy()].to_numpy() - risk_all)))
    print(f"whole-table scoring agrees (gap {gap:.2e})")
    con.close()
    return check_data(predictions, results, lineage_df, risk)


def check_data(predictions: Any, results: Any, lineage: Any, risk: Any) -> dict[str, Any]:
    """What benchmarks 1 and 2 compare between the kit's lab and the baselines."""
    return {
        "predictions": {
            r.CUSTOMER_ID: [int(r.PREDICTED_CHURN), float(r.CHURN_PROBABILITY)] for r in predictions.itertuples()
        },
        "runs": {r.RUN_NAME: [float(r.ACCURACY), float(r.F1_SCORE), float(r.ROC_AUC)] for r in results.itertuples()},
        "versions": sorted([float(r.ACCURACY), float(r.F1_SCORE)] for r in lineage.itertuples()),
        "churn_risk": {r.CUSTOMER_ID: float(r.CHURN_RISK) for r in risk.itertuples()},
    }


def compare(kit: dict[str, Any], other: dict[str, Any], tolerance: float = 1e-6) -> str:
    """'' when the lab results agree, else what differs."""
    problems = []
    if kit["predictions"].keys() != other["predictions"].keys():
        problems.append("test customers differ")
    else:
        for cid, (label, prob) in kit["predictions"].items():
            o_label, o_prob = other["predictions"][cid]
            if label != o_label or abs(prob - o_prob) > tolerance:
                problems.append(f"prediction for {cid}: {label}/{prob:.6f} vs {o_label}/{o_prob:.6f}")
                break
    for name, values in kit["runs"].items():
        theirs = other["runs"].get(name)
        if theirs is None or any(abs(a - b) > tolerance for a, b in zip(values, theirs, strict=True)):
            problems.append(f"run {name} metrics {values} vs {theirs}")
    if len(kit["versions"]) != len(other["versions"]) or any(
        abs(a - b) > tolerance
        for x, y in zip(kit["versions"], other["versions"], strict=False)
        for a, b in zip(x, y, strict=True)
    ):
        problems.append(f"version metrics {kit['versions']} vs {other['versions']}")
    if kit["churn_risk"].keys() != other["churn_risk"].keys() or any(
        abs(v - other["churn_risk"][k]) > tolerance for k, v in kit["churn_risk"].items()
    ):
        problems.append("churn-risk customers differ")
    return "; ".join(problems)
