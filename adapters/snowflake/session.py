"""Building a Snowpark ``Session`` the way the Snowflake connector already does it.

No new credential mechanism: a named connection from ``connections.toml`` (in ``$SNOWFLAKE_HOME``
or the platform config folder, e.g. ``~/.config/snowflake/`` on Linux), or the default connection
(``$SNOWFLAKE_DEFAULT_CONNECTION_NAME``, else ``default_connection_name`` in ``config.toml``, else
``default``). Only connection *names* are ever logged or put in messages, never their parameters.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING

from mlops_kit.errors import BackendUnavailableError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

logger = logging.getLogger(__name__)

HOW_TO_CONFIGURE = (
    "add a connection to connections.toml (in $SNOWFLAKE_HOME, or ~/.config/snowflake/ on Linux, "
    "~/Library/Application Support/snowflake/ on macOS) and name it with "
    "SNOWFLAKE_DEFAULT_CONNECTION_NAME=<name> (or call it 'default'); see "
    "https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-connect"
)


def _connections() -> tuple[str, list[str]]:
    """The default connection name and the names of all configured connections."""
    from snowflake.connector.config_manager import CONFIG_MANAGER

    default = os.environ.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME") or str(CONFIG_MANAGER["default_connection_name"])
    return default, sorted(str(name) for name in CONFIG_MANAGER["connections"])


def _config_problem(exc: Exception) -> str:
    """Which config file (or variable) is wrong, and where: the connector says only "an unknown error"."""
    from snowflake.connector.errors import ConfigSourceError

    parse_error = exc.__cause__ if isinstance(exc, ConfigSourceError) else exc
    line, column = getattr(parse_error, "line", None), getattr(parse_error, "col", None)
    if line is None:
        return f"{exc} ({type(exc).__name__})"
    # The connector names the file in its message; TOML read from the environment comes without one.
    found = re.search(r"'([^']+)'", str(exc)) if isinstance(exc, ConfigSourceError) else None
    source = found.group(1) if found else "the SNOWFLAKE_CONNECTIONS environment variable"
    what = str(parse_error).rsplit(" at line ", 1)[0]
    # tomlkit counts columns from 0, editors from 1.
    return f"{source}, line {line}, column {column + 1}: {what}. Fix that line (TOML syntax: https://toml.io)"


def live_connection_configured(connection_name: str | None = None) -> tuple[bool, str]:
    """Whether a Snowflake connection is configured, and if not, why and how to configure one.

    Reads only the connector's config files (no network); safe to call at test collection.
    """
    try:
        default, known = _connections()
    except Exception as exc:  # a malformed or unreadable config file is "not configured"
        return False, f"Snowflake connection config could not be read: {_config_problem(exc)}"
    name = connection_name or default
    if name in known:
        return True, f"Snowflake connection {name!r} is configured"
    found = f"known connections: {', '.join(known)}" if known else "no connections are configured"
    return False, f"no Snowflake connection named {name!r} ({found}): {HOW_TO_CONFIGURE}"


def create_session(
    *, connection_name: str | None = None, warehouse: str | None = None, role: str | None = None
) -> Session:
    """Open a Snowpark session on a configured connection, with warehouse and role overridden if given.

    Raises:
        BackendUnavailableError: no such connection, or Snowflake refused the login.
    """
    from snowflake.snowpark import Session

    ok, reason = live_connection_configured(connection_name)
    if not ok:
        raise BackendUnavailableError(reason)
    name = connection_name or _connections()[0]
    # Naming the connection (rather than passing no options) keeps the default connection's
    # parameters while letting warehouse and role override them.
    options: dict[str, str] = {"connection_name": name}
    if warehouse:
        options["warehouse"] = warehouse
    if role:
        options["role"] = role
    logger.info("opening a Snowflake session on connection %r", name)
    try:
        return Session.builder.configs(options).create()
    except Exception as exc:
        raise BackendUnavailableError(f"could not open Snowflake connection {name!r}: {exc}") from exc
