"""``python -m benchmarks [--quick] [--only N,M] [--markdown PATH]``: see ``benchmarks/__init__.py``."""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks._harness import Config, Result, machine, say

MODULES = {
    1: "lab_vs_plain",
    2: "lab_vs_mlflow",
    3: "pit_join",
    4: "features_1m",
    5: "batch_scoring",
    6: "startup",
    7: "metric_logging",
    8: "concurrent_labs",
}


def table(results: list[Result]) -> str:
    lines = [
        "| # | what | kit | baseline | ratio | target | met | check | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        met = {True: "yes", False: "**no**", None: "—"}[r.met]
        lines.append(
            f"| {r.number} | {r.what} | {r.kit} | {r.baseline} | {ratio} | {r.target} | {met} | {r.check} | {r.notes} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each: a CI smoke run")
    parser.add_argument("--only", help="comma-separated benchmark numbers, e.g. 3,5")
    parser.add_argument("--markdown", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (homes, logs)")
    args = parser.parse_args(argv)
    chosen = sorted(MODULES) if not args.only else sorted({int(n) for n in args.only.split(",")})
    unknown = [n for n in chosen if n not in MODULES]
    if unknown:
        parser.error(f"no benchmark {unknown}; choose from {sorted(MODULES)}")

    work = Path(tempfile.mkdtemp(prefix="mlops_kit_bench_"))
    cfg = Config(quick=args.quick, work=work, log=work / "children.log", selected=tuple(chosen))
    say(f"mlops_kit benchmarks ({'quick' if args.quick else 'full'}): {', '.join(map(str, chosen))}")
    say(f"  machine: {machine()}")
    say(f"  work folder {work}; child output in {cfg.log}")
    results: list[Result] = []
    failed = False
    started = time.perf_counter()
    for number in chosen:
        say(f"\n[{number}] {MODULES[number]}")
        began = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{MODULES[number]}")
            result = module.run(cfg)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            traceback.print_exc()
            failed = True
            result = Result(number, MODULES[number], "—", "—", None, "—", None, f"FAILED: {exc}")
        results.append(result)
        say(f"  ({time.perf_counter() - began:.0f}s)")
    text = table(results)
    load = "load average at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    say(f"\nResults ({time.perf_counter() - started:.0f}s; {load}):\n{text}")
    mode = "quick (CI smoke sizes)" if args.quick else "full"
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(
        f"# mlops_kit benchmarks ({mode})\n\nMachine: {machine()}; {load} "
        "(other work on the machine makes wall times noisy; runs are interleaved where it matters)\n\n"
        f"Command: `python -m benchmarks{' --quick' if args.quick else ''}"
        f"{' --only ' + args.only if args.only else ''}`\n\n{text}\n"
    )
    say(f"\nwritten to {args.markdown}")
    if args.keep or failed:
        say(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed or any(r.ratio is None and r.check.startswith("FAILED") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
