"""``SnowflakeRegistry``: the Registry primitives over snowflake-ml's model Registry.

The core (``mlops_kit/registry.py``) checks arguments, applies the kit's rules and keeps lineage in
its record table (``<registry schema>.MLOPS_KIT_VERSION_LINEAGE``: models logged from a pandas
sample carry no native Snowflake lineage edges to read back). This file maps each primitive onto
snowflake-ml. Models are logged for the ``WAREHOUSE`` platform with dependencies snowflake-ml
infers from the model (conda packages from Snowflake's channel, pinned to the installed versions: a
pipeline's XGBoost step included, ``model_handlers/sklearn.py`` in 2.6.0) and ``relax_version`` so a
local patch release need not exist there.

Snowflake cannot hide a version while it is registered, nor swap two: an overwrite drops the old
version first, and a version is visible as soon as ``Registry.log_model`` returns, just before the
core writes its lineage record. A process killed in that instant leaves a version without a record
(its lineage reads as empty) until it is registered again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from snowflake.ml.registry import Registry as SfRegistry

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SnowflakeErrorKinds, translated
from mlops_kit.errors import NotFoundError
from mlops_kit.registry import Registration, Registry
from mlops_kit.types import Model, ModelVersion

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.ml.model import Model as SfModel
    from snowflake.snowpark import Session

OUTPUT_PREFIX = "output_feature_"


def _names(shown: pd.DataFrame) -> list[str]:
    """The ``name`` column of a show_models()/show_versions() frame (which has no columns when empty)."""
    return [str(name) for name in shown["name"]] if "name" in shown.columns else []


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


class SnowflakeRegistry(SnowflakeErrorKinds, Registry):
    """Models and versions in one Snowflake schema."""

    def __init__(
        self,
        session: Session,
        *,
        database: str = "MLOPS_HOL_DB",
        schema: str = "MODEL_REGISTRY",
        registry: SfRegistry | None = None,
    ) -> None:
        self.session = session
        self.database = names.identifier(database, "database")
        self.schema = names.identifier(schema, "registry schema")
        self.records_schema = self.schema
        if registry is None:
            with translated("could not open the model registry"):
                registry = SfRegistry(session=session, database_name=self.database, schema_name=self.schema)
        #: The snowflake-ml Registry (escape hatch).
        self.registry = registry

    def _model(self, name: str) -> SfModel:
        # Registry.get_model reports a missing model with a bare ValueError (no error code to
        # classify): look it up first.
        if name not in _names(self.registry.show_models()):
            raise NotFoundError(f"model {name} is not registered in {self.database}.{self.schema}")
        return self.registry.get_model(name)

    # Primitives (see mlops_kit/registry.py).

    def _list_models(self) -> list[Model]:
        return [
            Model(
                name=str(row["name"]),
                versions=tuple(json.loads(row["versions"] or "[]")),
                default_version=str(row["default_version_name"]) if row["default_version_name"] else None,
                comment=str(row["comment"] or ""),
            )
            for row in self.registry.show_models().to_dict("records")
        ]

    def _list_versions(self, name: str) -> list[ModelVersion]:
        shown = self._model(name).show_versions()
        versions = []
        for row in sorted(shown.to_dict("records"), key=lambda r: r["created_on"]):
            metadata = json.loads(row.get("metadata") or "{}")
            versions.append(
                ModelVersion(
                    model=name,
                    version=str(row["name"]),
                    comment=str(row.get("comment") or ""),
                    metrics=dict(metadata.get("metrics") or {}),
                    is_default=_truthy(row.get("is_default_version")),
                    created_at=row["created_on"],
                )
            )
        return versions

    def _register(self, registration: Registration) -> tuple[str, str]:
        r = registration
        if r.replaces:
            self._drop_for_overwrite(r.model_name, r.version)
        try:
            self.registry.log_model(
                r.model,
                model_name=r.model_name,
                version_name=r.version,
                comment=r.comment or None,
                metrics=r.metrics or None,
                target_platforms=["WAREHOUSE"],
                sample_input_data=r.sample_input,
                options={
                    "relax_version": True,
                    "enable_explainability": False,
                    # a real row of the sample, stored with the version for Snowsight's snippets: the user's choice
                    "capture_sample_input_data": r.input_example,
                },
            )
            if r.make_default and r.replaces:
                self._model(r.model_name).default = r.version
        except BaseException:
            self._discard((r.model_name, r.version))
            raise
        return r.model_name, r.version

    def _drop_for_overwrite(self, name: str, version: str) -> None:
        model = self._model(name)
        others = [v for v in _names(model.show_versions()) if v != version]
        if not others:
            self.registry.delete_model(name)
            return
        if model.default.version_name == version:
            model.default = others[0]  # Snowflake refuses to drop the default version: hand the role over first
        model.delete_version(version)

    def _commit(self, handle: tuple[str, str]) -> None:
        """Nothing to do: the version became visible when it was logged."""

    def _discard(self, handle: tuple[str, str]) -> None:
        name, version = handle
        if name not in _names(self.registry.show_models()):
            return
        model = self.registry.get_model(name)
        shown = _names(model.show_versions())
        if version not in shown:
            return
        if len(shown) == 1:
            self.registry.delete_model(name)  # Snowflake cannot drop a model's last version
        else:
            model.delete_version(version)

    def _set_default(self, name: str, version: str) -> None:
        self._model(name).default = version

    def _set_metrics(self, name: str, version: str, metrics: dict[str, Any]) -> None:
        mv = self._model(name).version(version)
        for key, value in metrics.items():
            mv.set_metric(key, value)

    def _functions(self, name: str, version: str) -> list[str]:
        return [str(f["name"]).lower() for f in self._model(name).version(version).show_functions()]

    def _predict(self, name: str, version: str, frame: pd.DataFrame, function: str) -> pd.DataFrame:
        result = self._model(name).version(version).run(frame, function_name=function)
        outputs = sorted(
            (c for c in result.columns if str(c).startswith(OUTPUT_PREFIX)),
            key=lambda c: int(str(c)[len(OUTPUT_PREFIX) :]),
        )
        return result[outputs]

    def _load_model(self, name: str, version: str) -> Any:
        return self._model(name).version(version).load()

    def _delete_version(self, name: str, version: str) -> None:
        self._model(name).delete_version(version)

    def _delete_model(self, name: str) -> None:
        self.registry.delete_model(name)
