"""Time as every backend reports it: timezone-aware UTC.

Every ``datetime`` in the kit's result types (``FeatureView.created_at``, ``Run.start_time``,
``ModelVersion.created_at`` …) is timezone-aware UTC, whatever the engine stores: DuckDB and MLflow
keep naive or epoch times, Snowflake ``TIMESTAMP_LTZ``/``TZ``. Adapters pass what they read through
``as_utc``; the core stamps new records with ``now``.
"""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """The current time, UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as aware UTC. A naive value is taken to be UTC already (how the kit writes them)."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def from_epoch_millis(millis: int | None) -> datetime | None:
    """An epoch time in milliseconds (MLflow's) as aware UTC; None for none."""
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc) if millis else None
