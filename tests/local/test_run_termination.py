"""A run whose process is terminated does not stay RUNNING.

SIGTERM: the core's handler unwinds the process, ``with start_run`` ends the run FAILED, the process
exits with 143. SIGKILL cannot be handled: the run stays RUNNING until the next ``set_experiment``
(in any process) sees that its process is gone and marks it FAILED; a run of a live process is left
alone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from lab_processes import child_env

import mlops_kit
from mlops_kit import RunStatus

CHILD = textwrap.dedent(
    """
    import time
    import mlops_kit

    tracker = mlops_kit.connect("local").tracker
    tracker.set_experiment("LONG_RUNS")
    with tracker.start_run("SLOW"):
        tracker.log_metric("progress", 0.5)
        print("running", flush=True)
        time.sleep(120)
    """
)


def _start(home: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=child_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "running", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def test_sigterm_ends_the_active_run_failed(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    tracker = mlops_kit.connect("local", home=tmp_path).tracker
    run = tracker.get_run("SLOW", "LONG_RUNS")
    assert run.status is RunStatus.FAILED and run.end_time is not None
    assert run.metrics == {"progress": 0.5}


def test_a_run_left_running_by_sigkill_is_failed_at_the_next_start(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    backend = mlops_kit.connect("local", home=tmp_path)
    tracker = backend.tracker
    try:
        tracker.set_experiment("LONG_RUNS")  # its process is alive: the run is left alone
        assert tracker.get_run("SLOW").status is RunStatus.RUNNING
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    assert tracker.get_run("SLOW").status is RunStatus.RUNNING  # nothing could mark it
    tracker.set_experiment("LONG_RUNS")
    run = tracker.get_run("SLOW")
    assert run.status is RunStatus.FAILED
    note = backend.raw["mlflow"].client.get_run(run.run_id).data.tags["mlflow.note.content"]
    assert f"process {proc.pid}" in note and "ended" in note
