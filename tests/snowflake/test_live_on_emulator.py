"""The live suite (tests/snowflake/test_live.py) runs unchanged on the emulator, through exactly the
path a user's live run takes: a connections.toml entry (here pointing at the emulator's server) named
by ``SNOWFLAKE_DEFAULT_CONNECTION_NAME``. Nothing in the live tests knows it is an emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_kit.adapters.snowflake_emulator import start_emulator, stop_emulator

ROOT = Path(__file__).resolve().parents[2]


def _connections_toml(parameters: dict[str, object]) -> str:
    lines = ["[emulator]"]
    for key in ("account", "user", "password", "host", "port", "protocol", "warehouse"):
        value = parameters[key]
        lines.append(f"{key} = {value}" if isinstance(value, int) else f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_the_live_suite_passes_on_the_emulator_through_connections_toml(tmp_path: Path) -> None:
    emulator = start_emulator(tmp_path / "account" / "snowflake-emulator")
    try:
        snowflake_home = tmp_path / "snowflake"
        snowflake_home.mkdir(mode=0o700)
        config = snowflake_home / "connections.toml"
        config.write_text(_connections_toml(emulator.server.connection_parameters()))
        config.chmod(0o600)  # the connector refuses a connections file others can read
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SNOWFLAKE_", "MLFLOW_"))}
        env |= {"SNOWFLAKE_HOME": str(snowflake_home), "SNOWFLAKE_DEFAULT_CONNECTION_NAME": "emulator"}
        env |= {"MLOPS_KIT_HOME": str(tmp_path / "kit_home")}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
             str(ROOT / "tests" / "snowflake" / "test_live.py")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        stop_emulator(emulator)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
