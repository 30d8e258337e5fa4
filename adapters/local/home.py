"""Where the local backend keeps its files: one folder, ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``.

Inside: ``<DATABASE>.duckdb`` (warehouse and feature store, openable by any DuckDB client),
``mlflow.db`` (MLflow's SQLite tracking store and model registry) and ``mlartifacts/`` (run and
model artifacts). ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` win over the defaults, as they
do for any MLflow code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.mlops_kit")


def resolve_home(home: str | Path | None = None) -> Path:
    """The local home: ``home`` if given, else ``$MLOPS_KIT_HOME``, else ``~/.mlops_kit``."""
    chosen = home or os.environ.get("MLOPS_KIT_HOME") or DEFAULT_HOME
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class LocalPaths:
    home: Path
    database: str

    @property
    def duckdb_file(self) -> Path:
        return self.home / f"{self.database}.duckdb"

    @property
    def duckdb_lock(self) -> Path:
        return self.home / f"{self.database}.duckdb.lock"

    @property
    def mlflow_db(self) -> Path:
        return self.home / "mlflow.db"

    @property
    def mlflow_lock(self) -> Path:
        return self.home / "mlflow.db.lock"

    @property
    def artifact_root(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.mlflow_db}"

    @property
    def registry_uri(self) -> str:
        return os.environ.get("MLFLOW_REGISTRY_URI") or self.tracking_uri

    @property
    def owns_mlflow_store(self) -> bool:
        """True when the kit chose the MLflow store (no MLFLOW_TRACKING_URI in the environment)."""
        return not os.environ.get("MLFLOW_TRACKING_URI")
