"""Tracker conformance: experiments, runs, params, metrics, artifacts, inputs, statuses."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

import mlops_kit
from mlops_kit import AlreadyExistsError, InvalidInputError, NotFoundError, RunInput, RunStatus


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
            tracker.start_run("inner")


def test_bad_metric_and_changed_param_are_rejected(backend: mlops_kit.Backend, unique: str) -> None:
    tracker = backend.tracker
    tracker.set_experiment(f"exp_{unique}")
    with tracker.start_run("strict"):
        with pytest.raises(InvalidInputError, match="not a number"):
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
        with pytest.raises(InvalidInputError, match="no such file"):
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
