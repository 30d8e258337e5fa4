"""The ``Registry`` interface: named models with versions (``V1``, ``V2`` …), one default each.

Every public method is defined here, once, for every backend: it checks its arguments (naming the
argument in the error), canonicalises names, applies the kit's rules, then calls the adapter's
primitives (the abstract ``_…`` methods) inside ``self._boundary(…)``.

The kit's rules:
- model and version names are SQL identifiers, canonically upper case, as on Snowflake (``v1`` -> ``V1``);
- a version is immutable: registering an existing name is an ``AlreadyExistsError`` unless
  ``overwrite=True``, which replaces it and keeps its default status;
- a model's first version becomes its default; ``set_default`` returns the previous default, so
  switching and rolling back are one call each; the default cannot be deleted while the model has
  other versions, and deleting the last version deletes the model (Snowflake has no empty models);
- a model is checked before anything is written: it must have ``predict``, be picklable, and
  predict ``sample_input``, whose columns must be the ones it was fitted on. A registration that
  fails leaves the versions as they were;
- lineage (the run, its params, the training set, feature view versions, the input columns) is
  the kit's own record (``mlops_kit/records/model_versions.py``), the same table on every backend;
- every ``created_at`` is timezone-aware UTC.

Crash safety of ``log_model``: the adapter registers the version where readers cannot see it yet
where the engine allows it (``_register``), the core writes the lineage record, then the adapter
makes the version visible (``_commit``). A visible version therefore always has its record; a
process killed before ``_commit`` leaves a hidden version the adapter drops on its next write.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from mlops_kit import checks, clock, names
from mlops_kit.boundary import Boundary, first_line
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError
from mlops_kit.records.model_versions import ModelVersionRecords, VersionLineage
from mlops_kit.types import Lineage, Model, ModelVersion, Run, TrainingSet

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlops_kit.warehouse import Warehouse

PredictFunction = Literal["predict", "predict_proba"]
PREDICT_FUNCTIONS: tuple[str, ...] = get_args(PredictFunction)


def output_columns(width: int) -> list[str]:
    """Output column names of a prediction, as Snowflake's registry names them."""
    return [f"output_feature_{i}" for i in range(width)]


@dataclass(frozen=True)
class Registration:
    """A checked registration, as the core hands it to ``_register``: names canonical, the model
    known to predict ``sample_input``, the rules applied."""

    model_name: str
    version: str
    model: Any
    sample_input: pd.DataFrame
    metrics: dict[str, Any]
    comment: str
    run: Run | None
    lineage: VersionLineage
    #: an existing version of that name is replaced (``overwrite=True``)
    replaces: bool
    #: the new version becomes the model's default (first version, or it replaces the default)
    make_default: bool
    #: store a few of ``sample_input``'s rows with the version, as an example of its input
    input_example: bool = True


