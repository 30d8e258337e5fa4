"""The lab's "experiment viewer" as one static HTML page: a comparison of the runs, then each
run's params, metrics, importances and plots. It reads only the Tracker interface, so it works on
either backend, and the page opens in any browser (no server, no extra package).

    mlops-kit lab viewer            # writes mlops_lab_output/experiment_viewer.html
"""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

from mlops_kit import Backend, Run
from mlops_kit.files import writing

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.best { background: #e8f4e8; }
img { max-width: 48%; margin: .3rem; border: 1px solid #eee; }
section { border-top: 2px solid #2b7bba; margin-top: 2rem; }
"""


def write_viewer(backend: Backend, experiment: str, out_file: Path, metric: str = "f1_score") -> Path:
    """Write the viewer page for ``experiment`` to ``out_file``; returns its path."""
    runs = backend.tracker.list_runs(experiment)
    best = max((r for r in runs if metric in r.metrics), key=lambda r: r.metrics[metric], default=None)
    parts = [f"<h1>{html.escape(experiment)}</h1>", "<h2>Runs compared</h2>", _comparison(runs, best)]
    with tempfile.TemporaryDirectory() as folder:
        for run in runs:
            parts.append(_detail(backend, experiment, run, Path(folder)))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with writing(out_file, "the experiment viewer"):
        out_file.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(experiment)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
        )
    return out_file


def _comparison(runs: list[Run], best: Run | None) -> str:
    metrics = sorted({k for r in runs for k in r.metrics if not k.startswith(("importance_", "mean_abs_shap_"))})
    header = "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    rows = []
    for run in runs:
        cells = "".join(f"<td>{run.metrics[m]:.3f}</td>" if m in run.metrics else "<td></td>" for m in metrics)
        marker = " class='best'" if best is not None and run.run_id == best.run_id else ""
        rows.append(f"<tr{marker}><td>{html.escape(run.name)}</td><td>{run.status.value}</td>{cells}</tr>")
    return f"<table><tr><th>run</th><th>status</th>{header}</tr>{''.join(rows)}</table>"


def _detail(backend: Backend, experiment: str, run: Run, folder: Path) -> str:
    params = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in sorted(run.params.items())
    )
    importances = sorted(
        ((k[len("importance_") :], v, run.metrics.get("mean_abs_shap_" + k[len("importance_") :]))
         for k, v in run.metrics.items() if k.startswith("importance_")),
        key=lambda item: -item[1],
    )  # fmt: skip
    importance_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{value:.3f}</td><td>{'' if shap is None else f'{shap:.3f}'}</td></tr>"
        for name, value, shap in importances
    )
    images = []
    for artifact in backend.tracker.list_artifacts(run.name, experiment=experiment):
        if artifact.path.endswith(".png"):
            local = backend.tracker.download_artifacts(run.name, artifact.path, folder / run.name, experiment)
            encoded = base64.b64encode(local.read_bytes()).decode()
            images.append(f"<img alt='{html.escape(artifact.path)}' src='data:image/png;base64,{encoded}'>")
    if importance_rows:
        importance_table = (
            "<table><tr><th>feature</th><th>importance</th><th>mean |SHAP|</th></tr>" + importance_rows + "</table>"
        )
    else:  # never an empty table: say what is missing
        importance_table = "<p>This run logged no feature importances (metrics <code>importance_*</code>).</p>"
    return (
        f"<section><h2>{html.escape(run.name)}</h2><h3>Parameters</h3><table>{params}</table>"
        f"<h3>Feature importance and mean |SHAP|</h3>{importance_table}{''.join(images)}</section>"
    )
