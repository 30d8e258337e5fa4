"""MLflow in a process of its own, beside the user's: what the local tracker and registry write goes
through it.

Importing MLflow and opening its store cost about 2 s of CPU. In the user's process that time is
spent on the critical path even in a background thread: the import holds the GIL, and the lab's own
Python work waits for it (measured: a concurrent ``import mlflow`` slows the hyperparameter search by
its whole cost). In a process of its own it runs on the other core; the same import then costs the
lab a few tenths of a second. Weights & Biases runs its writer as a separate service for the same
reason.

How it works. ``MlflowWorker`` starts a Python process running ``serve()`` (on ``warm_up`` or the
first write), which opens the store with ``open_client`` and then answers
requests: the name of an operation registered with ``@operation`` in ``tracker.py`` or
``registry.py``, and its arguments, as length-prefixed cloudpickles over the worker's stdin and
stdout (by value, so a model class from the user's ``__main__`` travels with its code; the worker
also gets the user's ``sys.path``). Operations take
and return plain data (never MLflow objects, which the user's process could not unpickle without
importing MLflow) and raise the kit's errors. Reads do not come here when the store is the kit's own
SQLite file (``sqlite_reader.py``).

Lifetime. The worker ignores SIGINT and SIGTERM and ends when its stdin closes: when the backend is
closed, when the user's process exits, or when it is killed (then the operation in progress, if any,
finishes first). Crash safety does not depend on it: a registration records the worker as its owner,
and whatever a killed worker leaves is repaired like any killed process's work.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

from mlops_kit.errors import BackendUnavailableError, MlopsKitError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.home import LocalPaths

#: The modules whose ``@operation`` functions the worker serves (imported by the worker only).
_OPERATION_MODULES = (
    "mlops_kit.adapters.local.mlflow_records",
    "mlops_kit.adapters.local.tracker",
    "mlops_kit.adapters.local.registry",
)
_OPERATIONS: dict[str, Callable[..., Any]] = {}
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Session:
    """What an operation gets in the worker: the open client and the home's paths."""

    client: MlflowClient
    paths: LocalPaths


def operation(function: F) -> F:
    """Register ``function(session, *args, **kwargs)`` as an operation the worker serves, by name."""
    _OPERATIONS[function.__name__] = function
    return function


