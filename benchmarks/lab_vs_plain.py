"""Benchmark 1: the whole local lab (3,000 customers, from an empty local home) vs a plain script
doing the same computations with no kit, no tracking and no registry (``plain_lab.py``).

Both are timed from interpreter start to the end of the lab (imports included: they are part of
what each costs), each run in a fresh process with a fresh home. Before the ratio is reported the
two must agree on the test-set predictions, the three runs' metrics, both versions' metrics and
the churn-risk customers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks._harness import SEED, Config, Result, gib, median, run_child, say, secs
from benchmarks.plain_lab import compare

TARGET = 1.25
_cache: dict[tuple[str, bool], dict[str, Any]] = {}


def run_kit(args: dict[str, Any]) -> dict[str, Any]:
    """Child entry: the kit's lab as ``churn_workflow.run`` runs it; then what the checks compare."""
    from mlops_kit import connect
    from mlops_kit.examples import churn_workflow as lab
    from mlops_kit.examples.churn_sql import CUSTOMERS  # noqa: F401

    backend = connect("local")
    lab.run(
        backend, lab.Options(customers=int(args["customers"]), seed=int(args["seed"]), out_dir=Path(args["out_dir"]))
    )
    seconds = time.perf_counter() - args["t0"]
    from benchmarks.plain_lab import check_data

    wh = backend.warehouse
    return {
        "seconds": seconds,
        "check": check_data(
            wh.query(f"SELECT * FROM {lab.PREDICTIONS}"),
            wh.query(f"SELECT * FROM {lab.EXPERIMENT_RESULTS}"),
            wh.query(f"SELECT * FROM {lab.MODEL_LINEAGE}"),
            wh.query(f"SELECT * FROM {lab.CHURN_RISK}"),
        ),
    }


def sizes(cfg: Config) -> tuple[int, int, int]:
    """customers, measured runs, warm-ups"""
    return (300, 1, 0) if cfg.quick else (3000, 3, 1)


def measure(cfg: Config, kind: str) -> dict[str, Any]:
    """Median seconds, CPU seconds and peak RSS of one lab implementation ('kit', 'plain', 'mlflow'),
    each run in a fresh process on a fresh home. The implementations that benchmarks 1 and 2 need
    are run in rotation (kit, plain, mlflow, kit, ...), so background load hits them alike; the
    results are cached so the two benchmarks share the kit's runs."""
    key = (kind, cfg.quick)
    if key in _cache:
        return _cache[key]
    kinds = ["kit"]
    if 1 in cfg.selected or not cfg.selected or kind == "plain":
        kinds.append("plain")
    if 2 in cfg.selected or kind == "mlflow":
        kinds.append("mlflow")
    customers, runs, warmup = sizes(cfg)
    seen: dict[str, dict[str, list[Any]]] = {k: {"times": [], "cpu": [], "rss": [], "check": []} for k in kinds}
    for i in range(warmup + runs):
        for k in kinds:
            home = cfg.scratch(f"lab_{k}")
            args = {"customers": customers, "seed": SEED, "out_dir": str(home / "out"), "home": str(home)}
            if k == "kit":
                child = run_child(cfg, "lab_vs_plain:run_kit", args, home=home / "kit_home")
            else:
                tracking = "none" if k == "plain" else "mlflow"
                child = run_child(cfg, "plain_lab:run", {**args, "tracking": tracking}, home=home / "unused")
            seconds = child.value["seconds"]
            tag = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
            say(f"    {k} lab ({customers:,} customers): {tag} {seconds:.2f}s wall, {child.cpu:.1f}s CPU")
            if i >= warmup:
                seen[k]["times"].append(seconds)
                seen[k]["cpu"].append(child.cpu)
            seen[k]["rss"].append(child.peak_rss)
            seen[k]["check"].append(child.value["check"])
    for k in kinds:
        _cache[(k, cfg.quick)] = {
            "seconds": median(seen[k]["times"]),
            "cpu": median(seen[k]["cpu"]),
            "runs": runs,
            "rss": max(seen[k]["rss"]),
            "check": seen[k]["check"][-1],
        }
    return _cache[key]


def run(cfg: Config) -> Result:
    return lab_result(cfg, 1, "plain", "empty home", "plain script", TARGET)


def lab_result(cfg: Config, number: int, baseline: str, title: str, label: str, target: float) -> Result:
    """The kit's lab against one baseline implementation (shared by benchmarks 1 and 2)."""
    kit, other = measure(cfg, "kit"), measure(cfg, baseline)
    problem = compare(kit["check"], other["check"])
    ratio = kit["seconds"] / other["seconds"]
    customers, runs, _ = sizes(cfg)
    say(f"    kit {kit['seconds']:.2f}s, {label} {other['seconds']:.2f}s, ratio {ratio:.2f}")
    return Result(
        number,
        f"whole local lab, {customers:,} customers, {title}",
        f"{secs(kit['seconds'])} ({gib(kit['rss'])})",
        f"{secs(other['seconds'])} ({gib(other['rss'])}) {label}",
        None if problem else ratio,
        f"≤ {target}×",
        None if problem else ratio <= target,
        problem or "same predictions, run metrics, version metrics, churn-risk rows",
        f"median of {runs} fresh processes"
        + (" after 1 warm-up" if runs > 1 else "")
        + f", run in rotation; CPU s kit {kit['cpu']:.1f} vs {other['cpu']:.1f} ({kit['cpu'] / other['cpu']:.2f}×)",
    )