class Registry(Boundary, abc.ABC):
    """Models, their versions, the default version, metrics, predictions and lineage."""

    #: The warehouse the kit's own records live in (``mlops_kit/records/``); set by ``Backend``.
    warehouse: Warehouse
    #: The schema of the registry, where its lineage records live.
    records_schema: str = "MODEL_REGISTRY"

    @property
    def _records(self) -> ModelVersionRecords:
        records = self.__dict__.get("_model_version_records")
        if records is None or records.table.warehouse is not self.warehouse:
            records = ModelVersionRecords(self.warehouse, self.records_schema)
            self.__dict__["_model_version_records"] = records
        return records

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
        input_example: bool = True,
    ) -> ModelVersion:
        """Register a trained model (scikit-learn API, XGBoost included) as ``version``.

        The input signature comes from ``sample_input``'s columns and dtypes: pass a DataFrame with
        the model's feature columns (a few rows of the training data). A model's first version
        becomes its default.

        Args:
            metrics: numbers (finite) or JSON values (a confusion matrix as a list of lists).
            run: the tracked run that produced the model (``tracker.get_run``); linked for lineage.
            training_set: the training set it was fitted on; linked with its feature views.
            overwrite: replace an existing version of that name (its default status is kept). A
                process killed during an overwrite may leave the version missing (never half
                written); registering it again repairs that.
            input_example: store the first rows of ``sample_input`` with the version, as an example
                of its input (MLflow's input example, up to 5 rows; on Snowflake one row, the
                library's ``capture_sample_input_data``, shown in Snowsight's code snippets). These
                are real rows: pass False for data that must not be copied into the registry.
        Raises:
            AlreadyExistsError: the version exists and ``overwrite`` is False.
            InvalidInputError: a bad argument (named in the message), a model without ``predict``
                that cannot be saved, or that cannot predict ``sample_input``. Nothing is written.
        """
        name = names.identifier(model_name, "model_name")
        version_name = names.identifier(version, "version")
        sample = _sample_input(sample_input)
        metric_values = checks.model_metrics(metrics, "metrics", allow_empty=True)
        comment = checks.optional_text(comment, "comment")
        if run is not None and not isinstance(run, Run):
            raise InvalidInputError(f"run must be a Run (tracker.get_run(name)) or None, not {type(run).__name__}")
        if training_set is not None and not isinstance(training_set, TrainingSet):
            raise InvalidInputError(
                f"training_set must be a TrainingSet (feature_store.generate_training_set) or None, "
                f"not {type(training_set).__name__}"
            )
        overwrite = checks.flag(overwrite, "overwrite")
        keep_example = checks.flag(input_example, "input_example")
        _check_model(model, sample)

        with self._registering(name):
            self._register_checked(name, version_name, model, sample, metric_values, comment, run, training_set,
                                   overwrite, keep_example)  # fmt: skip
        return self.get_version(name, version_name)

    def _register_checked(  # noqa: PLR0913 - log_model's checked arguments
        self,
        name: str,
        version_name: str,
        model: Any,
        sample: pd.DataFrame,
        metric_values: dict[str, Any],
        comment: str,
        run: Run | None,
        training_set: TrainingSet | None,
        overwrite: bool,
        input_example: bool,
    ) -> None:
        """log_model's writes, from the existence check to the commit (inside ``_registering``)."""
        versions = self._versions_if_any(name)
        existing = next((v for v in versions if v.version == version_name), None)
        if existing is not None and not overwrite:
            raise AlreadyExistsError(
                f"model {name} already has version {version_name}: choose a new version name or pass overwrite=True"
            )
        lineage = VersionLineage(
            run=run.ref if run else None,
            params=dict(run.params) if run else {},
            training_set=training_set.table if training_set else None,
            feature_views=training_set.feature_views if training_set else (),
            feature_names=tuple(str(c) for c in sample.columns),
            created_at=clock.now(),
        )
        registration = Registration(
            model_name=name,
            version=version_name,
            model=model,
            sample_input=sample,
            metrics=metric_values,
            comment=comment,
            run=run,
            lineage=lineage,
            replaces=existing is not None,
            make_default=existing.is_default if existing else not any(v.is_default for v in versions),
            input_example=input_example,
        )
        with self._boundary(f"could not register model {name} version {version_name}"):
            handle = self._register(registration)
        try:
            self._records.put(name, version_name, lineage)
        except BaseException:
            with self._boundary(f"could not undo the registration of model {name} version {version_name}"):
                self._discard(handle)
            raise
        with self._boundary(f"could not register model {name} version {version_name}"):
            self._commit(handle)

    def set_default(self, model_name: str, version: str) -> str | None:
        """Make ``version`` the default; returns the previous default (None if there was none).

        Raises:
            NotFoundError: the model or version does not exist.
        """
        target, versions = self._find(model_name, version)
        previous = next((v.version for v in versions if v.is_default), None)
        with self._boundary(f"could not make {target.version} the default of model {target.model}"):
            self._set_default(target.model, target.version)
        return previous

    def set_metrics(self, model_name: str, version: str, metrics: Mapping[str, Any]) -> None:
        """Add or replace metrics of a version (finite numbers or JSON values). Raises NotFoundError."""
        values = checks.model_metrics(metrics, "metrics")
        target, _ = self._find(model_name, version)
        with self._boundary(f"could not set metrics of model {target.model} version {target.version}"):
            self._set_metrics(target.model, target.version, values)

    def delete_version(self, model_name: str, version: str) -> None:
        """Delete one version; deleting the last one deletes the model.

        Raises:
            NotFoundError: no such model or version.
            InvalidInputError: it is the default while other versions exist (switch first).
        """
        target, versions = self._find(model_name, version)
        others = [v for v in versions if v.version != target.version]
        if not others:
            self._delete_model_and_records(target.model)
            return
        if target.is_default:
            raise InvalidInputError(
                f"version {target.version} is the default of model {target.model}: "
                f"make another version the default first (set_default), or delete the model"
            )
        with self._boundary(f"could not delete model {target.model} version {target.version}"):
            self._delete_version(target.model, target.version)
        self._records.delete(target.model, target.version)

    def delete_model(self, model_name: str) -> None:
        """Delete a model with all its versions and their lineage records. A delete that a killed
        process left half done (the model gone, its records not yet) is finished.

        Raises:
            NotFoundError: no such model, and nothing of one is left.
        """
        name = names.identifier(model_name, "model_name")
        try:
            self._list_versions_of(name)
        except NotFoundError:
            if not self._records.read(name):
                raise
            self._records.delete(name)  # the model went first (_delete_model_and_records): finish the delete
            return
        self._delete_model_and_records(name)

    def _delete_model_and_records(self, name: str) -> None:
        with self._boundary(f"could not delete model {name}"):
            self._delete_model(name)
        self._records.delete(name)

    # Reading

    def list_models(self) -> list[Model]:
        """Every registered model, sorted by name."""
        with self._boundary("could not list models"):
            models = self._list_models()
        return sorted(models, key=lambda m: m.name)

    def list_versions(self, model_name: str) -> list[ModelVersion]:
        """Versions of a model, oldest first, with their lineage. Raises NotFoundError."""
        name = names.identifier(model_name, "model_name")
        versions = self._list_versions_of(name)
        records = self._records.read(name)
        return [_with_lineage(v, records.get(v.version)) for v in versions]

    def get_version(self, model_name: str, version: str) -> ModelVersion:
        """Raises NotFoundError when the model or version does not exist."""
        name = names.identifier(model_name, "model_name")
        version_name = names.identifier(version, "version")
        versions = self.list_versions(name)
        for mv in versions:
            if mv.version == version_name:
                return mv
        raise NotFoundError(
            f"model {name} has no version {version_name}: it has {', '.join(v.version for v in versions)}"
        )

    def get_default(self, model_name: str) -> ModelVersion:
        """The default version. Raises NotFoundError when the model has none."""
        name = names.identifier(model_name, "model_name")
        for mv in self.list_versions(name):
            if mv.is_default:
                return mv
        raise NotFoundError(f"model {name} has no default version: name a version, or call set_default")

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
        """Which run, training set and feature view versions made a version (from its record)."""
        mv = self.get_version(model_name, version)
        record = self._records.read(mv.model).get(mv.version) or VersionLineage()
        return Lineage(
            model=mv.model,
            version=mv.version,
            run=mv.run,
            training_set=mv.training_set,
            feature_views=mv.feature_views,
            params=dict(record.params or {}),
            metrics=dict(mv.metrics),
            created_at=mv.created_at,
        )

    def predict(
        self,
        model_name: str,
        df: pd.DataFrame,
        *,
        version: str | None = None,
        function: PredictFunction = "predict",
    ) -> pd.DataFrame:
        """Run a registered version (the default when ``version`` is None) on ``df``.

        The model is the one stored in the registry, never an object in memory. The model's input
        columns are picked from ``df`` by name: other columns (an id) are ignored.

        Returns:
            One row per input row, same index, with columns ``output_feature_0`` … (Snowflake's
            names): the class for ``predict``, one probability per class for ``predict_proba``.
        Raises:
            NotFoundError: no such model or version, or the model has no default.
            InvalidInputError: ``df`` is not a DataFrame, has no rows or lacks a column of the
                model's signature; ``function`` is not one the version has.
        """
        import numpy as np
        import pandas as pd

        name = names.identifier(model_name, "model_name")
        frame = checks.frame(df, "df")
        if not isinstance(function, str):
            raise InvalidInputError(
                f"function must be one of {', '.join(map(repr, PREDICT_FUNCTIONS))}, not {function!r}"
            )
        mv = self.get_default(name) if version is None else self.get_version(name, version)
        with self._boundary(f"could not read the functions of model {name} version {mv.version}"):
            has = set(self._functions(name, mv.version))
        available = [f for f in PREDICT_FUNCTIONS if f in has]
        if function not in available:
            raise InvalidInputError(
                f"function {function!r} is not a function of model {name} version {mv.version}: "
                f"it has {', '.join(map(repr, available))}"
            )
        features = list(mv.feature_names)
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"df lacks columns {missing} that model {name} version {mv.version} needs "
                f"(df has {[str(c) for c in frame.columns]})"
            )
        rows = frame[features] if features else frame
        what = f"could not run {function} of model {name} version {mv.version}"
        try:
            with self._boundary(what, kind=InvalidInputError):
                out = np.asarray(self._predict(name, mv.version, rows, function))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{exc}{_missing_values_hint(rows)}") from exc
        except MlopsKitError:
            raise  # the kit's own (a version whose files are gone, say) says what it is
        except Exception as exc:  # the model's own code (it runs in this process on some backends)
            raise InvalidInputError(
                f"{what}: {type(exc).__name__}: {first_line(exc)}{_missing_values_hint(rows)}"
            ) from exc
        if out.ndim == 0 or len(out) != len(frame):
            raise InvalidInputError(
                f"{what}: it returned {out.size if out.ndim else 'one'} value(s) for the {len(frame)} rows of df"
            )
        out = out.reshape(len(frame), -1)
        return pd.DataFrame(out, index=frame.index, columns=output_columns(out.shape[1]))

    def load_model(self, model_name: str, version: str | None = None) -> Any:
        """The stored model as a Python object (the default version when ``version`` is None)."""
        name = names.identifier(model_name, "model_name")
        mv = self.get_default(name) if version is None else self.get_version(name, version)
        with self._boundary(f"could not load model {name} version {mv.version}"):
            return self._load_model(name, mv.version)

    def _list_versions_of(self, name: str) -> list[ModelVersion]:
        with self._boundary(f"could not list the versions of model {name}"):
            versions = self._list_versions(name)
        return [dataclasses.replace(v, created_at=clock.as_utc(v.created_at)) for v in versions]

    def _find(self, model_name: str, version: str) -> tuple[ModelVersion, list[ModelVersion]]:
        """(the version, every version of its model) as the engine has them, without lineage."""
        name = names.identifier(model_name, "model_name")
        version_name = names.identifier(version, "version")
        versions = self._list_versions_of(name)
        for mv in versions:
            if mv.version == version_name:
                return mv, versions
        raise NotFoundError(f"model {name} has no version {version_name}")

    def _versions_if_any(self, name: str) -> list[ModelVersion]:
        try:
            return self._list_versions_of(name)
        except NotFoundError:
            return []

    # The adapter's primitives. Names are canonical and checked; objects named exist unless said.

    @abc.abstractmethod
    def _list_models(self) -> list[Model]:
        """Every registered model (any order)."""

    @abc.abstractmethod
    def _list_versions(self, name: str) -> list[ModelVersion]:
        """The visible versions of model ``name``, oldest first, with what the engine keeps: version,
        comment, metrics, default flag, ``created_at`` (lineage fields are left empty; the core adds
        them from its records). Raises NotFoundError when the model does not exist."""

    def _registering(self, name: str) -> AbstractContextManager[object]:
        """Held around a registration of model ``name``, from its existence check to its commit, where
        the engine would let two processes register one new version twice (MLflow numbers versions,
        it does not name them). Snowflake refuses a second version of one name itself: no lock."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def _register(self, registration: Registration) -> Any:
        """Register a version, replacing the existing one when ``registration.replaces``, and make it
        the default when ``registration.make_default``; hidden from readers until ``_commit`` where the
        engine allows it. Returns a handle for ``_commit``/``_discard``. On failure nothing is left
        registered (a replaced version may be gone)."""

    @abc.abstractmethod
    def _commit(self, handle: Any) -> None:
        """Make a registration visible (after its lineage record is written)."""

    @abc.abstractmethod
    def _discard(self, handle: Any) -> None:
        """Undo a registration that will not be committed."""

    @abc.abstractmethod
    def _set_default(self, name: str, version: str) -> None:
        """Make ``version`` the default of ``name``."""

    @abc.abstractmethod
    def _set_metrics(self, name: str, version: str, metrics: dict[str, Any]) -> None:
        """Add or replace metrics (checked: finite numbers or JSON values)."""

    @abc.abstractmethod
    def _functions(self, name: str, version: str) -> list[str]:
        """The functions the version can run (``predict``, ``predict_proba`` …), lower case."""

    @abc.abstractmethod
    def _predict(self, name: str, version: str, frame: pd.DataFrame, function: str) -> np.ndarray | pd.DataFrame:
        """The outputs of ``function`` on ``frame`` (the model's input columns, in order, at least one
        row): one row per input row, one column per output."""

    @abc.abstractmethod
    def _load_model(self, name: str, version: str) -> Any:
        """The stored model as a Python object."""

    @abc.abstractmethod
    def _delete_version(self, name: str, version: str) -> None:
        """Delete a version that is neither the default nor the model's last."""

    @abc.abstractmethod
    def _delete_model(self, name: str) -> None:
        """Delete model ``name`` with every version."""


