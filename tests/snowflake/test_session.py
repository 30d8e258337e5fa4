"""How the adapter finds a Snowflake connection: the connector's own config, nothing new."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from snowflake.snowpark import Session

from mlops_kit.adapters.snowflake import session as sf_session
from mlops_kit.errors import BackendUnavailableError

# The connector reads SNOWFLAKE_CONNECTIONS (TOML) as it reads connections.toml.
CONNECTIONS = '[lab]\naccount = "acme"\nuser = "me"\npassword = "s3cret-value"\n'


@pytest.fixture
def lab_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS", CONNECTIONS)
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "lab")


def test_configured_default_connection(lab_connection: None) -> None:
    ok, reason = sf_session.live_connection_configured()
    assert ok and "'lab'" in reason
    assert "s3cret" not in reason


def test_unconfigured_connection_says_how_to_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS", CONNECTIONS)
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "missing")
    ok, reason = sf_session.live_connection_configured()
    assert not ok
    assert "connections.toml" in reason and "SNOWFLAKE_DEFAULT_CONNECTION_NAME" in reason
    assert "known connections: lab" in reason and "s3cret" not in reason


def _builder() -> Any:
    """A signature-true double of Snowpark's session builder (its methods return autospecs too)."""
    builder = mock.create_autospec(Session.SessionBuilder, instance=True, spec_set=True)
    builder.configs.return_value = builder
    builder.create.return_value = mock.create_autospec(Session, instance=True, spec_set=True)
    return builder


def test_create_session_names_the_connection_and_overrides(lab_connection: None) -> None:
    builder = _builder()
    with mock.patch("snowflake.snowpark.Session.builder", builder):
        session = sf_session.create_session(warehouse="LAB_WH", role="LAB_ROLE")
    builder.configs.assert_called_once_with({"connection_name": "lab", "warehouse": "LAB_WH", "role": "LAB_ROLE"})
    assert session is builder.create.return_value


def test_create_session_fails_typed_without_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS", CONNECTIONS)
    with pytest.raises(BackendUnavailableError, match="connections.toml"):
        sf_session.create_session(connection_name="nope")


def test_login_failure_is_backend_unavailable(lab_connection: None) -> None:
    def refuse(*_args: Any) -> Any:
        raise RuntimeError("250001: Could not connect to Snowflake backend")

    builder = _builder()
    builder.create.side_effect = refuse
    with mock.patch("snowflake.snowpark.Session.builder", builder), pytest.raises(BackendUnavailableError) as err:
        sf_session.create_session()
    assert "'lab'" in str(err.value)


def test_a_malformed_config_file_is_named_with_its_line(tmp_path: Path) -> None:
    # The connector finds its files when imported, so the check runs in a process of its own.
    connections = tmp_path / "connections.toml"
    connections.write_text('[lab]\naccount = "acme"\npassword = s3cret-value\n')
    connections.chmod(0o600)
    code = "from mlops_kit.adapters.snowflake import session; print(session.live_connection_configured()[1])"
    env = {**os.environ, "SNOWFLAKE_HOME": str(tmp_path)}
    env.pop("SNOWFLAKE_CONNECTIONS", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{connections}, line 3, column 12: Unexpected character: 's'" in done.stdout
    assert "s3cret-value" not in done.stdout


def test_malformed_connections_in_the_environment_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS", '[lab]\nuser = "me"\nrole = = "x"\n')
    ok, reason = sf_session.live_connection_configured("lab")
    assert not ok
    assert "the SNOWFLAKE_CONNECTIONS environment variable, line 3" in reason
