"""The live-Snowflake tier: skipped with a short reason when no connection is configured; how to
configure one is printed once, at the end of the session (``pytest_terminal_summary`` in conftest.py)."""

from __future__ import annotations

import pytest

SKIP_REASON = "live Snowflake: no connection configured (how to enable it: end of the test report)"

#: Why the live tier was skipped (the long text), once a test asked for it.
skipped_because: list[str] = []


def live_connection_configured() -> tuple[bool, str]:
    try:
        from mlops_kit.adapters.snowflake.session import live_connection_configured as configured
    except ImportError as exc:  # the snowflake extra is missing
        return (
            False,
            f"the snowflake extra is not installed ({exc}): pip install --require-hashes --no-deps -r requirements/snowflake.txt",
        )
    return configured()


def live_connection_or_skip() -> None:
    """Skip the calling test (short reason) unless a Snowflake connection is configured."""
    ok, why = live_connection_configured()
    if not ok:
        if not skipped_because:
            skipped_because.append(why)
        pytest.skip(SKIP_REASON)