def _with_lineage(version: ModelVersion, record: VersionLineage | None) -> ModelVersion:
    if record is None:
        return version
    return dataclasses.replace(
        version,
        run=record.run,
        training_set=record.training_set,
        feature_views=record.feature_views,
        feature_names=record.feature_names,
    )


def _sample_input(value: object) -> pd.DataFrame:
    """``sample_input`` checked: a DataFrame with rows and named, distinct columns."""
    sample = checks.frame(value, "sample_input")
    unnamed = [c for c in sample.columns if not isinstance(c, str)]
    if unnamed:
        raise InvalidInputError(
            f"sample_input has columns that are not names ({unnamed[:5]}): give the DataFrame the model's "
            "feature columns, e.g. pandas.DataFrame(rows, columns=[...])"
        )
    repeated = sorted({c for c in sample.columns if list(sample.columns).count(c) > 1})
    if repeated:
        raise InvalidInputError(f"sample_input has the columns {repeated} more than once")
    return _widest_integers(sample)


def _widest_integers(sample: pd.DataFrame) -> pd.DataFrame:
    """``sample`` with its integer columns as 64-bit integers.

    The signature is inferred from the sample's dtypes, and a reader hands over a whole-number
    column as the narrowest integer that holds the values it read (Snowflake's connector: int8 for an
    order count under 128, "Snowflake to pandas data mapping",
    https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-pandas). A
    signature of INT8 then refuses a later customer with 200 orders. A model accepts every value its
    column's type (NUMBER(38,0), BIGINT) allows.
    """
    import pandas as pd

    narrow = {
        column: ("Int64" if isinstance(dtype, pd.api.extensions.ExtensionDtype) else "int64")
        for column, dtype in sample.dtypes.items()
        if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_unsigned_integer_dtype(dtype)
        and dtype not in ("int64", "Int64")
    }  # fmt: skip
    return sample.astype(narrow) if narrow else sample


