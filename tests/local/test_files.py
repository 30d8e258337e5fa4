"""Files a tired user or an attacker hands the local backend: homes, database files, CSV files, writes
that cannot land. Each is refused with the path (and row, column, schema, columns) named, and each
refusal leaves the stores as they were (``store_snapshot``)."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from local_processes import DATABASE_FILE, store_snapshot, without_file_permission_override

import mlops_kit

COLUMNS = {"CUSTOMER_ID": "string", "NAME": "string", "SPEND": "float"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# The home.


def test_a_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(mlops_kit.InvalidInputError, match=f"{notes} is a file"):
        mlops_kit.connect("local", home=notes)
    with pytest.raises(mlops_kit.InvalidInputError, match=f"lies under {notes}, which is a file"):
        mlops_kit.connect("local", home=notes / "kit")
    assert notes.read_text() == "mine"


def test_a_new_home_is_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "made by the kit" / "home"
    code = f"""
        import os
        os.umask(0)
        import pandas as pd
        import mlops_kit
        kit = mlops_kit.connect("local", home={str(home)!r})
        kit.warehouse.create_schemas(["S"])
        kit.warehouse.write_table("S.T", pd.DataFrame({{"A": [1]}}))
        with kit.exclusive("churn_lab"):
            pass
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert _mode(home.parent) == 0o700 and _mode(home) == 0o700
    assert _mode(home / "mlartifacts") == 0o700
    for name in (DATABASE_FILE, "churn_lab.lock"):
        assert _mode(home / name) == 0o600, name


def test_a_folder_the_user_chose_keeps_its_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the kit's own MLflow store, so its artifact folder
    chosen = tmp_path / "project"
    chosen.mkdir()
    os.chmod(chosen, 0o755)
    kit = mlops_kit.connect("local", home=chosen)
    kit.warehouse.create_schemas(["S"])
    assert _mode(chosen) == 0o755
    assert _mode(chosen / DATABASE_FILE) == 0o600
    assert _mode(chosen / "mlartifacts") == 0o700


def test_a_home_anyone_can_write_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with caplog.at_level(logging.WARNING, logger="mlops_kit.adapters.local.home"):
        mlops_kit.connect("local", home=shared)
    assert any("writable by every user" in r.getMessage() and str(shared) in r.getMessage() for r in caplog.records)
    assert _mode(shared) == 0o777  # warned, not changed


