"""The churn lab, steps 0-5, on the Snowflake backend over signature-true doubles.

``churn_workflow.run`` drives the real Snowflake adapter (``connect_snowflake`` and the four adapter
classes); only the library objects below it are doubles: ``create_autospec(..., instance=True,
spec_set=True)`` of Snowpark's ``Session``/``DataFrame``/``Table`` and snowflake-ml's ``FeatureStore``,
``FeatureView``, ``Registry``, ``Model``, ``ModelVersion`` and ``ExperimentTracking``, so a call with a
name or signature the installed libraries would reject fails here.

Where the lab needs data back, the doubles get behaviour (``side_effect``) from ``FakeSnowflake``:
``Session.sql``/``table``/``write_pandas`` run on an in-memory DuckDB database (SQL translated from
Snowflake's dialect with sqlglot, model calls ``MODEL!PREDICT_PROBA(...)`` as DuckDB functions over
the logged model), ``SHOW RUNS/RUN PARAMETERS/RUN METRICS`` answer from what the tracking double was
given, ``generate_training_set`` computes the spine-to-feature-view join in DuckDB and saves it, and
``ModelVersion.run`` scores with the very model object handed to ``Registry.log_model``.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pandas as pd
import pytest
import xgboost  # noqa: F401  (loaded before threadpool_limits acts on its OpenMP runtime)
from sf_doubles import autospec
from snowflake.ml._internal.exceptions.exceptions import SnowflakeMLException
from snowflake.ml.experiment import ExperimentTracking
from snowflake.ml.experiment._client.artifact import ArtifactInfo
from snowflake.ml.experiment._entities.experiment import Experiment as SfExperiment
from snowflake.ml.experiment._entities.run import Run as SfRun
from snowflake.ml.feature_store import CreationMode
from snowflake.ml.feature_store import Entity as SfEntity
from snowflake.ml.feature_store import FeatureStore as SfFeatureStore
from snowflake.ml.feature_store import FeatureView as SfFeatureView
from snowflake.ml.feature_store.feature_view import FeatureViewVersion
from snowflake.ml.model import Model as SfModel
from snowflake.ml.model import ModelVersion as SfModelVersion
from snowflake.ml.registry import Registry as SfRegistry
from snowflake.snowpark import DataFrame, Row, Session, Table
from snowflake.snowpark.exceptions import SnowparkSQLException
from snowflake.snowpark.types import DoubleType, LongType, StringType, StructField, StructType
from threadpoolctl import threadpool_limits

from mlops_kit.adapters.local.sql import extract_model_calls, to_duckdb
from mlops_kit.adapters.snowflake import connect_snowflake
from mlops_kit.examples import churn_sql, churn_workflow
from mlops_kit.examples.churn_workflow import EXPERIMENT, MODEL, RUNS, V2_RUN, Options

DATABASE = "MLOPS_HOL_DB"
TRAINING_TABLE = f"{DATABASE}.FEATURE_STORE.TRAINING_DATASET_V1"
ADAPTER = "mlops_kit.adapters.snowflake"
#: The SHOW statements of snowflake-ml's experiment tracking that the tracker adapter sends itself.
SHOW = re.compile(
    r"\s*SHOW (EXPERIMENTS IN SCHEMA|RUNS IN EXPERIMENT|RUN PARAMETERS IN EXPERIMENT|RUN METRICS IN EXPERIMENT)"
    r"\s+(\S+)(?:\s+RUN\s+(\S+))?\s*",
    re.IGNORECASE,
)


def _not_found(message: str) -> SnowflakeMLException:
    return SnowflakeMLException(error_code="2101", original_exception=ValueError(message))


class FakeSnowflake:
    """The state behind the doubles: one DuckDB database, experiments and runs, registered models.

    Every double is an autospec of the installed class; ``manager`` records the calls of the ML
    doubles in one ordered list (``attach_mock``).
    """

    def __init__(self, stage: Path) -> None:
        self.con = duckdb.connect()
        self.stage = stage
        self.manager = mock.Mock()
        self.statements: list[str] = []  # every SQL text the adapters sent, as sent
        self._frames: dict[tuple[Any, ...], Any] = {}
        self._clock = datetime(2024, 7, 1, tzinfo=timezone.utc)

        self.session = autospec(Session)
        self.session.sql.side_effect = self.sql
        self.session.table.side_effect = self.table
        self.session.write_pandas.side_effect = self.write_pandas

        self.store = autospec(SfFeatureStore)
        self.entities: dict[str, SfEntity] = {}
        self.views: dict[tuple[str, str], Any] = {}
        self.store.get_entity.side_effect = self.get_entity
        self.store.register_entity.side_effect = self.register_entity
        self.store.get_feature_view.side_effect = self.get_feature_view
        self.store.register_feature_view.side_effect = self.register_feature_view
        self.store.generate_training_set.side_effect = self.generate_training_set

        self.tracking = autospec(ExperimentTracking)
        self.experiments: dict[str, dict[str, dict[str, Any]]] = {}  # fqn -> run name -> run
        self._experiment: str | None = None
        self._run: str | None = None
        for name in ("set_experiment", "start_run", "log_params", "log_metrics", "log_artifact", "end_run",
                     "list_artifacts", "download_artifacts", "delete_run"):  # fmt: skip
            getattr(self.tracking, name).side_effect = getattr(self, f"tracking_{name}")

        self.registry = autospec(SfRegistry)
        self.models: dict[str, Any] = {}  # model name -> Model double
        self.versions: dict[str, dict[str, dict[str, Any]]] = {}  # model -> version -> record
        self.defaults: dict[str, str] = {}
        self.registry.get_model.side_effect = self.get_model
        self.registry.log_model.side_effect = self.log_model

        self.manager.attach_mock(self.store, "store")
        self.manager.attach_mock(self.tracking, "tracking")
        self.manager.attach_mock(self.registry, "registry")

    def now(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    # Session: SQL on DuckDB.

    def _duck(self, sql: str, params: Any = None) -> pd.DataFrame:
        try:
            result = self.con.execute(sql, params)
            frame = result.df() if result.description else pd.DataFrame()
        except duckdb.Error as exc:
            text = str(exc).splitlines()[0]
            if isinstance(exc, duckdb.CatalogException):
                text += " (does not exist or not authorized)"
            raise SnowparkSQLException(text) from exc
        # Snowflake reports unquoted identifiers upper-cased.
        return frame.rename(columns=lambda c: str(c).upper())

    def _dataframe(self, original: str, produce: Any, cls: type = DataFrame) -> Any:
        """A Snowpark DataFrame double, lazy like Snowpark: every action (and ``columns``) runs
        ``produce`` again."""
        df = autospec(cls)
        df.queries = {"queries": [original], "post_actions": []}  # as Snowpark renders session.sql

        def rows(*_a: Any, **_k: Any) -> list[Row]:
            data = produce()
            return [Row(**rec) for rec in data.astype(object).where(data.notna(), None).to_dict("records")]

        df.collect.side_effect = rows
        df.to_pandas.side_effect = lambda *_a, **_k: produce().copy()
        type(df).columns = mock.PropertyMock(side_effect=lambda: list(produce().columns))
        return df

    def _cached(self, key: tuple[Any, ...], make: Any) -> Any:
        """One double per distinct statement and params: an autospec of DataFrame takes ~0.1 s to
        build, and the adapters send the same statements many times. The double stays lazy, so a
        reused one still answers from the current state."""
        try:
            hash(key)
        except TypeError:
            return make()
        if key not in self._frames:
            self._frames[key] = make()
        return self._frames[key]

    def sql(self, query: str, params: Any = None, **_: Any) -> Any:
        self.statements.append(query)
        return self._cached(("sql", query, tuple(params or ())), lambda: self._statement(query, params))

    def _statement(self, query: str, params: Any) -> Any:
        show = SHOW.fullmatch(query)
        if show is not None:
            return self._dataframe(query, lambda: self._show(show))
        created = re.fullmatch(r"\s*CREATE DATABASE IF NOT EXISTS (\w+)\s*", query, re.IGNORECASE)
        if created:

            def attach() -> pd.DataFrame:
                catalogs = {
                    r[0].upper() for r in self.con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
                }
                if created[1].upper() not in catalogs:
                    self.con.execute(f"ATTACH ':memory:' AS {created[1]}")
                return pd.DataFrame({"STATUS": ["created"]})

            return self._dataframe(query, attach)
        plain, calls = extract_model_calls(query)
        duck = re.sub(r"^\s*USE SCHEMA\s+", "USE ", to_duckdb(plain), flags=re.IGNORECASE)
        duck = re.sub(rf"\b{DATABASE}\.INFORMATION_SCHEMA\.", "INFORMATION_SCHEMA.", duck, flags=re.IGNORECASE)

        def run() -> pd.DataFrame:
            for call in calls:
                self._register_model_function(call)
            return self._duck(duck, params)

        return self._dataframe(query, run)

    def table(self, name: str, *_: Any, **__: Any) -> Any:
        query = f"SELECT * FROM {name}"
        return self._cached(("table", name), lambda: self._dataframe(query, lambda: self._duck(query), Table))

    def write_pandas(self, df: pd.DataFrame, table_name: str, *, database: str, schema: str,
                     auto_create_table: bool = False, overwrite: bool = False, **_: Any) -> Any:  # fmt: skip
        target = f'"{database}"."{schema}"."{table_name}"'
        self.con.register("incoming", df)
        try:
            if overwrite or (auto_create_table and not self._exists(schema, table_name)):
                self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM incoming").fetchall()
            else:
                self.con.execute(f"INSERT INTO {target} SELECT * FROM incoming").fetchall()
        finally:
            self.con.unregister("incoming")
        return autospec(Table)

    def _exists(self, schema: str, table: str) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchall())  # fmt: skip

    def _register_model_function(self, call: Any) -> None:
        record = self.versions[call.model][call.version or self.defaults[call.model]]
        model, features = record["model"], record["features"]
        proba = call.function == "PREDICT_PROBA"
        width = 2 if proba else 1

        def predict(*columns: Any) -> Any:
            import pyarrow as pa

            x = pd.DataFrame({f: c.to_numpy() for f, c in zip(features, columns, strict=True)})
            out = model.predict_proba(x) if proba else model.predict(x).reshape(-1, 1)
            return pa.StructArray.from_arrays(
                [pa.array(out[:, i].astype("float64")) for i in range(width)],
                names=[f"output_feature_{i}" for i in range(width)],
            )

        # DuckDB counts the Python function's parameters against the declared argument types.
        predict.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(f"x{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(len(features))]
        )
        try:
            self.con.remove_function(call.sql_function)
        except duckdb.Error:
            pass
        struct = "STRUCT(" + ", ".join(f"output_feature_{i} DOUBLE" for i in range(width)) + ")"
        self.con.create_function(call.sql_function, predict, ["DOUBLE"] * len(features), struct, type="arrow")

    # SHOW statements of ExperimentTracking, answered from what the tracking double was given.

    def _show(self, match: re.Match[str]) -> pd.DataFrame:
        kind, target, only = match[1].upper(), match[2].upper(), match[3]
        if kind == "EXPERIMENTS IN SCHEMA":
            return pd.DataFrame(
                {"name": [fqn.split(".")[-1] for fqn in self.experiments if fqn.startswith(f"{target}.")]}
            )
        if target not in self.experiments:
            raise SnowparkSQLException(f"Experiment '{target}' does not exist or not authorized.")
        runs = {n: r for n, r in self.experiments[target].items() if only is None or n == only.upper()}
        if kind == "RUNS IN EXPERIMENT":
            rows = [{"created_on": r["created_on"], "name": n, "metadata": json.dumps({"status": r["status"]})}
                    for n, r in runs.items()]  # fmt: skip
            return pd.DataFrame(rows, columns=["created_on", "name", "metadata"])
        if kind == "RUN PARAMETERS IN EXPERIMENT":
            rows = [
                {"run_name": n, "name": k, "value": str(v)} for n, r in runs.items() for k, v in r["params"].items()
            ]
            return pd.DataFrame(rows, columns=["run_name", "name", "value"])
        rows = [{"run_name": n, "name": k, "value": str(v), "step": s}
                for n, r in runs.items() for (k, s), v in r["metrics"].items()]  # fmt: skip
        return pd.DataFrame(rows, columns=["run_name", "name", "value", "step"])

    # FeatureStore.

    def get_entity(self, name: str) -> SfEntity:
        if str(name) not in self.entities:
            raise _not_found(f"Entity {name} does not exist.")
        return self.entities[str(name)]

    def register_entity(self, entity: SfEntity) -> SfEntity:
        self.entities[entity.name.resolved()] = entity
        return entity

    def get_feature_view(self, name: str, version: str) -> Any:
        if (str(name), str(version)) not in self.views:
            raise _not_found(f"Failed to find FeatureView {name}/{version}: []")
        return self.views[(str(name), str(version))]

    def register_feature_view(self, feature_view: SfFeatureView, version: str, *, block: bool = True,
                              overwrite: bool = False) -> Any:  # fmt: skip
        """Store the draft as Snowflake would: a registered view whose schema is the query's."""
        name = feature_view.name.resolved()
        sample = self._duck(f"SELECT * FROM ({to_duckdb(feature_view.query)}) LIMIT 0")
        types = {"object": StringType(), "int64": LongType(), "int32": LongType()}
        registered = autospec(SfFeatureView)
        registered.name = feature_view.name
        registered.version = FeatureViewVersion(version)
        registered.entities = feature_view.entities
        registered.timestamp_col = feature_view.timestamp_col
        registered.desc = feature_view.desc
        registered.query = feature_view.query
        registered.output_schema = StructType(
            [StructField(c, types.get(str(t), DoubleType())) for c, t in sample.dtypes.items()]
        )
        registered.fully_qualified_name.return_value = f'{DATABASE}.FEATURE_STORE."{name}${version}"'
        self.views[(name, version)] = registered
        return registered

    def generate_training_set(self, spine_df: Any, features: list[Any], *, save_as: str | None = None,
                              spine_label_cols: list[str] | None = None, **_: Any) -> Any:  # fmt: skip
        """The spine left-joined to each feature view on its join keys, saved as ``save_as``."""
        select, joins = ["S.*"], []
        for i, view in enumerate(features):
            keys = [k.resolved() for e in view.entities for k in e.join_keys]
            select.append(f"F{i}.* EXCLUDE ({', '.join(keys)})")
            on = " AND ".join(f"S.{k} = F{i}.{k}" for k in keys)
            joins.append(f"LEFT JOIN ({to_duckdb(view.query)}) F{i} ON {on}")
        spine = to_duckdb(spine_df.queries["queries"][-1])
        query = f"SELECT {', '.join(select)} FROM ({spine}) S {' '.join(joins)}"
        if save_as:
            self.con.execute(f"CREATE TABLE {save_as} AS {query}").fetchall()
            return self.table(save_as)
        return self._dataframe(query, lambda: self._duck(query))

    # ExperimentTracking.

    def tracking_set_experiment(self, experiment_name: str, database_name: str | None = None,
                                schema_name: str | None = None) -> Any:  # fmt: skip
        self._experiment = f"{database_name}.{schema_name}.{experiment_name}".upper()
        self.experiments.setdefault(self._experiment, {})
        return autospec(SfExperiment)

    def _active(self) -> dict[str, Any]:
        assert self._experiment and self._run, "no active run"
        return self.experiments[self._experiment][self._run]

    def tracking_start_run(self, run_name: str | None = None) -> Any:
        assert self._experiment and run_name
        self.experiments[self._experiment][run_name] = {
            "created_on": self.now(), "status": "RUNNING", "params": {}, "metrics": {}, "files": {}
        }  # fmt: skip
        self._run = run_name
        return autospec(SfRun)

    def tracking_log_params(self, params: dict[str, Any]) -> None:
        self._active()["params"].update(params)

    def tracking_log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        self._active()["metrics"].update({(k, step): v for k, v in metrics.items()})

    def tracking_log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        name = f"{artifact_path}/{Path(local_path).name}" if artifact_path else Path(local_path).name
        stored = self.stage / self._experiment / self._run / name  # type: ignore[operator]
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local_path, stored)
        self._active()["files"][name] = stored

    def tracking_end_run(self, run_name: str | None = None, status: str | None = None) -> None:
        assert run_name == self._run
        self._active()["status"] = status or "FINISHED"
        self._run = None

    def _files(self, run_name: str, artifact_path: str | None) -> dict[str, Path]:
        assert self._experiment
        files = self.experiments[self._experiment][run_name]["files"]
        base = (artifact_path or "").strip("/")
        return {n: p for n, p in files.items() if not base or n == base or n.startswith(f"{base}/")}

    def tracking_list_artifacts(self, run_name: str, artifact_path: str | None = None) -> list[ArtifactInfo]:
        return [ArtifactInfo(name=n, size=p.stat().st_size, md5="", last_modified="")
                for n, p in sorted(self._files(run_name, artifact_path).items())]  # fmt: skip

    def tracking_download_artifacts(self, run_name: str, artifact_path: str | None = None,
                                    target_path: str | None = None) -> None:  # fmt: skip
        for name, stored in self._files(run_name, artifact_path).items():
            local = Path(target_path or ".") / name
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stored, local)

    def tracking_delete_run(self, run_name: str) -> None:
        assert self._experiment
        del self.experiments[self._experiment][run_name]

    # Registry, Model, ModelVersion.

    def get_model(self, model_name: str) -> Any:
        if model_name not in self.models:
            raise ValueError(f"Unable to find model {model_name}")
        return self.models[model_name]

    def log_model(self, model: Any, *, model_name: str, version_name: str | None = None, comment: str | None = None,
                  metrics: dict[str, Any] | None = None, sample_input_data: Any = None, **_: Any) -> Any:  # fmt: skip
        assert version_name is not None
        if model_name not in self.models:
            self._new_model(model_name)
        mv = autospec(SfModelVersion, model_name=model_name, version_name=version_name)
        mv.run.side_effect = lambda X, *, function_name=None, **_k: self._run_version(model_name, version_name, X,
                                                                                      function_name)  # fmt: skip
        self.manager.attach_mock(mv, f"mv_{version_name}")
        self.versions[model_name][version_name] = {
            "model": model, "double": mv, "comment": comment, "metrics": metrics or {}, "created_on": self.now(),
            "features": [str(c) for c in sample_input_data.columns],
        }  # fmt: skip
        self.defaults.setdefault(model_name, version_name)  # a model's first version is its default
        return mv

    def _new_model(self, model_name: str) -> None:
        model = autospec(SfModel)
        self.models[model_name], self.versions[model_name] = model, {}

        def default(*value: Any) -> Any:
            if not value:
                return self.versions[model_name][self.defaults[model_name]]["double"]
            name = value[0] if isinstance(value[0], str) else value[0].version_name
            assert name in self.versions[model_name], f"no version {name}"
            self.defaults[model_name] = name
            return None

        prop = mock.PropertyMock(side_effect=default)
        type(model).default = prop  # a settable property, as on snowflake-ml's Model
        model.show_versions.side_effect = lambda: pd.DataFrame(
            [
                {
                    "created_on": r["created_on"], "name": v, "comment": r["comment"],
                    "is_default_version": "true" if self.defaults[model_name] == v else "false",
                    "metadata": json.dumps({"metrics": r["metrics"]}),
                }
                for v, r in self.versions[model_name].items()
            ]
        )  # fmt: skip
        model.version.side_effect = lambda v: self._version_double(model_name, v)
        self.manager.attach_mock(model, "model")
        self.manager.attach_mock(prop, "model_default")

    def _version_double(self, model_name: str, version: str) -> Any:
        if version not in self.versions[model_name]:
            raise ValueError(f"Unable to find version or alias with name {version}")
        return self.versions[model_name][version]["double"]

    def _run_version(self, model_name: str, version: str, x: pd.DataFrame, function_name: str | None) -> pd.DataFrame:
        """Snowflake's output: the input columns, then ``output_feature_<i>``, on a fresh index."""
        record = self.versions[model_name][version]
        features = x[record["features"]]
        if function_name == "predict_proba":
            out = record["model"].predict_proba(features)
        elif function_name in (None, "predict"):
            out = record["model"].predict(features).reshape(-1, 1)
        else:
            raise ValueError(f"model has no function {function_name}")
        result = x.reset_index(drop=True)
        for i in range(out.shape[1]):
            result[f"output_feature_{i}"] = out[:, i]
        return result


