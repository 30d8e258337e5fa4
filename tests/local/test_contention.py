"""Two processes on one local home: other DuckDB clients, two labs, two writers, a killed process.

Each second party is a real process (``local_processes.py``). A refused operation leaves the stores
as they were (``store_snapshot``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from local_processes import DATABASE_FILE, duckdb_client, kit_process, store_snapshot

import mlops_kit
from mlops_kit import cli
from mlops_kit.adapters.local.locks import read_holder

LOCKS_LOGGER = "mlops_kit.adapters.local.locks"
#: What another lab does while it runs: hold the home's lab lock (until its stdin closes).
HOLD_THE_LAB_LOCK = """
    with kit.exclusive("churn_lab"):
        print("ready", flush=True)
        sys.stdin.read()
"""


def test_reads_run_beside_a_read_only_client(
    kit: mlops_kit.Backend, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with duckdb_client(home, read_only=True):
        assert kit.warehouse.query("SELECT COUNT(*) AS N FROM PREP_DATA.CUSTOMERS")["N"].tolist() == [3]
        assert kit.warehouse.list_tables("PREP_DATA") == ["CUSTOMERS"]
        assert kit.warehouse.read_table("PREP_DATA.CUSTOMERS")["CUSTOMER_ID"].tolist() == ["C1", "C2", "C3"]
        # a feature store opened now (a new process would) finds its tables and writes nothing
        fresh = mlops_kit.connect("local", home=home, lock_timeout=1)
        assert [v.version for v in fresh.feature_store.list_feature_views()] == ["v1"]
        assert fresh.feature_store.read_feature_view("CUSTOMER_FEATURES", "v1")["DOUBLE_SPEND"].sum() == 67.5
        monkeypatch.setenv("MLOPS_KIT_HOME", str(home))
        assert cli.main(["sql", "SELECT CUSTOMER_ID FROM PREP_DATA.CUSTOMERS WHERE SPEND > 15"]) == 0
    assert "C2" in capsys.readouterr().out


def test_a_write_beside_a_read_only_client_names_it_after_a_bounded_wait(kit: mlops_kit.Backend, home: Path) -> None:
    before = store_snapshot(home)
    with duckdb_client(home, read_only=True) as client:
        started = time.monotonic()
        with pytest.raises(mlops_kit.StoreLockedError) as refused:
            kit.warehouse.write_table("PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["X"], "SPEND": [0.0]}))
        waited = time.monotonic() - started
        with pytest.raises(mlops_kit.StoreLockedError):  # the lab's hold on the database, too
            with kit.exclusive("churn_lab"):
                pass
    message = str(refused.value)
    assert f"process {client.pid}" in message and "open read-only" in message
    assert str(home / DATABASE_FILE) in message and "con.close()" in message and "MLOPS_KIT_LOCK_TIMEOUT" in message
    assert 1.0 <= waited < 10
    assert isinstance(refused.value, mlops_kit.BackendUnavailableError)
    assert store_snapshot(home) == before


def test_the_lab_beside_a_read_only_client_stops_with_a_message(
    kit: mlops_kit.Backend, home: Path, tmp_path: Path
) -> None:
    before = store_snapshot(home)
    env = {**os.environ, "MLOPS_KIT_HOME": str(home), "MLOPS_KIT_LOCK_TIMEOUT": "1"}
    with duckdb_client(home, read_only=True) as client:
        lab = subprocess.run(
            [sys.executable, "-m", "mlops_kit.cli", "lab", "run", "--to", "0", "--customers", "50"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
    output = lab.stdout + lab.stderr
    assert lab.returncode == 1, output
    assert f"process {client.pid}" in output and "open read-only" in output
    assert "IOException" not in output and "Traceback" not in output
    assert store_snapshot(home) == before


def test_a_writer_waits_for_a_reader_that_leaves_and_says_so(
    kit: mlops_kit.Backend, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    patient = mlops_kit.connect("local", home=home, lock_timeout=30)
    caplog.set_level(logging.WARNING, logger=LOCKS_LOGGER)
    with duckdb_client(home, read_only=True, release_after=1.5) as client:
        started = time.monotonic()
        patient.warehouse.write_table("PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["X"], "SPEND": [1.0]}))
        waited = time.monotonic() - started
    assert waited >= 1.0
    messages = [r.getMessage() for r in caplog.records if r.name == LOCKS_LOGGER]
    assert any("waiting for the DuckDB database" in m and f"process {client.pid}" in m for m in messages), messages
    assert any("is free after" in m for m in messages), messages
    assert kit.warehouse.read_table("PREP_DATA.CUSTOMERS")["CUSTOMER_ID"].tolist() == ["X"]


def test_a_read_beside_a_writer_names_it_after_a_bounded_wait(kit: mlops_kit.Backend, home: Path) -> None:
    before = store_snapshot(home)
    with duckdb_client(home, read_only=False) as client:
        with pytest.raises(mlops_kit.StoreLockedError) as refused:
            kit.warehouse.read_table("PREP_DATA.CUSTOMERS")
    assert f"process {client.pid}" in str(refused.value) and "open read-write" in str(refused.value)
    assert "Wait until that process has finished" in str(refused.value)
    assert store_snapshot(home) == before


def test_a_lab_waiting_for_another_lab_says_for_whom_then_proceeds(
    kit: mlops_kit.Backend, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOCKS_LOGGER)
    with kit_process(home, HOLD_THE_LAB_LOCK, release_after=1.5) as other_lab:
        started = time.monotonic()
        with kit.exclusive("churn_lab"):
            waited = time.monotonic() - started
            kit.warehouse.write_table("PREP_DATA.AFTER", pd.DataFrame({"A": [1]}))
    assert waited >= 1.0
    messages = [r.getMessage() for r in caplog.records if r.name == LOCKS_LOGGER]
    waiting = [m for m in messages if m.startswith("waiting for the 'churn_lab' lock")]
    assert waiting and f"process {other_lab.pid}" in waiting[0] and "mlops_kit.connect" in waiting[0], messages
    assert "going on when it is free" in waiting[0]
    assert any("is free after" in m for m in messages), messages


def test_a_lab_waiting_for_a_stopped_lab_gives_up_naming_it(
    kit: mlops_kit.Backend, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: a lab holding the lab lock and stopped (Ctrl-Z, SIGSTOP) made the next lab wait for ever.
    It waits as the store locks do ($MLOPS_KIT_LOCK_TIMEOUT), then names the holder and its state."""
    monkeypatch.setenv("MLOPS_KIT_LOCK_TIMEOUT", "1")
    with kit_process(home, HOLD_THE_LAB_LOCK) as other_lab:
        os.kill(other_lab.pid, signal.SIGSTOP)
        try:
            with pytest.raises(
                mlops_kit.StoreLockedError, match=rf"process {other_lab.pid} .*stopped.*kill -CONT {other_lab.pid}"
            ):
                with kit.exclusive("churn_lab"):
                    pass
        finally:
            os.kill(other_lab.pid, signal.SIGCONT)


