"""Tracker conformance: experiments, runs, params, metrics, artifacts, inputs, statuses."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import mlops_kit
from mlops_kit import AlreadyExistsError, InvalidInputError, NotFoundError, RunInput, RunStatus
from mlops_kit.checks import MAX_PARAM_LENGTH


def test_runs_log_params_metrics_and_compare(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    experiment = tracker.set_experiment(f"exp_{unique}")
    assert experiment.name == f"EXP_{unique}"
    with tracker.start_run("baseline") as run:
        assert run.name == "BASELINE"
        tracker.log_params({"max_depth": 5, "learning_rate": 0.1})
        tracker.log_param("note", "first")
        tracker.log_metrics({"f1": 0.5, "accuracy": 0.8})
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            tracker.log_metric("loss", loss, step=step)
    with tracker.start_run("deep"):
        tracker.log_params({"max_depth": 10, "learning_rate": 0.1})
        tracker.log_metrics({"f1": 0.7, "accuracy": 0.75})
    assert tracker.active_run is None
    baseline = tracker.get_run("BASELINE")
    assert baseline.status is RunStatus.FINISHED
    assert baseline.params == {"max_depth": "5", "learning_rate": "0.1", "note": "first"}
    assert baseline.metrics == {"f1": 0.5, "accuracy": 0.8, "loss": 0.3}
    assert [r.name for r in tracker.list_runs()] == ["BASELINE", "DEEP"]
    table = tracker.compare_runs()
    assert table["run_name"].tolist() == ["BASELINE", "DEEP"]
    assert table["metric.f1"].tolist() == [0.5, 0.7]
    assert table["param.max_depth"].tolist() == ["5", "10"]
    assert any(e.name == f"EXP_{unique}" for e in tracker.list_experiments())


def test_an_exception_marks_the_run_failed(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with pytest.raises(ZeroDivisionError):
        with tracker.start_run("broken"):
            tracker.log_metric("partial", 1.0)
            1 / 0  # noqa: B018
    run = tracker.get_run("broken")
    assert run.status is RunStatus.FAILED
    assert run.metrics == {"partial": 1.0}
    assert tracker.active_run is None


def test_explicit_end_run_with_status(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    tracker.start_run("manual")
    tracker.end_run(RunStatus.FAILED)
    assert tracker.get_run("manual").status is RunStatus.FAILED
    with pytest.raises(InvalidInputError, match="no active run"):
        tracker.end_run()


def test_run_names_are_unique_unless_replaced(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("once"):
        tracker.log_metric("m", 1.0)
    with pytest.raises(AlreadyExistsError, match="ONCE"):
        tracker.start_run("once")
    with tracker.start_run("once", replace=True):
        tracker.log_metric("m", 2.0)
    assert [r.metrics["m"] for r in tracker.list_runs()] == [2.0]


def test_logging_needs_an_active_run(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with pytest.raises(InvalidInputError, match="no active run"):
        tracker.log_metric("m", 1.0)
    with tracker.start_run("outer"):
        with pytest.raises(InvalidInputError, match="still active"):
            tracker.start_run("nested")


def test_bad_metric_and_changed_param_are_rejected(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("strict"):
        with pytest.raises(InvalidInputError, match="metric 'f1' must be a number"):
            tracker.log_metric("f1", "high")  # type: ignore[arg-type]
        tracker.log_param("depth", 3)
        with pytest.raises(InvalidInputError):
            tracker.log_param("depth", 4)


def test_artifacts_figures_list_and_download(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    note = tmp_path / "note.txt"
    note.write_text("hello")
    figure, axes = plt.subplots()
    axes.bar(["a", "b"], [1, 2])
    with tracker.start_run("arts"):
        tracker.log_artifact(note)
        tracker.log_figure(figure, "bars.png", artifact_path="plots")
        with pytest.raises(InvalidInputError, match="does not exist"):
            tracker.log_artifact(tmp_path / "missing.txt")
    plt.close(figure)
    listed = {a.path: a for a in tracker.list_artifacts("arts")}
    assert set(listed) == {"note.txt", "plots", "plots/bars.png"}
    assert listed["plots"].is_dir and not listed["note.txt"].is_dir
    local = tracker.download_artifacts("arts", "plots/bars.png", tmp_path / "down")
    assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tracker.download_artifacts("arts", "note.txt", tmp_path / "down").read_text() == "hello"
    with pytest.raises(NotFoundError):
        tracker.download_artifacts("arts", "nope.txt", tmp_path / "down")


def test_inputs_are_recorded(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    inputs = [RunInput("training_set", "FEATURE_STORE.TRAIN"), RunInput("feature_view", "CUSTOMER_FEATURES", "v2")]
    with tracker.start_run("with_inputs"):
        tracker.log_inputs(inputs)
    assert set(tracker.get_run("with_inputs").inputs) == set(inputs)


def test_delete_run_and_experiment(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("gone"):
        pass
    tracker.delete_run("gone")
    with pytest.raises(NotFoundError):
        tracker.get_run("gone")
    with pytest.raises(NotFoundError):
        tracker.delete_run("gone")
    tracker.delete_experiment(f"exp_{unique}")
    assert all(e.name != f"EXP_{unique}" for e in tracker.list_experiments())
    with pytest.raises(NotFoundError):
        tracker.list_runs(f"exp_{unique}")
    # the name can be used again, with no runs in it
    tracker.set_experiment(f"exp_{unique}")
    assert tracker.list_runs() == []


# Issue 12: behaviour the two backends used to disagree on, defined once in the core.


def _logged(tracker: mlops_kit.Tracker, run: str) -> tuple[dict[str, str], dict[str, float]]:
    found = tracker.get_run(run)
    return found.params, found.metrics


def test_a_boolean_metric_is_rejected_naming_it(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("bools"):
        tracker.log_metric("f1", 0.5)
        for flag in (True, np.bool_(False)):
            with pytest.raises(InvalidInputError, match=r"metric 'converged' must be a number, not .*bool"):
                tracker.log_metric("converged", flag)  # type: ignore[arg-type]
    assert _logged(tracker, "bools") == ({}, {"f1": 0.5})


def test_a_param_cannot_change_once_logged(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("fixed"):
        tracker.log_params({"depth": 3, "scaled": True})
        tracker.log_params({"depth": 3, "scaled": True})  # the same values again: fine
        tracker.log_param("depth", "3")  # the same text
        with pytest.raises(
            InvalidInputError, match=r"param 'depth' was logged as '3' in run FIXED; it cannot change to '4'"
        ):
            tracker.log_batch(params={"added": "x", "depth": 4}, metrics={"m": 1.0})
    assert _logged(tracker, "fixed") == ({"depth": "3", "scaled": "True"}, {})


def test_run_times_are_utc(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    with tracker.start_run("timed"):
        pass
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    for run in (tracker.get_run("timed"), *tracker.list_runs()):
        assert run.start_time is not None and run.start_time.utcoffset() == timedelta(0)
        assert before <= run.start_time <= after
        if run.end_time is not None:
            assert run.end_time.utcoffset() == timedelta(0) and run.start_time <= run.end_time <= after


@pytest.mark.needs_capability("tracker.supports_run_end_time")
def test_runs_report_when_they_ended(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("ended"):
        pass
    run = tracker.get_run("ended")
    assert run.end_time is not None and run.start_time is not None and run.start_time <= run.end_time


# Issue 10: bad input gets an error naming it, and nothing is half-written.


def test_a_param_longer_than_the_limit_is_rejected_not_cut(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("long"):
        tracker.log_param("short", "x" * MAX_PARAM_LENGTH)  # at the limit: fine
        with pytest.raises(InvalidInputError, match=r"param 'notes' has 10,000 characters; at most 6,000"):
            tracker.log_params({"notes": "n" * 10_000, "other": 1})
    assert _logged(tracker, "long") == ({"short": "x" * MAX_PARAM_LENGTH}, {})


@pytest.mark.parametrize(
    "value", [math.inf, -math.inf, math.nan, np.float32("nan")], ids=["inf", "-inf", "nan", "f32nan"]
)
def test_a_metric_that_is_not_finite_is_rejected(backend: mlops_kit.Backend, unique: str, value: float) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("finite"):
        with pytest.raises(InvalidInputError, match=r"metric 'loss' is (inf|-inf|nan): only finite numbers"):
            tracker.log_metrics({"ok": 1.0, "loss": value})
    assert _logged(tracker, "finite") == ({}, {})


def test_a_metric_that_is_not_a_number_is_rejected(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("numbers"):
        tracker.log_metrics({"int": 3, "numpy": np.float64(0.25)})
        for value in ("0.5", None, [1.0], {"v": 1}):
            with pytest.raises(InvalidInputError, match=r"metric 'f1' must be a number, not"):
                tracker.log_batch(params={"p": 1}, metrics={"f1": value})  # type: ignore[dict-item]
    assert _logged(tracker, "numbers") == ({}, {"int": 3.0, "numpy": 0.25})


BAD_KEYS = ["", "   ", 5, None, "a*b", "semi;colon", "quote'd", "new\nline", "../up", "/root", "a//b", "x" * 251]


@pytest.mark.parametrize("kind", ["param", "metric"])
def test_a_bad_param_or_metric_name_is_rejected(backend: mlops_kit.Backend, unique: str, kind: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("keys"):
        tracker.log_batch(params={"lr/x 1.a-b:c": 1}, metrics={"val/f1 a-b.c:d": 0.5})  # what MLflow accepts
        for key in BAD_KEYS:
            with pytest.raises(InvalidInputError, match=f"{kind} name"):
                if kind == "param":
                    tracker.log_params({"fine": 1, key: 1})  # type: ignore[dict-item]
                else:
                    tracker.log_metrics({"fine": 1.0, key: 1.0})  # type: ignore[dict-item]
    assert _logged(tracker, "keys") == ({"lr/x 1.a-b:c": "1"}, {"val/f1 a-b.c:d": 0.5})


def test_params_named_like_the_kits_own_records_are_refused(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("reserved"):
        with pytest.raises(InvalidInputError, match=r"param name 'mlops_kit.input.x' .*reserved"):
            tracker.log_param("mlops_kit.input.x", "{}")
    assert _logged(tracker, "reserved") == ({}, {})


def test_a_bad_step_is_rejected(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("steps"):
        tracker.log_metric("loss", 0.5, step=np.int64(2))  # type: ignore[arg-type]
        for step in (-1, 1.5, "3", None, True):
            with pytest.raises(InvalidInputError, match="step"):
                tracker.log_metric("loss", 0.1, step=step)  # type: ignore[arg-type]
    assert _logged(tracker, "steps") == ({}, {"loss": 0.5})


def test_bad_containers_are_rejected(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("containers"):
        with pytest.raises(InvalidInputError, match="params must be a dict"):
            tracker.log_params([("a", 1)])  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="metrics must be a dict"):
            tracker.log_metrics(0.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="inputs must be a list"):
            tracker.log_inputs(RunInput("feature_view", "FV", "v1"))  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="kind"):
            tracker.log_inputs([RunInput("model", "M")])
        with pytest.raises(InvalidInputError, match="inputs"):
            tracker.log_inputs(["FEATURE_STORE.TRAIN"])  # type: ignore[list-item]
        with pytest.raises(InvalidInputError, match="training_set must be a TrainingSet"):
            tracker.log_training_set("FEATURE_STORE.TRAIN")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="df must be a pandas DataFrame"):
            tracker.log_table({"a": [1]}, "t.csv")  # type: ignore[arg-type]
    assert tracker.get_run("containers").inputs == ()
    assert tracker.list_artifacts("containers") == []


def test_a_folder_with_a_link_out_of_it_is_refused(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    """Copying follows links: a link out of the folder would put its target (a secret, all of /etc/ssl)
    into the run's artifacts. Refused, naming the link; a link between the folder's own files is kept."""
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the run")
    report = tmp_path / "report"
    report.mkdir()
    (report / "summary.txt").write_text("all good")
    (report / "latest.txt").symlink_to(report / "summary.txt")
    (report / "leak.txt").symlink_to(secret)
    with tracker.start_run("linked"):
        with pytest.raises(InvalidInputError, match=r"link that leads outside it, 'leak.txt' -> '.*secret.txt'"):
            tracker.log_artifact(report)
        (report / "leak.txt").unlink()
        tracker.log_artifact(report)
    files = {a.path.rsplit("/", 1)[-1] for a in tracker.list_artifacts("linked") if not a.is_dir}
    assert files == {"latest.txt", "summary.txt"}


@pytest.mark.parametrize(
    ("log", "message"),
    [
        (lambda t, f: t.log_artifact(f, artifact_path="a\x00b"), r"artifact_path 'a\\x00b' must be a relative path"),
        (lambda t, f: t.log_params({"p": "bad\ud800"}), r"param 'p' holds a character that is not text.*position 3"),
        (lambda t, f: t.log_metrics({"m": 1.0}, step=2**63), "step must be at most 9,223,372,036,854,775,807"),
    ],
    ids=["nul in artifact_path", "lone surrogate in a param", "step beyond 64 bits"],
)
def test_values_no_store_can_keep_are_named(
    backend: mlops_kit.Backend, unique: str, tmp_path: Path, log, message
) -> None:  # noqa: ANN001
    """Issue 17: each was MLflow's traceback in a base MlopsKitError ("MLflow failed: … line N")."""
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    note = tmp_path / "note.txt"
    note.write_text("hello")
    with tracker.start_run("unstorable"):
        with pytest.raises(InvalidInputError, match=message):
            log(tracker, note)
    run = tracker.get_run("unstorable")
    assert run.params == {} and run.metrics == {}


