"""Benchmark 2: the same lab vs the lab written on MLflow's defaults (``plain_lab.py`` with
``tracking="mlflow"``: fluent API, one ``log_metric`` per metric, ``log_model`` inferring its
requirements). Same processes, homes and checks as benchmark 1 (the kit's runs are shared)."""

from __future__ import annotations

from benchmarks._harness import Config, Result, gib, say, secs
from benchmarks.lab_vs_plain import measure, sizes
from benchmarks.plain_lab import compare

TARGET = 0.5


def run(cfg: Config) -> Result:
    kit, other = measure(cfg, "kit"), measure(cfg, "mlflow")
    problem = compare(kit["check"], other["check"])
    ratio = kit["seconds"] / other["seconds"]
    customers, runs, _ = sizes(cfg)
    say(f"    kit {kit['seconds']:.2f}s, MLflow defaults {other['seconds']:.2f}s, ratio {ratio:.2f}")
    return Result(
        2,
        f"whole local lab, {customers:,} customers, vs MLflow defaults",
        f"{secs(kit['seconds'])} ({gib(kit['rss'])})",
        f"{secs(other['seconds'])} ({gib(other['rss'])}) MLflow fluent API",
        None if problem else ratio,
        f"≤ {TARGET}×",
        None if problem else ratio <= TARGET,
        problem or "same predictions, run metrics, version metrics, churn-risk rows",
        f"median of {runs} fresh processes" + (" after 1 warm-up" if runs > 1 else "")
        + f", run in rotation; CPU s kit {kit['cpu']:.1f} vs {other['cpu']:.1f} ({kit['cpu'] / other['cpu']:.2f}×)",
    )
