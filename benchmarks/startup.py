"""Benchmark 6: start-up cost. ``mlops-kit --help`` and ``python -c "import mlops_kit"`` vs
``python -c pass``, each a fresh process, wall time from the parent; median of 10 (5 in --quick)
after 2 warm-ups, the three interleaved so background load hits them alike. The figure is the time
over the bare interpreter. Check: ``--help`` exits 0 and prints the commands; the import exits 0."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import Config, Result, child_env, median, say

TARGET_HELP, TARGET_IMPORT = 0.5, 0.2


def run(cfg: Config) -> Result:
    script = Path(sys.executable).parent / "mlops-kit"
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "import": [sys.executable, "-c", "import mlops_kit"],
        "help": [str(script), "--help"] if script.exists() else [sys.executable, "-m", "mlops_kit.cli", "--help"],
    }
    env = child_env(cfg.scratch("startup"))
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
    over_help, over_import = t["help"] - t["bare"], t["import"] - t["bare"]
    ok = outputs["help"].returncode == 0 and "lab" in outputs["help"].stdout and outputs["import"].returncode == 0
    say(f"    bare {t['bare']:.3f}s, import {t['import']:.3f}s (+{over_import:.3f}), --help {t['help']:.3f}s (+{over_help:.3f})")
    return Result(
        6,
        "start-up: `mlops-kit --help`, `import mlops_kit`",
        f"--help {t['help']:.3f} s (+{over_help:.3f}); import {t['import']:.3f} s (+{over_import:.3f})",
        f"{t['bare']:.3f} s `python -c pass`",
        t["help"] / t["bare"] if ok else None,
        f"+≤ {TARGET_HELP} s and +≤ {TARGET_IMPORT} s over the bare interpreter",
        (over_help <= TARGET_HELP and over_import <= TARGET_IMPORT) if ok else None,
        "--help lists the commands, import succeeds" if ok else f"FAILED: {outputs['help'].stderr[-300:]}",
        f"median of {runs} after 2 warm-ups, interleaved; ratio is --help/bare",
    )
