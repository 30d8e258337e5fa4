"""Translating Snowflake driver and snowflake-ml errors into mlops_kit's typed errors, by their codes.

Three kinds of code tell what went wrong, never the English text:

- the connector's own error numbers (``snowflake.connector.errorcode``, 2xxxxx): a request that failed
  on its way (``250001`` could not connect, ``250003`` failed request, ``29xxxx`` an HTTP status such as
  ``290500`` for HTTP 500) and the login/session numbers the server answers with (``390112`` session
  expired, ``390114`` authentication token expired). These are the backend failing, never the
  caller: ``BackendUnavailableError``.
- Snowflake's SQL error numbers, on the connector's errors (``errno``) and Snowpark's
  ``SnowparkSQLException`` (``sql_error_code``): 2003 "does not exist or not authorized",
  2043 "does not exist, or operation cannot be performed", 2002 "already exists", 3001
  "Insufficient privileges". A statement refused with SQLSTATE class ``XX`` (internal error, e.g.
  ``000603 SQL execution internal error``) or ``08`` (connection exception) failed in the service;
  any other statement Snowflake refused was built from the caller's input.
- snowflake-ml's own error codes (``snowflake.ml._internal.exceptions.error_codes``): raised as
  ``SnowflakeMLException(error_code=…)``, which the library's telemetry wrapper unwraps into the
  original exception with the code in front of its message (``ValueError("(2101) Cannot find …")``)
  and, usually, the ``SnowflakeMLException`` as its cause. The library's own scheme says who is at
  fault: ``1xxx`` is a system error (the library, Snowpark or the service), ``2xxx`` the user's.

An error that carries no code is not classified: it stays the library's exception (``error_kind``
returns None), so a bug in the library or the kit is never reported as the caller's input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow
from snowflake.connector.errors import Error as ConnectorError
from snowflake.ml._internal.exceptions import error_codes
from snowflake.ml._internal.exceptions.exceptions import SnowflakeMLException
from snowflake.snowpark.exceptions import SnowparkClientException, SnowparkSQLException

from mlops_kit.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BackendUnavailableError,
    InvalidInputError,
    MlopsKitError,
    NotFoundError,
    narrowed,
)

#: What snowflake-ml raises besides driver errors: it wraps most in SnowflakeMLException, which its
#: telemetry unwraps into the original ValueError / RuntimeError / TypeError …
SNOWFLAKE_ERRORS: tuple[type[Exception], ...] = (
    SnowparkClientException,
    SnowflakeMLException,
    ConnectorError,
    ValueError,
    RuntimeError,
)

#: snowflake-ml error codes with a meaning of their own; other codes go by their first digit.
LIBRARY_CODES: dict[str, type[MlopsKitError]] = {
    error_codes.NOT_FOUND: NotFoundError,
    error_codes.SNOWML_NOT_FOUND: NotFoundError,
    error_codes.OBJECT_ALREADY_EXISTS: AlreadyExistsError,
    error_codes.INSUFFICIENT_PRIVILEGES: AccessDeniedError,
}
#: The first digit of a snowflake-ml code: "1XXX: system", "2XXX: user" (error_codes.py's docstring).
LIBRARY_CATEGORIES: dict[str, type[MlopsKitError]] = {"1": BackendUnavailableError, "2": InvalidInputError}

#: Snowflake SQL error numbers with a meaning of their own; other SQL errors are the caller's input.
SQL_CODES: dict[int, type[MlopsKitError]] = {
    2003: NotFoundError,  # SQL compilation error: Object '…' does not exist or not authorized.
    2043: NotFoundError,  # Object does not exist, or operation cannot be performed.
    2002: AlreadyExistsError,  # Object '…' already exists.
    3001: AccessDeniedError,  # SQL access control error: Insufficient privileges to operate on …
}
#: Numbers from 200000 up are the connector's (errorcode.py: 25xxxx requests, 29xxxx HTTP statuses)
#: or the login service's (390xxx): the request, the network or the login failed, not the statement.
FIRST_CONNECTOR_NUMBER = 200_000
#: SQLSTATE classes of a failure in the service, not in the statement (SQL standard: 08 connection
#: exception, XX internal error).
SERVICE_FAILURE_STATES = ("08", "XX")

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
    """The Snowflake SQL (or connector) error number in ``exc``'s chain, if any."""
    for error in _chain(exc):
        if isinstance(error, SnowparkSQLException) and error.sql_error_code is not None:
            return int(error.sql_error_code)
        if isinstance(error, ConnectorError) and error.errno is not None and error.errno > 0:
            return int(error.errno)
    return None


def sql_state(exc: BaseException) -> str | None:
    """The SQLSTATE of the driver error in ``exc``'s chain, if any (Snowpark keeps it on its cause)."""
    for error in _chain(exc):
        if isinstance(error, SnowparkSQLException) and error.conn_error is not None:
            error = error.conn_error
        if isinstance(error, ConnectorError) and error.sqlstate:
            return str(error.sqlstate)
    return None


def classify(exc: BaseException) -> type[MlopsKitError] | None:
    """The mlops_kit error type for a Snowflake or snowflake-ml error; None when nothing in it says.

    The most specific code decides: a failed request or a service failure anywhere in the chain
    (whatever the library made of it), then the SQL numbers and library codes with a meaning of their
    own, then a statement Snowflake refused (the caller's input), then the library's category.
    """
    number, code = sql_code(exc), library_code(exc)
    if (number is not None and number >= FIRST_CONNECTOR_NUMBER) or (sql_state(exc) or "").startswith(
        SERVICE_FAILURE_STATES
    ):
        return BackendUnavailableError
    specific = SQL_CODES.get(number or 0) or LIBRARY_CODES.get(code or "")
    if specific is not None:
        return specific
    if number is not None:
        return InvalidInputError
    return LIBRARY_CATEGORIES.get(code[0]) if code else None


class SnowflakeErrorKinds:
    """``error_kind`` for the Snowflake backend, mixed into its four classes; the core's ``_boundary``
    (``mlops_kit/boundary.py``) asks it about every error that escapes a Snowflake primitive."""

    def error_kind(self, exc: BaseException) -> type[MlopsKitError] | None:
        if isinstance(exc, pyarrow.ArrowException):
            return InvalidInputError  # a frame the connector cannot write as Parquet (a mixed column)
        return classify(exc) if isinstance(exc, SNOWFLAKE_ERRORS) else None


@contextmanager
def translated(what: str, *, default: type[MlopsKitError] | None = None) -> Iterator[None]:
    """Re-raise Snowflake errors inside the block as mlops_kit errors (``raise ... from exc``).

    Args:
        default: raise this error type instead of the classified one (``errors.narrowed``), where the
            object is known to exist, so "does not exist" can only be about the input.
    """
    try:
        yield
    except MlopsKitError:
        raise
    except SNOWFLAKE_ERRORS as exc:
        kind = classify(exc)
        if kind is None and default is None:
            raise
        raise narrowed(kind or InvalidInputError, default)(f"{what}: {exc}") from exc
