"""Lab processes for the local adapter's tests (run in a scratch folder, killed on cue), and an
inventory of what MLflow holds in a home, to compare two homes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process on ``home``: no MLflow variables of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLOPS_KIT_HOME": str(home), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1", **extra})
    return env


def start_lab(home: Path, cwd: Path, *args: str) -> subprocess.Popen[str]:
    """``python -m mlops_kit.examples.churn_workflow ARGS`` in ``cwd``, its output readable line by line."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_kit.examples.churn_workflow", *args],
        cwd=cwd,
        env=child_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_lab(home: Path, cwd: Path, *args: str) -> str:
    proc = start_lab(home, cwd, *args)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    return out


def mlflow_inventory(home: Path) -> dict[str, Any]:
    """Everything MLflow holds in a local home, by name, deleted objects included, and the files
    under mlartifacts (by kind), so two homes can be compared."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL)
    models = client.search_logged_models(ids)
    versions = []
    for registered in client.search_registered_models():
        aliases = {}
        for alias, number in registered.aliases.items():
            aliases.setdefault(str(number), []).append(alias)
        for mv in client.search_model_versions(f"name = '{registered.name}'"):
            versions.append((mv.name, mv.tags.get("mlops_kit.version"), sorted(aliases.get(str(mv.version), [])),
                             "mlops_kit.pending" in mv.tags))  # fmt: skip
    # MLflow writes ``registered_model_meta`` into a local model's own folder whenever plain MLflow
    # loads it through ``models:/NAME@alias``: a trace of reading, not something the kit made.
    files = sorted(
        p.relative_to(home / "mlartifacts").parts
        for p in (home / "mlartifacts").rglob("*")
        if p.is_file() and p.name != "registered_model_meta"
    )
    return {
        "experiments": sorted((e.name, e.lifecycle_stage) for e in experiments),
        "runs": sorted((r.info.run_name, r.info.status, r.info.lifecycle_stage) for r in runs),
        "logged_models": sorted((m.name, str(m.status)) for m in models),
        "versions": sorted(versions),
        # run and model ids differ between homes: count files per experiment and kind instead
        "artifact_files": sorted({(f[0], f[1] == "models", f[-1]) for f in files}),
        "artifact_file_count": len(files),
    }
