"""Benchmark 5: batch scoring 1,000,000 rows through the registry (load the default version, predict)
and through SQL in DuckDB, vs raw ``XGBClassifier.predict_proba`` on the same array.

Setup (not timed, its own process, fresh home): the lab's data (3,000 customers, seed 42) gives the
training set; an XGBoost model with the lab's v2 parameters is registered as the default version and
also saved as XGBoost JSON for the raw side. Then the generator makes 1,000,000 customers and their
feature view v2 rows are stored as table ``PREP_DATA.SCORING``.
Measured (one fresh process, the three interleaved, 1 warm-up + 5 runs each):
- raw: ``model.predict_proba(X)`` on the float64 array (model loaded beforehand);
- registry: a new ``connect()`` then ``registry.predict(MODEL, df, function="predict_proba")``, so
  every call resolves the default version and loads the model from the MLflow store;
- SQL: ``warehouse.query("SELECT MODEL!PREDICT_PROBA(...)['output_feature_1'] FROM PREP_DATA.SCORING")``.
Checks: registry and SQL probabilities equal the raw ones (to 1e-6) for every customer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks._harness import SEED, Config, Result, median, run_child, say

MODEL = "CHURN_SCORER"
TARGET_REGISTRY, TARGET_SQL = 0.8, 0.5


def setup(args: dict[str, Any]) -> dict[str, Any]:
    from mlops_kit import connect
    from mlops_kit.examples import churn_data
    from mlops_kit.examples import churn_sql as sql
    from mlops_kit.examples.churn_ml import xgb
    from mlops_kit.examples.churn_workflow import V2_PARAMS

    backend = connect("local")
    wh, fs = backend.warehouse, backend.feature_store
    wh.create_schemas(["PREP_DATA", "FEATURE_STORE"])
    customers, orders = churn_data.generate(3000, SEED)
    wh.write_table(sql.CUSTOMERS, customers)
    wh.write_table(sql.ORDERS, orders)
    wh.create_table_as(sql.CHURN_LABELS, sql.CHURN_LABELS_SQL)
    fs.register_entity("CUSTOMER", ["CUSTOMER_ID"])
    v2 = fs.register_feature_view("CUSTOMER_FEATURES", "v2", ["CUSTOMER"], sql.FEATURES_V2_SQL)
    ts = fs.generate_training_set(sql.SPINE_SQL, [v2], label_cols=["IS_CHURNED"])
    features = list(ts.feature_columns)
    x = ts.data[features].astype("float64")
    model = xgb(dict(V2_PARAMS), SEED).fit(x, ts.data["IS_CHURNED"].astype("int64"))
    backend.registry.log_model(MODEL, "v1", model, sample_input=x.head(10))
    model.save_model(Path(args["raw_model"]))
    big_customers, big_orders = churn_data.generate(int(args["rows"]), SEED + 1)
    wh.write_table(sql.CUSTOMERS, big_customers)
    wh.write_table(sql.ORDERS, big_orders)
    rows = wh.create_table_as("PREP_DATA.SCORING", sql.FEATURES_V2_SQL)
    return {"features": features, "rows": rows}


def measure(args: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    from xgboost import XGBClassifier

    from mlops_kit import connect

    features = args["features"]
    backend = connect("local")
    df = backend.warehouse.query("SELECT * FROM PREP_DATA.SCORING")
    frame = df[features].astype("float64")
    array = frame.to_numpy()
    raw = XGBClassifier()
    raw.load_model(args["raw_model"])
    sql = f"SELECT {MODEL}!PREDICT_PROBA({', '.join(features)})['output_feature_1'] AS P FROM PREP_DATA.SCORING"

    def via_raw() -> Any:
        return raw.predict_proba(array)[:, 1]

    def via_registry() -> Any:
        return connect("local").registry.predict(MODEL, frame, function="predict_proba")["output_feature_1"].to_numpy()

    def via_sql() -> Any:
        return backend.warehouse.query(sql)["P"].to_numpy()

    times: dict[str, list[float]] = {"raw": [], "registry": [], "sql": []}
    out: dict[str, Any] = {}
    for i in range(int(args["runs"]) + 1):
        for name, call in (("raw", via_raw), ("registry", via_registry), ("sql", via_sql)):
            began = time.perf_counter()
            out[name] = call()
            if i:
                times[name].append(time.perf_counter() - began)
    # Checks: the same probabilities for every row (SQL rows matched by customer id, not by order).
    expected = out["raw"]
    keyed = backend.warehouse.query(sql.replace("SELECT ", "SELECT CUSTOMER_ID, ", 1))
    by_id = dict(zip(df["CUSTOMER_ID"], expected, strict=True))
    sql_gap = float(np.max(np.abs(keyed["P"].to_numpy() - np.array([by_id[c] for c in keyed["CUSTOMER_ID"]]))))
    return {
        "times": times,
        "rows": len(array),
        "registry_gap": float(np.max(np.abs(out["registry"] - expected))),
        "sql_gap": sql_gap,
        "sql_rows": len(out["sql"]),
    }


def run(cfg: Config) -> Result:
    rows = 50_000 if cfg.quick else 1_000_000
    runs = 2 if cfg.quick else 5
    home = cfg.scratch("scoring")
    say(f"    setup: register a model, generate {rows:,} rows to score (not timed)")
    made = run_child(
        cfg, "batch_scoring:setup", {"rows": rows, "raw_model": str(home / "raw.json")}, home=home / "home"
    )
    m = run_child(
        cfg,
        "batch_scoring:measure",
        {"features": made.value["features"], "runs": runs, "raw_model": str(home / "raw.json")},
        home=home / "home",
    )
    t = {k: median(v) for k, v in m.value["times"].items()}
    n = m.value["rows"]
    thr = {k: n / v for k, v in t.items()}
    reg_ratio, sql_ratio = thr["registry"] / thr["raw"], thr["sql"] / thr["raw"]
    ok = m.value["registry_gap"] <= 1e-6 and m.value["sql_gap"] <= 1e-6 and m.value["sql_rows"] == n
    say(
        f"    rows/s raw {thr['raw']:,.0f}, registry {thr['registry']:,.0f} ({reg_ratio:.2f}), SQL {thr['sql']:,.0f} ({sql_ratio:.2f})"
    )
    return Result(
        5,
        f"batch scoring {n:,} rows (throughput, kit/raw)",
        f"registry {thr['registry']:,.0f} rows/s; SQL {thr['sql']:,.0f} rows/s",
        f"{thr['raw']:,.0f} rows/s raw predict_proba",
        reg_ratio if ok else None,
        f"registry ≥ {TARGET_REGISTRY}×, SQL ≥ {TARGET_SQL}×",
        (reg_ratio >= TARGET_REGISTRY and sql_ratio >= TARGET_SQL) if ok else None,
        f"same probabilities for all rows (max gap registry {m.value['registry_gap']:.1e}, SQL {m.value['sql_gap']:.1e})"
        if ok
        else f"DIFFER: {m.value}",
        f"SQL/raw {sql_ratio:.2f}×; median of {runs} after 1 warm-up, interleaved in one process; registry time includes resolving "
        "and loading the default version",
    )
