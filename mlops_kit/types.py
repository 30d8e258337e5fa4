"""Plain result types every backend returns: no Snowpark or MLflow object ever leaks through these."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Entity:
    """A business object features describe (``CUSTOMER``), identified by its join keys."""

    name: str
    join_keys: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class FeatureViewRef:
    """Names one feature view version: ``CUSTOMER_FEATURES`` / ``v1``."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class FeatureView:
    """One registered, immutable version of a feature view."""

    name: str
    version: str
    entities: tuple[str, ...]
    query: str
    columns: tuple[str, ...]
    feature_columns: tuple[str, ...]
    object_name: str
    timestamp_col: str | None = None
    description: str = ""
    created_at: datetime | None = None

    @property
    def ref(self) -> FeatureViewRef:
        return FeatureViewRef(self.name, self.version)


@dataclass(frozen=True)
class TrainingSet:
    """Rows of a spine joined with feature view versions; ``table`` is set when it was saved."""

    spine_query: str
    feature_views: tuple[FeatureViewRef, ...]
    label_cols: tuple[str, ...]
    feature_columns: tuple[str, ...]
    columns: tuple[str, ...]
    row_count: int
    table: str | None = None
    spine_timestamp_col: str | None = None
    created_at: datetime | None = None
    data: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    def to_pandas(self) -> pd.DataFrame:
        """The training set's rows: the spine's columns, the labels and every feature column, one
        row per spine row (as Snowpark's ``DataFrame.to_pandas``). For a model:
        ``X = ts.to_pandas()[list(ts.feature_columns)]``, ``y = ts.to_pandas()[ts.label_cols[0]]``.

        Raises:
            NotFoundError: a record without its rows (``feature_store.get_training_set`` reads them).
        """
        if self.data is None:
            from mlops_kit.errors import NotFoundError

            raise NotFoundError(
                f"this record of training set {self.table or '(unsaved)'} holds no rows: read them with "
                "feature_store.get_training_set(table)"
            )
        return self.data


class RunStatus(str, enum.Enum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class RunInput:
    """A dataset a run used: a training set table or a feature view version."""

    kind: str  # "training_set" or "feature_view"
    name: str
    version: str | None = None


@dataclass(frozen=True)
class RunRef:
    """Enough to find a run again on the same backend."""

    experiment: str
    name: str
    run_id: str


@dataclass(frozen=True)
class Run:
    """A tracked run with what it logged."""

    experiment: str
    name: str
    run_id: str
    status: RunStatus
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    inputs: tuple[RunInput, ...] = ()
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def ref(self) -> RunRef:
        return RunRef(self.experiment, self.name, self.run_id)


@dataclass(frozen=True)
class Experiment:
    name: str
    experiment_id: str


@dataclass(frozen=True)
class Artifact:
    """A file (or folder) logged to a run, by its path relative to the run's artifact root."""

    path: str
    is_dir: bool
    size: int | None = None


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, with where it came from."""

    model: str
    version: str
    comment: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False
    run: RunRef | None = None
    training_set: str | None = None
    feature_views: tuple[FeatureViewRef, ...] = ()
    feature_names: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class Model:
    name: str
    versions: tuple[str, ...]
    default_version: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class Lineage:
    """Which run, training set and feature view versions made a model version."""

    model: str
    version: str
    run: RunRef | None
    training_set: str | None
    feature_views: tuple[FeatureViewRef, ...]
    params: dict[str, str]
    metrics: dict[str, Any]
    created_at: datetime | None = None