def test_a_lock_left_by_a_killed_lab_blocks_nobody(
    kit: mlops_kit.Backend, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with kit_process(home, HOLD_THE_LAB_LOCK) as other_lab:
        assert read_holder(home / "churn_lab.lock").pid == other_lab.pid
        os.kill(other_lab.pid, signal.SIGKILL)
        other_lab.wait()
    assert (home / "churn_lab.lock").exists()  # left behind, naming a process that is gone
    assert read_holder(home / "churn_lab.lock") is None
    caplog.set_level(logging.WARNING, logger=LOCKS_LOGGER)
    started = time.monotonic()
    with kit.exclusive("churn_lab"):
        assert time.monotonic() - started < 0.5
        assert read_holder(home / "churn_lab.lock").pid == os.getpid()
    assert not [r for r in caplog.records if r.name == LOCKS_LOGGER]
    assert read_holder(home / "churn_lab.lock") is None  # released: the record goes with the lock


def test_a_process_killed_inside_a_write_leaves_the_table_as_it_was(kit: mlops_kit.Backend, home: Path) -> None:
    before = store_snapshot(home)
    body = """
        with kit.warehouse.transaction() as con:
            con.execute("DELETE FROM PREP_DATA.CUSTOMERS")
            con.execute("INSERT INTO PREP_DATA.CUSTOMERS SELECT 'Z' || range, 0 FROM range(1000)")
            print("ready", flush=True)
            sys.stdin.read()
    """
    with kit_process(home, body) as writer:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert store_snapshot(home) == before
    kit.warehouse.write_table(
        "PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["N"], "SPEND": [1.0]}), mode="append"
    )
    assert len(kit.warehouse.read_table("PREP_DATA.CUSTOMERS")) == 4


def test_a_process_killed_after_a_commit_leaves_it_readable(kit: mlops_kit.Backend, home: Path) -> None:
    body = """
        import pandas as pd
        with kit.exclusive("churn_lab"):  # the database stays open: the write sits in DuckDB's log
            kit.warehouse.write_table("PREP_DATA.LATE", pd.DataFrame({"A": [1, 2, 3]}))
            print("ready", flush=True)
            sys.stdin.read()
    """
    with kit_process(home, body) as writer:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert (home / f"{DATABASE_FILE}.wal").exists()
    # a read opens the file read-only, so DuckDB replays the log without writing it back
    assert kit.warehouse.read_table("PREP_DATA.LATE")["A"].tolist() == [1, 2, 3]


def test_a_damaged_lab_lock_file_is_no_obstacle(kit: mlops_kit.Backend, home: Path) -> None:
    (home / "churn_lab.lock").write_bytes(b"\x00garbage{not json")
    with kit.exclusive("churn_lab"):
        assert read_holder(home / "churn_lab.lock").pid == os.getpid()


def test_a_lab_lock_path_that_is_a_folder_is_named(kit: mlops_kit.Backend, home: Path) -> None:
    (home / "churn_lab.lock").mkdir()
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.BackendUnavailableError, match=r"cannot use the lock file .*churn_lab\.lock"):
        with kit.exclusive("churn_lab"):
            kit.warehouse.drop_table("PREP_DATA.CUSTOMERS")
    assert store_snapshot(home) == before


