"""``mlops-kit ui``: MLflow's own server on the local store, started lean and announced when ready.

MLflow's defaults suit a shared server: four uvicorn workers (each importing MLflow, ~20 s on two
cores) and a job runner with seven queue consumers for GenAI jobs. One person looking at the lab's
runs and models needs one worker and no job runner (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``).
The server's own output (access log, start-up notices, warnings) goes to ``<home>/mlflow-ui.log``
unless ``--verbose``; the URL is printed once the server answers. The app is MLflow's own with its
page opening in the Model training view (``mlflow_ui_app.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from mlops_kit.cli import note
from mlops_kit.cli.logs import child_environment

READY_TIMEOUT_S = 180


def serve(host: str, port: int, *, open_browser: bool = False, verbose: bool = False) -> int:
    """Run the UI until Ctrl-C; returns the server's exit code (0 after Ctrl-C)."""
    from mlops_kit.adapters.local.home import LocalPaths, check_user_stores, resolve_home
    from mlops_kit.adapters.local.mlflow_store import UI_START_PAGE
    from mlops_kit.connect import DEFAULT_DATABASE

    paths = LocalPaths(resolve_home(), DEFAULT_DATABASE)
    check_user_stores(paths)
    _require_free_port(host, port)
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", paths.tracking_uri, "--registry-store-uri", paths.registry_uri,
        "--host", host, "--port", str(port), "--workers", "1", "--app-name", "mlops-kit",
    ]  # fmt: skip
    if paths.owns_mlflow_store:
        command += ["--default-artifact-root", paths.artifact_root.as_uri()]
    if not verbose:
        command += ["--uvicorn-opts", "--log-level warning --no-access-log"]
    env = {**child_environment(verbose), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    url = f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}"
    log = paths.home / "mlflow-ui.log"
    note(f"Starting the MLflow UI on {paths.tracking_uri} ...")
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the server too, as Ctrl-C does
    with contextlib.ExitStack() as stack:
        sink = None if verbose else stack.enter_context(log.open("w"))
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT if sink else None)
        stack.callback(_stop, server)
        started = time.monotonic()
        try:
            _wait_until_ready(server, f"{url}/health", log if sink else None)
            click.echo(
                f"MLflow UI ready in {time.monotonic() - started:.0f}s: {url}/{UI_START_PAGE}  (Ctrl-C stops it)"
            )
            if sink:
                note(f"(server log: {log})")
            if open_browser:
                click.launch(f"{url}/{UI_START_PAGE}")
            return server.wait()
        except KeyboardInterrupt:
            return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _require_free_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server will: a port whose last connections linger in TIME_WAIT is free to listen on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.UsageError(
                f"cannot serve on {host}:{port} ({exc.strerror}): another UI may be running there; choose --port"
            ) from exc


def _wait_until_ready(server: subprocess.Popen[bytes], health_url: str, log: Path | None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException(f"the MLflow UI stopped at start-up (exit code {server.returncode}){_tail(log)}")
        try:
            with urllib.request.urlopen(health_url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise click.ClickException(f"the MLflow UI did not answer on {health_url} within {READY_TIMEOUT_S}s{_tail(log)}")


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return f": {lines[-1].strip()} (the whole log: {log})" if lines else ""


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server as Ctrl-C would (MLflow passes SIGINT on to uvicorn), harder if it lingers."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
