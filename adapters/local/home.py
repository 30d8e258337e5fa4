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
#: URI schemes of MLflow tracking servers.
_SERVER_SCHEMES = ("http", "https")


def _scheme(uri: str) -> str:
    """``postgresql`` of ``postgresql+psycopg2://…``; empty for a plain path."""
    return uri.split(":", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def check_user_stores(paths: LocalPaths) -> None:
    """The user's own ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI``, checked before anything is
    written: a store the local backend works with (a database, or a tracking server), and for SQLite a
    file in a folder that exists. MLflow would create missing folders, so a typo in the path would put
    the lab's runs and models somewhere nobody looks.

    Raises:
        InvalidInputError: naming the variable, its value and what to do.
    """
    for variable, uri in (("MLFLOW_TRACKING_URI", paths.user_tracking_uri),
                          ("MLFLOW_REGISTRY_URI", paths.user_registry_uri)):  # fmt: skip
        if uri is None:
            continue
        if _scheme(uri) not in _DATABASE_SCHEMES + _SERVER_SCHEMES:
            raise InvalidInputError(
                f"{variable}={uri!r}: the local backend keeps MLflow in a database (sqlite:///PATH, postgresql://…, "
                f"mysql://…, mssql://…) or on a tracking server (http://…, https://…); correct it, or unset "
                f"{variable} to use the kit's own store in {paths.home}"
            )
        if _scheme(uri) == "sqlite":
            _check_sqlite_file(variable, uri)
        elif _scheme(uri) in _SERVER_SCHEMES:
            _check_server_answers(variable, uri)


#: Seconds a tracking server has to answer its health check when the kit connects.
SERVER_CHECK_TIMEOUT = 10.0


def _check_server_answers(variable: str, uri: str) -> None:
    """A tracking server that answers ``GET /health`` (MLflow's own health check). MLflow retries an
    unreachable server for minutes (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, with backoff) before failing
    with its traceback; the kit asks once, with a timeout, and says what it found."""
    import urllib.error
    import urllib.request

    health = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=SERVER_CHECK_TIMEOUT):  # noqa: S310 - the user's own http(s) URI
            return
    except urllib.error.HTTPError:
        return  # it answers (a proxy or an older server without /health): MLflow says the rest
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InvalidInputError(
            f"{variable}={uri!r}: no MLflow tracking server answers there ({reason}); start it "
            f"(mlflow server --host HOST --port PORT), correct the address, or unset {variable} to use the kit's own store"
        ) from None


def _check_sqlite_file(variable: str, uri: str) -> None:
    """``sqlite:///relative.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's form)."""
    rest = uri.split("://", 1)[1].split("?", 1)[0]
    database = rest[1:] if rest.startswith("/") else rest
    if database in ("", ":memory:"):
        raise InvalidInputError(
            f"{variable}={uri!r} is an in-memory SQLite database: it keeps nothing once the process ends; "
            "name a file, sqlite:///PATH/mlflow.db"
        )
    path = Path(database).expanduser()
    if path.is_dir():
        raise InvalidInputError(
            f"{variable}={uri!r} names the folder {path}: name a file in it, like {path / 'mlflow.db'}"
        )
    if not path.parent.is_dir():
        raise InvalidInputError(
            f"{variable}={uri!r}: the folder {path.parent} does not exist; create it, or correct the path"
        )


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
        return _scheme(self.tracking_uri) in _DATABASE_SCHEMES

    def experiment_artifact_location(self, experiment: str) -> str | None:
        """Where an experiment the kit creates keeps its artifacts: ``mlartifacts/<EXPERIMENT>`` in
        the home (never the working folder) when ``keeps_artifacts_in_home``, else the server's choice."""
        return (self.artifact_root / experiment).as_uri() if self.keeps_artifacts_in_home else None
