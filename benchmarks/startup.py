"""Benchmark 6: start-up cost. ``mlops-kit --help``, ``python -c "import mlops_kit"`` and the read
commands a user types after the lab (``features``, ``runs``, ``models list``, ``lineage``, on a
store the lab filled: 3,000 customers, 300 in --quick) vs ``python -c pass``. Each is a fresh
process, wall time from the parent; median of 10 (5 in --quick) after 2 warm-ups, all interleaved
so background load hits them alike. The figure is the time over the bare interpreter. Checks:
``--help`` lists the commands, the import succeeds, each read command exits 0 with what the lab
made in its output."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import SEED, Config, Result, child_env, median, run_child, say

TARGET_HELP, TARGET_IMPORT, TARGET_READ = 0.5, 0.2, 1.0
EXPERIMENT, MODEL = "CHURN_PREDICTION_EXPERIMENT", "CUSTOMER_CHURN_PREDICTOR"
#: read command -> (its arguments, a text its output must hold)
READS: dict[str, tuple[list[str], str]] = {
    "features": (["features"], "CUSTOMER_FEATURES"),
    "runs": (["runs", EXPERIMENT], "CONSERVATIVE"),
    "models list": (["models", "list", MODEL], "V2"),
    "lineage": (["lineage", MODEL, "V1"], "CUSTOMER_FEATURES/v2"),
}


def run(cfg: Config) -> Result:
    script = Path(sys.executable).parent / "mlops-kit"
    kit = [str(script)] if script.exists() else [sys.executable, "-m", "mlops_kit.cli"]
    home = cfg.scratch("startup")
    customers = 300 if cfg.quick else 3000
    say(f"    filling a store with the lab ({customers:,} customers) for the read commands")
    run_child(cfg, "lab_vs_plain:run_kit", {"customers": customers, "seed": SEED, "out_dir": str(home / "out")}, home)
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "import": [sys.executable, "-c", "import mlops_kit"],
        "help": [*kit, "--help"],
        **{name: [*kit, *args] for name, (args, _) in READS.items()},
    }
    env = child_env(home)
    runs = 5 if cfg.quick else 10
    times: dict[str, list[float]] = {k: [] for k in commands}
    outputs: dict[str, subprocess.CompletedProcess] = {}
    for i in range(runs + 2):
        for name, command in commands.items():
            began = time.perf_counter()
            outputs[name] = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cfg.work)
            if i >= 2:
                times[name].append(time.perf_counter() - began)
    t = {k: median(v) for k, v in times.items()}
    over = {k: t[k] - t["bare"] for k in t}
    failed = [
        name
        for name, (_, expect) in READS.items()
        if outputs[name].returncode != 0 or expect not in outputs[name].stdout
    ]
    help_ok = outputs["help"].returncode == 0 and "lab" in outputs["help"].stdout and outputs["import"].returncode == 0
    ok = help_ok and not failed
    reads = ", ".join(f"{name} {t[name]:.2f} s (+{over[name]:.2f})" for name in READS)
    say(
        f"    bare {t['bare']:.3f}s, import {t['import']:.3f}s (+{over['import']:.3f}), --help {t['help']:.3f}s (+{over['help']:.3f})"
    )
    say(f"    read commands: {reads}")
    slowest = max(READS, key=lambda name: over[name])
    met = over["help"] <= TARGET_HELP and over["import"] <= TARGET_IMPORT and over[slowest] <= TARGET_READ
    problems = [f"{name}: {outputs[name].stderr.strip()[-200:] or 'output lacks ' + READS[name][1]}" for name in failed]
    return Result(
        6,
        "start-up: `mlops-kit --help`, `import mlops_kit`, the read commands on the lab's store",
        f"--help {t['help']:.3f} s (+{over['help']:.3f}); import {t['import']:.3f} s (+{over['import']:.3f}); "
        f"slowest read `{slowest}` {t[slowest]:.2f} s (+{over[slowest]:.2f})",
        f"{t['bare']:.3f} s `python -c pass`",
        t["help"] / t["bare"] if ok else None,
        f"+≤ {TARGET_HELP} s (--help), +≤ {TARGET_IMPORT} s (import), +≤ {TARGET_READ} s (each read command) over the bare interpreter",
        met if ok else None,
        "--help lists the commands, import succeeds, each read command shows the lab's objects"
        if ok
        else "FAILED: " + ("; ".join(problems) or outputs["help"].stderr[-300:]),
        f"read commands on {customers:,} customers: {reads}; median of {runs} after 2 warm-ups, interleaved; "
        "ratio is --help/bare",
        extra={name: t[name] for name in t},
    )
