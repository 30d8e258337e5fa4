"""The edge between the core and an adapter: where an engine's errors become the kit's errors, once.

Every public interface method is concrete in the core (``mlops_kit/warehouse.py``,
``feature_store.py``, ``tracker.py``, ``registry.py``): it validates and canonicalises its
arguments, applies the kit's rules, then calls the adapter's primitives (methods named ``_…``)
inside ``self._boundary(what)``. What escapes a primitive is translated there, the way Kedro's
``load`` wraps ``_load``:

- a kit error (``MlopsKitError``) passes unchanged: the adapter already knew what went wrong;
- an engine error the adapter recognises (``error_kind`` returns a kit error type) becomes that
  type, with ``what`` in front of the engine's first line and the engine error as its cause;
- anything else (an ``AttributeError`` in our own code) propagates as it is: a bug should look
  like a bug, not like bad input.

Each backend says which of its engine's errors mean what in one place, its ``ErrorKinds`` mixin
(``adapters/local/errors.py``, ``adapters/snowflake/_errors.py``), which all four of its classes
inherit.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from mlops_kit.errors import MlopsKitError, narrowed


class Boundary:
    """Mixed into the four interfaces: ``_boundary`` around every call of an adapter primitive."""

    def error_kind(self, exc: BaseException) -> type[MlopsKitError] | None:
        """The kit error an engine error means, or None for an error the adapter does not know.

        Adapters override this (through their backend's ``ErrorKinds`` mixin); the default knows none.
        """
        return None

    @contextlib.contextmanager
    def _boundary(self, what: str, *, kind: type[MlopsKitError] | None = None) -> Iterator[None]:
        """Translate what escapes the block (see the module docstring).

        Args:
            what: what was being done, as the start of the message (``"could not write PREP_DATA.T"``).
            kind: the kit error to raise for a recognised engine error instead of the one
                ``error_kind`` gives (``errors.narrowed``); for calls whose object is known to
                exist, where "not found" can only be about the input.
        """
        try:
            yield
        except MlopsKitError:
            raise
        except Exception as exc:
            found = self.error_kind(exc)
            if found is None:
                raise
            raise narrowed(found, kind)(f"{what}: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an error's message (engines add pages of context below it).

    Snowflake's compilation errors say where on their first line and what on the second
    (``SQL compilation error: error line 1 at position 7`` / ``invalid identifier 'X'``): both are kept.
    A Python UDF's error (``Python Interpreter Error:``, then a traceback) keeps the exception raised.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if _WHERE_ONLY.search(lines[0]) and len(lines) > 1:
        return f"{lines[0]}{' ' if lines[0].endswith(':') else ': '}{lines[1]}"
    if lines[0].endswith(_PYTHON_ERROR) and len(lines) > 1:
        raised = [line for line in lines[1:] if _RAISED.match(line)]
        return f"{lines[0]} {raised[-1] if raised else lines[-1]}"
    return lines[0]


_WHERE_ONLY = re.compile(r"SQL compilation error:( error line \d+ at position \d+)?$")
#: Snowflake's 100357: a Python UDF's (a model method's) traceback follows on the next lines, the
#: exception it raised last among them (``ValueError: Input X contains NaN.``).
_PYTHON_ERROR = "Python Interpreter Error:"
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning)\b: ")