class MlflowWorker:
    """The user's side of the worker process of one local home."""

    def __init__(self, paths: LocalPaths) -> None:
        self.paths = paths
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker if it is not running (it opens MLflow meanwhile); returns at once."""
        with self._lock:
            self._start()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run operation ``name`` in the worker and return its result (or raise its error).

        Raises:
            InvalidInputError: an argument cannot be sent (it cannot be pickled).
            BackendUnavailableError: the worker stopped.
        """
        from mlops_kit.errors import InvalidInputError

        try:  # whole, before anything is sent: a half-written request would garble the channel
            request = _dumps((name, args, kwargs))
        except Exception as exc:
            raise InvalidInputError(
                f"{name}: cannot hand its arguments to the MLflow process, which saves them: {exc}"
            ) from exc
        with self._lock:
            process = self._start()
            assert process.stdin is not None and process.stdout is not None
            try:
                _send(process.stdin, request)
                ok, value = pickle.loads(_receive(process.stdout))
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                code = process.poll()
                self._process = None
                raise BackendUnavailableError(
                    f"the MLflow worker process of {self.paths.home} stopped (exit code {code}) during {name}: "
                    "its messages are above; the next call starts a new one"
                ) from exc
        if ok:
            return value
        raise value

    def close(self) -> None:
        """End the worker (it finishes the operation in progress first)."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        process = subprocess.Popen(
            [sys.executable, "-c", "from mlops_kit.adapters.local.mlflow_worker import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdin is not None
        # The user's import path, so a model class from the user's own modules loads there too.
        _send(process.stdin, pickle.dumps((self.paths, sys.path)))
        self._process = process
        # A worker whose backend is dropped without close() ends with it (its stdin closes).
        weakref.finalize(self, _end, process)
        return process


def _end(process: subprocess.Popen[bytes]) -> None:
    """Close the worker's stdin and wait for it to end, so no worker outlives its user's process."""
    if process.stdin is not None and not process.stdin.closed:
        with contextlib.suppress(OSError):
            process.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _portable(exc: BaseException, paths: LocalPaths | None = None) -> BaseException:
    """An error the user's process can unpickle without MLflow: the kit's own pass as they are; a
    full disk or a file system that refuses a write names where (the file, else the home)."""
    if isinstance(exc, MlopsKitError):
        return exc
    failed_write = _failed_write(exc)
    if failed_write is not None:
        file, reason = failed_write
        where_written = file or (paths.home if paths is not None else "the local home")
        return BackendUnavailableError(
            f"MLflow could not write {where_written}: {reason}. Free space or fix the folder's permissions, then run "
            "again: a rerun repairs what this left"
        )
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    where = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:]).strip()
    portable = MlopsKitError(f"MLflow failed: {type(exc).__name__}: {message}")
    portable.add_note(f"in MLflow's worker process:\n{where}")  # in a traceback, not in what a command prints
    return portable


def _prepare() -> None:
    """Import what saving and loading models needs while the user's process is busy elsewhere."""
    import importlib

    for module in ("mlflow.models", "mlflow.sklearn", "mlflow.xgboost", "xgboost", "sklearn.base"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def serve() -> None:
    """The worker's loop: open the store, then answer requests until stdin closes."""
    import importlib

    # The user's process decides when this one ends (by closing stdin): Ctrl-C in a terminal, or a
    # SIGTERM to the process group, must not kill it in the middle of ending a run FAILED.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Opening MLflow is meant for cores the user's process leaves idle, not to slow it down.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    requests = sys.stdin.buffer
    paths, user_path = pickle.loads(_receive(requests))
    sys.path[:] = [*user_path, *(entry for entry in sys.path if entry not in user_path)]
    from mlops_kit.adapters.local.mlflow_store import open_client

    for module in _OPERATION_MODULES:
        importlib.import_module(module)
    session: Session | None = None
    failure: BaseException | None = None
    try:
        session = Session(open_client(paths), paths)
        _prepare()
    except BaseException as exc:  # noqa: BLE001 - every request answers with it
        failure = exc
    while True:
        try:
            request = _receive(requests)
        except EOFError:
            return
        try:
            if session is None:
                raise failure  # type: ignore[misc]
            name, args, kwargs = _loads_request(request)
            answer = _dumps((True, _OPERATIONS[name](session, *args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - sent back and raised in the user's process
            answer = _dumps((False, _portable(exc, paths)))
        try:
            _send(answers, answer)
        except OSError:  # the user's process is gone (killed): nobody to answer, and nothing to print
            with contextlib.suppress(OSError):
                answers.close()  # its unsent bytes would otherwise be reported again at exit
            return


def _failed_write(exc: BaseException) -> tuple[str | None, str] | None:
    """(the file, if known; why) of a write that the disk or the file system refused (no space, a quota,
    read-only), found in ``exc`` or its causes: an OSError, or SQLite's "database or disk is full"
    (MLflow wraps both in its own exceptions)."""
    import errno

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            return seen.filename, seen.strerror or str(seen)
        if "database or disk is full" in str(seen):
            return None, "No space left on device (SQLite: database or disk is full)"
        seen = seen.__cause__ or seen.__context__
    return None


def _dumps(value: object) -> bytes:
    """``value`` pickled for the other process: by value where stdlib pickle could only refer.

    A model class defined in ``__main__`` (a script, a notebook) or a lambda in a pipeline exists
    only in the process that made it; cloudpickle carries its code along, as snowflake-ml does
    when it saves a model, so the same script registers the same models on both backends.
    """
    import cloudpickle

    return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _loads_request(request: bytes) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """A request's operation and arguments; an argument this process cannot rebuild is bad input."""
    from mlops_kit.errors import InvalidInputError

    try:
        return pickle.loads(request)
    except Exception as exc:
        raise InvalidInputError(
            f"the MLflow process cannot rebuild an argument ({type(exc).__name__}: {exc}); "
            "define the model's classes in a module the script imports, or in the script itself"
        ) from exc


def _send(stream: IO[bytes], payload: bytes) -> None:
    """One message: its length, then its bytes, so a message that cannot be unpickled is skipped whole."""
    stream.write(len(payload).to_bytes(8, "big") + payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    """The next message; EOFError when the other side has closed the stream."""
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the stream closed")
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the stream closed in the middle of a message")
    return payload
