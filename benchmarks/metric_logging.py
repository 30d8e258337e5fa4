"""Benchmark 7: 10,000 metric points logged through the kit's Tracker vs MLflow's own
``MlflowClient.log_batch`` on the same store (the kit's SQLite ``mlflow.db`` in a fresh home).

Two shapes, both 10,000 points, each run into a fresh run of the same experiment:
- bulk: one call with 10,000 metrics (the kit: ``tracker.log_metrics(dict)``; MLflow: ``log_batch``
  in chunks of 1,000, its per-call limit);
- per step: 1,000 steps x 10 metrics (the kit: ``tracker.log_metrics(dict, step=s)``; MLflow:
  ``log_batch`` with 10 ``Metric`` objects per step).
One process; median of 3 (2 in --quick) after 1 warm-up, kit and MLflow alternating. The reported
ratio is the larger of the two shapes. Check: every run holds the same (key, step, value) points.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks._harness import Config, Result, median, run_child, say

TARGET = 1.2


def measure(args: dict[str, Any]) -> dict[str, Any]:
    from mlflow.entities import Metric

    from mlops_kit import connect

    backend = connect("local")
    tracker, client = backend.tracker, backend.raw["mlflow"].client
    tracker.set_experiment("BENCH_METRICS")
    experiment_id = client.get_experiment_by_name("BENCH_METRICS").experiment_id
    n = int(args["points"])
    bulk = {f"m_{i:05d}": i / 7 for i in range(n)}
    steps = [{f"loss_{j}": (s * 10 + j) / 13 for j in range(10)} for s in range(n // 10)]

    def kit_bulk() -> None:
        tracker.log_metrics(bulk)

    def kit_steps() -> None:
        for s, values in enumerate(steps):
            tracker.log_metrics(values, step=s)

    def mlflow_bulk(run_id: str) -> None:
        now = int(time.time() * 1000)
        points = [Metric(k, v, now, 0) for k, v in bulk.items()]
        for i in range(0, len(points), 1000):
            client.log_batch(run_id, metrics=points[i : i + 1000])

    def mlflow_steps(run_id: str) -> None:
        for s, values in enumerate(steps):
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(k, v, now, s) for k, v in values.items()])

    times: dict[str, list[float]] = {"kit_bulk": [], "mlflow_bulk": [], "kit_steps": [], "mlflow_steps": []}
    points: dict[str, Any] = {}
    for i in range(int(args["runs"]) + 1):
        for name in times:
            run_name = f"{name}_{i}"
            if name.startswith("kit"):
                with tracker.start_run(run_name):
                    ref = tracker.active_run
                    began = time.perf_counter()
                    (kit_bulk if name == "kit_bulk" else kit_steps)()
                    seconds = time.perf_counter() - began
                run_id = ref.run_id
            else:
                run_id = client.create_run(experiment_id, run_name=run_name).info.run_id
                began = time.perf_counter()
                (mlflow_bulk if name == "mlflow_bulk" else mlflow_steps)(run_id)
                seconds = time.perf_counter() - began
                client.set_terminated(run_id)
            if i:
                times[name].append(seconds)
            if i == 1:
                keys = list(bulk) if "bulk" in name else [f"loss_{j}" for j in range(10)]
                history = sorted((m.key, m.step, m.value) for k in keys for m in client.get_metric_history(run_id, k))
                points[name] = history
    same_bulk = points["kit_bulk"] == points["mlflow_bulk"] and len(points["kit_bulk"]) == n
    same_steps = points["kit_steps"] == points["mlflow_steps"] and len(points["kit_steps"]) == n
    return {"points": n, "times": times, "same_bulk": same_bulk, "same_steps": same_steps}


def run(cfg: Config) -> Result:
    runs, points = (1, 1_000) if cfg.quick else (3, 10_000)
    m = run_child(cfg, "metric_logging:measure", {"runs": runs, "points": points}, home=cfg.scratch("metrics"))
    t = {k: median(v) for k, v in m.value["times"].items()}
    bulk, steps = t["kit_bulk"] / t["mlflow_bulk"], t["kit_steps"] / t["mlflow_steps"]
    ok = m.value["same_bulk"] and m.value["same_steps"]
    ratio = max(bulk, steps)
    say(
        f"    bulk kit {t['kit_bulk']:.3f}s vs {t['mlflow_bulk']:.3f}s ({bulk:.2f}); per step kit {t['kit_steps']:.2f}s vs {t['mlflow_steps']:.2f}s ({steps:.2f})"
    )
    return Result(
        7,
        f"{points:,} metric points through the Tracker",
        f"bulk {t['kit_bulk']:.3f} s; {points // 10:,} steps x 10: {t['kit_steps']:.2f} s",
        f"bulk {t['mlflow_bulk']:.3f} s; per step {t['mlflow_steps']:.2f} s MLflow log_batch",
        ratio if ok else None,
        f"≤ {TARGET}×",
        ratio <= TARGET if ok else None,
        f"same {points:,} (key, step, value) points in both shapes" if ok else "POINTS DIFFER",
        f"bulk {bulk:.2f}×, per step {steps:.2f}× (ratio shown: the worse); median of {runs} after 1 warm-up",
    )
