"""What every benchmark shares: fresh homes, measured child processes, medians, result rows."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = 42


@dataclass
class Config:
    quick: bool
    work: Path  # a temporary folder for this whole benchmark run
    log: Path  # child output goes here
    selected: tuple[int, ...] = ()  # the benchmarks chosen for this run

    def scratch(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{name}_", dir=self.work))
        return path


@dataclass
class Result:
    number: int
    what: str
    kit: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    check: str
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Child:
    value: dict[str, Any]
    wall: float  # seconds, as seen from the parent (process start to exit)
    peak_rss: int  # bytes, of the child process itself
    returncode: int
    cpu: float = 0.0  # user + system seconds of the child itself


def say(text: str) -> None:
    print(text, flush=True)


def child_env(home: Path | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("MLOPS_KIT_HOME", None)
    if home is not None:
        env["MLOPS_KIT_HOME"] = str(home)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def spawn(
    cfg: Config, target: str, args: dict[str, Any], home: Path | None, cwd: Path | None = None
) -> subprocess.Popen:
    """Start ``module:function`` (in ``benchmarks``) in a fresh interpreter; see ``_child.py``."""
    out = Path(tempfile.mkstemp(prefix="result_", suffix=".json", dir=cfg.work)[1])
    log = open(cfg.log, "a")  # noqa: SIM115 - closed in finish()
    log.write(f"\n===== {target} {json.dumps(args, default=str)[:300]}\n")
    log.flush()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._child", target, json.dumps(args, default=str), str(out)],
        env=child_env(home),
        cwd=str(cwd or cfg.work),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc._bench_out = out  # type: ignore[attr-defined]
    proc._bench_log = log  # type: ignore[attr-defined]
    proc._bench_started = time.perf_counter()  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen, check: bool = True) -> Child:
    """Wait for a child; its own peak RSS comes from wait4 (the parent's RUSAGE_CHILDREN would
    be the largest of all children so far)."""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - proc._bench_started  # type: ignore[attr-defined]
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc._bench_log.close()  # type: ignore[attr-defined]
    out: Path = proc._bench_out  # type: ignore[attr-defined]
    text = out.read_text() if out.exists() else ""
    out.unlink(missing_ok=True)
    value = json.loads(text) if text.strip() else {}
    if check and proc.returncode != 0:
        raise RuntimeError(f"{proc.args[3]} failed (exit {proc.returncode}); see the log")
    return Child(value, wall, usage.ru_maxrss * 1024, proc.returncode, usage.ru_utime + usage.ru_stime)


def run_child(
    cfg: Config, target: str, args: dict[str, Any], home: Path | None = None, cwd: Path | None = None
) -> Child:
    return finish(spawn(cfg, target, args, home, cwd))


def median(values: list[float]) -> float:
    return statistics.median(values)


def repeat(label: str, runs: int, warmup: int, once: Callable[[int], float]) -> list[float]:
    """Call ``once(i)`` warm-up + runs times; return the measured seconds (warm-ups dropped)."""
    times = []
    for i in range(warmup + runs):
        seconds = once(i)
        tag = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
        say(f"    {label}: {tag} {seconds:.3f}s")
        if i >= warmup:
            times.append(seconds)
    return times


def secs(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def gib(value: int) -> str:
    return f"{value / 2**30:.2f} GiB"


def machine() -> str:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu or platform.machine()}), {mem}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {datetime.now().strftime('%Y-%m-%d %H:%M')}"
    )
