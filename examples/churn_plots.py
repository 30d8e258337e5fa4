"""The lab's pictures: each function returns a matplotlib Figure (the caller saves or logs it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure


def _figure(width: float = 7, height: float = 4.5) -> tuple[Figure, object]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


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
    import matplotlib.pyplot as plt
    import shap

    _figure()
    plt.close()
    shap.summary_plot(shap_values, sample, show=False, plot_size=(8, 4.5))
    figure = plt.gcf()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def shap_waterfall(explanation: object, title: str) -> Figure:
    import matplotlib.pyplot as plt
    import shap

    plt.figure(figsize=(8, 4.5))
    shap.plots.waterfall(explanation, show=False)
    figure = plt.gcf()
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
    import matplotlib.pyplot as plt

    plt.close(figure)
