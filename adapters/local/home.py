"""Where the local backend keeps its files: one folder, ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``.

Inside: ``<DATABASE>.duckdb`` (warehouse and feature store, openable by any DuckDB client),
``mlflow.db`` (MLflow's SQLite tracking store and model registry) and ``mlartifacts/`` (run and
model artifacts). ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI`` win over the defaults, as they
do for any MLflow code.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
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
        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.mlflow_db}"

    @property
    def registry_uri(self) -> str:
        return os.environ.get("MLFLOW_REGISTRY_URI") or self.tracking_uri

    @property
    def owns_mlflow_store(self) -> bool:
        """True when the kit chose the MLflow store (no MLFLOW_TRACKING_URI in the environment)."""
        return not os.environ.get("MLFLOW_TRACKING_URI")
