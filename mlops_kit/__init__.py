"""mlops_kit: one MLOps workflow (feature store, tracking, registry, inference, lineage) on a laptop
(DuckDB + MLflow) or on Snowflake, chosen by ``connect(backend)``.

Importing this package imports neither pandas, mlflow, duckdb nor snowflake.
"""

from mlops_kit.connect import BACKENDS, Backend, connect
from mlops_kit.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BackendUnavailableError,
    InvalidInputError,
    MlopsKitError,
    NotFoundError,
    RunFailedError,
    StoreLockedError,
)
from mlops_kit.feature_store import FeatureStore
from mlops_kit.registry import Registry
from mlops_kit.tracker import RunTerminated, Tracker
from mlops_kit.types import (
    Artifact,
    Entity,
    Experiment,
    FeatureView,
    FeatureViewRef,
    Lineage,
    Model,
    ModelVersion,
    Run,
    RunInput,
    RunRef,
    RunStatus,
    TrainingSet,
)
from mlops_kit.warehouse import Warehouse

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "AccessDeniedError",
    "AlreadyExistsError",
    "Artifact",
    "Backend",
    "BackendUnavailableError",
    "Entity",
    "Experiment",
    "FeatureStore",
    "FeatureView",
    "FeatureViewRef",
    "InvalidInputError",
    "Lineage",
    "MlopsKitError",
    "Model",
    "ModelVersion",
    "NotFoundError",
    "Registry",
    "Run",
    "RunFailedError",
    "RunInput",
    "RunRef",
    "RunStatus",
    "RunTerminated",
    "StoreLockedError",
    "Tracker",
    "TrainingSet",
    "Warehouse",
    "connect",
]
