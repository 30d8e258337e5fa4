"""The ``Tracker`` interface: experiments and runs, with MLflow-shaped names.

Snowflake's ExperimentTracking uses the same names (``set_experiment``, ``start_run``,
``log_params``), so both backends serve it. Logging goes to the active run, started with
``with tracker.start_run("Baseline"):``; an exception inside the block marks the run FAILED, and so
does ``kill -TERM`` of the process while a run is active (see ``RunTerminated``).
Run names are unique within an experiment, as on Snowflake.
"""

from __future__ import annotations

import abc
import dataclasses
import signal
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlops_kit import checks, clock, names
from mlops_kit.boundary import Boundary
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlops_kit.types import Artifact, Experiment, FeatureView, Run, RunInput, RunRef, RunStatus, TrainingSet

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


class RunTerminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM while a run is active.

    It unwinds the stack like Ctrl-C does, so ``with tracker.start_run(...)`` ends the run FAILED
    and locks and transactions are released on the way out; the process then exits with status
    143 (128 + SIGTERM), as a process killed by SIGTERM does. A SystemExit, not an Exception, so
    ``except Exception`` blocks do not swallow it.
    """

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


class _TerminationGuard:
    """Turns SIGTERM into ``RunTerminated`` while a run is active.

    Installed only from the main thread (Python runs signal handlers there) and only over the
    default disposition: a handler the program installed itself, or an ignored SIGTERM, is left as
    it is. A run a process leaves RUNNING anyway (SIGKILL, power loss) is marked FAILED by the next
    ``set_experiment`` on backends that record which process owns a run.
    """

    def __init__(self) -> None:
        self._installed = False

    def install(self) -> None:
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        signal.signal(signal.SIGTERM, self._terminate)
        self._installed = True

    def remove(self) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._installed = False

    @staticmethod
    def _terminate(signum: int, frame: object) -> None:
        raise RunTerminated()


class ActiveRun:
    """What ``start_run`` returns: a context manager that ends the run when the block ends."""

    def __init__(self, tracker: Tracker, ref: RunRef) -> None:
        self.tracker = tracker
        self.ref = ref

    @property
    def name(self) -> str:
        return self.ref.name

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.tracker.end_run(RunStatus.FAILED if exc_type else RunStatus.FINISHED)


class Tracker(Boundary, abc.ABC):
    """Experiments, runs, params, metrics, artifacts and the datasets a run used.

    Every public method is defined here, once: it checks its arguments, applies the kit's rules
    (run names unique within an experiment, params fixed once logged, only finite metrics) and
    calls the backend's primitives (the ``_…`` methods below) inside ``self._boundary``.
    """

    #: Whether runs report when they ended (``Run.end_time``); Snowflake reports only the start.
    supports_run_end_time: bool = True

    def __init__(self) -> None:
        self._experiment: str | None = None
        self._active: RunRef | None = None
        self._params: dict[str, str] = {}  # what the active run logged: params cannot change
        self._termination = _TerminationGuard()

    # Primitives each backend implements. Names are canonical, arguments checked; a run ``ref``
    # or name passed in exists (the core looked it up).

    @abc.abstractmethod
    def _create_experiment(self, name: str) -> Experiment:
        """Create (or fetch) the experiment ``name``."""

    @abc.abstractmethod
    def _list_experiments(self) -> list[Experiment]:
        """Every experiment, in any order."""

    @abc.abstractmethod
    def _delete_experiment(self, name: str) -> None:
        """Delete the existing experiment ``name`` with its runs and artifacts."""

    @abc.abstractmethod
    def _begin_run(self, experiment: str, name: str) -> RunRef:
        """Start a new run called ``name``; no run has that name."""

    @abc.abstractmethod
    def _finish_run(self, ref: RunRef, status: RunStatus) -> None:
        """Mark the run ended with ``status`` (FINISHED or FAILED)."""

    @abc.abstractmethod
    def _runs(self, experiment: str, name: str | None = None) -> list[Run] | None:
        """Runs of ``experiment`` (only those called ``name`` when given), oldest first; None when the
        experiment does not exist."""

    @abc.abstractmethod
    def _log_batch(self, ref: RunRef, params: Mapping[str, str], metrics: Mapping[str, float], step: int) -> None:
        """Write params (new, or logged before with the same text) and finite metrics at ``step`` (>= 0)."""

    @abc.abstractmethod
    def _log_artifact(self, ref: RunRef, local_path: Path, artifact_path: str | None) -> None:
        """Copy an existing file, or a folder with its files, under ``artifact_path`` (a clean relative path)."""

    @abc.abstractmethod
    def _log_inputs(self, ref: RunRef, inputs: Sequence[RunInput]) -> None:
        """Record datasets the run used."""

    @abc.abstractmethod
    def _list_artifacts(self, ref: RunRef, path: str | None) -> list[Artifact]:
        """Artifacts under ``path`` (a clean relative path), recursively, folders included, any order."""

    @abc.abstractmethod
    def _download_artifact(self, ref: RunRef, path: str, dst: Path) -> Path:
        """Copy the artifact ``path`` into the existing folder ``dst`` and return its local path.

        Raises:
            NotFoundError: the run has no artifact ``path``.
        """

    @abc.abstractmethod
    def _delete_run(self, ref: RunRef) -> None:
        """Delete the run with its artifacts."""

    # Experiments.

    def set_experiment(self, name: str) -> Experiment:
        """Make ``name`` the current experiment, creating it if needed."""
        canonical = names.identifier(name, "experiment")
        with self._boundary(f"could not open experiment {canonical}"):
            experiment = self._create_experiment(canonical)
        self._experiment = experiment.name
        return experiment

    @property
    def experiment(self) -> str:
        if self._experiment is None:
            raise InvalidInputError("no experiment is set: call tracker.set_experiment(NAME) first")
        return self._experiment

    def list_experiments(self) -> list[Experiment]:
        """All experiments, sorted by name."""
        with self._boundary("could not list experiments"):
            found = self._list_experiments()
        return sorted(found, key=lambda e: e.name)

    def delete_experiment(self, name: str) -> None:
        """Delete an experiment with its runs and artifacts; the name is free again.

        Raises:
            NotFoundError: no such experiment.
            InvalidInputError: registered model versions use models logged in it (delete them first).
        """
        canonical = names.identifier(name, "experiment")
        if canonical not in {e.name for e in self.list_experiments()}:
            raise NotFoundError(f"experiment {canonical} does not exist")
        with self._boundary(f"could not delete experiment {canonical}"):
            self._delete_experiment(canonical)
        if self._experiment == canonical:
            self._experiment = None

    # Runs.

    @property
    def active_run(self) -> RunRef | None:
        return self._active

    def start_run(self, name: str, *, replace: bool = False) -> ActiveRun:
        """Start a run in the current experiment; use it as ``with tracker.start_run(NAME):``.

        Args:
            replace: delete an existing run of that name first (how a rerun stays free of
                duplicates); otherwise an existing name is an error.
        Raises:
            AlreadyExistsError: a run called ``name`` exists and ``replace`` is False.
            InvalidInputError: a run is already active, or ``name`` is not an identifier.
        """
        run_name = names.identifier(name, "run name")
        replace = checks.flag(replace, "replace")
        if self._active is not None:
            raise InvalidInputError(f"run {self._active.name} is still active: end it before starting {run_name}")
        experiment = self.experiment
        existing = self._named_runs(experiment, run_name)
        if existing and not replace:
            raise AlreadyExistsError(
                f"experiment {experiment} already has a run called {run_name}: pick another name or pass replace=True"
            )
        for run in existing:
            with self._boundary(f"could not delete run {run_name} of experiment {experiment}"):
                self._delete_run(run.ref)
        self._termination.install()  # before the run exists: a SIGTERM from here on fails it
        try:
            with self._boundary(f"could not start run {run_name} in experiment {experiment}"):
                self._active = self._begin_run(experiment, run_name)
        except BaseException:
            self._termination.remove()
            raise
        self._params = {}
        return ActiveRun(self, self._active)

    def end_run(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """End the active run as FINISHED or FAILED. Raises InvalidInputError when no run is active."""
        ref = self._require_active()
        final = RunStatus(checks.choice(status, "status", [RunStatus.FINISHED.value, RunStatus.FAILED.value]))
        try:
            with self._boundary(f"could not end run {ref.name}"):
                self._finish_run(ref, final)
        finally:
            self._active = None
            self._params = {}
            self._termination.remove()

    def list_runs(self, experiment: str | None = None) -> list[Run]:
        """Every run of an experiment (the current one by default), oldest first.

        Raises:
            NotFoundError: the experiment does not exist.
        """
        return self._named_runs(self._experiment_name(experiment))

    def get_run(self, name: str, experiment: str | None = None) -> Run:
        """Raises NotFoundError when the experiment has no run called ``name``."""
        run_name = names.identifier(name, "run name")
        experiment_name = self._experiment_name(experiment)
        found = self._named_runs(experiment_name, run_name)
        if not found:
            raise NotFoundError(f"experiment {experiment_name} has no run called {run_name}")
        return found[-1]  # the newest, should plain MLflow have made several

    def delete_run(self, name: str, experiment: str | None = None) -> None:
        """Delete a run with its artifacts. Raises NotFoundError when it does not exist."""
        run = self.get_run(name, experiment)
        with self._boundary(f"could not delete run {run.name}"):
            self._delete_run(run.ref)

    def compare_runs(self, experiment: str | None = None) -> pd.DataFrame:
        """One row per run: name, status, then every param and metric as columns."""
        import pandas as pd

        rows = []
        for run in self.list_runs(experiment):
            row: dict[str, Any] = {"run_name": run.name, "status": run.status.value}
            row.update({f"param.{k}": v for k, v in sorted(run.params.items())})
            row.update({f"metric.{k}": v for k, v in sorted(run.metrics.items())})
            rows.append(row)
        return pd.DataFrame(rows)

    # Logging to the active run.

    def log_batch(
        self, params: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None, step: int = 0
    ) -> None:
        """Log params and metrics to the active run in one call: all of them, or (on bad input) none.

        Params are stored as ``str(value)``, as MLflow and Snowflake do; a param cannot change once
        logged (logging the same text again is fine). Metrics are finite numbers: a bool, NaN or an
        infinity is refused (a bool is almost always a mistake, and Snowflake keeps metrics as JSON,
        which has no NaN or infinity). Names follow MLflow's rule on every backend.

        Raises:
            InvalidInputError: no active run, a bad name, a param longer than
                ``checks.MAX_PARAM_LENGTH`` or logged before with another value, a metric that is
                not a finite number, or a step that is not a whole number >= 0.
        """
        ref = self._require_active()
        texts = {
            self._param_name(key): checks.text(
                str(value), f"param {key!r}", allow_empty=True, max_length=checks.MAX_PARAM_LENGTH
            )
            for key, value in checks.mapping(params, "params").items()
        }
        values = {
            checks.logged_name(key, "metric"): checks.finite_number(value, f"metric {key!r}")
            for key, value in checks.mapping(metrics, "metrics").items()
        }
        step = checks.whole_number(step, "step", minimum=0)
        for key, new in texts.items():
            old = self._params.get(key)
            if old is not None and old != new:
                raise InvalidInputError(
                    f"param {key!r} was logged as {checks.shown(old)} in run {ref.name}; it cannot change to "
                    f"{checks.shown(new)}: log the new value under another name, or start another run"
                )
        if not texts and not values:
            return
        with self._boundary(f"could not log to run {ref.name}"):
            self._log_batch(ref, texts, values, step)
        self._params.update(texts)

    def log_param(self, key: str, value: Any) -> None:
        self.log_batch(params={key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.log_batch(params=checks.mapping(params, "params"))

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.log_batch(metrics={key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        self.log_batch(metrics=checks.mapping(metrics, "metrics"), step=step)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a file, or a folder with its files, into the active run's artifacts (under
        ``artifact_path`` when given).

        Raises:
            InvalidInputError: no active run, the path does not exist or is a folder with no files or
                with a link that leads outside it, or ``artifact_path`` is not a clean relative path.
        """
        ref = self._require_active()
        path = checks.artifact_source(local_path, "local_path")
        where = None if artifact_path is None else checks.relative_path(artifact_path, "artifact_path")
        with self._boundary(f"could not log {path.name} to run {ref.name}"):
            self._log_artifact(ref, path, where)

    def log_figure(self, figure: Figure, filename: str, artifact_path: str | None = None) -> None:
        """Save a matplotlib figure as ``filename`` (PNG unless the name says otherwise) and log it."""
        self._require_active()
        name = checks.file_name(filename, "filename")
        if not hasattr(figure, "savefig"):
            raise InvalidInputError(f"figure must be a matplotlib Figure, not {checks.shown(figure)}")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            figure.savefig(path, dpi=110, bbox_inches="tight")
            self.log_artifact(path, artifact_path)

    def log_table(self, df: pd.DataFrame, filename: str, artifact_path: str | None = None) -> None:
        """Log a DataFrame as a CSV artifact."""
        self._require_active()
        table = checks.frame(df, "df", allow_empty=True)
        name = checks.file_name(filename, "filename")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            table.to_csv(path, index=False)
            self.log_artifact(path, artifact_path)

    def log_inputs(self, inputs: Sequence[RunInput]) -> None:
        """Record datasets the active run used (training sets, feature view versions)."""
        ref = self._require_active()
        items = checks.list_of(inputs, "inputs", RunInput)
        for index, item in enumerate(items):
            checks.choice(item.kind, f"inputs[{index}].kind", _INPUT_KINDS)
            checks.text(item.name, f"inputs[{index}].name")
        if items:
            with self._boundary(f"could not record the inputs of run {ref.name}"):
                self._log_inputs(ref, items)

    def log_training_set(self, training_set: TrainingSet) -> None:
        """Record a training set and the feature view versions it was made from as run inputs."""
        checks.instance_of(training_set, "training_set", TrainingSet, " (from feature_store.generate_training_set)")
        inputs = [RunInput("feature_view", ref.name, ref.version) for ref in training_set.feature_views]
        if training_set.table:
            inputs.insert(0, RunInput("training_set", training_set.table))
        self.log_inputs(inputs)

    def log_feature_view(self, view: FeatureView) -> None:
        checks.instance_of(view, "view", FeatureView)
        self.log_inputs([RunInput("feature_view", view.name, view.version)])

    # Artifacts of a run.

    def list_artifacts(self, run_name: str, path: str | None = None, experiment: str | None = None) -> list[Artifact]:
        """Artifacts of a run (under ``path`` when given), recursively, folders included, sorted by path.

        Raises:
            NotFoundError: no such run.
        """
        where = None if path is None else checks.relative_path(path, "path")
        run = self.get_run(run_name, experiment)
        with self._boundary(f"could not list the artifacts of run {run.name}"):
            found = self._list_artifacts(run.ref, where)
        return sorted(found, key=lambda a: a.path)

    def download_artifacts(self, run_name: str, path: str, dst: str | Path, experiment: str | None = None) -> Path:
        """Copy an artifact (file or folder) of a run to ``dst`` (a folder, created when missing);
        returns the local path.

        Raises:
            NotFoundError: no such run or artifact.
            InvalidInputError: ``dst`` is not a folder that can be written (named, with the reason).
        """
        where = checks.relative_path(path, "path")
        run = self.get_run(run_name, experiment)
        target = checks.writable_folder(dst, "dst")
        what = f"could not download {where} of run {run.name}"
        try:
            with self._boundary(what):
                return self._download_artifact(run.ref, where, target)
        except OSError as exc:  # writing into dst: a full disk, a file the user cannot overwrite
            raise InvalidInputError(f"{what} into {target}: {exc.strerror or exc} ({exc.filename or target})") from exc

    # Internals.

    def _experiment_name(self, experiment: str | None) -> str:
        return self.experiment if experiment is None else names.identifier(experiment, "experiment")

    def _named_runs(self, experiment: str, name: str | None = None) -> list[Run]:
        """Runs of ``experiment`` (called ``name`` when given) with UTC times. Raises NotFoundError."""
        with self._boundary(f"could not read the runs of experiment {experiment}"):
            found = self._runs(experiment, name)
        if found is None:
            raise NotFoundError(f"experiment {experiment} does not exist")
        return [
            dataclasses.replace(run, start_time=clock.as_utc(run.start_time), end_time=clock.as_utc(run.end_time))
            for run in found
        ]

    def _param_name(self, key: object) -> str:
        name = checks.logged_name(key, "param")
        if name.startswith(RESERVED_PREFIX):
            raise InvalidInputError(
                f"param name {name!r} starts with {RESERVED_PREFIX!r}, which is reserved for the kit"
            )
        return name

    def _require_active(self) -> RunRef:
        if self._active is None:
            raise InvalidInputError("no active run: log inside `with tracker.start_run(NAME):`")
        return self._active


#: Names the kit keeps for its own records (Snowflake stores run inputs as params named so).
RESERVED_PREFIX = "mlops_kit."
_INPUT_KINDS = ("training_set", "feature_view")
