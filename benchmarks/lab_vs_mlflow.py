"""Benchmark 2: the same lab vs the lab written on MLflow's defaults (``plain_lab.py`` with
``tracking="mlflow"``: fluent API, one ``log_metric`` per metric, ``log_model`` inferring its
requirements). Same processes, homes and checks as benchmark 1 (the kit's runs are shared)."""

from __future__ import annotations

from benchmarks._harness import Config, Result
from benchmarks.lab_vs_plain import lab_result

TARGET = 0.5


def run(cfg: Config) -> Result:
    return lab_result(cfg, 2, "mlflow", "vs MLflow defaults", "MLflow fluent API", TARGET)
