"""``LocalRegistry``: models and versions in a real MLflow model registry, as MLflow 3 does it.

How the kit's ideas map onto MLflow, so any MLflow client (and the MLflow UI) reads what this writes:
- a kit version (``V1``) is an MLflow model version (a number) registered from a LoggedModel
  (``models:/m-…``); the LoggedModel sits in the experiment of the run that made it (or the
  tracker's current experiment) and is linked to that run, whose page lists it;
- the kit's name of a version is the alias ``kit-V1`` (MLflow reserves ``latest`` and ``v<N>``, so
  ``V1`` itself cannot be an alias; ``$`` becomes ``-``) and the tag ``mlops_kit.version``:
  ``models:/CUSTOMER_CHURN_PREDICTOR@kit-V1``; versions registered by plain MLflow show up as
  ``V<number>``;
- the default version is the alias ``default``: ``models:/CUSTOMER_CHURN_PREDICTOR@default``;
- the comment is the version's description; the version's metrics are one tag ``mlops_kit.metrics``
  of the version (a JSON object), which is what the kit reads: the version's own copy, so re-tracking
  or deleting the run it came from changes nothing. Numeric metrics are also the LoggedModel's metrics, logged in the
  version's run (MLflow records a model's metrics only within a run), for the MLflow UI; versions
  registered by plain MLflow (no tags) show those;
- the run's params are the LoggedModel's params (as ``mlflow.<flavor>.log_model`` copies them);
  the training set and feature view versions are tags ``mlops_kit.*`` of the version.

Models are saved with explicit pip requirements (MLflow's inference costs seconds per model), a
signature built from the sample input's real dtypes and the model's output, and an input example,
so ``mlflow.pyfunc.load_model("models:/NAME@default").predict(rows)`` scores the feature store's own
rows. The XGBoost flavor's pyfunc exposes only ``predict`` (MLflow 3.17 passes only the keyword
arguments of ``XGBClassifier.predict``); probabilities come from the model itself:
``mlflow.pyfunc.load_model(uri).get_raw_model().predict_proba(rows)`` or ``mlflow.xgboost.load_model``.

``LocalRegistry`` runs in the user's process and reads through ``MlflowConnection.records()``;
what it writes, ``_Writes`` does in the MLflow worker process (``mlflow_worker.py``), reached through
the ``@operation`` functions at the end of this file. Loading a model for predictions happens there
too: the worker hands back the model object (an XGBoost or scikit-learn estimator).

Crash safety. A (re-)registration first creates the new version marked pending (the tag
``mlops_kit.pending``, which every read skips), then deletes the version it replaces; the core then
writes the version's lineage record (``mlops_kit/records/model_versions.py``), and only then are
the aliases moved to it and the mark dropped (``commit``). So a visible version always has its
record. A process killed anywhere before the commit leaves a pending version of a dead process:
the next registry write on that model, in any process, deletes it (and logged models no version
uses). A killed overwrite may so leave the version missing, never half-written; the rerun
registers it again.

Version numbers. MLflow never reuses a version number, so an overwrite that made a new MLflow
version would renumber the kit's version (``models:/NAME/1`` gone, ``V1`` now "Version 3"). An
overwrite whose model is unchanged (the same bytes and input columns: the fingerprint tag) keeps its
MLflow version and number; its comment, metrics and lineage tags are updated in place at the commit.
A re-tracked run (the lab's rerun replaces its runs) becomes the version's and the LoggedModel's
source run (``relink_run``: MLflow's API cannot, its SQL store can) and lists the model among its
outputs; on a store that cannot (a tracking server) the overwrite makes a new version, as MLflow
would. ``models:/NAME@kit-V1`` names the kit's version whatever its number.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_kit import clock, names
from mlops_kit.adapters.local.errors import LocalErrorKinds
from mlops_kit.adapters.local.locks import HomeLock
from mlops_kit.adapters.local.mlflow_records import LoggedModelRecord, VersionRecord, version_record
from mlops_kit.adapters.local.mlflow_store import can_relink_runs, logged_model_id, purge, relink_run
from mlops_kit.adapters.local.mlflow_worker import Session, operation
from mlops_kit.adapters.local.model_requirements import model_libraries, pinned
from mlops_kit.adapters.local.sql import ModelCall
from mlops_kit.adapters.local.warehouse import SqlModelFunction
from mlops_kit.errors import AlreadyExistsError, NotFoundError
from mlops_kit.processes import ProcessOwner
from mlops_kit.registry import PREDICT_FUNCTIONS, Registration, Registry
from mlops_kit.types import Model, ModelVersion

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

    from mlops_kit.adapters.local.mlflow_records import RecordSource
    from mlops_kit.adapters.local.mlflow_store import MlflowConnection

DEFAULT_ALIAS = "default"
VERSION_ALIAS_PREFIX = "kit-"
# Tags of a model version.
_VERSION = "mlops_kit.version"
_TRAINING_SET = "mlops_kit.training_set"
_FEATURE_VIEWS = "mlops_kit.feature_views"
_METRICS = "mlops_kit.metrics"  # the version's metrics, one JSON object
_METRIC = "mlops_kit.metric."  # one tag a metric: how earlier kit versions stored some metrics (read only)
_PENDING = "mlops_kit.pending"
_FINGERPRINT = "mlops_kit.model_fingerprint"  # the model's bytes and input columns: what an overwrite keeps
# Tags of a LoggedModel.
_MODEL = "mlops_kit.model"
_FLAVOR = "mlops_kit.flavor"
_FEATURES = "mlops_kit.feature_names"
_CLASSES = "mlops_kit.n_outputs"
_OWNER = "mlops_kit.owner"
_MODEL_VERSIONS = "mlflow.modelVersions"  # MLflow's own link from a LoggedModel to its versions


def version_alias(version: str) -> str:
    """The MLflow alias of a kit version: ``V1`` -> ``kit-V1``."""
    return VERSION_ALIAS_PREFIX + version.replace("$", "-")


def _pending_mark(owner: ProcessOwner) -> str:
    """The value of the pending tag: which process is registering the version."""
    return json.dumps({"owner": owner.to_text()})


def _pending_abandoned(mark: str) -> bool:
    """Whether the process that marked a version pending is gone (or the mark is unreadable)."""
    try:
        return _abandoned(json.loads(mark).get("owner"))
    except (ValueError, TypeError, AttributeError):
        return True


class LocalRegistry(LocalErrorKinds, Registry):
    def __init__(self, mlflow: MlflowConnection) -> None:
        self._mlflow = mlflow
        self._loaded: dict[tuple[str, str], Any] = {}

    @property
    def client(self) -> MlflowClient:
        """MLflow's own client on this store, in this process (imports MLflow here)."""
        return self._mlflow.client

    # Primitives (see mlops_kit/registry.py).

    def _list_models(self) -> list[Model]:
        records = self._mlflow.records()
        models = []
        for registered in records.models():
            versions = self._versions(records, registered.name)
            default = next((v.version for v in versions if v.is_default), None)
            models.append(Model(registered.name, tuple(v.version for v in versions), default, registered.description))
        return models

    def _list_versions(self, name: str) -> list[ModelVersion]:
        records = self._mlflow.records()
        if records.model(name) is None:
            raise NotFoundError(f"model {name} is not registered")
        return self._versions(records, name)

    def _registering(self, name: str) -> AbstractContextManager[object]:
        # One registration per home at a time: two processes registering a new V1 both found none and
        # both registered one (issue 17); the second now finds the first's, as the rules want.
        return HomeLock(self._mlflow.paths.home, "registry").held()

    def _register(self, registration: Registration) -> _Handle:
        r = registration
        lineage = r.lineage
        number, model_id, refresh = self._mlflow.call(
            "register",
            r.model_name,
            r.version,
            r.model,
            r.sample_input,
            r.metrics,
            r.comment,
            (r.run.run_id, dict(r.run.params)) if r.run is not None else None,
            ([[ref.name, ref.version] for ref in lineage.feature_views], lineage.training_set),
            r.replaces,
            self._mlflow.experiment_id,
            r.input_example,
        )
        self._forget_loaded(r.model_name)
        return _Handle(r.model_name, number, r.version, r.make_default, model_id, refresh)

    def _commit(self, handle: _Handle) -> None:
        h = handle
        self._mlflow.call("commit", h.name, h.number, h.version, h.make_default, h.model_id, h.refresh)

    def _discard(self, handle: _Handle) -> None:
        if handle.refresh is None:  # an unchanged version was not touched: nothing to undo
            self._mlflow.call("discard", handle.name, handle.number)

    def _set_default(self, name: str, version: str) -> None:
        target = _find_version(self._mlflow.records().versions(name), name, version)
        self._mlflow.call("set_alias", name, DEFAULT_ALIAS, target.number)

    def _set_metrics(self, name: str, version: str, metrics: dict[str, Any]) -> None:
        self._mlflow.call("set_metrics", name, version, metrics)

    def _functions(self, name: str, version: str) -> list[str]:
        model = self._load(*self._resolve(name, version))
        return [f for f in PREDICT_FUNCTIONS if callable(getattr(model, f, None))]

    def _predict(self, name: str, version: str, frame: pd.DataFrame, function: str) -> Any:
        return self._predict_array(*self._resolve(name, version), frame, function)

    def _load_model(self, name: str, version: str) -> Any:
        return self._load(*self._resolve(name, version))

    def _delete_version(self, name: str, version: str) -> None:
        self._mlflow.call("delete_version", name, version)
        self._forget_loaded(name)

    def _delete_model(self, name: str) -> None:
        self._mlflow.call("delete_model", name)
        self._forget_loaded(name)

    def sql_function(self, call: ModelCall) -> SqlModelFunction:
        """How the warehouse runs this model inside a DuckDB query."""
        name = names.identifier(call.model, "model")
        if call.version is None:
            versions = self._list_versions_of(name)
            default = next((v.version for v in versions if v.is_default), None)
            if default is None:
                raise NotFoundError(
                    f"model {name} has no default version: name one (WITH M AS MODEL {name} VERSION V1)"
                )
            mv, logged = self._resolve(name, default)
        else:
            mv, logged = self._resolve(name, names.identifier(call.version, "version"))
        function = "predict_proba" if call.function == "PREDICT_PROBA" else "predict"
        width = int(logged.tags.get(_CLASSES, "2")) if function == "predict_proba" else 1
        return SqlModelFunction(
            feature_names=tuple(json.loads(logged.tags.get(_FEATURES, "[]"))),
            output_width=width,
            output_type="DOUBLE" if function == "predict_proba" else "BIGINT",
            predict=lambda frame: self._predict_array(mv, logged, frame, function),
        )

    # Internals.

    def _forget_loaded(self, name: str) -> None:
        self._loaded = {k: v for k, v in self._loaded.items() if k[0] != name}

    def _versions(self, records: RecordSource, name: str) -> list[ModelVersion]:
        default = (records.model(name) or _NO_MODEL).aliases.get(DEFAULT_ALIAS)
        versions = [mv for mv in records.versions(name) if _PENDING not in mv.tags]
        logged = records.logged_models(m for m in (logged_model_id(mv.source) for mv in versions) if m)
        return [_version(mv, default, logged.get(logged_model_id(mv.source) or "")) for mv in versions]

    def _resolve(self, name: str, version: str) -> tuple[VersionRecord, LoggedModelRecord]:
        records = self._mlflow.records()
        mv = _find_version(records.versions(name), name, version)
        model_id = logged_model_id(mv.source)
        logged = records.logged_model(model_id) if model_id else None
        if logged is None:
            raise NotFoundError(f"model {name} {version} has no logged model with its files (source {mv.source})")
        return mv, logged

    def _predict_array(self, mv: VersionRecord, logged: LoggedModelRecord, frame: pd.DataFrame, function: str) -> Any:
        import numpy as np

        model = self._load(mv, logged)
        return np.asarray(getattr(model, function)(frame)).reshape(len(frame), -1)

    def _load(self, mv: VersionRecord, logged: LoggedModelRecord) -> Any:
        """The stored model, loaded by MLflow's flavor in the worker, which hands the object back."""
        key = (mv.name, mv.number)
        if key not in self._loaded:
            folder = _local_folder(logged.artifact_location)
            if folder is not None and not (folder / "MLmodel").is_file():
                raise NotFoundError(
                    f"the files of model {mv.name} version {_kit_name(mv)} are missing from {folder} (deleted or "
                    "moved?): restore them, or register the version again (log_model(..., overwrite=True))"
                )
            flavor = logged.tags.get(_FLAVOR, "sklearn")
            self._loaded[key] = _load_xgboost_here(flavor, logged.artifact_location) or self._mlflow.call(
                "load_model", flavor, logged.artifact_location
            )
        return self._loaded[key]


