"""A pre-migrated, empty MLflow SQLite store that new local homes start from.

A fresh MLflow SQLite store runs its ~70 schema migrations on first use (about 1.5-2 s of CPU). The
result is the same empty database every time for a given MLflow release, so the kit builds it once,
with MLflow's own ``mlflow db upgrade``, and copies it into each new home.

Where it lives: ``$MLOPS_KIT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mlops_kit`` (default
``~/.cache/mlops_kit``), as ``mlflow-store-<mlflow version>-<migration head>.db``. When it is built:
the first time a process creates a new local store and finds no template for the installed MLflow
(that store then costs what it always did), or ahead of time with
``python -m mlops_kit.adapters.local.store_template``.

A template is used only if its schema revision equals the head of the installed MLflow's migration
scripts (read from the scripts themselves, without importing MLflow) and it holds no experiment;
otherwise it is rebuilt, and if that fails the new store is created by MLflow's migrations as usual.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

_REVISION = re.compile(r"""^revision\s*=\s*["']([0-9a-f]+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)
_HEX = re.compile(r"[0-9a-f]{6,}")


def cache_dir() -> Path:
    """The folder holding templates (see the module docstring)."""
    chosen = os.environ.get("MLOPS_KIT_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "mlops_kit"


def migration_head() -> str | None:
    """The head revision of the installed MLflow's schema migrations, or None when it cannot be
    told (MLflow missing, or the scripts do not form one chain)."""
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return None
    versions = Path(next(iter(spec.submodule_search_locations))) / "store" / "db_migrations" / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision = _REVISION.search(text)
        down = _DOWN_REVISION.search(text)
        if revision is None or down is None:
            continue
        revisions.add(revision[1])
        parents.update(_HEX.findall(down[1]))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def template_path(head: str) -> Path:
    from importlib.metadata import version

    return cache_dir() / f"mlflow-store-{version('mlflow')}-{head}.db"


def schema_revision(database: Path) -> str | None:
    """The alembic revision recorded in an MLflow SQLite file, None when there is none."""
    try:
        with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as con:
            return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except (sqlite3.Error, TypeError):
        return None


def _usable(template: Path, head: str) -> bool:
    if not template.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{template.as_uri()}?mode=ro", uri=True)) as con:
            (revision,) = con.execute("SELECT version_num FROM alembic_version").fetchone()
            (experiments,) = con.execute("SELECT COUNT(*) FROM experiments").fetchone()
            (check,) = con.execute("PRAGMA quick_check").fetchone()
    except (sqlite3.Error, TypeError):
        return False
    return revision == head and experiments == 0 and check == "ok"


def build_template(head: str) -> Path:
    """Build (or rebuild) the template for ``head`` with ``mlflow db upgrade``; returns its path."""
    from filelock import FileLock

    target = template_path(head)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=600):
        if _usable(target, head):
            return target
        from mlflow.db import upgrade

        fd, scratch = tempfile.mkstemp(prefix=".building-", suffix=".db", dir=target.parent)
        os.close(fd)
        os.unlink(scratch)  # MLflow initialises an empty database; an empty file is not a database
        try:
            upgrade.callback(f"sqlite:///{scratch}")
            if not _usable(Path(scratch), head):
                raise RuntimeError(f"MLflow built a store at revision {schema_revision(Path(scratch))}, not {head}")
            os.replace(scratch, target)
        finally:
            Path(scratch).unlink(missing_ok=True)
    return target


def copy_template(destination: Path) -> bool:
    """Put a pre-migrated empty store at ``destination`` (which must not exist yet).

    Returns False, leaving ``destination`` alone, when no template for the installed MLflow can be
    had; the caller then lets MLflow create and migrate the store itself.
    """
    head = migration_head()
    if head is None:
        return False
    try:
        template = template_path(head)
        if not _usable(template, head):
            template = build_template(head)
    except Exception:  # noqa: BLE001 - any failure falls back to MLflow's own migrations
        return False
    fd, scratch = tempfile.mkstemp(prefix=".mlflow-", suffix=".db", dir=destination.parent)
    os.close(fd)
    try:
        shutil.copyfile(template, scratch)
        os.replace(scratch, destination)  # whole or not at all: a kill leaves no half-copied store
    finally:
        Path(scratch).unlink(missing_ok=True)
    return True


if __name__ == "__main__":
    found = migration_head()
    if found is None:
        raise SystemExit("MLflow is not installed, or its migration scripts have no single head")
    print(f"MLflow store template: {build_template(found)}")
