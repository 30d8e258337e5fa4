"""The Snowflake emulator: the Snowflake adapter, the real snowflake-ml-python and Snowpark, over an
emulated account on this machine (fakesnow's server with an emulation layer in front of it).

It exists to rehearse a Snowflake run before spending credits: ``connect("snowflake-emulator")``
runs the same adapter code as ``connect("snowflake")``. It is an emulator, not Snowflake: see the
README's "The Snowflake emulator" for what it answers and what it cannot (privileges, warehouses,
billing, Snowflake's conda channel).

One module per family of statements it answers (``session``, ``databases``, ``tables``, ``stages``,
``tasks``, ``dynamic_tables``, ``feature_store``, ``models``, ``experiments``, ``queries``,
``asof_joins``), Snowflake Scripting blocks (``scripting``), the account on disk (``account``), the
HTTP server (``server``, which also runs pipe chains), and the runner of Snowflake's own tests on it
(``upstream_tests``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_kit import names
from mlops_kit.adapters.snowflake_emulator.account import EmulatedAccount
from mlops_kit.adapters.snowflake_emulator.server import EmulatorServer
from mlops_kit.adapters.snowflake_emulator.statements import Router
from mlops_kit.connect import DEFAULT_DATABASE

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from mlops_kit.connect import Backend

__all__ = ["Emulator", "connect_snowflake_emulator", "emulator_root", "router", "start_emulator"]

#: The folder under $MLOPS_KIT_HOME that holds the emulated account.
FOLDER = "snowflake-emulator"


def router() -> Router:
    """Every statement family of the emulator, in the order they are offered a statement."""
    from mlops_kit.adapters.snowflake_emulator import (
        access_control,
        asof_joins,
        databases,
        dynamic_tables,
        experiments,
        feature_store,
        models,
        queries,
        session,
        stages,
        tables,
        tasks,
    )

    return Router(
        [
            session.family,
            session.functions,
            session.result_scans,
            session.packages,
            access_control.family,
            databases.family,
            tables.family,
            stages.family,
            tasks.family,
            dynamic_tables.family,
            dynamic_tables.refresh_history,
            feature_store.family,
            feature_store.tag_references,
            models.family,
            experiments.family,
            queries.family,
            asof_joins.family,
        ]
    )


@dataclass
class Emulator:
    """A running emulated account: its folder, its server, and how many users hold it."""

    root: Path
    account: EmulatedAccount
    server: EmulatorServer
    users: int = 0

    def session(self, database: str | None = None, schema: str | None = None, *, role: str | None = None) -> Session:
        """A new Snowpark session on the emulated account (as ``role``, when given)."""
        from snowflake.snowpark import Session

        options: dict[str, Any] = dict(self.server.connection_parameters())
        if role:
            options["role"] = role
        if database:
            options["database"] = database
        if schema:
            options["schema"] = schema
        return Session.builder.configs(options).create()


_running: dict[Path, Emulator] = {}
_guard = threading.Lock()


def emulator_root(home: str | os.PathLike[str] | None = None) -> Path:
    """``<home>/snowflake-emulator``, home defaulting to ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``."""
    from mlops_kit.adapters.local.home import resolve_home

    return (Path(home).expanduser() if home is not None else resolve_home()) / FOLDER


def start_emulator(root: Path, *, lock_timeout: float | None = None) -> Emulator:
    """The emulator of the account in ``root``, started if this process does not run it yet.

    Each call must be paired with :func:`stop_emulator`; the last one stops the server and
    releases the account for other processes.

    Args:
        lock_timeout: seconds to wait while another process uses the account (default
            ``$MLOPS_KIT_EMULATOR_LOCK_TIMEOUT``, else 10).
    """
    root = root.resolve()
    with _guard:
        emulator = _running.get(root)
        if emulator is None:
            if lock_timeout is None:
                lock_timeout = float(os.environ.get("MLOPS_KIT_EMULATOR_LOCK_TIMEOUT", "10"))
            account = EmulatedAccount(root, lock_timeout=lock_timeout)
            server = EmulatorServer(account, router())
            try:
                server.start()
            except BaseException:
                account.close()
                raise
            emulator = _running[root] = Emulator(root, account, server)
        emulator.users += 1
        return emulator


def stop_emulator(emulator: Emulator) -> None:
    with _guard:
        emulator.users -= 1
        if emulator.users > 0:
            return
        _running.pop(emulator.root, None)
        try:
            emulator.server.stop()
        finally:
            emulator.account.close()


def connect_snowflake_emulator(
    *,
    home: str | os.PathLike[str] | None = None,
    database: str = DEFAULT_DATABASE,
    lock_timeout: float | None = None,
    role: str | None = None,
    **options: Any,
) -> Backend:
    """The Snowflake backend (``connect_snowflake``) on the emulated account in ``<home>/snowflake-emulator``.

    Args:
        home: the kit's home folder (default ``$MLOPS_KIT_HOME``, else ``~/.mlops_kit``).
        lock_timeout: seconds to wait while another process uses the account (see ``start_emulator``).
        role: the session's role (``access_control.py``: one the emulated user holds); ACCOUNTADMIN by default.
        options: passed to ``connect_snowflake`` (schemas; no connection or session).
    Raises:
        BackendUnavailableError: another process is using this emulated account.
    """
    from mlops_kit.adapters.snowflake import connect_snowflake

    database_id = names.identifier(database, "database")
    emulator = start_emulator(emulator_root(home), lock_timeout=lock_timeout)
    session: Session | None = None
    try:
        session = emulator.session(database_id, "PUBLIC", role=role)
        backend = connect_snowflake(session=session, database=database_id, **options)
    except BaseException:
        try:
            if session is not None:
                session.close()
        finally:
            stop_emulator(emulator)
        raise

    def close() -> None:
        try:
            session.close()
        finally:
            stop_emulator(emulator)

    backend.name = "snowflake-emulator"
    backend.raw.update({"session": session, "close": close, "emulator": emulator})
    backend.locations = {"emulated account": str(emulator.root)}
    return backend