def test_a_home_with_spaces_and_accents_runs_the_whole_workflow(tmp_path: Path) -> None:
    home = tmp_path / "my kit ü" / "home with spaces"
    # A process of its own: MLflow's tracking URI is process-wide, and this home must not become
    # the store of the tests that follow.
    code = f"""
        import numpy as np
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        import mlops_kit
        kit = mlops_kit.connect("local", home={str(home)!r})
        features = pd.DataFrame({{"A": np.linspace(0, 1, 30), "B": np.linspace(1, 0, 30)}})
        kit.warehouse.create_schemas(["S"])
        kit.warehouse.write_table("S.X", features)
        kit.tracker.set_experiment("SPACES")
        with kit.tracker.start_run("R1"):
            kit.tracker.log_metrics({{"m": 1.0}})
            kit.tracker.log_table(features.head(3), "head.csv")
        print([a.path for a in kit.tracker.list_artifacts("R1", experiment="SPACES")])
        model = LogisticRegression().fit(features, (features.A > 0.5).astype(int))
        kit.registry.log_model("SPACED", "v1", model, sample_input=features.head())
        via_sql = kit.warehouse.query("SELECT SPACED!PREDICT(A, B)['output_feature_0'] AS P FROM S.X")["P"]
        print(via_sql.tolist() == model.predict(features).tolist())
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    scratch = tmp_path / "working folder"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, cwd=scratch
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['head.csv']", "True"]


def test_a_home_the_user_cannot_write_reads_but_refuses_writes_by_name(tmp_path: Path) -> None:
    prefix = without_file_permission_override()
    home = tmp_path / "read-only home"
    kit = mlops_kit.connect("local", home=home)
    kit.warehouse.create_schemas(["S"])
    kit.warehouse.write_table("S.T", pd.DataFrame({"A": [1, 2]}))
    before = store_snapshot(home)
    os.chmod(home / DATABASE_FILE, 0o444)
    os.chmod(home, 0o555)
    code = f"""
        import pandas as pd
        import mlops_kit
        kit = mlops_kit.connect("local", home={str(home)!r}, lock_timeout=1)
        print(kit.warehouse.read_table("S.T")["A"].sum())
        try:
            kit.warehouse.write_table("S.T", pd.DataFrame({{"A": [3]}}))
        except mlops_kit.MlopsKitError as exc:
            print(type(exc).__name__, exc)
        try:
            with kit.exclusive("churn_lab"):
                pass
        except mlops_kit.MlopsKitError as exc:
            print(type(exc).__name__, exc)
    """
    try:
        done = subprocess.run([*prefix, sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    finally:
        os.chmod(home, 0o700)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "3"
    assert lines[1].startswith("BackendUnavailableError") and str(home / DATABASE_FILE) in lines[1], lines
    assert lines[2].startswith("BackendUnavailableError") and "churn_lab.lock" in lines[2], lines
    assert "must be writable" in lines[2]
    assert store_snapshot(home) == before


# The database file.


def _junk(path: Path) -> None:
    path.write_bytes(b"this is my shopping list, not a database\n" * 20)


def _sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE T (A)")
    con.commit()
    con.close()


def _truncated(path: Path) -> None:
    con = __import__("duckdb").connect(str(path))
    con.execute("CREATE TABLE T AS SELECT range AS A, range::VARCHAR AS B FROM range(200000)")
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_junk, "is not a DuckDB database"),
        (_sqlite, "is not a DuckDB database"),
        (_truncated, "cannot open the DuckDB database"),
    ],
    ids=["text", "sqlite", "truncated"],
)
def test_a_database_file_that_is_not_one_is_named_and_left_alone(tmp_path: Path, make, message: str) -> None:  # noqa: ANN001
    home = tmp_path / "home"
    home.mkdir()
    file = home / DATABASE_FILE
    make(file)
    original = file.read_bytes()
    kit = mlops_kit.connect("local", home=home)
    with pytest.raises(mlops_kit.BackendUnavailableError, match=message) as refused:
        kit.warehouse.list_tables("S")
    assert str(file) in str(refused.value) and "move it away" in str(refused.value)
    with pytest.raises(mlops_kit.BackendUnavailableError, match=message):
        kit.warehouse.write_table("S.T", pd.DataFrame({"A": [1]}))
    assert file.read_bytes() == original


def test_a_folder_where_the_database_file_goes_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / DATABASE_FILE).mkdir(parents=True)
    kit = mlops_kit.connect("local", home=home)
    with pytest.raises(mlops_kit.BackendUnavailableError, match=f"{home / DATABASE_FILE} is a folder"):
        kit.warehouse.query("SELECT 1")
    assert (home / DATABASE_FILE).is_dir() and not any((home / DATABASE_FILE).iterdir())


# Writes that cannot land.


def test_writing_into_a_missing_schema_names_it(kit: mlops_kit.Backend, home: Path) -> None:
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.InvalidInputError, match=r"schema NOPE does not exist .*create_schemas\(\['NOPE'\]\)"):
        kit.warehouse.write_table("NOPE.T", pd.DataFrame({"A": [1]}))
    assert store_snapshot(home) == before


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (pd.DataFrame({"CUSTOMER_ID": ["C9"], "SPEND": [1.0], "NOTE": ["x"]}), "not in the table: ['NOTE']"),
        (pd.DataFrame({"CUSTOMER_ID": ["C9"]}), "missing from the frame: ['SPEND']"),
    ],
    ids=["extra-column", "missing-column"],
)
def test_appending_other_columns_shows_both_lists(
    kit: mlops_kit.Backend, home: Path, frame: pd.DataFrame, expected: str
) -> None:
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.InvalidInputError) as refused:
        kit.warehouse.write_table("PREP_DATA.CUSTOMERS", frame, mode="append")
    message = str(refused.value)
    assert "the table has columns ['CUSTOMER_ID', 'SPEND']" in message and expected in message
    assert f"the frame has {list(frame.columns)}" in message
    assert store_snapshot(home) == before


def test_appending_values_of_another_type_shows_the_cause(kit: mlops_kit.Backend, home: Path) -> None:
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.InvalidInputError, match="Could not convert string 'lots' .* column SPEND") as refused:
        kit.warehouse.write_table(
            "PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["C9"], "SPEND": ["lots"]}), mode="append"
        )
    assert "transaction is aborted" not in str(refused.value)
    assert store_snapshot(home) == before
    kit.warehouse.write_table(
        "PREP_DATA.CUSTOMERS", pd.DataFrame({"CUSTOMER_ID": ["C9"], "SPEND": [9.0]}), mode="append"
    )
    assert len(kit.warehouse.read_table("PREP_DATA.CUSTOMERS")) == 4  # the connection is usable afterwards


def test_a_feature_view_whose_table_was_dropped_names_both(kit: mlops_kit.Backend, home: Path) -> None:
    kit.warehouse.drop_table("PREP_DATA.CUSTOMERS")
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.NotFoundError) as refused:
        kit.feature_store.read_feature_view("CUSTOMER_FEATURES", "v1")
    message = str(refused.value)
    assert "feature view CUSTOMER_FEATURES/v1 cannot be read" in message
    assert "Table with name CUSTOMERS does not exist" in message and "FROM PREP_DATA.CUSTOMERS" in message
    assert "Did you mean" not in message
    with pytest.raises(mlops_kit.NotFoundError, match="feature view CUSTOMER_FEATURES/v1 cannot be read"):
        kit.feature_store.generate_training_set(
            "SELECT 'C1' AS CUSTOMER_ID", [("CUSTOMER_FEATURES", "v1")], save_as="FEATURE_STORE.TS"
        )
    assert store_snapshot(home) == before


def test_a_feature_view_dropped_outside_the_kit_says_so(kit: mlops_kit.Backend, home: Path) -> None:
    kit.warehouse.execute('DROP VIEW FEATURE_STORE."CUSTOMER_FEATURES$v1"')
    before = store_snapshot(home)
    with pytest.raises(
        mlops_kit.NotFoundError, match=r"CUSTOMER_FEATURES/v1 cannot be read: its view .* was dropped outside the kit"
    ):
        kit.feature_store.read_feature_view("CUSTOMER_FEATURES", "v1")
    assert store_snapshot(home) == before


# CSV files.


def _load(kit: mlops_kit.Backend, path: Path, **options: str) -> int:
    return kit.warehouse.load_csv("PREP_DATA.LOADED", path, COLUMNS, **options)


def test_a_csv_in_another_encoding_names_row_column_and_encoding(
    kit: mlops_kit.Backend, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("CUSTOMER_ID,NAME,SPEND\nC1,Bob,1.5\nC2,Renée,2\n".encode("cp1252"))
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.InvalidInputError) as refused:
        _load(kit, path)
    message = str(refused.value)
    assert str(path) in message and "not utf-8 text at row 3, column NAME ('Renée' when read as cp1252)" in message
    assert "encoding='cp1252'" in message and "position" not in message
    assert store_snapshot(home) == before
    assert _load(kit, path, encoding="cp1252") == 2
    assert kit.warehouse.read_table("PREP_DATA.LOADED")["NAME"].tolist() == ["Bob", "Renée"]


def _workbook(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")


#: file maker, load options, what the refusal says
BAD_CSV_FILES = {
    "utf-16": (lambda p: p.write_bytes("CUSTOMER_ID,NAME,SPEND\nC1,Bob,1.5\n".encode("utf-16")), {},
               "it is utf-16: pass encoding='utf-16'"),
    "pipe": (os.mkfifo, {}, "not a regular file"),  # reading it would block forever
    "workbook": (_workbook, {}, r"is a zip file \(an Excel \.xlsx workbook\?\)"),
    "header-only": (lambda p: p.write_text("CUSTOMER_ID,NAME,SPEND\n"), {}, "header row but no data rows"),
    "unknown-encoding": (lambda p: p.write_text("CUSTOMER_ID,NAME,SPEND\nC1,Bob,1\n"), {"encoding": "latin-9000"},
                         "unknown encoding 'latin-9000'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CSV_FILES))
def test_csv_files_that_cannot_load_are_refused_by_name(
    kit: mlops_kit.Backend, home: Path, tmp_path: Path, case: str
) -> None:
    make, options, message = BAD_CSV_FILES[case]
    path = tmp_path / "customers.csv"
    make(path)
    before = store_snapshot(home)
    with pytest.raises(mlops_kit.InvalidInputError, match=message) as refused:
        _load(kit, path, **options)
    assert str(path) in str(refused.value)
    assert store_snapshot(home) == before


def test_a_folder_given_as_a_csv_file_is_called_a_folder(kit: mlops_kit.Backend, home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "customers.csv").write_text("CUSTOMER_ID,NAME,SPEND\n")
    before = store_snapshot(home)
    with pytest.raises(
        mlops_kit.InvalidInputError, match=r"exports: is a folder, not a CSV file.*holds customers\.csv"
    ):
        _load(kit, folder)
    with pytest.raises(mlops_kit.InvalidInputError, match="no such file"):
        _load(kit, tmp_path / "missing.csv")
    assert store_snapshot(home) == before


def test_a_csv_with_a_byte_order_mark_and_windows_line_ends_loads(kit: mlops_kit.Backend, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes('CUSTOMER_ID,NAME,SPEND\r\nC1,Zoë,1.5\r\nC2,"Multi\r\nline",2\r\n'.encode("utf-8-sig"))
    assert _load(kit, path) == 2
    loaded = kit.warehouse.read_table("PREP_DATA.LOADED")
    assert list(loaded.columns) == ["CUSTOMER_ID", "NAME", "SPEND"]
    assert loaded["NAME"].tolist() == ["Zoë", "Multi\r\nline"]


def test_an_unreadable_csv_is_named(tmp_path: Path) -> None:
    prefix = without_file_permission_override()
    path = tmp_path / "customers.csv"
    path.write_text("CUSTOMER_ID,NAME,SPEND\nC1,Bob,1\n")
    os.chmod(path, 0)
    code = f"""
        from mlops_kit.csv_loading import read_csv_checked
        from mlops_kit.errors import InvalidInputError
        try:
            read_csv_checked({str(path)!r}, {COLUMNS!r})
        except InvalidInputError as exc:
            print(exc)
    """
    done = subprocess.run([*prefix, sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{path}: cannot be read: Permission denied"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is empty \(0 bytes\)"),
        (b"garbage, not a database" * 10, r"is not a SQLite database \(it starts with b'garbage"),
    ],
    ids=["empty", "garbage"],
)
def test_a_damaged_mlflow_store_is_named_and_left_alone(tmp_path: Path, content: bytes, message: str) -> None:
    """Issue 17: MLflow migrated an empty mlflow.db into a fresh store (the runs it held gone without a
    word) and met a foreign file with a SQLAlchemy traceback; commands said "not registered"."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "mlflow.db").write_bytes(content)
    kit = mlops_kit.connect("local", home=home)
    try:
        assert kit.warehouse.query("SELECT 1 AS ONE")["ONE"].tolist() == [1]  # the warehouse is not MLflow's
        for use in (kit.registry.list_models, lambda: kit.tracker.set_experiment("E")):
            with pytest.raises(mlops_kit.BackendUnavailableError, match=message) as refused:
                use()
            assert str(home / "mlflow.db") in str(refused.value) and "move it away" in str(refused.value)
    finally:
        kit.close()
    assert (home / "mlflow.db").read_bytes() == content


