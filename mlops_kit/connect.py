"""``connect()``: the one place that picks a backend and wires its warehouse, feature store,
tracker and registry together. Adapters are imported only here, and only when asked for.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from mlops_kit.errors import BackendUnavailableError, InvalidInputError
from mlops_kit.feature_store import FeatureStore
from mlops_kit.registry import Registry
from mlops_kit.tracker import Tracker
from mlops_kit.warehouse import Warehouse

#: backend name -> (module, factory function, the lock in requirements/ that installs what it needs)
BACKENDS: dict[str, tuple[str, str, str]] = {
    "local": ("mlops_kit.adapters.local", "connect_local", "lab"),
    "snowflake": ("mlops_kit.adapters.snowflake", "connect_snowflake", "snowflake"),
    "snowflake-emulator": ("mlops_kit.adapters.snowflake_emulator", "connect_snowflake_emulator", "emulator"),
}

#: The database every backend works in unless ``connect(..., database=...)`` names another: the
#: lab's (LAB.md). The one definition; adapters, tests and benchmarks use this constant.
DEFAULT_DATABASE = "MLOPS_HOL_DB"


@dataclass
class Backend:
    """Everything one backend offers; ``raw`` holds the adapter's own handles (session, client)."""

    name: str
    warehouse: Warehouse
    feature_store: FeatureStore
    tracker: Tracker
    registry: Registry
    raw: dict[str, Any] = field(default_factory=dict)
    #: Where a person looks at what the backend holds (file paths, URIs, Snowsight pages), for summaries.
    locations: dict[str, str] = field(default_factory=dict)
    #: Makes an inter-process lock by name, where the backend needs one (local files); None: no locking.
    lock_factory: Callable[[str], AbstractContextManager[Any]] | None = None
    #: Starts slow initialisation (e.g. opening MLflow) in the background; None: nothing to start.
    warm_up_hook: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        # The records the feature store and the registry keep for themselves (mlops_kit/records/)
        # live in the backend's own warehouse.
        self.feature_store.warehouse = self.warehouse
        self.registry.warehouse = self.warehouse

    def warm_up(self) -> None:
        """Start the backend's slow initialisation now, in the background, so that it is ready when
        first needed; a no-op where there is none. Everything works without calling it."""
        if self.warm_up_hook:
            self.warm_up_hook()

    def exclusive(self, name: str) -> AbstractContextManager[Any]:
        """A lock held by one process at a time (e.g. one lab run per local home); the local backend
        also keeps its database open inside it. A no-op where the backend needs none."""
        return self.lock_factory(name) if self.lock_factory else contextlib.nullcontext()

    def close(self) -> None:
        closer = self.raw.get("close")
        if callable(closer):
            closer()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(backend: str = "local", **options: Any) -> Backend:
    """Connect to ``backend`` ("local", "snowflake" or "snowflake-emulator").

    Local options: ``home`` (default ``$MLOPS_KIT_HOME`` or ``~/.mlops_kit``), ``database``,
    ``lock_timeout`` (seconds to wait for another process's hold on the database; default 60).
    Snowflake options: ``connection_name``, ``database``, ``warehouse``, ``role``, ``session``.
    Snowflake emulator options: ``home`` (the account lives in ``<home>/snowflake-emulator``), ``database``.

    Raises:
        InvalidInputError: an unknown backend; the message lists the valid ones.
        BackendUnavailableError: the backend's packages are not installed; the message says which
            ``pip install`` fixes it.
    """
    key = backend.lower() if isinstance(backend, str) else backend
    if key not in BACKENDS:
        raise InvalidInputError(f"unknown backend {backend!r}: choose one of {', '.join(sorted(BACKENDS))}")
    module_name, factory_name, lock = BACKENDS[key]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the {key} backend needs packages that are not installed ({exc.name or exc}): "
            f"scripts/run-lab --backend {key} installs them itself; or install them at the locked versions "
            f"into this environment ({sys.prefix}), from the mlops-kit checkout: "
            f"{sys.executable} -m pip install --require-hashes --no-deps -r requirements/{lock}.txt"
        ) from exc
    return getattr(module, factory_name)(**options)
