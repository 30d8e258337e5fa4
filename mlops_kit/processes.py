"""Which process owns a piece of work, and whether that process still lives.

A process killed with SIGKILL (or a machine that loses power) cannot clean up after itself: a run
stays RUNNING, a registration stays half-done. Backends record the owner of such work when it
starts; the next process to come along asks whether that owner is gone and, if so, repairs what it
left. The owner is the host name, the process id and, where the system tells it, the process's
start time, so a reused process id is not mistaken for the original process.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessOwner:
    host: str
    pid: int
    started: str | None = None  # start time in clock ticks since boot (Linux), None where unknown

    @classmethod
    def current(cls) -> ProcessOwner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_time(pid))

    def to_text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str | None) -> ProcessOwner | None:
        """The owner recorded as ``to_text`` wrote it; None for anything else."""
        try:
            data = json.loads(text or "")
            return cls(str(data["host"]), int(data["pid"]), data.get("started"))
        except (ValueError, TypeError, KeyError):
            return None

    def is_gone(self) -> bool:
        """True only when this process has certainly ended. A process on another host, or one
        that exists but cannot be inspected, counts as alive: never repair work someone may be doing."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # it exists, under another user
        started = _start_time(self.pid)
        return self.started is not None and started is not None and started != self.started


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: the fields after it start at the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None