@pytest.fixture
def lab_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[FakeSnowflake, Any, Any, str]:
    fake = FakeSnowflake(tmp_path / "stage")
    with (
        mock.patch(f"{ADAPTER}.feature_store.SfFeatureStore", autospec=True, return_value=fake.store) as fs_cls,
        mock.patch(f"{ADAPTER}.registry.SfRegistry", autospec=True, return_value=fake.registry) as reg_cls,
        mock.patch(f"{ADAPTER}.tracker.ExperimentTracking", autospec=True, return_value=fake.tracking) as et_cls,
    ):
        backend = connect_snowflake(session=fake.session, warehouse="COMPUTE_WH")
        fs_cls.assert_called_once_with(
            fake.session, DATABASE, "FEATURE_STORE", "COMPUTE_WH", creation_mode=CreationMode.CREATE_IF_NOT_EXIST
        )
        reg_cls.assert_called_once_with(session=fake.session, database_name=DATABASE, schema_name="MODEL_REGISTRY")
        et_cls.assert_called_once_with(
            fake.session, database_name=DATABASE, schema_name="EXPERIMENTS", capture_source_info=False
        )
        # One OpenMP thread: the lab fits XGBoost with n_jobs=-1, which on a busy 2-core machine
        # spins for seconds per fit (measured: 17 s instead of 0.05 s for one 200-tree fit).
        with threadpool_limits(1, user_api="openmp"):
            lab = churn_workflow.run(
                backend, Options(backend="snowflake", customers=200, seed=7, out_dir=tmp_path / "out")
            )
    return fake, backend, lab, capsys.readouterr().out


