"""Every Snowflake adapter method against signature-true doubles of the installed classes.

Doubles are ``create_autospec(RealClass, instance=True, spec_set=True)`` (see ``conftest.autospec``),
and so are the objects they return, so a call the real snowflake-ml or Snowpark would reject with a
wrong name or signature fails here. SQL the adapters issue themselves goes through ``SqlRouter``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
import pytest
from sf_doubles import SqlRouter, autospec, frame
from snowflake.ml._internal.exceptions.exceptions import SnowflakeMLException
from snowflake.ml._internal.utils.sql_identifier import SqlIdentifier
from snowflake.ml.experiment import ExperimentTracking
from snowflake.ml.experiment._client.artifact import ArtifactInfo
from snowflake.ml.feature_store import CreationMode
from snowflake.ml.feature_store import Entity as SfEntity
from snowflake.ml.feature_store import FeatureStore as SfFeatureStore
from snowflake.ml.feature_store import FeatureView as SfFeatureView
from snowflake.ml.feature_store.feature_view import FeatureViewVersion
from snowflake.ml.model import Model as SfModel
from snowflake.ml.model import ModelVersion as SfModelVersion
from snowflake.ml.registry import Registry as SfRegistry
from snowflake.snowpark import Row, Session
from snowflake.snowpark.exceptions import SnowparkSQLException
from snowflake.snowpark.types import DoubleType, StringType, StructField, StructType

from mlops_kit.adapters.snowflake import connect_snowflake
from mlops_kit.adapters.snowflake.feature_store import SnowflakeFeatureStore
from mlops_kit.adapters.snowflake.registry import SnowflakeRegistry
from mlops_kit.adapters.snowflake.tracker import SnowflakeTracker
from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlops_kit.types import FeatureViewRef, Run, RunInput, RunRef, RunStatus, TrainingSet

FS_MODULE = "mlops_kit.adapters.snowflake.feature_store"
FEATURE_SQL = "SELECT CUSTOMER_ID, TOTAL_ORDER_COUNT, RETURN_RATE FROM MLOPS_HOL_DB.PREP_DATA.F"
NOW = datetime(2024, 7, 1, tzinfo=timezone.utc)


def not_found(message: str) -> SnowflakeMLException:
    return SnowflakeMLException(error_code="2101", original_exception=ValueError(message))


# Warehouse


def test_warehouse_query_execute_and_error_translation(session_double: Any, router: SqlRouter) -> None:
    wh = SnowflakeWarehouse(session_double, "mlops_hol_db")
    rows = pd.DataFrame({"N": [1]})
    router.on(r"^SELECT 1", lambda _s, _p: frame(pandas=rows))
    assert wh.query("SELECT 1 AS N") is rows
    wh.execute("CREATE TABLE X.Y (A INT)")
    wh.create_schemas(["prep_data"])
    assert router.calls[-2:] == [
        ("CREATE TABLE X.Y (A INT)", None),
        ("CREATE SCHEMA IF NOT EXISTS MLOPS_HOL_DB.PREP_DATA", None),
    ]

    def missing(_sql: str, _params: Any) -> Any:
        raise SnowparkSQLException("002003 (42S02): Table 'NOPE' does not exist or not authorized.")

    router.on("NOPE", missing)
    with pytest.raises(NotFoundError) as err:
        wh.query("SELECT * FROM NOPE")
    assert isinstance(err.value.__cause__, SnowparkSQLException)
    router.on("BROKEN", lambda _s, _p: (_ for _ in ()).throw(SnowparkSQLException("syntax error")))
    with pytest.raises(InvalidInputError):
        wh.execute("BROKEN")


def test_warehouse_create_table_as_counts_rows(session_double: Any, router: SqlRouter) -> None:
    wh = SnowflakeWarehouse(session_double)
    router.on(r"COUNT\(\*\)", [Row(N=3)])
    assert wh.create_table_as("analytics.t", "SELECT 1") == 3
    assert router.calls[0][0] == "CREATE OR REPLACE TABLE MLOPS_HOL_DB.ANALYTICS.T AS SELECT 1"


@pytest.mark.parametrize(("mode", "overwrite"), [("overwrite", True), ("append", False)])
def test_warehouse_write_table_calls_write_pandas(session_double: Any, router: SqlRouter, mode: str, overwrite: bool):
    wh = SnowflakeWarehouse(session_double)
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "Score": [0.1, 0.2]})
    assert wh.write_table("analytics.scores", df, mode=mode) == 2
    session_double.write_pandas.assert_called_once()
    args, kwargs = session_double.write_pandas.call_args
    assert list(args[0].columns) == ["CUSTOMER_ID", "SCORE"]
    assert args[1] == "SCORES"
    assert kwargs == {
        "database": "MLOPS_HOL_DB",
        "schema": "ANALYTICS",
        "auto_create_table": True,
        "overwrite": overwrite,
        "use_logical_type": True,
    }


def test_warehouse_write_table_refuses_existing_in_error_mode(session_double: Any, router: SqlRouter) -> None:
    wh = SnowflakeWarehouse(session_double)
    router.on("INFORMATION_SCHEMA.TABLES", [Row(TABLE_NAME="SCORES")])
    with pytest.raises(AlreadyExistsError):
        wh.write_table("ANALYTICS.SCORES", pd.DataFrame({"A": [1]}), mode="error")
    with pytest.raises(InvalidInputError):
        wh.write_table("ANALYTICS.OTHER", pd.DataFrame({"a": [1], "A": [2]}))
    session_double.write_pandas.assert_not_called()


def test_warehouse_list_and_drop(session_double: Any, router: SqlRouter) -> None:
    wh = SnowflakeWarehouse(session_double)
    router.on(r"SELECT TABLE_NAME .*TABLE_SCHEMA = 'PREP_DATA'", [Row(TABLE_NAME="CUSTOMERS"), Row(TABLE_NAME="V")])
    router.on(r"SELECT TABLE_TYPE .*TABLE_NAME = 'V'", [Row(TABLE_TYPE="VIEW")])
    router.on(r"SCHEMATA .*'PREP_DATA'", [Row(SCHEMA_NAME="PREP_DATA")])
    assert wh.list_tables("prep_data") == ["CUSTOMERS", "V"]
    assert wh.drop_table("PREP_DATA.V") is True
    assert router.calls[-1][0] == "DROP VIEW IF EXISTS MLOPS_HOL_DB.PREP_DATA.V"
    assert wh.drop_table("PREP_DATA.GONE") is False
    assert wh.drop_schema("PREP_DATA") is True
    assert router.calls[-1][0] == "DROP SCHEMA IF EXISTS MLOPS_HOL_DB.PREP_DATA CASCADE"
    assert wh.drop_schema("OTHER") is False


# Feature store


def sf_view(version: str = "v1", query: str = FEATURE_SQL, desc: str = "Customer features") -> Any:
    """A registered snowflake-ml FeatureView double, as FeatureStore.get_feature_view returns it."""
    view = autospec(SfFeatureView)
    view.name = SqlIdentifier("CUSTOMER_FEATURES")
    view.version = FeatureViewVersion(version)
    view.entities = [SfEntity("CUSTOMER", ["CUSTOMER_ID"], desc="A customer")]
    view.timestamp_col = None
    view.desc = desc
    view.query = query
    view.output_schema = StructType(
        [
            StructField("CUSTOMER_ID", StringType()),
            StructField("TOTAL_ORDER_COUNT", DoubleType()),
            StructField("RETURN_RATE", DoubleType()),
        ]
    )
    view.fully_qualified_name.return_value = f'MLOPS_HOL_DB.FEATURE_STORE."CUSTOMER_FEATURES${version}"'
    return view


@pytest.fixture
def sf_store() -> Any:
    return autospec(SfFeatureStore)


@pytest.fixture
def store(session_double: Any, sf_store: Any) -> SnowflakeFeatureStore:
    return SnowflakeFeatureStore(session_double, store=sf_store)


def test_register_entity_is_idempotent_and_refuses_changes(store: SnowflakeFeatureStore, sf_store: Any) -> None:
    sf_store.get_entity.side_effect = not_found("Entity CUSTOMER does not exist.")
    entity = store.register_entity("customer", ["customer_id"], "A customer")
    assert (entity.name, entity.join_keys, entity.description) == ("CUSTOMER", ("CUSTOMER_ID",), "A customer")
    registered = sf_store.register_entity.call_args.args[0]
    assert isinstance(registered, SfEntity)
    assert (str(registered.name), [str(k) for k in registered.join_keys], registered.desc) == (
        "CUSTOMER",
        ["CUSTOMER_ID"],
        "A customer",
    )
    sf_store.get_entity.side_effect = None
    sf_store.get_entity.return_value = SfEntity("CUSTOMER", ["CUSTOMER_ID"], desc="A customer")
    assert store.register_entity("CUSTOMER", ["CUSTOMER_ID"], "A customer") == entity
    with pytest.raises(AlreadyExistsError):
        store.register_entity("CUSTOMER", ["CUSTOMER_ID"], "Another description")
    with pytest.raises(InvalidInputError):
        store.register_entity("CUSTOMER", [])
    assert sf_store.register_entity.call_count == 1


def test_list_get_delete_entity(store: SnowflakeFeatureStore, sf_store: Any) -> None:
    sf_store.list_entities.return_value = frame([Row(NAME="CUSTOMER", JOIN_KEYS='["CUSTOMER_ID"]', DESC="d")])
    sf_store.get_entity.return_value = SfEntity("CUSTOMER", ["CUSTOMER_ID"], desc="d")
    assert [e.name for e in store.list_entities()] == ["CUSTOMER"]
    store.delete_entity("customer")
    sf_store.delete_entity.assert_called_once_with("CUSTOMER")
    sf_store.delete_entity.side_effect = SnowflakeMLException(
        error_code="2400", original_exception=ValueError("Cannot delete Entity CUSTOMER due to active FeatureViews: [F].")
    )
    with pytest.raises(InvalidInputError):
        store.delete_entity("CUSTOMER")
    sf_store.get_entity.side_effect = not_found("Entity NOPE does not exist.")
    with pytest.raises(NotFoundError):
        store.get_entity("NOPE")


def test_register_feature_view_builds_a_snowflake_feature_view(
    store: SnowflakeFeatureStore, sf_store: Any, session_double: Any, router: SqlRouter
) -> None:
    entity = SfEntity("CUSTOMER", ["CUSTOMER_ID"], desc="A customer")
    sf_store.get_entity.return_value = entity
    registered = sf_view()
    sf_store.get_feature_view.side_effect = [not_found("Failed to find FeatureView CUSTOMER_FEATURES/v1: []"), registered]
    feature_df = frame(columns=["CUSTOMER_ID", "TOTAL_ORDER_COUNT", "RETURN_RATE"])
    router.on("PREP_DATA.F", lambda _s, _p: feature_df)
    sf_store.register_feature_view.return_value = registered
    with mock.patch(f"{FS_MODULE}.SfFeatureView", autospec=True) as draft_cls:
        view = store.register_feature_view(
            "customer_features", "v1", ["customer"], FEATURE_SQL, description="Customer features"
        )
    draft_cls.assert_called_once_with(
        name="CUSTOMER_FEATURES", entities=[entity], feature_df=feature_df, timestamp_col=None, desc="Customer features"
    )
    sf_store.register_feature_view.assert_called_once_with(draft_cls.return_value, "v1", overwrite=False)
    assert view.version == "v1"
    assert view.object_name == 'MLOPS_HOL_DB.FEATURE_STORE."CUSTOMER_FEATURES$v1"'
    assert view.columns == ("CUSTOMER_ID", "TOTAL_ORDER_COUNT", "RETURN_RATE")
    assert view.feature_columns == ("TOTAL_ORDER_COUNT", "RETURN_RATE")
    assert view.entities == ("CUSTOMER",)
    assert sf_store.get_feature_view.call_args_list == [mock.call("CUSTOMER_FEATURES", "v1")] * 2


def test_register_feature_view_versions_are_immutable(store: SnowflakeFeatureStore, sf_store: Any, router: SqlRouter):
    sf_store.get_entity.return_value = SfEntity("CUSTOMER", ["CUSTOMER_ID"])
    sf_store.get_feature_view.return_value = sf_view()
    same = store.register_feature_view(
        "CUSTOMER_FEATURES", "v1", ["CUSTOMER"], f"  {FEATURE_SQL}\n", description="Customer features"
    )
    assert same.query == FEATURE_SQL
    sf_store.register_feature_view.assert_not_called()
    with pytest.raises(AlreadyExistsError):
        store.register_feature_view("CUSTOMER_FEATURES", "v1", ["CUSTOMER"], "SELECT 1", description="x")
    router.on("SELECT 1", lambda _s, _p: frame(columns=["CUSTOMER_ID", "ONE"]))
    sf_store.register_feature_view.return_value = sf_view(query="SELECT 1")
    with mock.patch(f"{FS_MODULE}.SfFeatureView", autospec=True) as draft_cls:
        store.register_feature_view("CUSTOMER_FEATURES", "v1", ["CUSTOMER"], "SELECT 1", overwrite=True)
    sf_store.register_feature_view.assert_called_once_with(draft_cls.return_value, "v1", overwrite=True)


def test_register_feature_view_checks_join_keys(store: SnowflakeFeatureStore, sf_store: Any, router: SqlRouter):
    sf_store.get_entity.return_value = SfEntity("CUSTOMER", ["CUSTOMER_ID"])
    sf_store.get_feature_view.side_effect = not_found("FeatureView not found")
    router.on("SELECT 2", lambda _s, _p: frame(columns=["OTHER_ID", "X"]))
    with pytest.raises(InvalidInputError, match="CUSTOMER_ID"):
        store.register_feature_view("F", "v1", ["CUSTOMER"], "SELECT 2")
    sf_store.register_feature_view.assert_not_called()


def test_list_read_delete_feature_views(store: SnowflakeFeatureStore, sf_store: Any) -> None:
    views = {"v1": sf_view("v1"), "v2": sf_view("v2")}
    sf_store.get_feature_view.side_effect = lambda name, version: views[version]
    sf_store.list_feature_views.return_value = frame(
        [Row(NAME="CUSTOMER_FEATURES", VERSION="v2"), Row(NAME="CUSTOMER_FEATURES", VERSION="v1")]
    )
    assert [(v.name, v.version) for v in store.list_feature_views("customer_features")] == [
        ("CUSTOMER_FEATURES", "v1"),
        ("CUSTOMER_FEATURES", "v2"),
    ]
    sf_store.list_feature_views.assert_called_with(feature_view_name="CUSTOMER_FEATURES")
    rows = pd.DataFrame({"CUSTOMER_ID": ["C1"]})
    sf_store.read_feature_view.return_value = rows
    assert store.read_feature_view("CUSTOMER_FEATURES", "v2") is rows
    sf_store.read_feature_view.assert_called_once_with(views["v2"], as_pandas=True)
    store.delete_feature_view("CUSTOMER_FEATURES", "v1")
    sf_store.delete_feature_view.assert_called_once_with(views["v1"])
    sf_store.get_feature_view.side_effect = not_found("Failed to find FeatureView CUSTOMER_FEATURES/v9: []")
    with pytest.raises(NotFoundError):
        store.delete_feature_view("CUSTOMER_FEATURES", "v9")


def test_generate_training_set_saves_and_records(
    store: SnowflakeFeatureStore, sf_store: Any, router: SqlRouter
) -> None:
    view = sf_view("v2")
    sf_store.get_feature_view.return_value = view
    spine = frame(columns=["CUSTOMER_ID", "IS_CHURNED"])
    router.on("CHURN_LABELS", lambda _s, _p: spine)
    data = pd.DataFrame({"CUSTOMER_ID": ["C1"], "IS_CHURNED": [1], "TOTAL_ORDER_COUNT": [3.0], "RETURN_RATE": [0.0]})
    sf_store.generate_training_set.return_value = frame(pandas=data)
    spine_sql = "SELECT CUSTOMER_ID, IS_CHURNED FROM MLOPS_HOL_DB.PREP_DATA.CHURN_LABELS"
    ts = store.generate_training_set(
        spine_sql, [("CUSTOMER_FEATURES", "v2")], label_cols=["IS_CHURNED"], save_as="TRAINING_DATASET_V1"
    )
    sf_store.generate_training_set.assert_called_once_with(
        spine,
        [view],
        save_as="MLOPS_HOL_DB.FEATURE_STORE.TRAINING_DATASET_V1",
        spine_timestamp_col=None,
        spine_label_cols=["IS_CHURNED"],
    )
    assert ts.table == "FEATURE_STORE.TRAINING_DATASET_V1"
    assert ts.feature_columns == ("TOTAL_ORDER_COUNT", "RETURN_RATE")
    assert ts.row_count == 1 and ts.data is data
    (insert,) = router.matching("INSERT INTO MLOPS_HOL_DB.FEATURE_STORE.MLOPS_KIT_TRAINING_SETS")
    assert insert[1][:4] == [
        "FEATURE_STORE.TRAINING_DATASET_V1",
        spine_sql,
        json.dumps([["CUSTOMER_FEATURES", "v2"]]),
        json.dumps(["IS_CHURNED"]),
    ]
    with pytest.raises(InvalidInputError, match="'X'"):
        store.generate_training_set(spine_sql, [("CUSTOMER_FEATURES", "v2")], label_cols=["X"])
    assert sf_store.generate_training_set.call_count == 1


def test_get_and_delete_training_set(
    store: SnowflakeFeatureStore, session_double: Any, router: SqlRouter
) -> None:
    record = Row(
        TABLE_NAME="FEATURE_STORE.TRAINING_DATASET_V1",
        SPINE_QUERY="SELECT 1",
        FEATURE_VIEWS='[["CUSTOMER_FEATURES", "v2"]]',
        LABEL_COLS='["IS_CHURNED"]',
        FEATURE_COLUMNS='["TOTAL_ORDER_COUNT"]',
        COLUMNS="[]",
        SPINE_TIMESTAMP_COL=None,
        ROW_COUNT=1,
        CREATED_AT=NOW,
    )
    router.on("INFORMATION_SCHEMA.TABLES", [Row(ONE=1)])
    router.on("SELECT \\* FROM MLOPS_HOL_DB.FEATURE_STORE.MLOPS_KIT_TRAINING_SETS", [record])
    data = pd.DataFrame({"CUSTOMER_ID": ["C1"], "IS_CHURNED": [1], "TOTAL_ORDER_COUNT": [3.0]})
    session_double.table.return_value = frame(pandas=data)
    ts = store.get_training_set("training_dataset_v1")
    session_double.table.assert_called_once_with("MLOPS_HOL_DB.FEATURE_STORE.TRAINING_DATASET_V1")
    assert ts.feature_views == (FeatureViewRef("CUSTOMER_FEATURES", "v2"),)
    assert ts.label_cols == ("IS_CHURNED",) and ts.created_at == NOW and ts.row_count == 1
    store.delete_training_set("FEATURE_STORE.TRAINING_DATASET_V1")
    assert router.matching("DROP TABLE IF EXISTS MLOPS_HOL_DB.FEATURE_STORE.TRAINING_DATASET_V1")
    assert router.matching("DELETE FROM MLOPS_HOL_DB.FEATURE_STORE.MLOPS_KIT_TRAINING_SETS")
    router.on("SELECT \\* FROM MLOPS_HOL_DB.FEATURE_STORE.MLOPS_KIT_TRAINING_SETS", [])
    with pytest.raises(NotFoundError):
        store.get_training_set("FEATURE_STORE.UNKNOWN")
    with pytest.raises(NotFoundError):
        store.delete_training_set("FEATURE_STORE.UNKNOWN")


# Tracker


@pytest.fixture
def tracking() -> Any:
    return autospec(ExperimentTracking)


@pytest.fixture
def tracker(session_double: Any, tracking: Any) -> SnowflakeTracker:
    return SnowflakeTracker(session_double, tracking=tracking)


EXP = "MLOPS_HOL_DB.EXPERIMENTS.CHURN_PREDICTION_EXPERIMENT"


def test_runs_log_params_metrics_inputs_and_end(
    tracker: SnowflakeTracker, tracking: Any, router: SqlRouter, tmp_path: Path
) -> None:
    tracker.set_experiment("churn_prediction_experiment")
    tracking.set_experiment.assert_called_once_with(
        "CHURN_PREDICTION_EXPERIMENT", database_name="MLOPS_HOL_DB", schema_name="EXPERIMENTS"
    )
    with tracker.start_run("baseline"):
        tracking.start_run.assert_called_once_with("BASELINE")
        tracker.log_params({"max_depth": 5})
        tracker.log_metrics({"f1_score": 0.5}, step=2)
        artifact = tmp_path / "cm.png"
        artifact.write_bytes(b"png")
        tracker.log_artifact(artifact, "plots")
        tracker.log_training_set(
            TrainingSet("SELECT 1", (FeatureViewRef("CUSTOMER_FEATURES", "v2"),), (), (), (), 0, "FEATURE_STORE.T")
        )
    tracking.log_params.assert_any_call({"max_depth": "5"})
    tracking.log_metrics.assert_called_once_with({"f1_score": 0.5}, step=2)
    tracking.log_artifact.assert_called_once_with(str(artifact), "plots")
    logged_inputs = tracking.log_params.call_args_list[-1].args[0]
    assert json.loads(logged_inputs["mlops_kit.input.training_set.FEATURE_STORE.T"])["name"] == "FEATURE_STORE.T"
    assert json.loads(logged_inputs["mlops_kit.input.feature_view.CUSTOMER_FEATURES"])["version"] == "v2"
    tracking.end_run.assert_called_once_with(run_name="BASELINE", status="FINISHED")
    assert router.matching(f"SHOW RUNS IN EXPERIMENT {EXP}")
    assert router.matching(f"SHOW RUN PARAMETERS IN EXPERIMENT {EXP} RUN BASELINE")


def test_failed_block_ends_run_failed_and_params_cannot_change(
    tracker: SnowflakeTracker, tracking: Any, router: SqlRouter
) -> None:
    tracker.set_experiment("E")
    router.on("SHOW RUN PARAMETERS", [Row(run_name="R", name="max_depth", value="5")])
    with pytest.raises(InvalidInputError, match="cannot change"), tracker.start_run("R"):
        tracker.log_param("max_depth", 6)
    tracking.end_run.assert_called_once_with(run_name="R", status="FAILED")
    with pytest.raises(InvalidInputError):
        tracker.log_metric("x", 1.0)  # no active run
    with tracker.start_run("R2"), pytest.raises(InvalidInputError):
        tracker.log_metric("f1", "high")  # type: ignore[arg-type]


def test_list_runs_reads_show_runs_params_and_metrics(tracker: SnowflakeTracker, router: SqlRouter) -> None:
    tracker.set_experiment("CHURN_PREDICTION_EXPERIMENT")
    early, late = datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 2, tzinfo=timezone.utc)
    router.on(
        "SHOW RUNS IN EXPERIMENT",
        [
            Row(created_on=late, name="DEEPTREE", metadata='{"status": "FAILED"}'),
            Row(created_on=early, name="BASELINE", metadata='{"status": "FINISHED"}'),
        ],
    )
    fv_input = json.dumps({"kind": "feature_view", "name": "CUSTOMER_FEATURES", "version": "v2"})
    router.on(
        "SHOW RUN PARAMETERS",
        [
            Row(run_name="BASELINE", name="max_depth", value="5"),
            Row(run_name="BASELINE", name="mlops_kit.input.feature_view.CUSTOMER_FEATURES", value=fv_input),
        ],
    )
    router.on(
        "SHOW RUN METRICS",
        [
            Row(run_name="BASELINE", name="f1", value="0.4", step=0),
            Row(run_name="BASELINE", name="f1", value="0.6", step=1),
        ],
    )
    runs = tracker.list_runs()
    assert [(r.name, r.status) for r in runs] == [("BASELINE", RunStatus.FINISHED), ("DEEPTREE", RunStatus.FAILED)]
    assert runs[0].params == {"max_depth": "5"}
    assert runs[0].metrics == {"f1": 0.6}
    assert runs[0].inputs == (RunInput("feature_view", "CUSTOMER_FEATURES", "v2"),)
    assert runs[0].start_time == early
    assert tracker.get_run("baseline").run_id == "BASELINE"
    with pytest.raises(NotFoundError):
        tracker.get_run("NOPE")
    router.on("SHOW RUNS IN EXPERIMENT .*MISSING", lambda _s, _p: (_ for _ in ()).throw(
        SnowparkSQLException("Experiment 'MISSING' does not exist or not authorized.")
    ))
    with pytest.raises(NotFoundError):
        tracker.list_runs("MISSING")


def test_experiments_artifacts_and_deletes(
    tracker: SnowflakeTracker, tracking: Any, router: SqlRouter, tmp_path: Path
) -> None:
    router.on("SHOW EXPERIMENTS IN SCHEMA MLOPS_HOL_DB.EXPERIMENTS", [Row(name="B_EXP"), Row(name="A_EXP")])
    router.on("SHOW RUNS IN EXPERIMENT", [Row(created_on=NOW, name="BASELINE", metadata='{"status": "FINISHED"}')])
    assert [e.name for e in tracker.list_experiments()] == ["A_EXP", "B_EXP"]
    tracker.set_experiment("A_EXP")
    tracking.list_artifacts.return_value = [
        ArtifactInfo(name="plots/cm.png", size=3, md5="x", last_modified="now"),
        ArtifactInfo(name="shap.csv", size=9, md5="y", last_modified="now"),
    ]
    assert [(a.path, a.is_dir) for a in tracker.list_artifacts("baseline")] == [
        ("plots", True),
        ("plots/cm.png", False),
        ("shap.csv", False),
    ]
    tracking.list_artifacts.assert_called_with("BASELINE", artifact_path=None)
    tracking.list_artifacts.return_value = tracking.list_artifacts.return_value[:1]
    assert [(a.path, a.size) for a in tracker.list_artifacts("baseline", "plots")] == [("plots/cm.png", 3)]
    tracking.list_artifacts.assert_called_with("BASELINE", artifact_path="plots")
    assert [a.path for a in tracker.list_artifacts("baseline", "plots/cm.png")] == ["plots/cm.png"]
    tracking.list_artifacts.return_value = [ArtifactInfo(name="shap.csv", size=9, md5="y", last_modified="now")]
    assert tracker.download_artifacts("baseline", "shap.csv", tmp_path) == tmp_path / "shap.csv"
    tracking.download_artifacts.assert_called_once_with("BASELINE", artifact_path="shap.csv", target_path=str(tmp_path))
    tracker.delete_run("BASELINE")
    tracking.delete_run.assert_called_once_with("BASELINE")
    tracker.delete_experiment("a_exp")
    tracking.delete_experiment.assert_called_once_with("A_EXP", database_name="MLOPS_HOL_DB", schema_name="EXPERIMENTS")
    with pytest.raises(NotFoundError):
        tracker.delete_experiment("C_EXP")


def test_tracker_replaces_a_singleton_made_for_another_schema(session_double: Any) -> None:
    session_double.get_current_database.return_value = "OTHER_DB"
    previous = ExperimentTracking._instance
    try:
        ExperimentTracking._instance = None
        other = ExperimentTracking(session_double, database_name="OTHER_DB", schema_name="PUBLIC")
        tracker = SnowflakeTracker(session_double, database="MLOPS_HOL_DB", schema="EXPERIMENTS")
        assert tracker.tracking is not other
        assert (str(tracker.tracking._database_name), str(tracker.tracking._schema_name)) == (
            "MLOPS_HOL_DB",
            "EXPERIMENTS",
        )
    finally:
        ExperimentTracking._instance = previous


# Registry


def versions_frame(*rows: tuple[str, bool, dict[str, Any]]) -> pd.DataFrame:
    """What Model.show_versions() returns (SHOW VERSIONS IN MODEL columns)."""
    return pd.DataFrame(
        [
            {
                "created_on": datetime(2024, 7, i + 1, tzinfo=timezone.utc),
                "name": name,
                "comment": f"comment {name}",
                "is_default_version": "true" if default else "false",
                "metadata": json.dumps({"metrics": metrics}),
            }
            for i, (name, default, metrics) in enumerate(rows)
        ]
    )


@pytest.fixture
def sf_registry() -> Any:
    return autospec(SfRegistry)


@pytest.fixture
def sf_model(sf_registry: Any) -> Any:
    model = autospec(SfModel)
    sf_registry.get_model.return_value = model
    return model


@pytest.fixture
def registry(session_double: Any, sf_registry: Any) -> SnowflakeRegistry:
    return SnowflakeRegistry(session_double, registry=sf_registry)


def test_log_model_registers_for_the_warehouse_and_records_lineage(
    registry: SnowflakeRegistry, sf_registry: Any, router: SqlRouter
) -> None:
    model = autospec(SfModel)
    logged: list[str] = []

    def get_model(name: str) -> Any:
        if not logged:
            raise ValueError(f"Unable to find model {name}")
        return model

    sf_registry.get_model.side_effect = get_model
    sf_registry.log_model.side_effect = lambda *a, **k: logged.append(k["version_name"]) or autospec(SfModelVersion)
    model.show_versions.return_value = versions_frame(("V1", True, {"f1": 0.7}))
    router.on("INFORMATION_SCHEMA.TABLES", [Row(ONE=1)])
    router.on(
        "SELECT \\* FROM MLOPS_HOL_DB.MODEL_REGISTRY.MLOPS_KIT_VERSION_LINEAGE",
        [
            Row(
                VERSION_NAME="V1",
                RUN_EXPERIMENT="E",
                RUN_NAME="BASELINE",
                RUN_ID="BASELINE",
                PARAMS='{"max_depth": "5"}',
                TRAINING_SET="FEATURE_STORE.TRAINING_DATASET_V1",
                FEATURE_VIEWS='[["CUSTOMER_FEATURES", "v2"]]',
                FEATURE_NAMES='["TOTAL_ORDER_COUNT", "RETURN_RATE"]',
            )
        ],
    )
    sample = pd.DataFrame({"TOTAL_ORDER_COUNT": [1.0], "RETURN_RATE": [0.0]})
    run = Run("E", "BASELINE", "BASELINE", RunStatus.FINISHED, params={"max_depth": "5"})
    ts = TrainingSet("SELECT 1", (FeatureViewRef("CUSTOMER_FEATURES", "v2"),), ("IS_CHURNED",), (), (), 1,
                     "FEATURE_STORE.TRAINING_DATASET_V1")
    xgb_model = object()
    mv = registry.log_model(
        "customer_churn_predictor", "v1", xgb_model, sample_input=sample, metrics={"f1": 0.7}, comment="best run",
        run=run, training_set=ts,
    )
    sf_registry.log_model.assert_called_once_with(
        xgb_model,
        model_name="CUSTOMER_CHURN_PREDICTOR",
        version_name="V1",
        comment="best run",
        metrics={"f1": 0.7},
        target_platforms=["WAREHOUSE"],
        sample_input_data=sample,
        options={"relax_version": True, "enable_explainability": False},
    )
    (insert,) = router.matching("INSERT INTO MLOPS_HOL_DB.MODEL_REGISTRY.MLOPS_KIT_VERSION_LINEAGE")
    assert insert[1][:7] == [
        "CUSTOMER_CHURN_PREDICTOR", "V1", "E", "BASELINE", "BASELINE", '{"max_depth": "5"}',
        "FEATURE_STORE.TRAINING_DATASET_V1",
    ]
    assert (mv.version, mv.is_default, mv.metrics, mv.run) == ("V1", True, {"f1": 0.7}, RunRef("E", "BASELINE", "BASELINE"))
    assert mv.feature_names == ("TOTAL_ORDER_COUNT", "RETURN_RATE")
    lineage = registry.get_lineage("CUSTOMER_CHURN_PREDICTOR", "v1")
    assert lineage.params == {"max_depth": "5"}
    assert lineage.feature_views == (FeatureViewRef("CUSTOMER_FEATURES", "v2"),)
    with pytest.raises(AlreadyExistsError):
        registry.log_model("CUSTOMER_CHURN_PREDICTOR", "V1", xgb_model, sample_input=sample)
    with pytest.raises(InvalidInputError):
        registry.log_model("CUSTOMER_CHURN_PREDICTOR", "V2", xgb_model, sample_input=sample.iloc[0:0])
    assert sf_registry.log_model.call_count == 1


def test_failed_log_model_leaves_nothing(registry: SnowflakeRegistry, sf_registry: Any, sf_model: Any) -> None:
    before, after = versions_frame(("V1", True, {})), versions_frame(("V1", True, {}), ("V2", False, {}))
    sf_model.show_versions.side_effect = [before, after, after]  # the failed call left V2 half-made
    sf_registry.log_model.side_effect = TypeError("cannot pickle the model")
    with pytest.raises(InvalidInputError, match="cannot pickle") as err:
        registry.log_model("M", "v2", object(), sample_input=pd.DataFrame({"A": [1.0]}))
    assert isinstance(err.value.__cause__, TypeError)
    sf_model.delete_version.assert_called_once_with("V2")


def test_list_models_and_versions(registry: SnowflakeRegistry, sf_registry: Any, sf_model: Any) -> None:
    sf_registry.show_models.return_value = pd.DataFrame(
        [{"name": "CUSTOMER_CHURN_PREDICTOR", "versions": '["V1","V2"]', "default_version_name": "V2", "comment": ""}]
    )
    (model,) = registry.list_models()
    assert (model.name, model.versions, model.default_version) == ("CUSTOMER_CHURN_PREDICTOR", ("V1", "V2"), "V2")
    sf_model.show_versions.return_value = versions_frame(("V1", False, {"f1": 0.7}), ("V2", True, {"f1": 0.8}))
    versions = registry.list_versions("customer_churn_predictor")
    sf_registry.get_model.assert_called_with("CUSTOMER_CHURN_PREDICTOR")
    assert [(v.version, v.is_default, v.metrics["f1"]) for v in versions] == [("V1", False, 0.7), ("V2", True, 0.8)]
    assert registry.get_default("CUSTOMER_CHURN_PREDICTOR").version == "V2"
    with pytest.raises(NotFoundError):
        registry.get_version("CUSTOMER_CHURN_PREDICTOR", "v3")
    sf_registry.get_model.side_effect = ValueError("Unable to find model NOPE")
    with pytest.raises(NotFoundError):
        registry.list_versions("NOPE")


def test_set_default_returns_the_previous(registry: SnowflakeRegistry, sf_model: Any) -> None:
    sf_model.show_versions.return_value = versions_frame(("V1", True, {}), ("V2", False, {}))
    sf_model.default = autospec(SfModelVersion, version_name="V1")
    assert registry.set_default("CUSTOMER_CHURN_PREDICTOR", "v2") == "V1"
    assert sf_model.default == "V2"
    with pytest.raises(NotFoundError):
        registry.set_default("CUSTOMER_CHURN_PREDICTOR", "v7")


def test_predict_runs_the_registered_version(registry: SnowflakeRegistry, sf_model: Any) -> None:
    mv = autospec(SfModelVersion)
    sf_model.version.return_value = mv
    df = pd.DataFrame({"TOTAL_ORDER_COUNT": [1.0, 2.0]}, index=[10, 11])
    mv.run.return_value = pd.DataFrame(
        {"TOTAL_ORDER_COUNT": [1.0, 2.0], "output_feature_1": [0.2, 0.9], "output_feature_0": [0.8, 0.1]}
    )
    out = registry.predict("customer_churn_predictor", df, version="v1", function="predict_proba")
    sf_model.version.assert_called_once_with("V1")
    mv.run.assert_called_once_with(df, function_name="predict_proba")
    assert list(out.columns) == ["output_feature_0", "output_feature_1"]
    assert list(out.index) == [10, 11]
    default = autospec(SfModelVersion)
    default.run.return_value = pd.DataFrame({"output_feature_0": [1, 0]})
    sf_model.default = default
    assert registry.predict("CUSTOMER_CHURN_PREDICTOR", df)["output_feature_0"].tolist() == [1, 0]
    default.run.side_effect = ValueError("Feature TOTAL_ORDER_COUNT does not exist in data")
    with pytest.raises(InvalidInputError):
        registry.predict("CUSTOMER_CHURN_PREDICTOR", df)
    sf_model.version.side_effect = ValueError("Unable to find version or alias with name V9")
    with pytest.raises(NotFoundError):
        registry.predict("CUSTOMER_CHURN_PREDICTOR", df, version="v9")


def test_load_model_and_set_metrics(registry: SnowflakeRegistry, sf_model: Any) -> None:
    mv = autospec(SfModelVersion)
    sf_model.version.return_value = mv
    mv.load.return_value = "the model"
    assert registry.load_model("CUSTOMER_CHURN_PREDICTOR", "v1") == "the model"
    mv.load.assert_called_once_with()
    registry.set_metrics("CUSTOMER_CHURN_PREDICTOR", "v1", {"f1": 0.8, "accuracy": 0.9})
    assert mv.set_metric.call_args_list == [mock.call("f1", 0.8), mock.call("accuracy", 0.9)]


def test_delete_version_and_model(registry: SnowflakeRegistry, sf_registry: Any, sf_model: Any) -> None:
    sf_model.show_versions.return_value = versions_frame(("V1", True, {}), ("V2", False, {}))
    with pytest.raises(InvalidInputError, match="default"):
        registry.delete_version("CUSTOMER_CHURN_PREDICTOR", "v1")
    registry.delete_version("CUSTOMER_CHURN_PREDICTOR", "v2")
    sf_model.delete_version.assert_called_once_with("V2")
    sf_model.show_versions.return_value = versions_frame(("V1", True, {}))
    registry.delete_version("CUSTOMER_CHURN_PREDICTOR", "v1")
    sf_registry.delete_model.assert_called_once_with("CUSTOMER_CHURN_PREDICTOR")
    registry.delete_model("customer_churn_predictor")
    assert sf_registry.delete_model.call_count == 2
    sf_registry.get_model.side_effect = ValueError("Unable to find model CUSTOMER_CHURN_PREDICTOR")
    with pytest.raises(NotFoundError):
        registry.delete_model("CUSTOMER_CHURN_PREDICTOR")


# connect_snowflake


def test_connect_snowflake_wires_the_four_adapters(session_double: Any, router: SqlRouter) -> None:
    session_double.get_current_warehouse.return_value = '"COMPUTE_WH"'
    with (
        mock.patch("mlops_kit.adapters.snowflake.feature_store.SfFeatureStore", autospec=True) as fs_cls,
        mock.patch("mlops_kit.adapters.snowflake.registry.SfRegistry", autospec=True) as reg_cls,
        mock.patch("mlops_kit.adapters.snowflake.tracker.ExperimentTracking", autospec=True) as et_cls,
    ):
        backend = connect_snowflake(session=session_double)
    assert backend.name == "snowflake" and backend.raw["session"] is session_double
    fs_cls.assert_called_once_with(
        session_double, "MLOPS_HOL_DB", "FEATURE_STORE", "COMPUTE_WH", creation_mode=CreationMode.CREATE_IF_NOT_EXIST
    )
    reg_cls.assert_called_once_with(session=session_double, database_name="MLOPS_HOL_DB", schema_name="MODEL_REGISTRY")
    et_cls.assert_called_once_with(
        session_double, database_name="MLOPS_HOL_DB", schema_name="EXPERIMENTS", capture_source_info=False
    )
    assert [sql for sql, _ in router.calls] == [
        "CREATE DATABASE IF NOT EXISTS MLOPS_HOL_DB",
        "CREATE SCHEMA IF NOT EXISTS MLOPS_HOL_DB.FEATURE_STORE",
        "CREATE SCHEMA IF NOT EXISTS MLOPS_HOL_DB.MODEL_REGISTRY",
        "CREATE SCHEMA IF NOT EXISTS MLOPS_HOL_DB.EXPERIMENTS",
        "USE SCHEMA MLOPS_HOL_DB.MODEL_REGISTRY",
    ]
    backend.close()
    session_double.close.assert_not_called()  # a session passed in belongs to the caller


def test_doubles_reject_calls_the_real_classes_reject(session_double: Any, sf_store: Any, sf_registry: Any) -> None:
    """The point of autospec: a call the installed library would reject fails here too."""
    with pytest.raises(TypeError):
        session_double.sql()  # query is required
    with pytest.raises(AttributeError):
        session_double.run_sql("SELECT 1")
    with pytest.raises(TypeError):
        sf_registry.log_model(object(), "CUSTOMER_CHURN_PREDICTOR")  # model_name is keyword-only
    with pytest.raises(TypeError):
        sf_store.generate_training_set(frame(), [], label_cols=["IS_CHURNED"])  # it is spine_label_cols
    with pytest.raises(TypeError):
        autospec(SfModelVersion).run(pd.DataFrame(), "predict")  # function_name is keyword-only
    assert isinstance(session_double, Session)
