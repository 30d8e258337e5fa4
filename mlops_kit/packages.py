"""The versions of the libraries a registered model records, so that whoever loads or serves it
installs what trained it (MLflow's ``requirements.txt``, Snowflake's conda dependencies).

A model is recorded with the libraries of every class in it: an XGBoost step inside a scikit-learn
pipeline needs xgboost as much as scikit-learn, though snowflake-ml's scikit-learn handler and MLflow's
sklearn flavour would record only the latter. A library may be installed under another distribution
name than the one a model asks for (a user's ``xgboost-cpu`` installs the module ``xgboost``): the model
still asks for ``xgboost`` at that version, which ``importlib.metadata`` alone would not find.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# The module a distribution installs, where the names differ.
_MODULE_OF = {"scikit-learn": "sklearn"}
# The model libraries a registered model may be built of, by the top-level module of their classes.
_MODEL_LIBRARIES = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or of the module it provides when another distribution
    installed that module (``xgboost-cpu`` for ``xgboost``); None when neither is installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        pass
    try:
        module = importlib.import_module(_MODULE_OF.get(distribution, distribution))
    except ImportError:
        return None
    found = getattr(module, "__version__", None)
    return str(found) if found else None


def pinned(distributions: list[str]) -> list[str]:
    """``name==version`` for each installed distribution of ``distributions``, in their order."""
    pins = []
    for distribution in distributions:
        found = installed_version(distribution)
        if found is not None:
            pins.append(f"{distribution}=={found}")
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
