"""The lab's pictures: each function returns its own matplotlib Figure (the caller saves or logs it).

Every picture is drawn on a Figure object of its own, never on pyplot's "current figure": with
pyplot's global state, a plot drawn while another figure is still open lands on that figure (the
SHAP summary once overwrote the feature-importance chart). Figures made this way belong to no
pyplot window manager, so nothing needs closing; ``close`` frees their memory early.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _figure(width: float = 7, height: float = 4.5) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def confusion_matrix(matrix: np.ndarray, title: str) -> Figure:
    import numpy as np

    figure, axes = _figure(4.5, 4)
    axes.imshow(matrix, cmap="Blues")
    for (row, col), value in np.ndenumerate(matrix):
        axes.text(col, row, str(value), ha="center", va="center", fontsize=13,
                  color="white" if value > matrix.max() / 2 else "black")  # fmt: skip
    axes.set_xticks([0, 1], ["stays", "churns"])
    axes.set_yticks([0, 1], ["stays", "churns"])
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def feature_importance(features: Sequence[str], importances: Sequence[float], title: str) -> Figure:
    figure, axes = _figure()
    order = sorted(range(len(features)), key=lambda i: importances[i])
    axes.barh([features[i] for i in order], [importances[i] for i in order], color="#2b7bba")
    axes.set_xlabel("importance (gain share)")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def shap_summary(shap_values: np.ndarray, sample: pd.DataFrame, title: str) -> Figure:
    """SHAP's beeswarm summary of ``shap_values`` (one row per row of ``sample``)."""
    import shap

    figure, axes = _figure(8, 4.5)
    explanation = shap.Explanation(values=shap_values, data=sample.to_numpy(), feature_names=list(sample.columns))
    shap.plots.beeswarm(explanation, ax=axes, show=False, plot_size=None, max_display=len(sample.columns))
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def shap_waterfall(explanation: object, title: str) -> Figure:
    """SHAP's waterfall of one prediction.

    ``shap.plots.waterfall`` takes no axes: it draws on pyplot's current figure. So it gets a
    figure made for it alone, which is handed back (and released by pyplot) at once.
    """
    import matplotlib.pyplot as plt
    import shap

    figure = plt.figure(figsize=(8, 4.5))
    try:
        shap.plots.waterfall(explanation, show=False)
    finally:
        plt.close(figure)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def mean_abs_shap(table: pd.DataFrame, title: str) -> Figure:
    """A SHAP bar summary re-drawn from a run's shap_values.csv (one column per feature)."""
    means = table.abs().mean().sort_values()
    figure, axes = _figure()
    axes.barh(means.index, means.to_numpy(), color="#d1495b")
    axes.set_xlabel("mean |SHAP value|")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def run_comparison(table: pd.DataFrame, metrics: Sequence[str], title: str) -> Figure:
    """Grouped bars: one group per metric, one bar per run (``table`` indexed by run name)."""
    import numpy as np

    figure, axes = _figure(8, 4.5)
    width = 0.8 / max(len(table), 1)
    positions = np.arange(len(metrics))
    for i, (run_name, row) in enumerate(table.iterrows()):
        axes.bar(positions + i * width, [row[m] for m in metrics], width, label=str(run_name))
    axes.set_xticks(positions + width * (len(table) - 1) / 2, metrics)
    axes.set_ylim(0, 1.05)
    axes.legend()
    axes.set_title(title)
    figure.tight_layout()
    return figure


def close(figure: Figure) -> None:
    """Free a figure's memory now (it belongs to no pyplot window, so nothing else is needed)."""
    figure.clear()
