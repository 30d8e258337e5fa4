"""Writing the files a workflow produces (plots, CSV files, pages) into a folder of the user's.

A write that the disk or the folder refuses (no space left, no permission) fails the step with the
file's path and the system's reason, instead of an OSError that names neither, and leaves no
half-written file behind under the name the workflow promised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from mlops_kit.errors import RunFailedError


@contextlib.contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """The block writes ``what`` to ``path``; an OSError in it becomes ``RunFailedError`` naming both,
    and a partly written ``path`` is removed.

    Raises:
        RunFailedError: the write failed.
    """
    try:
        yield
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise RunFailedError(
            f"could not write {what} {path}: {exc.strerror or exc}; free space or choose a folder you can write "
            "(--out), then run again"
        ) from exc
