"""Translating Snowflake driver and snowflake-ml errors into mlops_kit's typed errors, by their codes.

Two kinds of code tell what went wrong, never the English text:

- snowflake-ml's own error codes (``snowflake.ml._internal.exceptions.error_codes``): raised as
  ``SnowflakeMLException(error_code=…)``, which the library's telemetry wrapper unwraps into the
  original exception with the code in front of its message (``ValueError("(2101) Cannot find …")``)
  and, usually, the ``SnowflakeMLException`` as its cause.
- Snowflake's SQL error numbers, on the connector's errors (``errno``) and Snowpark's
  ``SnowparkSQLException`` (``sql_error_code``): 2003 "does not exist or not authorized",
  2043 "does not exist, or operation cannot be performed", 2002 "already exists".

Everything else Snowflake or the library refuses is the caller's input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from snowflake.connector.errors import Error as ConnectorError
from snowflake.ml._internal.exceptions import error_codes
from snowflake.ml._internal.exceptions.exceptions import SnowflakeMLException
from snowflake.snowpark.exceptions import SnowparkClientException, SnowparkSQLException

from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError

#: What snowflake-ml raises besides driver errors: it wraps most in SnowflakeMLException, which its
#: telemetry unwraps into the original ValueError / RuntimeError / TypeError …
SNOWFLAKE_ERRORS: tuple[type[Exception], ...] = (
    SnowparkClientException,
    SnowflakeMLException,
    ConnectorError,
    ValueError,
    RuntimeError,
)

#: snowflake-ml error codes, by the mlops_kit error they mean.
LIBRARY_CODES: dict[str, type[MlopsKitError]] = {
    error_codes.NOT_FOUND: NotFoundError,
    error_codes.SNOWML_NOT_FOUND: NotFoundError,
    error_codes.OBJECT_ALREADY_EXISTS: AlreadyExistsError,
}
#: Snowflake SQL error numbers, by the mlops_kit error they mean.
SQL_CODES: dict[int, type[MlopsKitError]] = {
    2003: NotFoundError,  # SQL compilation error: Object '…' does not exist or not authorized.
    2043: NotFoundError,  # Object does not exist, or operation cannot be performed.
    2002: AlreadyExistsError,  # Object '…' already exists.
}

_LIBRARY_PREFIX = re.compile(r"^\((\d{4})\) ")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def library_code(exc: BaseException) -> str | None:
    """The snowflake-ml error code ``exc`` carries (outermost first), if any."""
    for error in _chain(exc):
        if isinstance(error, SnowflakeMLException):
            return str(error.error_code)
        found = _LIBRARY_PREFIX.match(str(error))
        if found:
            return found.group(1)
    return None


def sql_code(exc: BaseException) -> int | None:
    """The Snowflake SQL error number in ``exc``'s chain, if any."""
    for error in _chain(exc):
        if isinstance(error, SnowparkSQLException) and error.sql_error_code is not None:
            return int(error.sql_error_code)
        if isinstance(error, ConnectorError) and error.errno is not None and error.errno > 0:
            return int(error.errno)
    return None


def classify(exc: BaseException) -> type[MlopsKitError]:
    """The mlops_kit error type for a Snowflake or snowflake-ml error."""
    by_library = LIBRARY_CODES.get(library_code(exc) or "")
    if by_library is not None:
        return by_library
    return SQL_CODES.get(sql_code(exc) or 0, InvalidInputError)


def translate(exc: BaseException, what: str) -> MlopsKitError:
    """The mlops_kit error for a Snowflake error raised while doing ``what``."""
    if isinstance(exc, MlopsKitError):
        return exc
    return classify(exc)(f"{what}: {exc}")


class SnowflakeErrorKinds:
    """``error_kind`` for the Snowflake backend, mixed into its four classes; the core's ``_boundary``
    (``mlops_kit/boundary.py``) asks it about every error that escapes a Snowflake primitive."""

    def error_kind(self, exc: BaseException) -> type[MlopsKitError] | None:
        return classify(exc) if isinstance(exc, SNOWFLAKE_ERRORS) else None


@contextmanager
def translated(what: str, *, default: type[MlopsKitError] | None = None) -> Iterator[None]:
    """Re-raise Snowflake errors inside the block as mlops_kit errors (``raise ... from exc``).

    Args:
        default: always raise this error type instead of classifying (used where the object is
            known to exist, so "does not exist" can only be about the input).
    """
    try:
        yield
    except MlopsKitError:
        raise
    except SNOWFLAKE_ERRORS as exc:
        if default is not None:
            raise default(f"{what}: {exc}") from exc
        raise translate(exc, what) from exc
