"""Where the local backend keeps its files: one folder, ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``.

Inside: ``<DATABASE>.duckdb`` (warehouse and feature store, openable by any DuckDB client),
``mlflow.db`` (MLflow's SQLite tracking store and model registry) and ``mlartifacts/`` (run and
model artifacts). ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` win over the defaults, as they
do for any MLflow code. They are read once, when the paths are made: ``mlflow.set_tracking_uri()``
(which the kit calls so that plain MLflow code sees the kit's store) writes the same variable, and
must not make the kit believe the user chose a store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = Path("~/.mlops_kit")


def resolve_home(home: str | Path | None = None) -> Path:
    """The local home: ``home`` if given, else ``$MLOPS_KIT_HOME``, else ``~/.mlops_kit``."""
    chosen = home or os.environ.get("MLOPS_KIT_HOME") or DEFAULT_HOME
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


#: URI schemes of database stores: they have no artifact root of their own, so MLflow would put
#: the artifacts of an experiment created without a location into ``./mlruns`` of the working folder.
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def _environment(name: str) -> str | None:
    return os.environ.get(name) or None


@dataclass(frozen=True)
class LocalPaths:
    home: Path
    database: str
    #: The user's own ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI``, read when the paths are made.
    user_tracking_uri: str | None = field(default_factory=lambda: _environment("MLFLOW_TRACKING_URI"))
    user_registry_uri: str | None = field(default_factory=lambda: _environment("MLFLOW_REGISTRY_URI"))

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
        return self.user_tracking_uri or f"sqlite:///{self.mlflow_db}"

    @property
    def registry_uri(self) -> str:
        return self.user_registry_uri or self.tracking_uri

    @property
    def owns_mlflow_store(self) -> bool:
        """True when the kit chose the MLflow store (the user set no MLFLOW_TRACKING_URI)."""
        return self.user_tracking_uri is None

    def experiment_artifact_location(self, experiment: str) -> str | None:
        """Where an experiment the kit creates keeps its artifacts: ``mlartifacts/<EXPERIMENT>`` in
        the home on any database store (the kit's SQLite file or the user's own database), never the
        working folder; None on a tracking server, which decides for itself."""
        scheme = self.tracking_uri.split(":", 1)[0].split("+", 1)[0].lower()
        return (self.artifact_root / experiment).as_uri() if scheme in _DATABASE_SCHEMES else None
