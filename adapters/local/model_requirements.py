"""The versions of the libraries a registered model records, so that whoever loads or serves it
installs what trained it (the local backend's MLflow ``requirements.txt``, which the kit writes itself:
MLflow's own inference costs seconds per model).

A model is recorded with the libraries of every class in it: an XGBoost step inside a scikit-learn
pipeline needs xgboost as much as scikit-learn, as snowflake-ml records it on Snowflake
(``model/_packager/model_handlers/sklearn.py`` in 2.6.0, pipeline steps), though MLflow's sklearn
flavour names scikit-learn only.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

# The model libraries a registered model may be built of, by the top-level module of their classes.
_MODEL_LIBRARIES = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}


def pinned(distributions: list[str]) -> list[str]:
    """``name==version`` for each installed distribution of ``distributions``, in their order."""
    pins = []
    for distribution in distributions:
        try:
            pins.append(f"{distribution}=={version(distribution)}")
        except PackageNotFoundError:
            continue
    return pins


def model_libraries(model: Any) -> list[str]:
    """The distributions of the model libraries whose classes make up ``model``: its own class and, for a
    scikit-learn pipeline or other meta-estimator, each estimator in it (``get_params(deep=True)``), so that
    a pipeline ending in an ``XGBClassifier`` records xgboost as well as scikit-learn."""
    parts = [model]
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        try:
            parts += list(get_params(deep=True).values())
        except Exception:  # a model whose get_params fails records its own class only
            pass
    found: list[str] = []
    for part in parts:
        library = _MODEL_LIBRARIES.get(type(part).__module__.partition(".")[0])
        if library is not None and library not in found:
            found.append(library)
    return found
