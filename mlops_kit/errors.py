"""Every error mlops_kit raises on purpose, in one place.

Adapters translate driver errors (duckdb, mlflow, snowflake) into these at their boundary with
``raise ... from exc`` so a caller can handle one family of exceptions whatever the backend.
"""

from __future__ import annotations


class MlopsKitError(Exception):
    """Root of every error mlops_kit raises on purpose."""


class NotFoundError(MlopsKitError, LookupError):
    """A named object (table, entity, feature view, run, model, version) does not exist."""


class AlreadyExistsError(MlopsKitError):
    """An object with that name exists and differs from what was asked for."""


class InvalidInputError(MlopsKitError, ValueError):
    """Input that cannot be accepted: a bad name, a malformed file, a wrong column."""


class AccessDeniedError(MlopsKitError, PermissionError):
    """The backend refused for want of a privilege (Snowflake's ``003001 Insufficient privileges``,
    snowflake-ml's code 2105): the message is the backend's, after what the kit was doing, and names
    the object (and the privilege, where Snowflake's message does)."""


class BackendUnavailableError(MlopsKitError):
    """A backend cannot be used: its extra is not installed or it cannot be reached."""


class StoreLockedError(BackendUnavailableError):
    """A store (e.g. the local DuckDB file) stayed locked by another process for longer than the kit
    waits; the message names the holder and what to do."""


class RunFailedError(MlopsKitError):
    """A step of a workflow failed; the stores were left as they were or marked failed."""


def narrowed(found: type[MlopsKitError], known: type[MlopsKitError] | None) -> type[MlopsKitError]:
    """``known`` in place of the error an engine error was classified as (``found``), for a call whose
    object is known to exist, so "not found" can only be about the input, except where ``found``
    says the backend failed or a privilege is missing: that stays what it is."""
    if known is None or issubclass(found, (BackendUnavailableError, AccessDeniedError)):
        return found
    return known