@dataclass(frozen=True)
class _Handle:
    """A registration that ``_register`` left pending, for ``_commit`` or ``_discard``."""

    name: str
    number: str
    version: str
    make_default: bool
    model_id: str | None
    refresh: Refresh | None = None  # an unchanged version kept: what the commit updates in place


@dataclass(frozen=True)
class Refresh:
    """What an overwrite of an unchanged model updates on the version it keeps (at the commit)."""

    tags: dict[str, str]
    stale_tags: list[str]  # tags the new registration does not have
    description: str
    run_id: str | None  # the run to link the LoggedModel to, when it is not the version's run
    model_metrics: dict[str, float]


class _Writes:
    """What the registry writes, in the MLflow worker process, with its MlflowClient."""

    def __init__(self, session: Session) -> None:
        self.client = session.client
        self.artifact_root = session.paths.artifact_root
        self.owner = ProcessOwner.current()  # the worker: the process doing the writes

    def register(
        self,
        name: str,
        kit_version: str,
        model: Any,
        sample_input: pd.DataFrame,
        metrics: dict[str, Any],
        comment: str,
        run: tuple[str, dict[str, str]] | None,
        lineage: tuple[list[list[str]], str | None],
        replace: bool,
        current_experiment: str | None,
        input_example: bool = True,
    ) -> tuple[str, str | None, Refresh | None]:
        """Register ``kit_version`` pending (hidden from reads) and delete the version it replaces;
        ``commit`` makes it visible. Returns (MLflow version number, LoggedModel id, None).

        An overwrite of an unchanged model (see the module docstring) writes nothing here and
        returns the kept version's number and LoggedModel with the ``Refresh`` its commit applies.
        On failure nothing new is kept; a failure after the old version was deleted leaves the
        version missing (the core's rule for a failed overwrite) rather than half-written.
        """
        model_metrics, tag_metrics = _split_metrics(metrics, with_run=run is not None)
        aliases = self.aliases(name)  # None: the model is not registered yet
        versions = self.heal(name)
        existing = next((v for v in versions if _PENDING not in v.tags and _kit_name(v) == kit_version), None)
        if existing is not None and not replace:  # registered by another process since the core looked
            raise AlreadyExistsError(
                f"model {name} already has version {kit_version}: choose a new version name or pass overwrite=True"
            )
        tags = {_VERSION: kit_version, _METRICS: json.dumps(tag_metrics, default=str)}
        # Lineage as tags too, for MLflow UI users; the kit reads its record table (mlops_kit/records/).
        tags[_FEATURE_VIEWS] = json.dumps(lineage[0])
        if lineage[1]:
            tags[_TRAINING_SET] = lineage[1]
        tags[_FINGERPRINT] = fingerprint(model, sample_input)
        run_id = run[0] if run else None
        unchanged = existing is not None and existing.tags.get(_FINGERPRINT) == tags[_FINGERPRINT]
        if unchanged and existing is not None and (run_id == existing.run_id or can_relink_runs(self.client)):
            refresh = Refresh(
                tags=tags,
                stale_tags=[_TRAINING_SET] if not lineage[1] and _TRAINING_SET in existing.tags else [],
                description=comment,
                run_id=run_id if run_id != existing.run_id else None,
                model_metrics=model_metrics,
            )
            return existing.number, logged_model_id(existing.source), refresh
        tags[_PENDING] = _pending_mark(self.owner)

        created_model = False
        model_id: str | None = None
        number: str | None = None
        try:
            if aliases is None:
                self.client.create_registered_model(name)
                created_model = True
            experiment_id = self.client.get_run(run[0]).info.experiment_id if run else current_experiment
            model_id = self.log_logged_model(
                name, kit_version, model, sample_input, run, experiment_id, input_example=input_example
            )
            if run is not None and model_metrics:
                self.log_model_metrics(run[0], model_id, model_metrics)
            number = self.client.create_model_version(
                name,
                source=f"models:/{model_id}",
                run_id=run[0] if run else None,
                tags=tags,
                description=comment,
                model_id=model_id,
            ).version
            if existing is not None:
                self.delete(existing)
        except BaseException:
            self.undo(name, created_model, model_id, number)
            raise
        return number, model_id, None

    def log_logged_model(
        self,
        name: str,
        version: str,
        model: Any,
        sample_input: pd.DataFrame,
        run: tuple[str, dict[str, str]] | None,
        experiment_id: str | None,
        *,
        input_example: bool = True,
    ) -> str:
        """Create the LoggedModel with its files and return its id, as ``mlflow.<flavor>.log_model``
        does: in the run's experiment and linked to the run (its page lists the model)."""
        from mlflow.entities import LoggedModelOutput
        from mlflow.models import Model as MlflowModel
        from mlflow.models import infer_signature
        from mlflow.tracking.default_experiment import DEFAULT_EXPERIMENT_ID

        flavor, module = _flavor(model)
        logged = self.client.create_logged_model(
            experiment_id or DEFAULT_EXPERIMENT_ID,
            name=f"{name}-{version}",
            source_run_id=run[0] if run else None,
            params={k: str(v) for k, v in run[1].items()} if run else None,
            tags={
                _MODEL: name,
                _VERSION: version,
                _FLAVOR: flavor,
                _FEATURES: json.dumps([str(c) for c in sample_input.columns]),
                _CLASSES: str(len(getattr(model, "classes_", [0, 1]))),
                _OWNER: self.owner.to_text(),
            },
        )
        if run is not None:
            self.client.log_outputs(run[0], [LoggedModelOutput(logged.model_id, step=0)])
        with warnings.catch_warnings():
            # MLflow hints that integer columns cannot hold missing values; a feature store's
            # integer features have none (its joins fill them), so the hint would only alarm.
            warnings.filterwarnings(
                "ignore", message="Hint: Inferred schema contains integer column", category=UserWarning
            )
            signature = infer_signature(sample_input, model.predict(sample_input))
        folder = Path(tempfile.mkdtemp(prefix="mlops_kit_model_"))
        try:
            target = folder / "model"
            meta = MlflowModel(
                artifact_path=logged.artifact_location,
                model_uuid=logged.model_id,
                run_id=run[0] if run else None,
                model_id=logged.model_id,
            )
            with _without_requirement_check():
                module.save_model(
                    model,
                    str(target),
                    mlflow_model=meta,
                    signature=signature,
                    input_example=sample_input.head(5) if input_example else None,
                    pip_requirements=_requirements(model),
                    **_serialization(flavor, model),
                )
            self.client.log_model_artifacts(logged.model_id, str(target))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.client.finalize_logged_model(logged.model_id, "READY")
        return logged.model_id

    def log_model_metrics(self, run_id: str, model_id: str, metrics: Mapping[str, float]) -> None:
        """LoggedModel metrics, logged in the run ``run_id`` (MLflow keeps a model's metrics with the
        run that measured them). A value the run already holds is logged with that point's time and
        step, as MLflow's ``log_model`` does, so the run's own history gains no duplicate."""
        from mlflow.entities import Metric

        latest = self.client.get_run(run_id).data.metrics
        now = int(time.time() * 1000)
        points = []
        for key, value in metrics.items():
            same = None
            if latest.get(key) == value:
                same = next((m for m in self.client.get_metric_history(run_id, key) if m.value == value), None)
            timestamp, step = (same.timestamp, same.step) if same else (now, 0)
            points.append(Metric(key, value, timestamp, step, model_id=model_id))
        self.client.log_batch(run_id, metrics=points)

    def set_metrics(self, name: str, kit_version: str, metrics: Mapping[str, Any]) -> None:
        from mlflow.exceptions import MlflowException

        mv = self.find(name, kit_version, missing_ok=False)
        assert mv is not None
        run_id = mv.run_id
        if run_id:
            try:
                run_id = run_id if self.client.get_run(run_id).info.lifecycle_stage == "active" else None
            except MlflowException:
                run_id = None  # the run was replaced: its metrics can no longer be the model's
        model_id = logged_model_id(mv.source)
        model_metrics, tag_metrics = _split_metrics(metrics, with_run=run_id is not None and model_id is not None)
        if model_metrics:
            self.log_model_metrics(run_id, model_id, model_metrics)  # type: ignore[arg-type]
        kept = {**_tag_metrics(mv.tags), **tag_metrics}
        self.client.set_model_version_tag(name, mv.number, _METRICS, json.dumps(kept, default=str))

    def commit(
        self,
        name: str,
        number: str,
        kit_version: str,
        make_default: bool,
        model_id: str | None,
        refresh: Refresh | None = None,
    ) -> None:
        """Make a pending version the kit's ``kit_version``: aliases first, then drop the mark. A
        kept unchanged version gets its ``refresh`` instead of losing a mark it does not have."""
        if refresh is not None:
            self.refresh(name, number, model_id, refresh)
            if make_default:
                self.client.set_registered_model_alias(name, DEFAULT_ALIAS, number)
            return
        self.client.set_registered_model_alias(name, version_alias(kit_version), number)
        if make_default:
            self.client.set_registered_model_alias(name, DEFAULT_ALIAS, number)
        if model_id:  # as mlflow.register_model records it: the LoggedModel page links its version
            self.client.set_logged_model_tags(
                model_id, {_MODEL_VERSIONS: json.dumps([{"name": name, "version": number}])}
            )
        self.client.delete_model_version_tag(name, number, _PENDING)

    def refresh(self, name: str, number: str, model_id: str | None, refresh: Refresh) -> None:
        """Update a kept version in place: the new run first (an interrupted refresh is redone by the
        rerun), then its tags and comment."""
        if refresh.run_id is not None:
            relink_run(self.client, name, number, model_id, refresh.run_id)
        if refresh.run_id is not None and model_id is not None:
            from mlflow.entities import LoggedModelOutput

            self.client.log_outputs(refresh.run_id, [LoggedModelOutput(model_id, step=0)])
            if refresh.model_metrics:
                self.log_model_metrics(refresh.run_id, model_id, refresh.model_metrics)
        for key, value in refresh.tags.items():
            self.client.set_model_version_tag(name, number, key, value)
        for key in refresh.stale_tags:
            self.client.delete_model_version_tag(name, number, key)
        self.client.update_model_version(name, number, description=refresh.description)

    def delete_version(self, name: str, kit_version: str) -> None:
        self.heal(name)
        mv = self.find(name, kit_version, missing_ok=False)
        assert mv is not None
        self.delete(mv)

    def delete_model(self, name: str) -> None:
        self.heal(name)
        model_ids = [m for m in (logged_model_id(v.source) for v in self.versions(name)) if m]
        self.claim(model_ids)
        self.client.delete_registered_model(name)
        purge(self.client, self.artifact_root, logged_model_ids=model_ids)

    def delete(self, mv: VersionRecord) -> None:
        """Delete a version, then its LoggedModel (claimed first: a kill in between leaves an
        orphan of a dead process, which ``heal`` removes)."""
        model_id = logged_model_id(mv.source)
        if model_id:
            self.claim([model_id])
        self.client.delete_model_version(mv.name, mv.number)
        if model_id:
            purge(self.client, self.artifact_root, logged_model_ids=[model_id])

    def claim(self, model_ids: list[str]) -> None:
        for model_id in model_ids:
            with contextlib.suppress(Exception):  # a model already gone needs no claim
                self.client.set_logged_model_tags(model_id, {_OWNER: self.owner.to_text()})

    def heal(self, name: str) -> list[VersionRecord]:
        """Undo what killed processes left on model ``name`` (see the module docstring): a pending
        version of a process that is gone was never committed, so its lineage record may be missing;
        it is deleted (the registration that made it is rerun). Returns the versions of ``name``."""
        versions = self.versions(name)
        abandoned = [mv for mv in versions if _PENDING in mv.tags and _pending_abandoned(mv.tags[_PENDING])]
        for mv in abandoned:
            self.delete(mv)
        if abandoned:
            versions = self.versions(name)
        if self.purge_orphans(name, {logged_model_id(v.source) for v in versions}):
            versions = self.versions(name)
        return versions

    def purge_orphans(self, name: str, used: set[str | None]) -> bool:
        """Delete the logged models of ``name`` no version uses, left by processes that are gone."""
        experiments = [e.experiment_id for e in self.client.search_experiments()]
        if not experiments:
            return False
        orphans = [
            m.model_id
            for m in self.client.search_logged_models(experiments, filter_string=f"tags.`{_MODEL}` = '{name}'")
            if m.model_id not in used and _abandoned(m.tags.get(_OWNER))
        ]
        if orphans:
            purge(self.client, self.artifact_root, logged_model_ids=orphans)
        return bool(orphans)

    def undo(self, name: str, created_model: bool, model_id: str | None, number: str | None) -> None:
        steps = []
        if number is not None:
            steps.append(lambda: self.client.delete_model_version(name, number))
        if model_id is not None:
            steps.append(lambda: purge(self.client, self.artifact_root, logged_model_ids=[model_id]))
        if created_model:
            steps.append(lambda: self.client.delete_registered_model(name))
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                pass

    def versions(self, name: str) -> list[VersionRecord]:
        """Every version of ``name``, pending ones included."""
        return sorted(
            (version_record(mv) for mv in self.client.search_model_versions(f"name = '{name}'")),
            key=lambda v: int(v.number),
        )

    def find(self, name: str, kit_version: str, missing_ok: bool = True) -> VersionRecord | None:
        try:
            return _find_version(self.versions(name), name, kit_version)
        except NotFoundError:
            if missing_ok:
                return None
            raise

    def aliases(self, name: str) -> dict[str, str] | None:
        """The aliases of model ``name`` (alias -> version number), None when it is not registered."""
        from mlflow.exceptions import MlflowException

        try:
            return {alias: str(number) for alias, number in self.client.get_registered_model(name).aliases.items()}
        except MlflowException:
            return None