def _key_calls(fake: FakeSnowflake) -> list[tuple[Any, ...]]:
    """The ML calls of the lab in order, each as (call name, key arguments)."""
    keys: list[tuple[Any, ...]] = []
    for name, args, kwargs in fake.manager.mock_calls:
        method = name.split(".")[-1]
        if name == "store.register_entity":
            keys.append((name, args[0].name.resolved()))
        elif name == "store.register_feature_view":
            keys.append((name, args[0].name.resolved(), args[1]))
        elif name == "store.generate_training_set":
            keys.append((name, tuple(str(v.version) for v in args[1])))
        elif name in ("tracking.set_experiment", "tracking.start_run"):
            keys.append((name, args[0]))
        elif name == "tracking.log_params":
            keys.append((name, "inputs" if any(k.startswith("mlops_kit.input.") for k in args[0]) else "params"))
        elif name in ("tracking.log_metrics", "tracking.log_artifact"):
            keys.append((name,))
        elif name == "tracking.end_run":
            keys.append((name, kwargs["run_name"], kwargs["status"]))
        elif name == "registry.log_model":
            keys.append((name, kwargs["version_name"]))
        elif name == "model_default" and args:  # Model.default = ... (reads have no args)
            keys.append(("Model.default=", args[0]))
        elif name.startswith("mv_") and method == "run":
            keys.append((name, kwargs["function_name"]))
    return keys


