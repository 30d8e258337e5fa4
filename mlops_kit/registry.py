"""The ``Registry`` interface: named models with versions (``V1``, ``V2`` …), one default each.

Version names are SQL identifiers and canonically upper case, as on Snowflake (``v1`` -> ``V1``).
The default version is the one used when a caller names none; ``set_default`` returns the previous
default, so switching and rolling back are one call each. A version records the run and the
training set it came from, which is what ``get_lineage`` reads.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from mlops_kit.boundary import Boundary
from mlops_kit.types import Lineage, Model, ModelVersion, Run, TrainingSet

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.warehouse import Warehouse

PredictFunction = Literal["predict", "predict_proba"]


def output_columns(width: int) -> list[str]:
    """Output column names of a prediction, as Snowflake's registry names them."""
    return [f"output_feature_{i}" for i in range(width)]


class Registry(Boundary, abc.ABC):
    """Models, their versions, the default version, metrics, predictions and lineage."""

    #: The warehouse the kit's own records live in (``mlops_kit/records/``); set by ``Backend``.
    warehouse: Warehouse

    @abc.abstractmethod
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
        """Register a trained model (scikit-learn API, XGBoost included) as ``version``.

        The input signature comes from ``sample_input``'s columns and dtypes. A model's first
        version becomes its default.

        Args:
            run: the tracked run that produced the model; linked for lineage.
            training_set: the training set it was fitted on; linked with its feature views.
            overwrite: replace an existing version of that name (its default status is kept). Where
                the backend cannot swap versions (Snowflake), the old one is dropped first, so a
                failed overwrite leaves the version missing rather than half-written.
        Raises:
            AlreadyExistsError: the version exists and ``overwrite`` is False.
            InvalidInputError: a bad name, an unsupported model, or an empty sample input.
            On any failure nothing is left registered.
        """

    @abc.abstractmethod
    def list_models(self) -> list[Model]:
        """Every registered model, sorted by name."""

    @abc.abstractmethod
    def list_versions(self, model_name: str) -> list[ModelVersion]:
        """Versions of a model, oldest first. Raises NotFoundError for an unknown model."""

    @abc.abstractmethod
    def get_version(self, model_name: str, version: str) -> ModelVersion:
        """Raises NotFoundError when the model or version does not exist."""

    @abc.abstractmethod
    def set_default(self, model_name: str, version: str) -> str | None:
        """Make ``version`` the default; returns the previous default (None if there was none).

        Raises:
            NotFoundError: the model or version does not exist.
        """

    @abc.abstractmethod
    def predict(
        self,
        model_name: str,
        df: pd.DataFrame,
        *,
        version: str | None = None,
        function: PredictFunction = "predict",
    ) -> pd.DataFrame:
        """Run a registered version (the default when ``version`` is None) on ``df``.

        The model is the one stored in the registry, never an object in memory.

        Returns:
            One row per input row, same index, with columns ``output_feature_0`` … (Snowflake's
            names): the class for ``predict``, one probability per class for ``predict_proba``.
        Raises:
            NotFoundError: no such model or version, or the model has no default.
            InvalidInputError: ``df`` lacks a column of the model's signature.
        """

    @abc.abstractmethod
    def load_model(self, model_name: str, version: str | None = None) -> Any:
        """The stored model as a Python object (the default version when ``version`` is None)."""

    @abc.abstractmethod
    def set_metrics(self, model_name: str, version: str, metrics: Mapping[str, Any]) -> None:
        """Add or replace metrics of a version. Raises NotFoundError."""

    @abc.abstractmethod
    def delete_version(self, model_name: str, version: str) -> None:
        """Delete one version.

        Raises:
            NotFoundError: no such model or version.
            InvalidInputError: it is the default while other versions exist (switch first).
        """

    @abc.abstractmethod
    def delete_model(self, model_name: str) -> None:
        """Delete a model with all its versions. Raises NotFoundError."""

    # The core's conveniences, the same on every backend.

    def get_default(self, model_name: str) -> ModelVersion:
        """The default version. Raises NotFoundError when the model has none."""
        from mlops_kit.errors import NotFoundError

        for mv in self.list_versions(model_name):
            if mv.is_default:
                return mv
        raise NotFoundError(f"model {model_name.upper()} has no default version")

    def get_metrics(self, model_name: str, version: str) -> dict[str, Any]:
        return dict(self.get_version(model_name, version).metrics)

    def compare_versions(self, model_name: str) -> pd.DataFrame:
        """One row per version: version, default flag, then every metric as a column."""
        import pandas as pd

        rows = [
            {"version": mv.version, "is_default": mv.is_default, **mv.metrics} for mv in self.list_versions(model_name)
        ]
        return pd.DataFrame(rows)

    def get_lineage(self, model_name: str, version: str) -> Lineage:
        """Which run, training set and feature view versions made a version (from its records)."""
        mv = self.get_version(model_name, version)
        return Lineage(
            model=mv.model,
            version=mv.version,
            run=mv.run,
            training_set=mv.training_set,
            feature_views=mv.feature_views,
            params=self._run_params(mv),
            metrics=dict(mv.metrics),
            created_at=mv.created_at,
        )

    @abc.abstractmethod
    def _run_params(self, version: ModelVersion) -> dict[str, str]:
        """The params of the run a version came from, as recorded when it was registered."""