def _missing_values_hint(rows: pd.DataFrame) -> str:
    """Where ``rows`` has missing values (a model that cannot take them fails on them), or nothing."""
    missing = rows.isna()
    columns = [str(c) for c in rows.columns[missing.any().to_numpy()]]
    if not columns:
        return ""
    positions = [int(i) for i in missing.any(axis=1).to_numpy().nonzero()[0][:5]]
    return (
        f" (df has missing values in {', '.join(columns)}, rows {', '.join(map(str, positions))}"
        f"{', …' if missing.any(axis=1).sum() > 5 else ''} by position: fill or drop them, or register a model that "
        "takes missing values, such as XGBoost)"
    )


def _check_output(method: str, function: str, output: Any, rows: int) -> None:
    """What a model function returned for the sample: one prediction per row (``predict``: shape
    ``(rows,)`` or ``(rows, 1)``; the kit registers single-output models, as its SQL calls read one
    value, ``output_feature_0``) or one row of class probabilities per row (``predict_proba``: shape
    ``(rows, classes)``, two classes at least), and not only NaN."""
    import numpy as np

    wanted = f"({rows},)" if function == "predict" else f"({rows}, number of classes)"
    try:
        values = None if output is None else np.asarray(output)
    except Exception:  # noqa: BLE001 - whatever the user's model returned
        values = None
    if values is None or values.ndim == 0:
        raise InvalidInputError(
            f"model {method} returned {checks.shown(output)} for the {rows} rows of sample_input: "
            f"it must return an array of shape {wanted}"
        )
    if function == "predict" and values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    well_shaped = values.ndim == 1 if function == "predict" else values.ndim == 2 and values.shape[1] >= 2
    if not well_shaped or len(values) != rows:
        single = "; the kit registers models with one output per row" if function == "predict" else ""
        raise InvalidInputError(
            f"model {method} returned an array of shape {values.shape} for the {rows} rows of sample_input: "
            f"it must have shape {wanted}{single}"
        )
    if values.dtype.kind in "fc" and np.isnan(values).all():
        raise InvalidInputError(
            f"model {method} returned only NaN for the {rows} rows of sample_input: is it fitted, on these columns?"
        )