def test_bad_artifacts_are_rejected(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    note = tmp_path / "note.txt"
    note.write_text("hello")
    (tmp_path / "empty").mkdir()
    figure, _ = plt.subplots()
    with tracker.start_run("bad_artifacts"):
        with pytest.raises(InvalidInputError, match=r"local_path '.*missing.txt' does not exist"):
            tracker.log_artifact(tmp_path / "missing.txt")
        with pytest.raises(InvalidInputError, match=r"local_path '.*empty' is a folder with no files"):
            tracker.log_artifact(tmp_path / "empty")
        with pytest.raises(InvalidInputError, match="local_path must be a path"):
            tracker.log_artifact(None)  # type: ignore[arg-type]
        for where in ("../outside", "/abs", "a/../../b", "", "a\\b"):
            with pytest.raises(InvalidInputError, match="artifact_path"):
                tracker.log_artifact(note, artifact_path=where)
        for filename in ("../escape.png", "sub/dir.png", "", ".."):
            with pytest.raises(InvalidInputError, match="filename"):
                tracker.log_figure(figure, filename)
    plt.close(figure)
    assert tracker.list_artifacts("bad_artifacts") == []
    assert not (tmp_path.parent / "escape.png").exists()
    with pytest.raises(InvalidInputError, match="path"):
        tracker.download_artifacts("bad_artifacts", "../../etc/passwd", tmp_path / "down")
    with tracker.start_run("one_note"):
        tracker.log_artifact(note)
    for dst, message in ((note, r"dst '.*note.txt' is a file: give a folder"),
                         (note / "below", r"dst '.*below' lies under .*note.txt, which is a file")):  # fmt: skip
        with pytest.raises(InvalidInputError, match=message):  # issue 17: FileExistsError, FileNotFoundError
            tracker.download_artifacts("one_note", "note.txt", dst)
    assert note.read_text() == "hello"


def test_a_folder_is_logged_with_its_files(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    folder = tmp_path / "report"
    (folder / "deep").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "deep" / "b.txt").write_text("b")
    with tracker.start_run("folders"):
        tracker.log_artifact(folder, artifact_path="report")
    listed = {a.path for a in tracker.list_artifacts("folders")}
    assert listed == {"report", "report/a.txt", "report/deep", "report/deep/b.txt"}


def test_logging_with_no_active_run_is_refused(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    note = tmp_path / "note.txt"
    note.write_text("hello")
    calls = [
        lambda: tracker.log_param("p", 1),
        lambda: tracker.log_params({"p": 1}),
        lambda: tracker.log_metrics({"m": 1.0}),
        lambda: tracker.log_artifact(note),
        lambda: tracker.log_inputs([RunInput("feature_view", "FV", "v1")]),
        lambda: tracker.end_run(),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="no active run"):
            call()
    assert tracker.list_runs() == []


def test_missing_runs_and_experiments_are_not_found(backend: mlops_kit.Backend, unique: str, tmp_path: Path) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("present"):
        tracker.log_metric("m", 1.0)
    for call in (
        lambda: tracker.get_run("absent"),
        lambda: tracker.delete_run("absent"),
        lambda: tracker.list_artifacts("absent"),
        lambda: tracker.download_artifacts("absent", "x.txt", tmp_path),
    ):
        with pytest.raises(NotFoundError, match=f"experiment EXP_{unique} has no run called ABSENT"):
            call()
    for call in (
        lambda: tracker.list_runs(f"nope_{unique}"),
        lambda: tracker.get_run("present", f"nope_{unique}"),
        lambda: tracker.delete_experiment(f"nope_{unique}"),
        lambda: tracker.compare_runs(f"nope_{unique}"),
    ):
        with pytest.raises(NotFoundError, match=f"experiment NOPE_{unique} does not exist"):
            call()
    assert [(r.name, r.metrics) for r in tracker.list_runs()] == [("PRESENT", {"m": 1.0})]


def test_names_with_quotes_or_semicolons_are_refused(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    before = tracker.list_experiments()
    for name in (f"x'; DROP SCHEMA EXPERIMENTS; --{unique}", f'q"{unique}', f"a b{unique}", "", None, 7):
        with pytest.raises(InvalidInputError, match="experiment"):
            tracker.set_experiment(name)  # type: ignore[arg-type]
        if name is not None:  # list_runs(None) lists the current experiment
            with pytest.raises(InvalidInputError, match="experiment"):
                tracker.list_runs(name)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="run name"):
            tracker.start_run(name)  # type: ignore[arg-type]
    assert tracker.list_experiments() == before
    assert tracker.experiment == f"EXP_{unique}"
    assert tracker.list_runs() == [] and tracker.active_run is None


def test_a_used_run_name_is_refused_and_the_run_kept(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("taken"):
        tracker.log_params({"a": 1})
        tracker.log_metric("m", 1.0)
    with pytest.raises(AlreadyExistsError, match=f"experiment EXP_{unique} already has a run called TAKEN"):
        tracker.start_run("Taken")
    with pytest.raises(InvalidInputError, match="replace must be True or False"):
        tracker.start_run("taken", replace="yes")  # type: ignore[arg-type]
    assert tracker.active_run is None
    assert [(r.name, r.params, r.metrics) for r in tracker.list_runs()] == [("TAKEN", {"a": "1"}, {"m": 1.0})]


def test_a_run_ends_only_as_finished_or_failed(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("statuses"):
        for status in ("DONE", RunStatus.RUNNING, None):
            with pytest.raises(InvalidInputError, match="status"):
                tracker.end_run(status)  # type: ignore[arg-type]
        assert tracker.active_run is not None
    assert tracker.get_run("statuses").status is RunStatus.FINISHED