def test_a_version_whose_files_are_gone_is_named(tmp_path: Path) -> None:
    """Issue 17: predict and load_model answered "MLflow failed: … No such artifact" with MLflow's traceback."""
    import shutil

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / "home"
    kit = mlops_kit.connect("local", home=home)
    rows = pd.DataFrame({"A": np.linspace(0, 1, 20)})
    kit.registry.log_model("GONE", "v1", LogisticRegression().fit(rows, rows.A > 0.5), sample_input=rows.head())
    kit.close()
    for description in list((home / "mlartifacts").rglob("MLmodel")):
        shutil.rmtree(description.parent)
    kit = mlops_kit.connect("local", home=home)
    try:
        for use in (lambda: kit.registry.predict("GONE", rows), lambda: kit.registry.load_model("GONE")):
            with pytest.raises(mlops_kit.NotFoundError, match=r"the files of model GONE version V1 are missing from "):
                use()
    finally:
        kit.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB file system of its own (tmpfs), where the machine lets this user mount one."""
    import shutil
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if (
        shutil.which("mount") is None
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a small file system here (needs root or CAP_SYS_ADMIN)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to its last bytes with one file; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with open(filler, "wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


def test_a_full_disk_fails_the_registration_naming_it_and_a_rerun_repairs(small_disk: Path) -> None:
    """Issue 17: on a full disk the lab exited 0; MLflow's OSError arrived without the path."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    home = small_disk / "home"
    kit = mlops_kit.connect("local", home=home)
    rows = pd.DataFrame({"A": np.linspace(0, 1, 20)})
    model = LogisticRegression().fit(rows, rows.A > 0.5)
    kit.registry.log_model("FIRST", "v1", model, sample_input=rows.head())  # the stores and their locks exist
    filler = _fill(small_disk)
    try:
        with pytest.raises(mlops_kit.BackendUnavailableError, match=r"No space left on device") as refused:
            kit.registry.log_model("FULL_DISK", "v1", model, sample_input=rows.head())
        assert f"could not write {home}" in str(refused.value) and "a rerun repairs" in str(refused.value)
    finally:
        filler.unlink()
    kit.registry.log_model("FULL_DISK", "v1", model, sample_input=rows.head())  # the rerun, with space again
    assert [v.version for v in kit.registry.list_versions("FULL_DISK")] == ["V1"]
    assert kit.registry.predict("FULL_DISK", rows)["output_feature_0"].tolist() == model.predict(rows).tolist()
    kit.close()


def test_a_full_disk_under_the_lab_output_names_the_file_and_leaves_no_part_of_it(small_disk: Path) -> None:
    """Issue 17: a full disk under --out ended the lab with "unexpected OSError" and no path."""
    from mlops_kit.examples import churn_data

    customers, orders = churn_data.generate(customers=50, seed=1)
    _fill(small_disk)
    out = small_disk / "out"
    with pytest.raises(mlops_kit.RunFailedError, match=r"could not write the data file CUSTOMERS.csv: .*No space left"):
        churn_data.write_csv(customers, orders, out)
    assert not [p.name for p in out.iterdir() if p.suffix == ".tmp"]
