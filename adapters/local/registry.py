"""``LocalRegistry``: models and versions in a real MLflow model registry.

How the kit's ideas map onto MLflow, so any MLflow client can read what this writes:
- a kit version (``V1``) is an MLflow model version (a number) tagged ``mlops_kit.version=V1``;
  versions registered by plain MLflow show up as ``V<number>``;
- the default version is the alias ``default``: ``models:/CUSTOMER_CHURN_PREDICTOR@default``;
- the comment is the version's description; metrics are tags ``mlops_kit.metric.<name>``;
- the run link is MLflow's own ``run_id``; the training set, feature view versions and run params
  are tags ``mlops_kit.*``.
Models are saved with explicit pip requirements and a signature: MLflow's requirement inference
costs seconds per model, and the kit knows what the model needs.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_kit import names
from mlops_kit.adapters.local.sql import ModelCall
from mlops_kit.adapters.local.warehouse import SqlModelFunction
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError
from mlops_kit.registry import PredictFunction, Registry, output_columns
from mlops_kit.types import FeatureViewRef, Model, ModelVersion, Run, RunRef, TrainingSet

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion

    from mlops_kit.adapters.local.mlflow_store import MlflowConnection

DEFAULT_ALIAS = "default"
_VERSION = "mlops_kit.version"
_FLAVOR = "mlops_kit.flavor"
_FEATURES = "mlops_kit.feature_names"
_CLASSES = "mlops_kit.n_outputs"
_EXPERIMENT = "mlops_kit.experiment"
_RUN_NAME = "mlops_kit.run_name"
_RUN_PARAMS = "mlops_kit.run_params"
_TRAINING_SET = "mlops_kit.training_set"
_FEATURE_VIEWS = "mlops_kit.feature_views"
_METRIC = "mlops_kit.metric."


class LocalRegistry(Registry):
    def __init__(self, mlflow: MlflowConnection) -> None:
        self._mlflow = mlflow
        self._loaded: dict[tuple[str, str], Any] = {}

    @property
    def client(self) -> MlflowClient:
        return self._mlflow.client

    def log_model(
        self,
        model_name: str,
        version: str,
        model: Any,
        *,
        sample_input: pd.DataFrame,
        metrics: Mapping[str, Any] | None = None,
        comment: str = "",
        run: Run | None = None,
        training_set: TrainingSet | None = None,
        overwrite: bool = False,
    ) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        name = names.identifier(model_name, "model")
        kit_version = names.model_version(version)
        if sample_input is None or len(sample_input) == 0:
            raise InvalidInputError(f"model {name} {kit_version}: sample_input must have at least one row")
        if not hasattr(model, "predict"):
            raise InvalidInputError(f"model {name} {kit_version}: {type(model).__name__} has no predict method")
        existing = self._find_version(name, kit_version, missing_ok=True)
        if existing is not None and not overwrite:
            raise AlreadyExistsError(
                f"model {name} already has version {kit_version}: choose a new version name or pass overwrite=True"
            )
        was_default = existing is not None and self._default_number(name) == existing.version

        tags = {
            _VERSION: kit_version,
            _FEATURES: json.dumps([str(c) for c in sample_input.columns]),
            **{f"{_METRIC}{k}": json.dumps(v, default=str) for k, v in (metrics or {}).items()},
        }
        if run is not None:
            tags.update({_EXPERIMENT: run.experiment, _RUN_NAME: run.name, _RUN_PARAMS: json.dumps(run.params)})
        if training_set is not None:
            tags[_FEATURE_VIEWS] = json.dumps([[r.name, r.version] for r in training_set.feature_views])
            if training_set.table:
                tags[_TRAINING_SET] = training_set.table

        created_model = False
        logged_model_id: str | None = None
        new_version: MlflowModelVersion | None = None
        try:
            try:
                self.client.get_registered_model(name)
            except MlflowException:
                self.client.create_registered_model(name)
                created_model = True
            experiment_id = self._experiment_for(run)
            logged = self.client.create_logged_model(
                experiment_id, name=name, source_run_id=run.run_id if run else None
            )
            logged_model_id = logged.model_id
            flavor, n_outputs = self._save_and_upload(model, sample_input, logged_model_id)
            tags.update({_FLAVOR: flavor, _CLASSES: str(n_outputs)})
            self.client.finalize_logged_model(logged_model_id, "READY")
            new_version = self.client.create_model_version(
                name,
                source=logged.artifact_location,
                run_id=run.run_id if run else None,
                tags=tags,
                description=comment,
                model_id=logged_model_id,
            )
            if existing is not None:
                self.client.delete_model_version(name, existing.version)
            if was_default or self._default_number(name) is None:
                self.client.set_registered_model_alias(name, DEFAULT_ALIAS, new_version.version)
        except Exception as exc:
            self._undo(name, created_model, logged_model_id, new_version)
            if isinstance(exc, MlopsKitError):
                raise
            raise MlopsKitError(f"registering {name} {kit_version} failed, nothing was kept: {exc}") from exc
        return self.get_version(name, kit_version)

    def list_models(self) -> list[Model]:
        models = []
        for registered in self.client.search_registered_models():
            versions = self.list_versions(registered.name)
            default = next((v.version for v in versions if v.is_default), None)
            models.append(
                Model(registered.name, tuple(v.version for v in versions), default, registered.description or "")
            )
        return sorted(models, key=lambda m: m.name)

    def list_versions(self, model_name: str) -> list[ModelVersion]:
        name = self._require_model(model_name)
        default = self._default_number(name)
        found = self.client.search_model_versions(f"name = '{name}'")
        return [self._version(mv, default) for mv in sorted(found, key=lambda mv: int(mv.version))]

    def get_version(self, model_name: str, version: str) -> ModelVersion:
        name = self._require_model(model_name)
        mv = self._find_version(name, names.model_version(version))
        assert mv is not None
        return self._version(mv, self._default_number(name))

    def set_default(self, model_name: str, version: str) -> str | None:
        name = self._require_model(model_name)
        target = self._find_version(name, names.model_version(version))
        assert target is not None
        previous_number = self._default_number(name)
        previous = None
        if previous_number is not None:
            previous = self._version(self.client.get_model_version(name, previous_number), None).version
        self.client.set_registered_model_alias(name, DEFAULT_ALIAS, target.version)
        return previous

    def predict(
        self,
        model_name: str,
        df: pd.DataFrame,
        *,
        version: str | None = None,
        function: PredictFunction = "predict",
    ) -> pd.DataFrame:
        import pandas as pd

        mv = self._resolve(model_name, version)
        features = json.loads(mv.tags.get(_FEATURES, "[]"))
        missing = [c for c in features if c not in df.columns]
        if missing:
            raise InvalidInputError(
                f"model {mv.name} {self._kit_name(mv)} needs columns {missing} that the input lacks "
                f"(it has {list(df.columns)})"
            )
        out = self._predict_array(mv, df[features] if features else df, function)
        return pd.DataFrame(out, index=df.index, columns=output_columns(out.shape[1]))

    def load_model(self, model_name: str, version: str | None = None) -> Any:
        return self._load(self._resolve(model_name, version))

    def set_metrics(self, model_name: str, version: str, metrics: Mapping[str, Any]) -> None:
        name = self._require_model(model_name)
        mv = self._find_version(name, names.model_version(version))
        assert mv is not None
        for key, value in metrics.items():
            self.client.set_model_version_tag(name, mv.version, f"{_METRIC}{key}", json.dumps(value, default=str))

    def delete_version(self, model_name: str, version: str) -> None:
        name = self._require_model(model_name)
        mv = self._find_version(name, names.model_version(version))
        assert mv is not None
        others = [v for v in self.client.search_model_versions(f"name = '{name}'") if v.version != mv.version]
        if self._default_number(name) == mv.version and others:
            raise InvalidInputError(
                f"{self._kit_name(mv)} is the default version of {name}: make another version the default first"
            )
        self.client.delete_model_version(name, mv.version)
        if mv.model_id:
            self.client.delete_logged_model(mv.model_id)

    def delete_model(self, model_name: str) -> None:
        name = self._require_model(model_name)
        model_ids = [mv.model_id for mv in self.client.search_model_versions(f"name = '{name}'") if mv.model_id]
        self.client.delete_registered_model(name)
        for model_id in model_ids:
            self.client.delete_logged_model(model_id)

    def _run_params(self, version: ModelVersion) -> dict[str, str]:
        mv = self._find_version(version.model, version.version)
        assert mv is not None
        return json.loads(mv.tags.get(_RUN_PARAMS, "{}"))

    def sql_function(self, call: ModelCall) -> SqlModelFunction:
        """How the warehouse runs this model inside a DuckDB query."""
        mv = self._resolve(call.model, call.version)
        function: PredictFunction = "predict_proba" if call.function == "PREDICT_PROBA" else "predict"
        width = int(mv.tags.get(_CLASSES, "2")) if function == "predict_proba" else 1
        return SqlModelFunction(
            feature_names=tuple(json.loads(mv.tags.get(_FEATURES, "[]"))),
            output_width=width,
            output_type="DOUBLE" if function == "predict_proba" else "BIGINT",
            predict=lambda frame: self._predict_array(mv, frame, function),
        )

    # Internals.

    def _save_and_upload(self, model: Any, sample_input: pd.DataFrame, model_id: str) -> tuple[str, int]:
        from mlflow.models import infer_signature

        flavor, module = _flavor(model)
        signature = infer_signature(sample_input)
        folder = Path(tempfile.mkdtemp(prefix="mlops_kit_model_"))
        try:
            target = folder / "model"
            with _without_requirement_check():
                module.save_model(model, str(target), signature=signature, pip_requirements=_requirements(flavor))
            self.client.log_model_artifacts(model_id, str(target))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        n_outputs = len(getattr(model, "classes_", [0, 1]))
        return flavor, n_outputs

    def _predict_array(self, mv: MlflowModelVersion, frame: pd.DataFrame, function: PredictFunction) -> Any:
        import numpy as np

        model = self._load(mv)
        if function == "predict_proba":
            if not hasattr(model, "predict_proba"):
                raise InvalidInputError(f"model {mv.name} {self._kit_name(mv)} has no predict_proba")
            return np.asarray(model.predict_proba(frame))
        return np.asarray(model.predict(frame)).reshape(len(frame), -1)

    def _load(self, mv: MlflowModelVersion) -> Any:
        key = (mv.name, mv.version)
        if key not in self._loaded:
            _, module = _flavor_module(mv.tags.get(_FLAVOR, "sklearn"))
            self._loaded[key] = module.load_model(mv.source)
        return self._loaded[key]

    def _resolve(self, model_name: str, version: str | None) -> MlflowModelVersion:
        name = self._require_model(model_name)
        if version is not None:
            mv = self._find_version(name, names.model_version(version))
            assert mv is not None
            return mv
        number = self._default_number(name)
        if number is None:
            raise NotFoundError(f"model {name} has no default version: name one, or call set_default")
        return self.client.get_model_version(name, number)

    def _require_model(self, model_name: str) -> str:
        from mlflow.exceptions import MlflowException

        name = names.identifier(model_name, "model")
        try:
            self.client.get_registered_model(name)
        except MlflowException as exc:
            raise NotFoundError(f"model {name} is not registered") from exc
        return name

    def _find_version(self, name: str, kit_version: str, missing_ok: bool = False) -> MlflowModelVersion | None:
        for mv in self.client.search_model_versions(f"name = '{name}'"):
            if self._kit_name(mv) == kit_version:
                return mv
        if missing_ok:
            return None
        raise NotFoundError(f"model {name} has no version {kit_version}")

    def _default_number(self, name: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(name).aliases.get(DEFAULT_ALIAS)
        except MlflowException:
            return None

    def _experiment_for(self, run: Run | None) -> str:
        if run is not None:
            return self.client.get_run(run.run_id).info.experiment_id
        from mlflow.tracking.default_experiment import DEFAULT_EXPERIMENT_ID

        return DEFAULT_EXPERIMENT_ID

    def _undo(self, name: str, created_model: bool, model_id: str | None, version: MlflowModelVersion | None) -> None:
        steps = []
        if version is not None:
            steps.append(lambda: self.client.delete_model_version(name, version.version))
        if model_id is not None:
            steps.append(lambda: self.client.delete_logged_model(model_id))
        if created_model:
            steps.append(lambda: self.client.delete_registered_model(name))
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                pass

    @staticmethod
    def _kit_name(mv: MlflowModelVersion) -> str:
        return mv.tags.get(_VERSION) or f"V{mv.version}"

    def _version(self, mv: MlflowModelVersion, default_number: str | None) -> ModelVersion:
        tags = mv.tags
        run = None
        if mv.run_id:
            run = RunRef(tags.get(_EXPERIMENT, ""), tags.get(_RUN_NAME, ""), mv.run_id)
        return ModelVersion(
            model=mv.name,
            version=self._kit_name(mv),
            comment=mv.description or "",
            metrics={k[len(_METRIC) :]: json.loads(v) for k, v in tags.items() if k.startswith(_METRIC)},
            is_default=default_number == mv.version,
            run=run,
            training_set=tags.get(_TRAINING_SET),
            feature_views=tuple(FeatureViewRef(n, v) for n, v in json.loads(tags.get(_FEATURE_VIEWS, "[]"))),
            feature_names=tuple(json.loads(tags.get(_FEATURES, "[]"))),
            created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000) if mv.creation_timestamp else None,
        )


def _flavor(model: Any) -> tuple[str, Any]:
    try:
        import xgboost

        if isinstance(model, xgboost.XGBModel):
            return _flavor_module("xgboost")
    except ImportError:
        pass
    return _flavor_module("sklearn")


def _flavor_module(flavor: str) -> tuple[str, Any]:
    if flavor == "xgboost":
        import mlflow.xgboost

        return "xgboost", mlflow.xgboost
    import mlflow.sklearn

    return "sklearn", mlflow.sklearn


@contextlib.contextmanager
def _without_requirement_check() -> Iterator[None]:
    """Skip MLflow's check that the pinned requirements match this environment: the pins were read
    from this very environment, and the check scans every installed distribution (about 1 s)."""
    from mlflow.utils import environment

    original = getattr(environment, "warn_dependency_requirement_mismatches", None)
    if original is None:
        yield
        return
    environment.warn_dependency_requirement_mismatches = lambda *args, **kwargs: None
    try:
        yield
    finally:
        environment.warn_dependency_requirement_mismatches = original


def _requirements(flavor: str) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    packages = ["mlflow", "scikit-learn", "numpy", "pandas", "cloudpickle"]
    if flavor == "xgboost":
        packages.append("xgboost")
    pins = []
    for package in packages:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return pins