def test_lab_runs_every_step_on_the_snowflake_adapter(lab_run: tuple[FakeSnowflake, Any, Any, str]) -> None:
    fake, backend, lab, out = lab_run
    for step in range(6):
        assert f"== Step {step}:" in out and f"(step {step} took" in out
    assert "== Done in" in out and "on the snowflake backend" in out

    # The ordered ML calls: entity, v1, v2, training set, three runs, V1, V2 from its own run, default, inference.
    best = max(RUNS, key=lambda r: backend.tracker.get_run(r, EXPERIMENT).metrics["f1_score"])
    default = fake.defaults[MODEL]
    other = "V1" if default == "V2" else "V2"

    def per_run(run: str) -> list[tuple[Any, ...]]:
        return [
            ("tracking.start_run", run),
            ("tracking.log_params", "params"),
            ("tracking.log_params", "inputs"),
            ("tracking.log_metrics",),
            *[("tracking.log_artifact",)] * 4,
            ("tracking.end_run", run, "FINISHED"),
        ]

    assert _key_calls(fake) == [
        ("store.register_entity", "CUSTOMER"),
        ("store.register_feature_view", "CUSTOMER_FEATURES", "v1"),
        ("store.register_feature_view", "CUSTOMER_FEATURES", "v2"),
        ("store.generate_training_set", ("v2",)),
        ("tracking.set_experiment", EXPERIMENT),
        *per_run("BASELINE"),
        *per_run("DEEPTREE"),
        *per_run("CONSERVATIVE"),
        ("registry.log_model", "V1"),
        ("tracking.set_experiment", EXPERIMENT),
        ("tracking.start_run", V2_RUN),
        ("tracking.log_params", "params"),
        ("tracking.log_params", "inputs"),
        ("tracking.log_metrics",),
        ("tracking.end_run", V2_RUN, "FINISHED"),
        ("registry.log_model", "V2"),
        ("Model.default=", other),
        ("Model.default=", default),
        (f"mv_{default}.run", "predict_proba"),
        (f"mv_{default}.run", "predict"),
    ]

    # Key arguments, as the installed snowflake-ml takes them.
    (entity,) = [c.args[0] for c in fake.store.register_entity.call_args_list]
    assert [k.resolved() for k in entity.join_keys] == ["CUSTOMER_ID"] and entity.desc
    drafts = [c.args[0] for c in fake.store.register_feature_view.call_args_list]
    assert [c.kwargs for c in fake.store.register_feature_view.call_args_list] == [{"overwrite": False}] * 2
    assert [d.query for d in drafts] == [churn_sql.FEATURES_V1_SQL, churn_sql.FEATURES_V2_SQL]
    assert [d.desc for d in drafts] == [fake.views[("CUSTOMER_FEATURES", v)].desc for v in ("v1", "v2")]
    (generated,) = fake.store.generate_training_set.call_args_list
    assert generated.args[0].queries["queries"] == [churn_sql.SPINE_SQL]
    assert generated.args[1] == [fake.views[("CUSTOMER_FEATURES", "v2")]]
    assert generated.kwargs == {
        "save_as": TRAINING_TABLE,
        "spine_timestamp_col": None,
        "spine_label_cols": ["IS_CHURNED"],
    }
    # Steps 4 and 5 each set the experiment (either can run alone).
    assert fake.tracking.set_experiment.call_args_list == [
        mock.call(EXPERIMENT, database_name=DATABASE, schema_name="EXPERIMENTS")
    ] * 2
    params = {run: fake.experiments[f"{DATABASE}.EXPERIMENTS.{EXPERIMENT}"][run]["params"] for run in RUNS}
    for run, values in RUNS.items():
        assert {k: params[run][k] for k in values} == {k: str(v) for k, v in values.items()}
        assert json.loads(params[run]["mlops_kit.input.feature_view.CUSTOMER_FEATURES"])["version"] == "v2"
    artifacts = [c.args for c in fake.tracking.log_artifact.call_args_list]
    assert [(Path(path).name, folder) for path, folder in artifacts[:4]] == [
        ("confusion_matrix.png", "plots"), ("feature_importance.png", "plots"), ("shap_summary.png", "plots"),
        ("shap_values.csv", "shap"),
    ]  # fmt: skip
    # Step 4 re-reads the best run's SHAP values (its first download; the viewer page fetches plots after).
    assert fake.tracking.download_artifacts.call_args_list[0] == mock.call(
        best, artifact_path="shap/shap_values.csv", target_path=str(lab.options.out_dir / "downloads")
    )
    assert (lab.options.out_dir / "downloads" / "shap" / "shap_values.csv").is_file()
    logged = fake.registry.log_model.call_args_list
    features = list(churn_sql.FEATURES_V2)
    for call, version in zip(logged, ("V1", "V2"), strict=True):
        assert call.kwargs["model_name"] == MODEL and call.kwargs["version_name"] == version
        assert call.kwargs["target_platforms"] == ["WAREHOUSE"]
        assert list(call.kwargs["sample_input_data"].columns) == features
        assert call.kwargs["metrics"]["f1_score"] == pytest.approx(fake.versions[MODEL][version]["metrics"]["f1_score"])
    assert logged[0].args[0] is lab.models[best]  # V1 is the best run's model object
    assert logged[1].args[0].get_params()["max_depth"] == 6
    assert f"Best run {best}" in logged[0].kwargs["comment"]
    assert [c.kwargs for c in fake.versions[MODEL][default]["double"].run.call_args_list] == [
        {"function_name": "predict_proba"},
        {"function_name": "predict"},
    ]

    # What the lab wrote to the warehouse, in order, and what those tables hold. Step 0 loads both
    # raw tables into staging tables first, then puts them in place.
    written = [(c.kwargs["schema"], c.args[1]) for c in fake.session.write_pandas.call_args_list]
    assert written == [
        ("PREP_DATA", "CUSTOMERS__MLOPS_KIT_STAGE"),
        ("PREP_DATA", "ORDERS__MLOPS_KIT_STAGE"),
        ("FEATURE_STORE", "MODEL_PREDICTIONS_V1"),
        ("FEATURE_STORE", "EXPERIMENT_RESULTS"),
        ("MODEL_REGISTRY", "MODEL_LINEAGE"),
        ("ANALYTICS", "CHURN_RISK_CUSTOMERS"),
    ]
    assert all(
        c.kwargs["database"] == DATABASE and c.kwargs["overwrite"] for c in fake.session.write_pandas.call_args_list
    )
    assert [s for s in fake.statements if s.startswith("CREATE OR REPLACE TABLE")] == [
        f"CREATE OR REPLACE TABLE {DATABASE}.PREP_DATA.CHURN_LABELS AS {churn_sql.CHURN_LABELS_SQL}"
    ]

    def count(table: str) -> int:
        return int(fake.con.execute(f"SELECT COUNT(*) FROM {DATABASE}.{table}").fetchall()[0][0])

    assert count("PREP_DATA.CUSTOMERS") == 200
    labels = count("PREP_DATA.CHURN_LABELS")
    assert 0 < labels <= 200 and count("FEATURE_STORE.TRAINING_DATASET_V1") == labels
    training = fake.con.execute(f"SELECT * FROM {TRAINING_TABLE} LIMIT 0").df()
    assert list(training.columns) == ["CUSTOMER_ID", "IS_CHURNED", *features]
    split = lab.split()
    assert count("FEATURE_STORE.MODEL_PREDICTIONS_V1") == len(split.x_test)
    results = fake.con.execute(f"SELECT RUN_NAME, RUN_ID FROM {DATABASE}.FEATURE_STORE.EXPERIMENT_RESULTS").fetchall()
    assert sorted(results) == sorted((r, r) for r in RUNS)
    lineage = fake.con.execute(
        f"SELECT MODEL_VERSION, FEATURE_VIEW_VERSION, TRAINING_DATASET, RUN_NAME "
        f"FROM {DATABASE}.MODEL_REGISTRY.MODEL_LINEAGE ORDER BY MODEL_VERSION"
    ).fetchall()
    assert lineage == [
        ("V1", "v2", "FEATURE_STORE.TRAINING_DATASET_V1", best),
        ("V2", "v2", "FEATURE_STORE.TRAINING_DATASET_V1", V2_RUN),
    ]
    served = fake.versions[MODEL][default]["model"]
    predicted_churners = int(served.predict(split.x_test).sum())
    assert count("ANALYTICS.CHURN_RISK_CUSTOMERS") == predicted_churners > 0

    # The model from SQL, on the warehouse (MODEL!PREDICT_PROBA) agrees with the registry's run().
    assert backend.warehouse.supports_model_sql
    (model_sql,) = [s for s in fake.statements if "!PREDICT_PROBA(" in s]
    assert f"{DATABASE}.MODEL_REGISTRY.{MODEL}!PREDICT_PROBA(" in model_sql
    gap = re.search(r"SQL and registry predictions agree on ([\d,]+) test customers \(largest difference (\S+)\)", out)
    assert gap is not None and int(gap[1].replace(",", "")) == len(split.x_test)
    assert float(gap[2]) < 1e-9
