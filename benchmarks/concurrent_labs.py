"""Benchmark 8: four labs started together on one fresh local home; then, once all have ended, one
round of checks: the DuckDB file opens and holds the lab's tables, MLflow lists the three runs and
the model with its two versions. For comparison, the same lab on MLflow's defaults (``plain_lab``
with ``tracking="mlflow"``), four processes started together on one fresh SQLite store (each with
its own DuckDB file, so only MLflow is shared). --quick: 2 kit labs of 300 customers, and no MLflow
comparison (it is the slowest part)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks._harness import SEED, Config, Result, finish, run_child, say, spawn
from mlops_kit.connect import DEFAULT_DATABASE


def check_kit(args: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.home import LocalPaths, resolve_home
    from mlops_kit.examples import churn_workflow as lab

    paths = LocalPaths(resolve_home(), DEFAULT_DATABASE)
    problems = []
    con = duckdb.connect(str(paths.duckdb_file), read_only=True)
    tables = {
        f"{s}.{t}".upper()
        for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    con.close()
    missing = [t for t in (*lab.LAB_TABLES, lab.TRAINING_SET) if t.upper() not in tables]
    if missing:
        problems.append(f"tables missing: {missing}")
    client = MlflowClient(tracking_uri=paths.tracking_uri, registry_uri=paths.registry_uri)
    experiment = client.get_experiment_by_name(lab.EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    names = sorted(r.info.run_name for r in runs)
    if names != sorted([*lab.RUNS, lab.V2_RUN]):
        problems.append(f"runs {names}")
    versions = client.search_model_versions(f"name = '{lab.MODEL}'")
    if len(versions) != 2:
        problems.append(f"{len(versions)} model versions")
    return {"problems": problems, "runs": len(runs), "versions": len(versions), "tables": len(tables)}


def check_mlflow(args: dict[str, Any]) -> dict[str, Any]:
    from mlflow import MlflowClient

    from mlops_kit.examples import churn_workflow as lab

    try:  # labs racing to create the store can leave it half-migrated: then it does not open at all
        client = MlflowClient(tracking_uri=args["uri"])
        experiment = client.get_experiment_by_name(lab.EXPERIMENT)
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        versions = client.search_model_versions(f"name = '{lab.MODEL}'")
    except Exception as exc:  # noqa: BLE001 - the baseline's outcome, reported, not a benchmark failure
        return {"runs": 0, "versions": 0, "unreadable": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
    return {"runs": len(runs), "versions": len(versions)}


def _first_error(log: Path, since: int) -> str:
    text = log.read_text(errors="replace")[since:]
    lines = [line for line in text.splitlines() if "Error" in line or "error" in line.lower()[:8]]
    return lines[-1].strip()[:160] if lines else ""


def run(cfg: Config) -> Result:
    n, customers = (2, 300) if cfg.quick else (4, 3000)
    home = cfg.scratch("concurrent")
    say(f"    {n} kit labs together on {home / 'kit_home'}")
    began = time.perf_counter()
    procs = [
        spawn(
            cfg,
            "lab_vs_plain:run_kit",
            {"customers": customers, "seed": SEED, "out_dir": str(home / f"out_{i}")},
            home / "kit_home",
        )
        for i in range(n)
    ]
    kit_children = [finish(p, check=False) for p in procs]
    kit_wall = time.perf_counter() - began
    kit_ok = sum(c.returncode == 0 for c in kit_children)
    checked = run_child(cfg, "concurrent_labs:check_kit", {}, home=home / "kit_home").value
    say(f"    kit: {kit_ok}/{n} succeeded in {kit_wall:.0f}s; stores: {checked}")

    intact = not checked["problems"]
    if cfg.quick:
        return Result(
            8,
            f"{n} labs started together on a fresh local home ({customers:,} customers)",
            f"{kit_ok} of {n} succeeded in {kit_wall:.0f} s; stores {'intact' if intact else 'BROKEN'}",
            "(plain MLflow: full run only)",
            None,
            f"{n} of {n} succeed, stores intact",
            kit_ok == n and intact,
            "DuckDB file opens with the lab's tables; 4 runs; model with 2 versions"
            if intact
            else "; ".join(checked["problems"]),
            "the kit runs the labs one at a time (a lock per home)",
        )
    store = home / "mlflow_store"
    store.mkdir()
    say(f"    {n} MLflow-defaults labs together on one fresh SQLite store")
    size = cfg.log.stat().st_size
    began = time.perf_counter()
    procs = []
    for i in range(n):
        db_dir = home / f"mlflow_db_{i}"
        db_dir.mkdir()
        args = {"customers": customers, "seed": SEED, "out_dir": str(home / f"mlflow_out_{i}"), "home": str(store),
                "db_dir": str(db_dir), "tracking": "mlflow"}  # fmt: skip
        procs.append(spawn(cfg, "plain_lab:run", args, store))
    ml_children = [finish(p, check=False) for p in procs]
    ml_wall = time.perf_counter() - began
    ml_ok = sum(c.returncode == 0 for c in ml_children)
    error = _first_error(cfg.log, size) if ml_ok < n else ""
    ml_store = run_child(cfg, "concurrent_labs:check_mlflow", {"uri": f"sqlite:///{store / 'mlflow.db'}"}).value
    say(f"    MLflow: {ml_ok}/{n} succeeded in {ml_wall:.0f}s; store {ml_store}; {error}")
    return Result(
        8,
        f"{n} labs started together on a fresh local home ({customers:,} customers)",
        f"{kit_ok} of {n} succeeded in {kit_wall:.0f} s; stores {'intact' if intact else 'BROKEN'}",
        f"{ml_ok} of {n} succeeded in {ml_wall:.0f} s plain MLflow ("
        + (
            f"store unreadable: {ml_store['unreadable']}"
            if "unreadable" in ml_store
            else f"store: {ml_store['runs']} runs, {ml_store['versions']} versions"
        )
        + ")",
        None,
        f"{n} of {n} succeed, stores intact",
        kit_ok == n and intact,
        "DuckDB file opens with the lab's tables; 4 runs; model with 2 versions"
        if intact
        else "; ".join(checked["problems"]),
        (f"MLflow failure: {error}" if error else "") + "; the kit runs the labs one at a time (a lock per home)",
    )