# The registry's operations in the worker (see mlflow_worker.py).


@operation
def register(session: Session, *args: Any) -> tuple[str, str | None, Refresh | None]:
    return _Writes(session).register(*args)


@operation
def commit(
    session: Session,
    name: str,
    number: str,
    kit_version: str,
    make_default: bool,
    model_id: str | None,
    refresh: Refresh | None = None,
) -> None:
    _Writes(session).commit(name, number, kit_version, make_default, model_id, refresh)


@operation
def discard(session: Session, name: str, number: str) -> None:
    writes = _Writes(session)
    pending = next((v for v in writes.versions(name) if v.number == number), None)
    if pending is not None:
        writes.delete(pending)


@operation
def set_alias(session: Session, name: str, alias: str, number: str) -> None:
    session.client.set_registered_model_alias(name, alias, number)


@operation
def set_metrics(session: Session, name: str, kit_version: str, metrics: dict[str, Any]) -> None:
    _Writes(session).set_metrics(name, kit_version, metrics)


@operation
def delete_version(session: Session, name: str, kit_version: str) -> None:
    _Writes(session).delete_version(name, kit_version)


@operation
def delete_model(session: Session, name: str) -> None:
    _Writes(session).delete_model(name)


@operation
def load_model(session: Session, flavor: str, location: str) -> Any:
    _, module = _flavor_module(flavor)
    return module.load_model(location)


