"""Which kit error a Snowflake failure becomes, by its codes: the connector's and snowflake-ml's own
exception classes, built as those libraries build them (no doubles), and failures the emulator serves."""

from __future__ import annotations

import pytest
from snowflake.connector import errors as connector
from snowflake.connector.errorcode import ER_FAILED_TO_CONNECT_TO_DB, ER_FAILED_TO_REQUEST
from snowflake.ml._internal.exceptions import error_codes
from snowflake.ml._internal.exceptions.exceptions import SnowflakeMLException
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException

from mlops_kit.adapters.snowflake._errors import classify, translated
from mlops_kit.errors import (
    AccessDeniedError,
    BackendUnavailableError,
    InvalidInputError,
    NotFoundError,
)


def _raised_from(outer: BaseException, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise outer from inner
    except BaseException as caught:
        return caught


def _library_error(code: str, message: str) -> ValueError:
    """What snowflake-ml's telemetry raises: the original exception with the code in front."""
    return SnowflakeMLException(error_code=code, original_exception=ValueError(message)).original_exception


HTTP_500 = connector.InternalServerError(errno=500)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (HTTP_500, BackendUnavailableError),  # errno 290500, "HTTP 500: Internal Server Error"
        (
            connector.OperationalError(msg="could not connect", errno=ER_FAILED_TO_CONNECT_TO_DB),
            BackendUnavailableError,
        ),
        (connector.OperationalError(msg="failed request", errno=ER_FAILED_TO_REQUEST), BackendUnavailableError),
        (connector.ProgrammingError(msg="Authentication token has expired.", errno=390114), BackendUnavailableError),
        (connector.ProgrammingError(msg="internal error", errno=603, sqlstate="XX000"), BackendUnavailableError),
        (connector.ProgrammingError(msg="Insufficient privileges", errno=3001, sqlstate="42501"), AccessDeniedError),
        (connector.ProgrammingError(msg="does not exist or not authorized", errno=2003), NotFoundError),
        (connector.ProgrammingError(msg="syntax error", errno=1003, sqlstate="42000"), InvalidInputError),
        (_library_error(error_codes.INVALID_ARGUMENT, "bad argument"), InvalidInputError),
        (_library_error(error_codes.INSUFFICIENT_PRIVILEGES, "no privilege"), AccessDeniedError),
        (_library_error(error_codes.INTERNAL_SNOWML_ERROR, "library failed"), BackendUnavailableError),
        # The library called a request that failed its input: the server's failure decides.
        (
            _raised_from(_library_error(error_codes.INVALID_ARGUMENT, "290500: HTTP 500"), HTTP_500),
            BackendUnavailableError,
        ),
        # A library wrapping the caller's SQL error in a system code: the statement's number decides.
        (
            _raised_from(
                _library_error(error_codes.SQL_COMPILATION_ERROR, "compilation failed"),
                connector.ProgrammingError(msg="invalid identifier", errno=904, sqlstate="42000"),
            ),
            InvalidInputError,
        ),
        (RuntimeError("an error with no code"), None),
        (ValueError("an error with no code"), None),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else getattr(value, "__name__", ""),
)
def test_each_failure_is_classified_by_its_codes(error: BaseException, kind: type | None) -> None:
    assert classify(error) is kind


def test_an_error_with_no_code_stays_the_library_s() -> None:
    with pytest.raises(RuntimeError, match="no code"), translated("could not list models"):
        raise RuntimeError("no code")


def test_a_known_object_still_reports_a_failed_backend_as_such() -> None:
    """``default=`` says what "not found" means for an object known to exist; a dead server stays one."""
    with (
        pytest.raises(BackendUnavailableError, match="HTTP 500"),
        translated("could not read", default=InvalidInputError),
    ):
        raise HTTP_500
    with pytest.raises(InvalidInputError), translated("could not read", default=InvalidInputError):
        raise connector.ProgrammingError(msg="does not exist or not authorized", errno=2003)


def test_a_statement_the_emulator_cannot_run_is_the_backend_s_failure(emulated_session: Session) -> None:
    """The emulator answers what it cannot run as Snowflake answers an internal error (000603, XX000)."""
    with pytest.raises(SnowparkSQLException) as failure:
        emulated_session.sql("SELECT 1 MATCH_RECOGNIZE()").collect()
    assert failure.value.sql_error_code == 603
    assert classify(failure.value) is BackendUnavailableError
