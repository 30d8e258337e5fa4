"""Other processes for the local adapter's tests: a real second process holding the DuckDB file or a
lock of the home, and a snapshot of the stores to show that a refused operation changed nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from mlops_kit.connect import DEFAULT_DATABASE

DATABASE_FILE = f"{DEFAULT_DATABASE}.duckdb"


@contextlib.contextmanager
def python_process(code: str, *, release_after: float | None = None) -> Iterator[subprocess.Popen[str]]:
    """Run ``code`` in a second Python process until it prints ``ready``; the block runs while it lives.

    ``code`` should end by waiting on stdin (``sys.stdin.read()``): closing stdin lets it finish, after
    ``release_after`` seconds if given, else when the block ends.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timer = None
    try:
        line = process.stdout.readline() if process.stdout else ""
        if line.strip() != "ready":
            process.kill()
            raise AssertionError(
                f"helper process did not start: {line!r} {process.stderr.read() if process.stderr else ''}"
            )
        if release_after is not None:
            timer = threading.Timer(release_after, _close_stdin, [process])
            timer.start()
        yield process
    finally:
        if timer is not None:
            timer.cancel()
        _close_stdin(process)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()


def _close_stdin(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        if process.stdin:
            process.stdin.close()


def duckdb_client(
    home: Path, *, read_only: bool, release_after: float | None = None
) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    """A process holding the database the way a notebook or the DuckDB CLI does: plain duckdb.connect."""
    code = f"""
        import sys, duckdb
        con = duckdb.connect({str(home / DATABASE_FILE)!r}, read_only={read_only!r})
        print("ready", flush=True)
        sys.stdin.read()
        con.close()
    """
    return python_process(code, release_after=release_after)


def kit_process(
    home: Path, body: str, release_after: float | None = None
) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    """A process with ``kit`` connected to ``home``, running ``body`` (which prints ready and waits)."""
    code = f"import sys\nimport mlops_kit\nkit = mlops_kit.connect('local', home={str(home)!r})\n" + textwrap.dedent(
        body
    )
    return python_process(code, release_after=release_after)


def store_snapshot(home: Path) -> dict[str, object]:
    """Every schema, table and view of the home's DuckDB file with its rows, read by DuckDB itself."""
    file = home / DATABASE_FILE
    if not file.exists():
        return {}
    con = duckdb.connect(str(file), read_only=True)
    try:
        snapshot: dict[str, object] = {
            "schemas": sorted(r[0] for r in con.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
            ).fetchall())
        }  # fmt: skip
        objects = con.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        for schema, name, kind in objects:
            if kind == "BASE TABLE":
                rows = con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
                snapshot[f"{schema}.{name}"] = sorted(repr(r) for r in rows)
            else:
                snapshot[f"{schema}.{name}"] = kind
        return snapshot
    finally:
        con.close()


def without_file_permission_override() -> list[str]:
    """A command prefix under which file permissions bind this user, as they do any user but root.

    As root: ``setpriv`` dropping the capabilities that bypass permissions; skips the test where that
    cannot be done.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.strip()[:200]}")
    return prefix