def test_two_processes_writing_at_once_both_land(kit: mlops_kit.Backend, home: Path) -> None:
    appends = 15
    code = f"""
        import sys
        import pandas as pd
        import mlops_kit
        kit = mlops_kit.connect("local", home=sys.argv[1], lock_timeout=60)
        for i in range({appends}):
            kit.warehouse.write_table("PREP_DATA.LOG", pd.DataFrame({{"WHO": [sys.argv[2]], "I": [i]}}), mode="append")
            kit.warehouse.query("SELECT COUNT(*) FROM PREP_DATA.LOG")
    """
    writers = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(home), who],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for who in ("A", "B")
    ]  # fmt: skip
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    log = kit.warehouse.read_table("PREP_DATA.LOG")
    assert sorted(zip(log.WHO, log.I, strict=True)) == sorted((who, i) for who in "AB" for i in range(appends))


def test_a_second_connection_in_one_process_reads_while_the_first_holds(kit: mlops_kit.Backend, home: Path) -> None:
    other = mlops_kit.connect("local", home=home, lock_timeout=1)
    with kit.exclusive("churn_lab"):
        assert other.warehouse.read_table("PREP_DATA.CUSTOMERS")["CUSTOMER_ID"].tolist() == ["C1", "C2", "C3"]
        with other.exclusive("churn_lab"):  # the same thread may enter again rather than wait for itself
            other.warehouse.write_table("PREP_DATA.INSIDE", pd.DataFrame({"A": [1]}))
    assert kit.warehouse.table_exists("PREP_DATA.INSIDE")


