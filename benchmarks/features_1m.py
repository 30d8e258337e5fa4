"""Benchmark 4: labels + feature views v1 and v2 + the training set for 1,000,000 customers (about six
million generated orders), the kit's DuckDB path vs the same computation in pandas.

Setup (not timed, its own process): the kit's generator (seed 42) makes CUSTOMERS and ORDERS,
``warehouse.write_table`` stores them in a home, and the frames are saved as Parquet for pandas.
Kit side, in a fresh process on a fresh copy of that home: ``create_table_as(CHURN_LABELS)``,
register the entity and feature views v1 and v2, ``generate_training_set(..., save_as=...)`` (which
also returns the rows as a DataFrame). pandas side, in a fresh process: read the Parquet (not
timed), then labels, v1, v2 and the training set with groupby/merge. The two training sets must be
equal (same customers, labels and seven features). Wall time is a median of 3 fresh processes for
the kit and of 2 runs for pandas (slow); peak memory is each process's own peak RSS.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import SEED, Config, Result, gib, median, repeat, run_child, say, secs

MAX_SECONDS, MAX_BYTES, MIN_SPEEDUP = 10.0, 3 * 2**30, 5.0


def setup(args: dict[str, Any]) -> dict[str, Any]:
    from mlops_kit import connect
    from mlops_kit.examples import churn_data
    from mlops_kit.examples.churn_sql import CUSTOMERS, ORDERS

    customers, orders = churn_data.generate(int(args["customers"]), SEED)
    backend = connect("local")
    backend.warehouse.create_schemas(["PREP_DATA", "FEATURE_STORE"])
    backend.warehouse.write_table(CUSTOMERS, customers)
    backend.warehouse.write_table(ORDERS, orders)
    customers.to_parquet(Path(args["parquet"]) / "customers.parquet")
    orders.to_parquet(Path(args["parquet"]) / "orders.parquet")
    return {"customers": len(customers), "orders": len(orders)}


def kit(args: dict[str, Any]) -> dict[str, Any]:
    from mlops_kit import connect
    from mlops_kit.examples import churn_sql as sql

    backend = connect("local")
    began = time.perf_counter()
    backend.warehouse.create_table_as(sql.CHURN_LABELS, sql.CHURN_LABELS_SQL)
    fs = backend.feature_store
    fs.register_entity("CUSTOMER", ["CUSTOMER_ID"], "A customer")
    fs.register_feature_view("CUSTOMER_FEATURES", "v1", ["CUSTOMER"], sql.FEATURES_V1_SQL, description="v1")
    v2 = fs.register_feature_view("CUSTOMER_FEATURES", "v2", ["CUSTOMER"], sql.FEATURES_V2_SQL, description="v2")
    ts = fs.generate_training_set(
        sql.SPINE_SQL, [v2], label_cols=["IS_CHURNED"], save_as="FEATURE_STORE.TRAINING_DATASET_V1"
    )
    seconds = time.perf_counter() - began
    ts.data.to_parquet(args["out"])
    return {"seconds": seconds, "rows": ts.row_count}


def pandas_features(customers: Any, orders: Any) -> tuple[Any, Any, Any, Any]:
    """Labels, v1, v2 and the training set, as a competent pandas user writes them."""
    import pandas as pd

    obs, h1, h2 = pd.Timestamp("2024-06-30"), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01")
    date = orders["ORDER_DATE"]
    in_h1 = orders.loc[(date >= h1) & (date <= obs), "CUSTOMER_ID"].unique()
    in_h2 = orders.loc[date >= h2, "CUSTOMER_ID"].unique()
    labels = pd.DataFrame({"CUSTOMER_ID": in_h1})
    labels["IS_CHURNED"] = (~labels["CUSTOMER_ID"].isin(in_h2)).astype("int32")

    past = orders[date <= obs]
    past = past.assign(
        H1_AMOUNT=past["ORDER_AMOUNT"].where(past["ORDER_DATE"] >= h1, 0.0),
        IS_H1=(past["ORDER_DATE"] >= h1).astype("int64"),
        IS_RETURNED=(past["STATUS"] == "RETURNED").astype("int64"),
    )
    agg = past.groupby("CUSTOMER_ID", sort=False).agg(
        LAST_ORDER=("ORDER_DATE", "max"),
        TOTAL_ORDER_COUNT=("ORDER_ID", "count"),
        TOTAL_ORDER_AMOUNT=("ORDER_AMOUNT", "sum"),
        AVG_ORDER_AMOUNT=("ORDER_AMOUNT", "mean"),
        ORDER_COUNT_2024_H1=("IS_H1", "sum"),
        TOTAL_AMOUNT_2024_H1=("H1_AMOUNT", "sum"),
        RETURNS=("IS_RETURNED", "sum"),
    )
    v2 = customers[["CUSTOMER_ID"]].merge(agg, left_on="CUSTOMER_ID", right_index=True, how="left")
    v2["DAYS_SINCE_LAST_ORDER"] = (obs - v2.pop("LAST_ORDER")).dt.days
    v2["RETURN_RATE"] = v2.pop("RETURNS") / v2["TOTAL_ORDER_COUNT"]
    v2 = v2.fillna(0)
    v1_cols = [
        "DAYS_SINCE_LAST_ORDER",
        "TOTAL_ORDER_COUNT",
        "TOTAL_ORDER_AMOUNT",
        "AVG_ORDER_AMOUNT",
        "ORDER_COUNT_2024_H1",
    ]
    v2 = v2[["CUSTOMER_ID", *v1_cols, "TOTAL_AMOUNT_2024_H1", "RETURN_RATE"]]
    v1 = v2[["CUSTOMER_ID", *v1_cols]]
    training = labels.merge(v2, on="CUSTOMER_ID", how="left")
    return labels, v1, v2, training


def pandas_side(args: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    def load(name: str) -> pd.DataFrame:  # plain numpy/object dtypes, as pandas users usually hold them
        frame = pd.read_parquet(Path(args["parquet"]) / name)
        for column in frame.columns:
            if "DATE" in column:
                frame[column] = frame[column].astype("datetime64[ns]")
            elif frame[column].dtype != "float64":
                frame[column] = frame[column].astype(str)
        return frame

    customers, orders = load("customers.parquet"), load("orders.parquet")
    times, training = [], None
    for _ in range(int(args["runs"])):
        began = time.perf_counter()
        _, _, _, training = pandas_features(customers, orders)
        times.append(time.perf_counter() - began)
    training.to_parquet(args["out"])
    return {"times": times, "rows": len(training)}


def compare(kit_file: str, pandas_file: str) -> str:
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(kit_file).sort_values("CUSTOMER_ID").reset_index(drop=True)
    b = pd.read_parquet(pandas_file).sort_values("CUSTOMER_ID").reset_index(drop=True)
    if (
        len(a) != len(b)
        or not (a["CUSTOMER_ID"].astype(str).to_numpy() == b["CUSTOMER_ID"].astype(str).to_numpy()).all()
    ):
        return f"different customers ({len(a):,} vs {len(b):,} rows)"
    for column in b.columns[1:]:
        if not np.allclose(a[column].astype("float64"), b[column].astype("float64"), rtol=1e-9, atol=1e-6):
            return f"column {column} differs"
    return ""


def run(cfg: Config) -> Result:
    customers = 50_000 if cfg.quick else 1_000_000
    kit_runs, pandas_runs = (1, 1) if cfg.quick else (3, 2)
    base = cfg.scratch("features")
    prepared, parquet = base / "prepared", base / "parquet"
    parquet.mkdir()
    say(f"    setup: generate {customers:,} customers, write_table, Parquet (not timed)")
    made = run_child(cfg, "features_1m:setup", {"customers": customers, "parquet": str(parquet)}, home=prepared)
    say(f"    {made.value['customers']:,} customers, {made.value['orders']:,} orders")
    rss: list[int] = []

    def kit_once(i: int) -> float:
        home = base / f"kit_{i}"
        shutil.copytree(prepared, home)
        child = run_child(cfg, "features_1m:kit", {"out": str(base / "kit.parquet")}, home=home)
        shutil.rmtree(home, ignore_errors=True)
        rss.append(child.peak_rss)
        return child.value["seconds"]

    kit_times = repeat("kit", kit_runs, 0 if cfg.quick else 1, kit_once)
    say(f"    pandas: {pandas_runs} run(s) in one process")
    p = run_child(
        cfg,
        "features_1m:pandas_side",
        {"parquet": str(parquet), "runs": pandas_runs, "out": str(base / "pandas.parquet")},
    )
    kt, pt = median(kit_times), median(p.value["times"])
    problem = compare(str(base / "kit.parquet"), str(base / "pandas.parquet"))
    speedup = pt / kt
    peak = max(rss)
    say(f"    kit {kt:.2f}s peak {gib(peak)}; pandas {pt:.2f}s peak {gib(p.peak_rss)}; kit/pandas {kt / pt:.3f}")
    met = kt <= MAX_SECONDS and peak <= MAX_BYTES and speedup >= MIN_SPEEDUP
    return Result(
        4,
        f"labels + feature views v1/v2 + training set, {customers:,} customers ({made.value['orders']:,} orders)",
        f"{secs(kt)}, peak {gib(peak)}",
        f"{secs(pt)}, peak {gib(p.peak_rss)} pandas",
        None if problem else kt / pt,
        f"≤ {MAX_SECONDS:.0f} s, ≤ 3 GiB, ≥ {MIN_SPEEDUP:.0f}× faster",
        None if problem else met,
        problem or f"same training set ({p.value['rows']:,} rows, 7 features, labels)",
        f"kit: median of {kit_runs} fresh processes{'' if cfg.quick else ' after 1 warm-up'}; pandas: median of {pandas_runs}; "
        f"speed-up {speedup:.1f}×",
    )
