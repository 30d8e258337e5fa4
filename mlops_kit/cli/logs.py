"""Quiet libraries for command-line runs: their log lines and developer warnings only with ``--verbose``,
their progress bars only on a terminal (tqdm's own ``TQDM_DISABLE``, which a user's setting overrides).

MLflow configures its own loggers when imported, at the level in ``MLFLOW_LOGGING_LEVEL``, so the
level is set through that variable (which child processes, such as the UI server, inherit too);
the other libraries log through the standard ``logging`` tree.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

#: Loggers of the libraries underneath the kit.
LIBRARY_LOGGERS = ("mlflow", "alembic", "uvicorn", "huey", "snowflake", "urllib3", "py.warnings")
_WARNING_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_state: dict[str, bool] = {}


def quiet_libraries(verbose: bool) -> None:
    """Library logging at WARNING and deprecation warnings hidden, or (``verbose``) everything at INFO."""
    if _state.get("verbose") == verbose:
        return
    _state["verbose"] = verbose
    level = logging.INFO if verbose else logging.WARNING
    if verbose:
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # a level the user chose wins
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if not sys.stdout.isatty():  # libraries' tqdm bars (snowflake-ml's "Logging model") on a terminal only
        os.environ.setdefault("TQDM_DISABLE", "1")
    for category in _WARNING_CATEGORIES:
        warnings.filterwarnings("default" if verbose else "ignore", category=category)


def child_environment(verbose: bool) -> dict[str, str]:
    """Environment for a library's own process (the MLflow UI server): as quiet as this one."""
    env = dict(os.environ)
    if not verbose:
        env.setdefault("PYTHONWARNINGS", "ignore")
        env.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    return env
