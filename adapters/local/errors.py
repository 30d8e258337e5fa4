"""What the local engines' errors mean, in the kit's terms: the local backend's one translation table.

All four local classes inherit ``LocalErrorKinds``; the core's ``_boundary`` (``mlops_kit/boundary.py``)
asks it about every error that escapes a local primitive. DuckDB says what went wrong by exception
class; MLflow by an error code on ``MlflowException`` (most MLflow calls run in the MLflow worker
process, whose operations translate their errors there and send back kit errors).
"""

from __future__ import annotations

import sys

from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError

#: MLflow's error codes (``mlflow.protos.databricks_pb2``), by the kit error they mean.
MLFLOW_CODES: dict[str, type[MlopsKitError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFoundError,
    "RESOURCE_ALREADY_EXISTS": AlreadyExistsError,
    "INVALID_PARAMETER_VALUE": InvalidInputError,
    "INVALID_STATE": InvalidInputError,
    "BAD_REQUEST": InvalidInputError,
}


class LocalErrorKinds:
    """``error_kind`` for the local backend (mixed into LocalWarehouse, LocalFeatureStore …)."""

    def error_kind(self, exc: BaseException) -> type[MlopsKitError] | None:
        # Only engines this process has loaded can have raised: never import one just to compare.
        duckdb = sys.modules.get("duckdb")
        if duckdb is not None and isinstance(exc, duckdb.Error):
            if isinstance(exc, duckdb.CatalogException):
                return NotFoundError
            if isinstance(exc, duckdb.ConstraintException):
                return AlreadyExistsError
            return InvalidInputError
        mlflow_exceptions = sys.modules.get("mlflow.exceptions")
        if mlflow_exceptions is not None and isinstance(exc, mlflow_exceptions.MlflowException):
            return MLFLOW_CODES.get(str(exc.error_code), InvalidInputError)
        return None
