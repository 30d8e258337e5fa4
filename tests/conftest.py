"""Shared fixtures: every test runs against throwaway stores, never the user's ~/.mlops_kit."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before anything imports mlflow or the local adapter.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="mlops_kit_tests_"))
os.environ["MLOPS_KIT_HOME"] = str(_SESSION_HOME / "default_home")
# The pre-migrated MLflow store template is built once per test session, not in the user's cache.
os.environ["MLOPS_KIT_CACHE_DIR"] = str(_SESSION_HOME / "cache")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("MLFLOW_REGISTRY_URI", None)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
