"""Translating Snowflake driver and snowflake-ml errors into mlops_kit's typed errors.

Snowflake reports a missing object as "... does not exist" (SQL) or "Unable to find ..." /
"... not found" (snowflake-ml); everything else it rejects is the caller's input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from snowflake.connector.errors import Error as ConnectorError
from snowflake.ml._internal.exceptions.exceptions import SnowflakeMLException
from snowflake.snowpark.exceptions import SnowparkClientException

from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError

#: What snowflake-ml raises besides driver errors: it wraps most in SnowflakeMLException, but
#: Registry/Model raise a bare ValueError ("Unable to find model ...") and ExperimentTracking a
#: RuntimeError.
SNOWFLAKE_ERRORS: tuple[type[Exception], ...] = (
    SnowparkClientException,
    SnowflakeMLException,
    ConnectorError,
    ValueError,
    RuntimeError,
)

_NOT_FOUND = re.compile(
    r"does not exist|not exist|not found|unable to find|failed to find|cannot be found|has not been registered|no such",
    re.IGNORECASE,
)
_EXISTS = re.compile(r"already exists", re.IGNORECASE)


def translate(exc: BaseException, what: str) -> MlopsKitError:
    """The mlops_kit error for a Snowflake error raised while doing ``what``."""
    if isinstance(exc, MlopsKitError):
        return exc
    message = f"{what}: {exc}"
    if _NOT_FOUND.search(str(exc)):
        return NotFoundError(message)
    if _EXISTS.search(str(exc)):
        return AlreadyExistsError(message)
    return InvalidInputError(message)


@contextmanager
def translated(what: str, *, default: type[MlopsKitError] | None = None) -> Iterator[None]:
    """Re-raise Snowflake errors inside the block as mlops_kit errors (``raise ... from exc``).

    Args:
        default: always raise this error type instead of guessing from the message (used where
            the object is known to exist, so "does not exist" can only mean bad input).
    """
    try:
        yield
    except MlopsKitError:
        raise
    except SNOWFLAKE_ERRORS as exc:
        if default is not None:
            raise default(f"{what}: {exc}") from exc
        raise translate(exc, what) from exc
