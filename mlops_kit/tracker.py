"""The ``Tracker`` interface: experiments and runs, with MLflow-shaped names.

Snowflake's ExperimentTracking uses the same names (``set_experiment``, ``start_run``,
``log_params``), so both backends serve it. Logging goes to the active run, started with
``with tracker.start_run("Baseline"):``; an exception inside the block marks the run FAILED, and so
does ``kill -TERM`` of the process while a run is active (see ``RunTerminated``).
Run names are unique within an experiment, as on Snowflake.
"""

from __future__ import annotations

import abc
import signal
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlops_kit import names
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
    """Experiments, runs, params, metrics, artifacts and the datasets a run used."""

    def __init__(self) -> None:
        self._experiment: str | None = None
        self._active: RunRef | None = None
        self._termination = _TerminationGuard()

    # Primitives each backend implements.

    @abc.abstractmethod
    def _create_experiment(self, name: str) -> Experiment:
        """Create (or fetch) the experiment ``name`` (already canonical)."""

    @abc.abstractmethod
    def _begin_run(self, experiment: str, name: str) -> RunRef:
        """Start a new run called ``name``; the core has checked that no run has that name."""

    @abc.abstractmethod
    def _finish_run(self, ref: RunRef, status: RunStatus) -> None:
        """Mark the run ended with ``status``."""

    @abc.abstractmethod
    def log_batch(
        self, params: Mapping[str, Any] | None = None, metrics: Mapping[str, float] | None = None, step: int = 0
    ) -> None:
        """Log params and metrics to the active run in one call.

        Params are stored as strings; a param cannot change once logged.

        Raises:
            InvalidInputError: no active run, a non-numeric metric, or a param logged again with
                another value.
        """

    @abc.abstractmethod
    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Copy a file into the active run's artifacts (under ``artifact_path`` when given).

        Raises:
            InvalidInputError: no active run, or the file does not exist.
        """

    @abc.abstractmethod
    def log_inputs(self, inputs: Sequence[RunInput]) -> None:
        """Record datasets the active run used (training sets, feature view versions)."""

    @abc.abstractmethod
    def list_experiments(self) -> list[Experiment]:
        """All experiments, sorted by name."""

    @abc.abstractmethod
    def list_runs(self, experiment: str | None = None) -> list[Run]:
        """Every run of an experiment (the current one by default), oldest first.

        Raises:
            NotFoundError: the experiment does not exist.
        """

    @abc.abstractmethod
    def get_run(self, name: str, experiment: str | None = None) -> Run:
        """Raises NotFoundError when the experiment has no run called ``name``."""

    @abc.abstractmethod
    def list_artifacts(self, run_name: str, path: str | None = None, experiment: str | None = None) -> list[Artifact]:
        """Artifacts of a run (under ``path`` when given), recursively, folders included, sorted by path.

        Raises:
            NotFoundError: no such run.
        """

    @abc.abstractmethod
    def download_artifacts(self, run_name: str, path: str, dst: str | Path, experiment: str | None = None) -> Path:
        """Copy an artifact (file or folder) of a run to ``dst``; returns the local path.

        Raises:
            NotFoundError: no such run or artifact.
        """

    @abc.abstractmethod
    def delete_run(self, name: str, experiment: str | None = None) -> None:
        """Delete a run with its artifacts. Raises NotFoundError when it does not exist."""

    @abc.abstractmethod
    def delete_experiment(self, name: str) -> None:
        """Delete an experiment with its runs. Raises NotFoundError when it does not exist."""

    # The core's conveniences, the same on every backend.

    def set_experiment(self, name: str) -> Experiment:
        """Make ``name`` the current experiment, creating it if needed."""
        experiment = self._create_experiment(names.identifier(name, "experiment"))
        self._experiment = experiment.name
        return experiment

    @property
    def experiment(self) -> str:
        if self._experiment is None:
            raise InvalidInputError("no experiment is set: call tracker.set_experiment(NAME) first")
        return self._experiment

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
        if self._active is not None:
            raise InvalidInputError(f"run {self._active.name} is still active: end it before starting {run_name}")
        experiment = self.experiment
        try:
            self.get_run(run_name, experiment)
        except NotFoundError:
            pass
        else:
            if not replace:
                raise AlreadyExistsError(
                    f"experiment {experiment} already has a run called {run_name}: "
                    "pick another name or pass replace=True"
                )
            self.delete_run(run_name, experiment)
        self._termination.install()  # before the run exists: a SIGTERM from here on fails it
        try:
            self._active = self._begin_run(experiment, run_name)
        except BaseException:
            self._termination.remove()
            raise
        return ActiveRun(self, self._active)

    def end_run(self, status: RunStatus = RunStatus.FINISHED) -> None:
        """End the active run with ``status``. Raises InvalidInputError when no run is active."""
        ref = self._require_active()
        try:
            self._finish_run(ref, RunStatus(status))
        finally:
            self._active = None
            self._termination.remove()

    def log_param(self, key: str, value: Any) -> None:
        self.log_batch(params={key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.log_batch(params=params)

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.log_batch(metrics={key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        self.log_batch(metrics=metrics, step=step)

    def log_figure(self, figure: Figure, filename: str, artifact_path: str | None = None) -> None:
        """Save a matplotlib figure as ``filename`` (PNG unless the name says otherwise) and log it."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            figure.savefig(path, dpi=110, bbox_inches="tight")
            self.log_artifact(path, artifact_path)

    def log_table(self, df: pd.DataFrame, filename: str, artifact_path: str | None = None) -> None:
        """Log a DataFrame as a CSV artifact."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            df.to_csv(path, index=False)
            self.log_artifact(path, artifact_path)

    def log_training_set(self, training_set: TrainingSet) -> None:
        """Record a training set and the feature view versions it was made from as run inputs."""
        inputs = [RunInput("feature_view", ref.name, ref.version) for ref in training_set.feature_views]
        if training_set.table:
            inputs.insert(0, RunInput("training_set", training_set.table))
        self.log_inputs(inputs)

    def log_feature_view(self, view: FeatureView) -> None:
        self.log_inputs([RunInput("feature_view", view.name, view.version)])

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

    def _require_active(self) -> RunRef:
        if self._active is None:
            raise InvalidInputError("no active run: log inside `with tracker.start_run(NAME):`")
        return self._active
