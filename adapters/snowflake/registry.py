"""``SnowflakeRegistry``: the Registry interface over snowflake-ml's model Registry.

Version names are SQL identifiers (kit ``v1`` is Snowflake ``V1``). Models are logged for the
``WAREHOUSE`` platform with dependencies snowflake-ml infers from the model (conda packages from
Snowflake's channel) and ``relax_version`` so a local patch release need not exist there.

Lineage (run, its params, training set, feature view versions, feature names) is recorded in the
kit table ``<MODEL_REGISTRY>.MLOPS_KIT_VERSION_LINEAGE``, one row per version, not in comments:
models logged from a pandas sample carry no native Snowflake lineage edges to read back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from snowflake.ml.registry import Registry as SfRegistry

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SnowflakeErrorKinds, translated
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlops_kit.registry import PredictFunction, Registry
from mlops_kit.types import FeatureViewRef, Model, ModelVersion, Run, RunRef, TrainingSet

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.ml.model import Model as SfModel
    from snowflake.ml.model import ModelVersion as SfModelVersion
    from snowflake.snowpark import Session

LINEAGE_TABLE = "MLOPS_KIT_VERSION_LINEAGE"
OUTPUT_PREFIX = "output_feature_"


def _names(shown: pd.DataFrame) -> set[str]:
    """The ``name`` column of a show_models()/show_versions() frame (which has no columns when empty)."""
    return {str(name) for name in shown["name"]} if "name" in shown.columns else set()


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
        if registry is None:
            with translated("could not open the model registry"):
                registry = SfRegistry(session=session, database_name=self.database, schema_name=self.schema)
        #: The snowflake-ml Registry (escape hatch).
        self.registry = registry

    @property
    def _lineage_table(self) -> str:
        return f"{self.database}.{self.schema}.{LINEAGE_TABLE}"

    def _model(self, model_name: str) -> SfModel:
        name = names.identifier(model_name, "model")
        # Registry.get_model reports a missing model with a bare ValueError (no error code to
        # classify): look it up first.
        with translated("could not list models"):
            known = _names(self.registry.show_models())
        if name not in known:
            raise NotFoundError(f"no model {name} in {self.database}.{self.schema}")
        with translated(f"model {name}"):
            return self.registry.get_model(name)

    def _version(self, model_name: str, version: str | None) -> SfModelVersion:
        model = self._model(model_name)
        if version is None:
            with translated(f"model {model_name.upper()} has no default version"):
                return model.default
        version_name = names.model_version(version)
        # Model.version also reports a missing version with a bare ValueError: look it up first.
        with translated(f"versions of model {model_name.upper()}"):
            known = _names(model.show_versions())
        if version_name not in known:
            raise NotFoundError(f"model {model_name.upper()} has no version {version_name}")
        with translated(f"model {model_name.upper()} version {version_name}"):
            return model.version(version_name)

    # Writing

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
        name = names.identifier(model_name, "model")
        version_name = names.model_version(version)
        if sample_input is None or len(sample_input) == 0 or len(sample_input.columns) == 0:
            raise InvalidInputError("sample_input must have at least one row and one column")
        existing = {mv.version: mv for mv in self._versions_or_empty(name)}
        was_default = False
        if version_name in existing:
            if not overwrite:
                raise AlreadyExistsError(f"model {name} already has version {version_name}")
            was_default = existing[version_name].is_default
            self._drop_for_overwrite(name, version_name, others=len(existing) > 1)
        try:
            self.registry.log_model(
                model,
                model_name=name,
                version_name=version_name,
                comment=comment or None,
                metrics=dict(metrics) if metrics else None,
                target_platforms=["WAREHOUSE"],
                sample_input_data=sample_input,
                options={"relax_version": True, "enable_explainability": False},
            )
        except Exception as exc:
            # Any failure (an unsupported or unpicklable model raises TypeError, not a Snowflake
            # error) must leave nothing registered.
            if version_name in {mv.version for mv in self._versions_or_empty(name)}:
                self._delete_quietly(name, version_name)
            raise InvalidInputError(f"could not log model {name} version {version_name}: {exc}") from exc
        try:
            self._record_lineage(name, version_name, run, training_set, [str(c) for c in sample_input.columns])
            if was_default:
                self._model(name).default = version_name
        except Exception:
            self._delete_quietly(name, version_name)
            raise
        return self.get_version(name, version_name)

    def _drop_for_overwrite(self, name: str, version_name: str, *, others: bool) -> None:
        model = self._model(name)
        with translated(f"could not replace model {name} version {version_name}"):
            if not others:
                self.registry.delete_model(name)
            else:
                if model.default.version_name == version_name:
                    # Snowflake refuses to drop the default version: hand the role to another first.
                    other = next(v for v in model.show_versions()["name"] if str(v) != version_name)
                    model.default = str(other)
                model.delete_version(version_name)
        self._forget_lineage(name, version_name)

    def _delete_quietly(self, name: str, version_name: str) -> None:
        with translated(f"could not roll back model {name} version {version_name}"):
            versions = self._versions_or_empty(name)
            if len(versions) <= 1:
                self.registry.delete_model(name)
            else:
                self._model(name).delete_version(version_name)

    def _record_lineage(
        self,
        name: str,
        version_name: str,
        run: Run | None,
        training_set: TrainingSet | None,
        feature_names: list[str],
    ) -> None:
        with translated("could not record model lineage"):
            self.session.sql(
                f"CREATE TABLE IF NOT EXISTS {self._lineage_table} (MODEL_NAME VARCHAR, VERSION_NAME VARCHAR, "
                "RUN_EXPERIMENT VARCHAR, RUN_NAME VARCHAR, RUN_ID VARCHAR, PARAMS VARCHAR, TRAINING_SET VARCHAR, "
                "FEATURE_VIEWS VARCHAR, FEATURE_NAMES VARCHAR, CREATED_AT TIMESTAMP_TZ)"
            ).collect()
            self._forget_lineage(name, version_name)
            self.session.sql(
                f"INSERT INTO {self._lineage_table} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params=[
                    name,
                    version_name,
                    run.experiment if run else None,
                    run.name if run else None,
                    run.run_id if run else None,
                    json.dumps(dict(run.params) if run else {}, sort_keys=True),
                    training_set.table if training_set else None,
                    json.dumps([[r.name, r.version] for r in training_set.feature_views] if training_set else []),
                    json.dumps(feature_names),
                    datetime.now(timezone.utc),
                ],
            ).collect()

    def _lineage_rows(self, name: str) -> dict[str, dict[str, Any]]:
        """Lineage records of a model's versions, by version name (empty before the first record)."""
        with translated("could not read model lineage"):
            exists = self.session.sql(
                f"SELECT 1 FROM {self.database}.INFORMATION_SCHEMA.TABLES "
                f"WHERE TABLE_SCHEMA = '{self.schema}' AND TABLE_NAME = '{LINEAGE_TABLE}'"
            ).collect()
            if not exists:
                return {}
            rows = self.session.sql(
                f"SELECT * FROM {self._lineage_table} WHERE MODEL_NAME = ?", params=[name]
            ).collect()
        return {str(row["VERSION_NAME"]): row.as_dict() for row in rows}

    def _forget_lineage(self, name: str, version_name: str | None = None) -> None:
        if not self._lineage_rows(name):
            return
        with translated("could not update model lineage"):
            if version_name is None:
                self.session.sql(f"DELETE FROM {self._lineage_table} WHERE MODEL_NAME = ?", params=[name]).collect()
            else:
                self.session.sql(
                    f"DELETE FROM {self._lineage_table} WHERE MODEL_NAME = ? AND VERSION_NAME = ?",
                    params=[name, version_name],
                ).collect()

    # Reading

    def list_models(self) -> list[Model]:
        with translated("could not list models"):
            shown = self.registry.show_models()
        models = [
            Model(
                name=str(row["name"]),
                versions=tuple(json.loads(row["versions"] or "[]")),
                default_version=str(row["default_version_name"]) if row["default_version_name"] else None,
                comment=str(row["comment"] or ""),
            )
            for row in shown.to_dict("records")
        ]
        return sorted(models, key=lambda m: m.name)

    def _versions_or_empty(self, name: str) -> list[ModelVersion]:
        try:
            return self.list_versions(name)
        except NotFoundError:
            return []

    def list_versions(self, model_name: str) -> list[ModelVersion]:
        model = self._model(model_name)
        name = names.identifier(model_name, "model")
        with translated(f"versions of model {name}"):
            shown = model.show_versions()
        lineage = self._lineage_rows(name)
        versions = []
        for row in sorted(shown.to_dict("records"), key=lambda r: r["created_on"]):
            version_name = str(row["name"])
            record = lineage.get(version_name, {})
            metadata = json.loads(row.get("metadata") or "{}")
            run = (
                RunRef(record["RUN_EXPERIMENT"], record["RUN_NAME"], record["RUN_ID"])
                if record.get("RUN_NAME")
                else None
            )
            versions.append(
                ModelVersion(
                    model=name,
                    version=version_name,
                    comment=str(row.get("comment") or ""),
                    metrics=dict(metadata.get("metrics") or {}),
                    is_default=_truthy(row.get("is_default_version")),
                    run=run,
                    training_set=record.get("TRAINING_SET") or None,
                    feature_views=tuple(
                        FeatureViewRef(n, v) for n, v in json.loads(record.get("FEATURE_VIEWS") or "[]")
                    ),
                    feature_names=tuple(json.loads(record.get("FEATURE_NAMES") or "[]")),
                    created_at=row["created_on"],
                )
            )
        return versions

    def get_version(self, model_name: str, version: str) -> ModelVersion:
        version_name = names.model_version(version)
        for mv in self.list_versions(model_name):
            if mv.version == version_name:
                return mv
        raise NotFoundError(f"model {model_name.upper()} has no version {version_name}")

    def _run_params(self, version: ModelVersion) -> dict[str, str]:
        record = self._lineage_rows(version.model).get(version.version, {})
        return dict(json.loads(record.get("PARAMS") or "{}"))

    def set_default(self, model_name: str, version: str) -> str | None:
        model = self._model(model_name)
        version_name = self.get_version(model_name, version).version
        with translated(f"could not set the default of model {model_name.upper()}"):
            previous = str(model.default.version_name)
            model.default = version_name
        return previous

    def predict(
        self,
        model_name: str,
        df: pd.DataFrame,
        *,
        version: str | None = None,
        function: PredictFunction = "predict",
    ) -> pd.DataFrame:
        mv = self._version(model_name, version)
        # The version exists, so any failure here is about the input frame.
        with translated(f"could not run {function} of model {model_name.upper()}", default=InvalidInputError):
            result = mv.run(df, function_name=function)
        outputs = sorted(
            (c for c in result.columns if str(c).startswith(OUTPUT_PREFIX)),
            key=lambda c: int(str(c)[len(OUTPUT_PREFIX) :]),
        )
        out = result[outputs].copy()
        out.index = df.index
        return out

    def load_model(self, model_name: str, version: str | None = None) -> Any:
        mv = self._version(model_name, version)
        with translated(f"could not load model {model_name.upper()}"):
            return mv.load()

    def set_metrics(self, model_name: str, version: str, metrics: Mapping[str, Any]) -> None:
        mv = self._version(model_name, version)
        with translated(f"could not set metrics of model {model_name.upper()}"):
            for key, value in metrics.items():
                mv.set_metric(key, value)

    def delete_version(self, model_name: str, version: str) -> None:
        target = self.get_version(model_name, version)
        versions = self.list_versions(model_name)
        if target.is_default and len(versions) > 1:
            raise InvalidInputError(
                f"version {target.version} is the default of model {target.model}: set another default first"
            )
        with translated(f"could not delete model {target.model} version {target.version}"):
            if len(versions) == 1:
                # Snowflake cannot drop a model's last version; dropping the model is the same thing.
                self.registry.delete_model(target.model)
            else:
                self._model(target.model).delete_version(target.version)
        self._forget_lineage(target.model, target.version)

    def delete_model(self, model_name: str) -> None:
        name = names.identifier(model_name, "model")
        self._model(name)
        with translated(f"could not delete model {name}"):
            self.registry.delete_model(name)
        self._forget_lineage(names.identifier(model_name, "model"))