def _check_model(model: Any, sample: pd.DataFrame) -> None:
    """A model the registry can store and run: it has ``predict``, pickles, and predicts ``sample``
    whose columns are the ones it was fitted on (when it records them, as scikit-learn and XGBoost
    do for a DataFrame)."""
    kind = type(model).__name__
    if not callable(getattr(model, "predict", None)):
        raise InvalidInputError(
            f"model must be a fitted model with a predict method (scikit-learn API, XGBoost); {kind} has none"
        )
    fitted_on = getattr(model, "feature_names_in_", None)
    if fitted_on is not None and [str(c) for c in fitted_on] != [str(c) for c in sample.columns]:
        raise InvalidInputError(
            f"sample_input has the columns {list(sample.columns)} but the model was fitted on "
            f"{[str(c) for c in fitted_on]}: pass rows with the model's feature columns, in that order"
        )
    for function in PREDICT_FUNCTIONS:
        method = getattr(model, function, None)
        if not callable(method):
            continue
        try:
            output = method(sample)
        except Exception as exc:  # noqa: BLE001 - the user's model: any failure means it cannot be registered
            raise InvalidInputError(
                f"model {kind} could not {function} sample_input ({type(exc).__name__}: {first_line(exc)}): "
                "is it fitted, on these columns?"
            ) from exc
        _check_output(f"{kind}.{function}", function, output, len(sample))
    try:
        import cloudpickle as pickler
    except ImportError:  # pragma: no cover - both backends' libraries bring cloudpickle
        import pickle as pickler
    try:
        pickler.dumps(model)
    except Exception as exc:  # noqa: BLE001 - any failure to serialise means it cannot be stored
        raise InvalidInputError(f"model {kind} cannot be saved (pickled): {first_line(exc)}") from exc