def _load_xgboost_here(flavor: str, location: str) -> Any | None:
    """An XGBoost model read in this process from the files MLflow saved, as ``mlflow.xgboost``
    loads it (the class named in ``MLmodel``, then ``load_model`` on its data file), or None.

    Scoring should not wait for MLflow's process to start (about 2.5 s of imports) to read one
    native XGBoost file. Other flavors, and anything unexpected in the folder, go to MLflow.
    """
    folder = _local_folder(location)
    if flavor != "xgboost" or folder is None:
        return None
    try:
        import yaml

        config = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["xgboost"]
        module_name, _, class_name = str(config.get("model_class", "xgboost.core.Booster")).rpartition(".")
        data = folder / str(config["data"])
    except (OSError, KeyError, TypeError, ValueError, ImportError):
        return None
    if module_name.split(".")[0] != "xgboost" or not data.is_file():
        return None
    import importlib

    model = getattr(importlib.import_module(module_name), class_name)()
    model.load_model(str(data))
    return model


def _local_folder(location: str) -> Path | None:
    """The folder of a ``file:`` artifact location (a local store's), None for a remote one."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    parsed = urlparse(location)
    return Path(url2pathname(parsed.path)) if parsed.scheme in ("", "file") else None


def _find_version(versions: list[VersionRecord], name: str, kit_version: str) -> VersionRecord:
    """The committed version called ``kit_version`` among ``versions``."""
    for mv in versions:
        if _PENDING not in mv.tags and _kit_name(mv) == kit_version:
            return mv
    raise NotFoundError(f"model {name} has no version {kit_version}")


@dataclass(frozen=True)
class _NoModel:
    aliases: Mapping[str, str]


_NO_MODEL = _NoModel({})


def fingerprint(model: Any, sample_input: pd.DataFrame) -> str:
    """What makes two registrations the same model: its fitted state and its input columns with
    their types. joblib's hash (scikit-learn's own dependency) reads arrays by content and strings by
    value; it is taken of a copy made through pickle, which lays every array out the same way (a
    fitted ``coef_`` is a strided view, its unpickled copy is not), so the same model hashes the
    same in the process that fitted it and in the MLflow worker that received it. A class joblib
    cannot pickle by reference (one defined in the user's script) is hashed as cloudpickle writes it."""
    import hashlib
    import pickle

    import cloudpickle
    import joblib

    columns = [[str(c), str(t)] for c, t in sample_input.dtypes.items()]
    copy = pickle.loads(cloudpickle.dumps(model))
    try:
        return str(joblib.hash([copy, columns], hash_name="sha1"))
    except pickle.PicklingError:
        return hashlib.sha1(cloudpickle.dumps([copy, columns])).hexdigest()


def _kit_name(mv: VersionRecord) -> str:
    return mv.tags.get(_VERSION) or f"V{mv.number}"


def _abandoned(owner_text: str | None) -> bool:
    owner = ProcessOwner.from_text(owner_text)
    return owner is None or owner.is_gone()


def _tag_metrics(tags: Mapping[str, str]) -> dict[str, Any]:
    """The metrics a version's tags hold (the JSON tag, over the one-tag-a-metric form of earlier kits)."""
    metrics: dict[str, Any] = {k[len(_METRIC) :]: json.loads(v) for k, v in tags.items() if k.startswith(_METRIC)}
    if _METRICS in tags:
        metrics.update(json.loads(tags[_METRICS]))
    return metrics


def _split_metrics(metrics: Mapping[str, Any], *, with_run: bool) -> tuple[dict[str, float], dict[str, Any]]:
    """(LoggedModel metrics, tag metrics): every metric is a tag (the version's own copy, which the
    kit reads); numbers are LoggedModel metrics too when there is a run to log them in."""
    numeric: dict[str, float] = {}
    for key, value in metrics.items():
        if with_run and isinstance(value, numbers.Real) and not isinstance(value, bool):
            numeric[key] = float(value)
    return numeric, dict(metrics)


def _version(mv: VersionRecord, default_number: str | None, logged: LoggedModelRecord | None) -> ModelVersion:
    """A kit version with what MLflow keeps (the core adds the lineage from its records)."""
    # The version's tags are its own copy; a LoggedModel's metrics fill in for versions plain MLflow made.
    metrics: dict[str, Any] = dict(logged.metrics) if logged is not None else {}
    metrics.update(_tag_metrics(mv.tags))
    return ModelVersion(
        model=mv.name,
        version=_kit_name(mv),
        comment=mv.description,
        metrics=metrics,
        is_default=default_number == mv.number,
        created_at=clock.from_epoch_millis(mv.created_ms),
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


def _serialization(flavor: str, model: Any) -> dict[str, str]:
    """How MLflow saves a scikit-learn model: its safe default, skops, when skops trusts every type
    in the model; else cloudpickle, as snowflake-ml saves every model.

    skops stores classes by reference and refuses types it does not know: a model class defined in
    the user's script or notebook (``__main__``), or a lambda in a pipeline, could not be saved (and
    could not be loaded by any other process). The same script registers it on Snowflake, so here too.
    """
    if flavor != "sklearn":
        return {}
    try:
        import skops.io

        if not skops.io.get_untrusted_types(data=skops.io.dumps(model)):
            return {}
    except Exception:  # noqa: BLE001 - whatever skops cannot write, cloudpickle can
        pass
    import mlflow.sklearn

    return {"serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE}


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


def _requirements(model: Any) -> list[str]:
    """What ``requirements.txt`` pins: MLflow and what loading any model needs, then the model's own
    libraries (a pipeline's included) at the versions that trained it."""
    packages = ["mlflow", "scikit-learn", "numpy", "pandas", "cloudpickle"]
    packages += [library for library in model_libraries(model) if library not in packages]
    return pinned(packages)
