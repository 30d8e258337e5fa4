"""Where the local backend keeps its files: one folder, ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``.

Inside: ``<DATABASE>.duckdb`` (warehouse and feature store, openable by any DuckDB client),
``mlflow.db`` (MLflow's SQLite tracking store and model registry) and ``mlartifacts/`` (run and
model artifacts). ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` win over the defaults, as they
do for any MLflow code. They are read once, when the paths are made: ``mlflow.set_tracking_uri()``
(which the kit calls so that plain MLflow code sees the kit's store) writes the same variable, and
must not make the kit believe the user chose a store.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mlops_kit.errors import InvalidInputError

logger = logging.getLogger(__name__)

DEFAULT_HOME = Path("~/.mlops_kit")


def resolve_home(home: str | Path | None = None) -> Path:
    """The local home: ``home`` if given, else ``$MLOPS_KIT_HOME``, else ``~/.mlops_kit``; created if missing.

    Privacy, whatever the umask: a home the kit creates (with any missing parents) is 0700, so what
    lands inside is the user's alone; the kit's own files in it are 0600 (``warehouse.py``,
    ``locks.py``). A folder that exists already (one the user chose) keeps the permissions the user
    gave it; the kit only warns when anyone may write into it.

    Raises:
        InvalidInputError: the path is a file (or lies under one), or cannot be created.
    """
    chosen = home or os.environ.get("MLOPS_KIT_HOME") or DEFAULT_HOME
    path = Path(chosen).expanduser().resolve()
    if path.is_dir():
        if path.stat().st_mode & stat.S_IWOTH:
            logger.warning("the local home %s is writable by every user of this machine: anyone can change "
                           "its tables, runs and models; choose a private folder", path)  # fmt: skip
    else:
        create_private_folder(path, "the local home")
    return path


#: URI schemes of database stores: they have no artifact root of their own, so MLflow would put
#: the artifacts of an experiment created without a location into ``./mlruns`` of the working folder.
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def _environment(name: str) -> str | None:
    return os.environ.get(name) or None


def create_private_folder(path: Path, what: str) -> None:
    """Create ``path`` and its missing parents as folders only their owner can enter (0700)."""
    missing = []
    existing = path
    while not existing.exists():
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        shown = "is a file" if existing == path else f"lies under {existing}, which is a file"
        raise InvalidInputError(f"{what} {path} {shown}: give a folder (home= or MLOPS_KIT_HOME)")
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if not folder.is_dir():
                raise InvalidInputError(f"{what} {path}: {folder} exists and is not a folder") from None
            continue  # another process made it just now
        except OSError as exc:
            raise InvalidInputError(f"cannot create {what} {path}: {exc.strerror or exc} ({folder})") from exc
        os.chmod(folder, 0o700)  # mkdir's mode is cut by the umask, which may also remove the owner's bits


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

    @property
    def keeps_artifacts_in_home(self) -> bool:
        """True on a database store (the kit's SQLite file or the user's own database), which has no
        artifact root of its own; False on a tracking server, which decides for itself."""
        return self.tracking_uri.split(":", 1)[0].split("+", 1)[0].lower() in _DATABASE_SCHEMES

    def experiment_artifact_location(self, experiment: str) -> str | None:
        """Where an experiment the kit creates keeps its artifacts: ``mlartifacts/<EXPERIMENT>`` in
        the home (never the working folder) when ``keeps_artifacts_in_home``, else the server's choice."""
        return (self.artifact_root / experiment).as_uri() if self.keeps_artifacts_in_home else None