def test_a_write_beside_this_process_own_read_only_connection_is_refused_at_once(
    kit: mlops_kit.Backend, home: Path
) -> None:
    before = store_snapshot(home)
    mine = duckdb.connect(str(home / DATABASE_FILE), read_only=True)
    try:
        started = time.monotonic()
        with pytest.raises(mlops_kit.StoreLockedError, match="this process already has .* open read-only"):
            kit.warehouse.write_table("PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["X"], "SPEND": [0.0]}))
        assert time.monotonic() - started < 0.5
        assert kit.warehouse.list_tables("PREP_DATA") == ["CUSTOMERS"]  # reading still works beside it
    finally:
        mine.close()
    assert store_snapshot(home) == before


def test_a_bad_lock_timeout_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_KIT_LOCK_TIMEOUT", "soon")
    with pytest.raises(mlops_kit.InvalidInputError, match="MLOPS_KIT_LOCK_TIMEOUT='soon'"):
        mlops_kit.connect("local", home=home)
    with pytest.raises(mlops_kit.InvalidInputError, match="lock timeout -1"):
        mlops_kit.connect("local", home=home, lock_timeout=-1)


def test_a_lock_name_cannot_leave_the_home(kit: mlops_kit.Backend, home: Path) -> None:
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.InvalidInputError, match="lock name"):
        with kit.exclusive("../elsewhere"):
            kit.warehouse.drop_table("PREP_DATA.CUSTOMERS")
    assert not (home.parent / "elsewhere.lock").exists()
    assert store_snapshot(home) == before


REGISTER_WHEN_TOLD = """
    import time
    from pathlib import Path
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    x = pd.DataFrame({"A": np.linspace(0, 1, 40)})
    model = LogisticRegression(C=float(sys.argv[1])).fit(x, x.A > 0.5)
    kit.registry.list_models()  # MLflow opened: the registrations start together
    print("ready", flush=True)
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.01)
    try:
        kit.registry.log_model("RACED", "v1", model, sample_input=x.head(), overwrite=sys.argv[3] == "1")
        print("registered", flush=True)
    except mlops_kit.AlreadyExistsError as exc:
        print("refused:", exc, flush=True)
"""


@pytest.mark.parametrize("overwrite", [False, True], ids=["new", "overwrite"])
def test_two_processes_registering_one_new_version_get_what_the_rules_say(
    kit: mlops_kit.Backend, home: Path, tmp_path: Path, overwrite: bool
) -> None:
    """Issue 17: both found no V1 and both registered one, leaving two V1s. One registration at a time:
    the second is refused (a new version) or overwrites the first in turn (overwrite=True)."""
    go = tmp_path / "go"
    processes: list[subprocess.Popen[str]] = []
    try:
        said = _register_together(home, go, overwrite, processes)
    finally:
        for proc in processes:  # none left waiting for the cue when the test fails early
            proc.kill()
            proc.wait()
    if overwrite:
        assert said == ["registered", "registered"], said
    else:
        assert (
            said[0] == "refused: model RACED already has version V1: choose a new version name or pass overwrite=True"
        )
        assert said[1] == "registered", said
    versions = kit.registry.list_versions("RACED")
    assert [(v.version, v.is_default) for v in versions] == [("V1", True)]
    assert len(kit.registry.client.search_model_versions("name = 'RACED'")) == 1  # type: ignore[attr-defined]


def _register_together(home: Path, go: Path, overwrite: bool, processes: list[subprocess.Popen[str]]) -> list[str]:
    """Two processes that register RACED v1 at the cue (``go`` appears); the last line each printed."""
    for c in ("1.0", "2.0"):
        code = f"import sys\nimport mlops_kit\nkit = mlops_kit.connect('local', home={str(home)!r})\n"
        code += textwrap.dedent(REGISTER_WHEN_TOLD)
        proc = subprocess.Popen([sys.executable, "-c", code, c, str(go), "1" if overwrite else "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        processes.append(proc)
        assert proc.stdout is not None
        for line in proc.stdout:  # MLflow's own log lines first
            if line.strip() == "ready":
                break
    go.touch()
    return sorted(proc.communicate(timeout=300)[0].strip().splitlines()[-1] for proc in processes)
