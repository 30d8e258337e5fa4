"""The command line on a real lab store: every read format parses back to what the stores hold,
errors are one line on stderr with the documented exit code, logs are clean outside a terminal.

The lab runs once for the module, through ``mlops-kit lab run`` in a child process (as a user runs
it, with output to a file), on 300 customers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

import mlops_kit
from mlops_kit.cli import cli, main
from mlops_kit.cli.output import emit
from mlops_kit.examples import churn_workflow
from mlops_kit.examples.churn_workflow import EXPERIMENT, MODEL

SCRIPT = Path(sys.executable).parent / "mlops-kit"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _environment(home: Path) -> dict[str, str]:
    """A user's environment with the local home at ``home``: without the MLflow variables that
    other tests' stores left in this process (``mlflow.set_tracking_uri`` exports its URI)."""
    env = {**os.environ, "MLOPS_KIT_HOME": str(home)}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_LOGGING_LEVEL", "COLUMNS"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(home, the lab's log) after ``mlops-kit lab run`` with its output going to a file."""
    home, work = tmp_path_factory.mktemp("cli_home"), tmp_path_factory.mktemp("cli_work")
    env = _environment(home)
    log = work / "lab.log"
    with log.open("w") as sink:
        done = subprocess.run(
            [str(SCRIPT), "lab", "run", "--customers", "300", "--seed", "7"],
            cwd=work,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    text = log.read_text()
    assert done.returncode == 0, text[-3000:]
    yield home, text


# The command line runs in one child process on the lab's home, as often as the tests ask: MLflow
# is imported once, and the pytest process's MLflow globals (other tests' stores) stay out of it.
_CHILD = """
import contextlib, io, json, sys
from mlops_kit.cli import main, settings
for line in sys.stdin:
    settings.verbose = settings.debug = False
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(json.loads(line))
    print(json.dumps([code, out.getvalue(), err.getvalue()]), flush=True)
"""


@pytest.fixture(scope="module")
def run_cli(lab: tuple[Path, str]) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """``run_cli(*args) -> (exit code, stdout, stderr)`` of ``mlops-kit ARGS`` on the lab's home."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_environment(lab[0]), cwd=lab[0],
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None

    def run(*args: str) -> tuple[int, str, str]:
        child.stdin.write(json.dumps(list(args)) + "\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
        code, out, err = json.loads(child.stdout.readline())  # type: ignore[union-attr]
        return code, out, err

    yield run
    child.stdin.close()
    child.wait(timeout=30)


Runner = Callable[..., tuple[int, str, str]]


def _table(home: Path, name: str) -> list[dict[str, object]]:
    """A table of the lab's database, read directly (DuckDB only; no MLflow in this process)."""
    return mlops_kit.connect("local", home=home).warehouse.read_table(name).to_dict("records")


# The lab's log.


def test_the_lab_log_is_clean_outside_a_terminal(lab: tuple[Path, str]) -> None:
    _, log = lab
    assert "\r" not in log  # no progress-bar frames
    assert not ANSI.search(log)
    assert not re.search(r"\b(INFO|DEBUG)\b", log), "library log lines leaked"
    assert "Warning" not in log
    churn = log[log.index("Churn labels") :].splitlines()
    assert re.fullmatch(r"\s+\d+\s+\d+\s+0\.\d{3}", churn[3]), churn[:4]  # CHURNED is an integer


def test_lab_from_step_4_on_an_empty_home_says_what_to_run_first(tmp_path: Path) -> None:
    # A child process: the local adapter points MLflow at the home it opens, process-wide.
    env = _environment(tmp_path / "empty")
    done = subprocess.run(
        [str(SCRIPT), "lab", "run", "--from", "4"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "steps 0–2" in done.stderr and "mlops-kit lab run --to 2" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "Step 4" not in done.stdout  # nothing ran


# Read commands: csv and json parse back to what the stores hold.


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_runs_are_rows_in_every_format(run_cli: Runner, lab: tuple[Path, str]) -> None:
    results = {r["RUN_NAME"]: r for r in _table(lab[0], "FEATURE_STORE.EXPERIMENT_RESULTS")}  # the lab's own record
    code, out, _ = run_cli("runs", EXPERIMENT, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [r["run"] for r in rows] == ["BASELINE", "DEEPTREE", "CONSERVATIVE", "RETRAIN_V2"]  # one row per run
    for row in rows[:3]:  # the lab's record holds the compared runs of step 4
        assert row["f1_score"] == results[row["run"]]["F1_SCORE"]  # full precision
        assert row["max_depth"] == str(json.loads(results[row["run"]]["PARAMS"])["max_depth"])  # differs: shown
        assert "train_size" not in row  # equal in every run: left out unless --all
    code, out, _ = run_cli("runs", EXPERIMENT, "-f", "csv", "-m", "f1*,accuracy", "-p", "max_depth")
    parsed = _csv(out)
    assert list(parsed[0]) == ["run", "status", "started", "max_depth", "f1_score", "accuracy"]  # the order asked
    assert [float(r["f1_score"]) for r in parsed[:3]] == [results[r["run"]]["F1_SCORE"] for r in parsed[:3]]
    assert "train_size" in json.loads(run_cli("runs", EXPERIMENT, "--all", "-f", "json")[1])[0]


def test_runs_without_an_experiment_names_the_one_it_shows(run_cli: Runner) -> None:
    code, out, err = run_cli("runs", "--format", "csv")
    assert code == 0
    assert f"experiment {EXPERIMENT}: the only one with runs" in err
    assert len(_csv(out)) == 4  # the three runs of step 4 and RETRAIN_V2


def test_runs_table_fits_the_width_with_what_differs_first(run_cli: Runner) -> None:
    code, out, err = run_cli("runs", EXPERIMENT)  # not a terminal: 120 characters
    assert code == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 120, max(lines, key=len)
    header = lines[1].split()
    assert header[:2] == ["run", "status"]
    assert {"accuracy", "f1_score", "roc_auc"} <= set(header)  # metrics that differ between the runs come first
    every = list(json.loads(run_cli("runs", EXPERIMENT, "-f", "json")[1])[0])
    left_out = len(every) - len(header)
    assert left_out > 0 and f"({left_out} of {len(every)} columns left out to fit the width" in err
    assert "--all" in err and "--format csv" in err  # says how to see them all
    assert "..." not in out and "…" not in out  # no cell is cut
    assert not re.search(r"\d\.\d{4,}", out)  # 3 decimals at most
    code, out, err = run_cli("runs", EXPERIMENT, "--all")
    assert "mean_abs_shap_RETURN_RATE" in out and "left out" not in err


def test_features_and_entities(run_cli: Runner) -> None:
    code, out, _ = run_cli("features", "-f", "json")
    views = json.loads(out)
    assert [(v["feature_view"], v["version"]) for v in views] == [
        ("CUSTOMER_FEATURES", "v1"),
        ("CUSTOMER_FEATURES", "v2"),
    ]
    assert views[1]["join_keys"] == ["CUSTOMER_ID"] and len(views[1]["features"]) == 7
    code, out, _ = run_cli("entities", "-f", "csv")
    [entity] = _csv(out)
    assert entity["entity"] == "CUSTOMER"
    assert json.loads(entity["feature_views"]) == ["CUSTOMER_FEATURES/v1", "CUSTOMER_FEATURES/v2"]


def test_models_list_keeps_comments_whole(run_cli: Runner, lab: tuple[Path, str]) -> None:
    lineage = {r["MODEL_VERSION"]: r for r in _table(lab[0], "MODEL_REGISTRY.MODEL_LINEAGE")}
    code, out, _ = run_cli("models", "list", MODEL, "-f", "csv")
    parsed = _csv(out)
    as_json = json.loads(run_cli("models", "list", MODEL, "-f", "json")[1])
    assert [r["version"] for r in parsed] == [r["version"] for r in as_json] == ["V1", "V2"]
    for row, record in zip(parsed, as_json, strict=True):
        assert float(row["f1_score"]) == record["f1_score"] == lineage[row["version"]]["F1_SCORE"]
        assert row["comment"] == record["comment"]
        assert "confusion_matrix" not in row
    assert parsed[0]["comment"].startswith(f"Best run {lineage['V1']['RUN_NAME']} of experiment {EXPERIMENT}")
    assert parsed[0]["comment"].endswith("TOTAL_AMOUNT_2024_H1, RETURN_RATE")  # not cut
    code, out, _ = run_cli("models", "list", MODEL)
    assert parsed[0]["comment"] in out  # the table, outside a terminal, holds the whole comment
    code, out, _ = run_cli("models", "list", "-f", "json")
    assert {"model": MODEL, "default": "V1"}.items() <= json.loads(out)[0].items()


def test_lineage_rounds_and_keeps_the_confusion_matrix_out_of_the_metrics(
    run_cli: Runner, lab: tuple[Path, str]
) -> None:
    [v1] = [r for r in _table(lab[0], "MODEL_REGISTRY.MODEL_LINEAGE") if r["MODEL_VERSION"] == "V1"]
    [run] = [r for r in _table(lab[0], "FEATURE_STORE.EXPERIMENT_RESULTS") if r["RUN_NAME"] == v1["RUN_NAME"]]
    code, out, _ = run_cli("lineage", MODEL, "v1", "-f", "json")
    record = json.loads(out)
    assert (record["run"], record["run_id"], record["training_set"]) == (
        v1["RUN_NAME"],
        v1["RUN_ID"],
        v1["TRAINING_DATASET"],
    )
    assert record["feature_views"] == ["CUSTOMER_FEATURES/v2"]
    assert record["metrics"]["f1_score"] == v1["F1_SCORE"]
    assert record["params"] == json.loads(v1["PARAMS"])
    assert "confusion_matrix" not in record["metrics"]
    assert record["other_values"]["confusion_matrix"] == json.loads(run["CONFUSION_MATRIX"])
    code, out, _ = run_cli("lineage", MODEL, "V1")
    assert re.search(rf"metrics\.f1_score\s+{v1['F1_SCORE']:.3f}\n", out)
    assert not re.search(r"\d\.\d{5,}", out)
    rows = {r["field"]: r["value"] for r in _csv(run_cli("lineage", MODEL, "V1", "-f", "csv")[1])}
    assert rows["params.max_depth"] == json.loads(v1["PARAMS"])["max_depth"]


def test_sql_prints_every_column_and_row(run_cli: Runner) -> None:
    code, out, _ = run_cli("sql", "SELECT * FROM MODEL_REGISTRY.MODEL_LINEAGE")
    assert code == 0
    for column in ("MODEL_NAME", "FEATURE_VIEW_VERSION", "TRAINING_DATASET", "RUN_ID", "PARAMS", "CREATED_AT"):
        assert column in out.splitlines()[0]
    code, out, _ = run_cli("sql", "SELECT CUSTOMER_ID FROM PREP_DATA.CUSTOMERS", "-f", "json")
    assert len(json.loads(out)) == 300  # no 50-row cut


def test_sql_counts_are_integers_named_as_on_snowflake(run_cli: Runner) -> None:
    code, out, _ = run_cli("sql", "select count(*), sum(IS_CHURNED) from PREP_DATA.CHURN_LABELS")
    header, _, values = out.splitlines()[:3]
    assert header.split() == ["COUNT(*)", "SUM(IS_CHURNED)"]
    assert re.fullmatch(r"\s*\d+\s+\d+", values)
    code, out, _ = run_cli("sql", "select sum(IS_CHURNED) AS churned from PREP_DATA.CHURN_LABELS", "-f", "json")
    assert isinstance(json.loads(out)[0]["CHURNED"], int)


def test_show_tables_prints_rows(run_cli: Runner) -> None:
    code, out, _ = run_cli("sql", "SHOW TABLES IN SCHEMA PREP_DATA", "-f", "csv")
    assert {r["name"] for r in _csv(out)} == {"CUSTOMERS", "ORDERS", "CHURN_LABELS"}


def test_sql_is_read_only_unless_write(run_cli: Runner, lab: tuple[Path, str]) -> None:
    code, out, err = run_cli("sql", "DROP TABLE PREP_DATA.CUSTOMERS")
    assert code == 2 and out == ""
    assert "DROP changes data" in err and "--write" in err
    code, _, err = run_cli("sql", "SELECT 1 AS A; DROP TABLE PREP_DATA.CUSTOMERS")
    assert code == 1 and "expected one SQL statement, got 2" in err
    assert len(_table(lab[0], "PREP_DATA.CUSTOMERS")) == 300  # nothing was dropped
    code, out, err = run_cli("sql", "--write", "CREATE TABLE ANALYTICS.CLI_SCRATCH AS SELECT 1 AS A")
    assert code == 0 and out == "" and "CREATE done" in err
    assert _table(lab[0], "ANALYTICS.CLI_SCRATCH") == [{"A": 1}]
    assert run_cli("sql", "--write", "DROP TABLE ANALYTICS.CLI_SCRATCH")[0] == 0


@pytest.mark.parametrize("flags", [(), ("--write",)], ids=["read-only", "write"])
def test_sql_with_a_typo_says_it_does_not_parse_not_that_it_writes(run_cli: Runner, flags: tuple[str, ...]) -> None:
    """Issue 23: 'SELEC' was called a write, and with --write a sqlglot internal error."""
    code, out, err = run_cli("sql", *flags, "SELEC * FROM PREP_DATA.CUSTOMERS")
    assert code == 2 and out == ""
    assert "does not parse: SELEC at line 1 is not a keyword" in err
    assert "changes data" not in err and "sqlglot" not in err
    code, _, err = run_cli("sql", *flags, "INSERT INTO PREP_DATA.X VALUES (1,")
    assert code == 2 and "does not parse at line 1, column" in err and "changes data" not in err


def test_sql_with_an_exclamation_mark_in_a_literal(run_cli: Runner) -> None:
    code, out, _ = run_cli("sql", "SELECT 'Hello!World(' AS G", "-f", "csv")
    assert code == 0 and _csv(out) == [{"G": "Hello!World("}]


# Errors: one line on stderr, the documented exit code, a traceback only with --debug.


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["runs", "NO_SUCH_EXPERIMENT"], 1, "NO_SUCH_EXPERIMENT"),
        (["lineage", MODEL, "V9"], 1, "V9"),
        (["sql", "SELECT * FROM PREP_DATA.NO_SUCH_TABLE"], 1, "NO_SUCH_TABLE"),
        (["sql", "SELECT (1"], 1, "line 1, column 9"),
        (["sql", ""], 1, "no SQL statement given: SQL is empty"),
        (["sql", "  \n\t "], 1, "no SQL statement given: SQL is empty"),
        (["sql", "/* DROP TABLE PREP_DATA.CUSTOMERS */"], 1, "SQL holds only comments"),
        (["sql", ";;"], 1, "SQL holds only comments or ';'"),
        (["sql", "--write", ""], 1, "no SQL statement given: SQL is empty"),
        (["sql", "--write", "DELETE FROM PREP_DATA.CUSTOMERS; SELECT 1"], 1, "expected one SQL statement, got 2"),
        (["sql", "SELECT 'unterminated"], 1, "an unterminated quote?"),
        (["runs", "--format", "xml"], 2, "'xml' is not one of"),
        (["features", "--backend", "bigquery"], 2, "'bigquery' is not one of"),
        (["lineage", MODEL], 2, "Missing argument 'VERSION'"),
        (["no-such-command"], 2, "No such command"),
    ],
)
def test_errors_are_one_line_on_stderr(run_cli: Runner, args: list[str], code: int, message: str) -> None:
    got, out, err = run_cli(*args)
    assert got == code
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in err and not ANSI.search(err)


def test_debug_adds_the_traceback(run_cli: Runner) -> None:
    code, _, err = run_cli("sql", "--debug", "SELECT * FROM PREP_DATA.NO_SUCH_TABLE")
    assert code == 1
    assert "Traceback" in err and err.splitlines()[-1].startswith("error: ")


def test_version(run_cli: Runner) -> None:
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"mlops-kit {mlops_kit.__version__}"


# The command tree: help everywhere, --backend the same everywhere, the lab as a plugin.


def _commands(group: click.Group, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield f"{ctx.command_path} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, click.Context(command, info_name=name, parent=ctx))


def test_every_command_and_argument_has_help() -> None:
    root = click.Context(cli, info_name="mlops-kit")
    found = dict(_commands(cli, root))
    assert {"mlops-kit lab run", "mlops-kit data generate", "mlops-kit sql", "mlops-kit ui"} <= set(found)
    for path, command in found.items():
        assert command.help, f"{path} has no help"
        for param in command.params:
            assert getattr(param, "help", None), f"{path}: {param.name} has no help"
        backend = next((p for p in command.params if p.name == "backend"), None)
        if backend is not None:
            assert isinstance(backend.type, click.Choice)
            assert list(backend.type.choices) == sorted(mlops_kit.BACKENDS), path
            assert backend.default == "local" and backend.envvar == "MLOPS_KIT_BACKEND", path


def test_plugin_commands_are_top_level_only() -> None:
    """Issue 23: `mlops-kit models --help` listed data and lab, and `mlops-kit models lab run` ran the lab."""
    root = click.Context(cli, info_name="mlops-kit")
    paths = set(dict(_commands(cli, root)))
    assert {"mlops-kit lab", "mlops-kit data"} <= paths
    assert not [
        p for p in paths if p.count(" ") > 1 and p.split()[2] in ("lab", "data") and p.split()[1] not in ("lab", "data")
    ]


def test_the_lab_script_and_the_command_share_one_parser() -> None:
    script = Path(churn_workflow.__file__)
    direct = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
    command = subprocess.run([str(SCRIPT), "lab", "run", "--help"], capture_output=True, text=True)
    assert direct.returncode == command.returncode == 0
    assert direct.stdout == command.stdout


def test_a_broken_plugin_does_not_break_the_others(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib.metadata import EntryPoint

    import mlops_kit.cli as cli_module

    broken = EntryPoint("broken", "no_such_package.commands:group", cli_module.PLUGIN_GROUP)
    plugins = {**cli_module._plugins(), "broken": broken}
    monkeypatch.setattr(cli_module, "_plugins", lambda: plugins)
    assert main(["--help"]) == 0
    assert "broken" in capsys.readouterr().out
    assert main(["broken"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the broken command could not be loaded") and "no_such_package" in err


# Tables on a terminal: wrapped or one block per row, never cut.


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("width", [60, 100])
def test_a_terminal_table_wraps_but_never_cuts(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    comment = "Best run BASELINE of experiment CHURN_PREDICTION_EXPERIMENT with features " + ", ".join(
        f"FEATURE_{i}" for i in range(12)
    )
    rows = [
        {"version": "V1", "f1_score": 0.758293, "comment": comment},
        {"version": "V2", "f1_score": 0.7, "comment": "short"},
    ]
    screen = _Terminal()
    emit(rows, "table", file=screen)
    text = ANSI.sub("", screen.getvalue())
    assert all(len(line) <= width for line in text.splitlines())
    assert " ".join(text.split()).count("FEATURE_11") == 1  # every word of the comment is there
    words = " ".join(line.strip() for line in text.splitlines())
    for word in comment.split():
        assert word.strip(",") in words
    assert "0.758" in text and "0.7583" not in text


def test_a_table_too_wide_for_the_terminal_becomes_one_block_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    row = {"run": "BASELINE", **{f"metric_number_{i}": i / 7 for i in range(12)}}
    screen = _Terminal()
    emit([row], "table", file=screen)
    text = ANSI.sub("", screen.getvalue())
    assert "run BASELINE" in text
    assert all(f"metric_number_{i}" in text for i in range(12))
    assert all(len(line) <= 60 for line in text.splitlines())


def test_a_table_in_the_labs_log_names_no_option_the_lab_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's block note suggests ``--format csv``; ``lab run`` has no such option."""
    import pandas as pd

    from mlops_kit.examples.churn_workflow import show

    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    show("Runs side by side", pd.DataFrame([{"run": "BASELINE", **{f"metric_number_{i}": i / 7 for i in range(9)}}]))
    text = ANSI.sub("", screen.getvalue())
    assert "a block per row" in text and "run BASELINE" in text
    assert "--format" not in text


@pytest.mark.parametrize("terminal", [True, False])
def test_cell_text_is_never_read_as_markup(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    rows = [{"[bold]name": "[bold]not bold[/bold] [red]x", "value": "M!PREDICT(A)['output_feature_1']"}]
    screen = _Terminal() if terminal else io.StringIO()
    emit(rows, "table", title="[b]title", file=screen)
    text = ANSI.sub("", screen.getvalue())
    for literal in ("[b]title", "[bold]name", "[bold]not bold[/bold] [red]x", "['output_feature_1']"):
        assert literal in text


def test_whole_numbers_print_as_integers_in_every_format() -> None:
    rows = [{"CUSTOMERS": 2866.0, "CHURNED": 998.0, "RATE": 0.348}]
    for fmt, check in (
        ("csv", lambda out: _csv(out) == [{"CUSTOMERS": "2866", "CHURNED": "998", "RATE": "0.348"}]),
        ("json", lambda out: json.loads(out) == [{"CUSTOMERS": 2866, "CHURNED": 998, "RATE": 0.348}]),
        ("table", lambda out: out.splitlines()[2].split() == ["2866", "998", "0.348"]),
    ):
        out = io.StringIO()
        emit(rows, fmt, file=out)  # type: ignore[arg-type]
        assert check(out.getvalue()), out.getvalue()


# The MLflow UI: one worker, no job runner, ready and announced, stopped with its children.


def _descendants(pid: int) -> list[str]:
    """Command lines of every process below ``pid`` (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            for child in map(int, children):
                cmdline = Path(f"/proc/{child}/cmdline")
                if cmdline.exists():
                    found.append(cmdline.read_text().replace("\0", " "))
                    pending.append(child)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_ui(home: Path, folder: Path) -> tuple[int, subprocess.Popen[str]]:
    """``mlops-kit ui`` on ``home`` on a free port: (the port, the process, its stdout a pipe)."""
    port = _free_port()
    server = subprocess.Popen(
        [str(SCRIPT), "ui", "--port", str(port)], env=_environment(home), cwd=folder,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    return port, server


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts the server's processes through /proc")
def test_ui_starts_one_worker_and_prints_the_url(lab: tuple[Path, str], tmp_path: Path) -> None:
    port, server = _start_ui(lab[0], tmp_path)
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]  # blocks until the server answers (or the command fails)
        page = re.escape("/#/experiments?workflowType=machine_learning")  # the Model training view
        assert re.fullmatch(
            rf"MLflow UI ready in \d+s: http://127\.0\.0\.1:{port}{page}  \(Ctrl-C stops it\)\n", line
        ), line
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=50"
        ) as r:
            assert EXPERIMENT in r.read().decode()
        processes = _descendants(server.pid)
        assert sum(" -m uvicorn " in p for p in processes) == 1, processes  # one web worker, no supervisor
        assert not any("huey" in p for p in processes), processes  # no job runner
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "Warning" not in err and "INFO" not in err
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # its closed connections may linger
        probe.bind(("127.0.0.1", port))  # nobody listens there any more
        probe.listen()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: Chromium on a machine without network access: no background requests, no sandbox (CI runs as root).
_CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]  # fmt: skip


@pytest.mark.skipif(_chromium() is None, reason="no Chromium to drive (Debian: apt-get install chromium)")
def test_every_way_into_the_ui_opens_the_runs_of_the_model_training_view(lab: tuple[Path, str], tmp_path: Path) -> None:
    """MLflow 3.17 opens an experiment in the view its GenAI / Model training switch holds, GenAI in a
    browser that never chose: a click on the lab's experiment landed on traces and token costs. In a
    real browser with a fresh profile, the printed URL and the bare address both lead to the runs;
    a user's own choice of GenAI is kept."""
    from playwright.sync_api import sync_playwright

    port, server = _start_ui(lab[0], tmp_path)
    try:
        printed = server.stdout.readline().split(": ", 1)[1].split()[0]  # type: ignore[union-attr]
        bare = f"http://127.0.0.1:{port}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=_chromium(), args=_CHROMIUM_ARGS)
            try:
                for address, chosen, lands_on in ((printed, None, "/runs"), (bare, None, "/runs"),
                                                  (bare, "genai", "/overview")):  # fmt: skip
                    page = browser.new_context().new_page()  # a profile that never saw MLflow
                    page.goto(address)
                    if chosen:  # as the switch stores a choice (mlops_kit/cli/mlflow_ui_app.py)
                        page.evaluate(f"localStorage.setItem('mlflow.workflowType_v1', '\"{chosen}\"')")
                        page.goto(bare)
                    page.get_by_text(EXPERIMENT).first.click(timeout=60_000)
                    page.wait_for_url(re.compile(rf".*/experiments/\d+{lands_on}.*"), timeout=60_000)
                    if lands_on == "/runs":
                        page.get_by_text("RETRAIN_V2").first.wait_for(timeout=60_000)  # the lab's runs listed
                    page.context.close()
            finally:
                browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def test_ui_on_a_busy_port_says_so(lab: tuple[Path, str], tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [str(SCRIPT), "ui", "--port", str(port)],
            env=_environment(lab[0]),
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot serve on 127.0.0.1:{port}") and done.stderr.count("\n") == 1


def test_library_progress_bars_stay_out_of_a_log() -> None:
    """snowflake-ml's "Logging model" bar (tqdm on stdout) printed its frames into a redirected lab log."""
    probe = (
        "from mlops_kit.cli.logs import quiet_libraries\n"
        "quiet_libraries(False)\n"
        "from snowflake.ml.model import event_handler\n"
        "with event_handler.ModelEventHandler().status('Logging model', total=2) as status:\n"
        "    status.update('packaging model...'); status.increment(); status.increment()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Logging model" not in done.stdout + done.stderr
