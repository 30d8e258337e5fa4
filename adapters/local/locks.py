"""The locks of a local home, and waiting for them: visibly, and for a bounded time where that helps.

Two kinds of lock guard a local home:

- DuckDB's own lock on the database file: any number of read-only openers, or one read-write
  opener. Every DuckDB client takes it (a notebook, the DuckDB CLI, the kit), so it is the only lock
  on the database: the warehouse opens the file read-only to read (readers coexist), read-write to
  write, and waits while the lock is taken. DuckDB's refusal names the holder's program and PID.
- ``HomeLock``, the kit's own lock, for what DuckDB does not guard: one lab per home at a time
  (``backend.exclusive``). Its holder writes who it is into the lock file, so that a waiter can say
  whom it waits for. The operating system releases the lock when its holder dies, even by kill -9,
  so a lock file left behind blocks nobody.

A wait that lasts more than a moment is announced as a logging warning (shown on stderr unless the
application configures logging otherwise): what is awaited and who holds it, again whenever the
holder changes, and when it ends. A bounded wait that runs out raises ``StoreLockedError`` naming
the holder and what to do. A wait without bound (a lab waiting for the lab before it) is bounded as
the store locks are (``resolve_lock_timeout``) once its holder is stopped (Ctrl-Z, SIGSTOP), which
would otherwise hold it for ever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from mlops_kit.errors import BackendUnavailableError, InvalidInputError, StoreLockedError

logger = logging.getLogger(__name__)

#: Seconds a writer (or a reader facing a writer) waits for the DuckDB file before giving up.
DEFAULT_LOCK_TIMEOUT = 60.0
LOCK_TIMEOUT_VARIABLE = "MLOPS_KIT_LOCK_TIMEOUT"
#: A wait shorter than this is not worth a message: another process was just finishing a statement.
ANNOUNCE_AFTER = 0.5
_LONGEST_PAUSE = 0.5
_LOCK_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")

T = TypeVar("T")


def resolve_lock_timeout(timeout: float | None = None) -> float:
    """``timeout`` if given, else ``$MLOPS_KIT_LOCK_TIMEOUT``, else 60 seconds."""
    if timeout is None:
        raw = os.environ.get(LOCK_TIMEOUT_VARIABLE)
        if not raw:
            return DEFAULT_LOCK_TIMEOUT
        try:
            timeout = float(raw)
        except ValueError:
            raise InvalidInputError(f"{LOCK_TIMEOUT_VARIABLE}={raw!r} is not a number of seconds") from None
    if not timeout >= 0:  # also refuses NaN
        raise InvalidInputError(f"lock timeout {timeout!r}: give a number of seconds, 0 or more")
    return float(timeout)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as far as it can be known."""

    pid: int
    program: str
    #: "read-only" or "read-write" where known: it decides what the waiter can do about it.
    mode: str = ""
    since: str = ""

    def describe(self) -> str:
        who = "this process" if self.pid == os.getpid() else "process"
        details = [self.program]
        if self.mode:
            details.append(f"open {self.mode}")
        if self.since:
            details.append(f"since {self.since}")
        if self.is_stopped():
            details.append("stopped: Ctrl-Z or SIGSTOP suspended it")
        return f"{who} {self.pid} ({', '.join(details)})"

    def is_stopped(self) -> bool:
        """Whether the holder is suspended (state T or t in ``/proc/<pid>/stat``, Linux): it holds the
        lock without doing anything until someone resumes it."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return False  # gone, or not Linux
        return stat.rpartition(")")[2].split()[:1] in (["T"], ["t"])


class Busy(Exception):
    """One attempt found the lock taken (``holder`` None: taken, by whom is not known)."""

    def __init__(self, holder: Holder | None) -> None:
        super().__init__(holder.describe() if holder else "unknown holder")
        self.holder = holder


def wait_until_free(
    attempt: Callable[[], T],
    what: str,
    *,
    timeout: float | None,
    advice: Callable[[Holder | None], str] | None = None,
) -> T:
    """Call ``attempt`` until it stops raising ``Busy``; announce a wait that lasts; give up after ``timeout``.

    Args:
        what: the lock, as a person names it ("the DuckDB database /home/me/.mlops_kit/X.duckdb").
        timeout: seconds to wait at most; None waits as long as it takes.
        advice: what to do about a given holder, for the error raised when the time runs out.
    Raises:
        StoreLockedError: still taken after ``timeout`` seconds.
    """
    started = time.monotonic()
    pause = 0.02
    announced: list[Holder | None] = []  # the holders already announced, latest last
    while True:
        try:
            result = attempt()
        except Busy as busy:
            waited = time.monotonic() - started
            holder_text = busy.holder.describe() if busy.holder else "another process"
            stopped = busy.holder is not None and busy.holder.is_stopped()
            if stopped and timeout is None:  # waiting as long as it takes would be for ever
                timeout = resolve_lock_timeout()
            if timeout is not None and waited >= timeout:
                if stopped:
                    assert busy.holder is not None
                    raise StoreLockedError(
                        f"{what} is held by {holder_text}; gave up after waiting {waited:.0f} s. Resume it "
                        f"(fg in its terminal, or kill -CONT {busy.holder.pid}) or end it (kill {busy.holder.pid})"
                    ) from None
                what_to_do = f" {advice(busy.holder)}" if advice else ""
                raise StoreLockedError(
                    f"{what} is held by {holder_text}; gave up after waiting {waited:.0f} s.{what_to_do}"
                ) from None
            if waited >= ANNOUNCE_AFTER and (not announced or announced[-1] != busy.holder):
                then = f"giving up after {timeout:.0f} s" if timeout is not None else "going on when it is free"
                logger.warning("waiting for %s, held by %s; %s", what, holder_text, then)
                announced.append(busy.holder)
            remaining = timeout - waited if timeout is not None else _LONGEST_PAUSE
            time.sleep(max(0.0, min(pause, remaining)))
            pause = min(pause * 2, _LONGEST_PAUSE)
            continue
        if announced:
            logger.warning("%s is free after %.1f s; continuing", what, time.monotonic() - started)
        return result


class HomeLock:
    """An inter-process lock of the local home, ``<home>/<name>.lock``, that records its holder.

    Entering waits until the lock is free, announcing whom it waits for.
    """

    def __init__(self, home: Path, name: str) -> None:
        from filelock import FileLock

        if not _LOCK_NAME.match(name):
            raise InvalidInputError(f"lock name {name!r}: use letters, digits, '_', '-' and '.' only")
        self.path = home / f"{name}.lock"
        self.what = f"the {name!r} lock of {home}"
        # The record goes into the lock file itself: waiters open it without truncating it. One lock
        # object per path in this process, so a thread that holds it may enter it again (another
        # connection to the same home) instead of waiting for itself.
        self._lock = FileLock(str(self.path), mode=0o600, on_acquired=_record_holder, is_singleton=True)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        from filelock import Timeout

        def attempt() -> None:
            try:
                self._lock.acquire(blocking=False)
            except Timeout:
                raise Busy(read_holder(self.path)) from None
            except OSError as exc:
                raise BackendUnavailableError(
                    f"cannot use the lock file {self.path}: {exc.strerror or exc}; the local home must be writable"
                ) from exc

        wait_until_free(attempt, self.what, timeout=None)
        try:
            yield
        finally:
            if self._lock.lock_counter == 1:  # the outermost hold: its record must not outlive it
                with contextlib.suppress(OSError):
                    os.truncate(self.path, 0)
            self._lock.release()


def _record_holder(fd: int) -> None:
    """Write who holds the lock into its file; on a full disk the lock is held all the same, and a
    waiter says it waits for "another process"."""
    record = {"pid": os.getpid(), "program": _this_program(), "since": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)


def read_holder(path: Path) -> Holder | None:
    """The holder recorded in a ``HomeLock`` file, or None when there is none or it is no longer running."""
    try:
        record = json.loads(path.read_text() or "null")
        holder = Holder(int(record["pid"]), str(record["program"]), since=str(record.get("since", "")))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # being written, emptied by its releasing holder, or not ours
    return holder if _is_running(holder.pid) else None


_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def duckdb_lock_holder(message: str, *, wanted_read_only: bool) -> Holder | None:
    """The holder named in DuckDB's "Could not set lock" refusal, or None if ``message`` is another error."""
    found = _DUCKDB_HOLDER.search(message)
    if found is None:
        return None
    pid = int(found["pid"])
    # A writer refused by readers is told it "would be able to open this database in read-only mode";
    # a reader can only be refused by a writer.
    if wanted_read_only:
        mode = "read-write"
    else:
        mode = "read-only" if "read-only mode" in message else "read-write"
    return Holder(pid, _command_line(pid) or found["program"], mode=mode)


def duckdb_advice(holder: Holder | None) -> str:
    """What to do when ``holder`` keeps the DuckDB file locked."""
    longer = f"(or set {LOCK_TIMEOUT_VARIABLE}=<seconds> to wait longer)"
    if holder is not None and holder.mode == "read-only":
        return (
            f"Close the database in that program (con.close() in Python, .exit in the DuckDB CLI), then retry {longer}; "
            "the kit's reads run beside a read-only client, its writes cannot."
        )
    return (
        f"Wait until that process has finished, or stop it, then retry {longer}. If it is a notebook or the "
        "DuckDB CLI that only reads, open the database there read-only (duckdb.connect(path, read_only=True), "
        "duckdb -readonly): the kit's reads then run beside it."
    )


def _this_program() -> str:
    return _command_line(os.getpid()) or " ".join([sys.executable, *sys.argv])[:200]


def _command_line(pid: int) -> str | None:
    """The holder's command line where the system tells it (Linux), trimmed for a message."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    text = " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split())
    return (text[:197] + "...") if len(text) > 200 else (text or None)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        return True
    except OSError:
        return False
    return True
