"""The emulator itself: what it refuses, the columns it answers with, the errors the adapter gets
(from the real libraries' own code paths), and the account that outlives the process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from snowflake.ml.feature_store import CreationMode, FeatureStore
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException

from mlops_kit.adapters.snowflake._errors import classify, library_code, sql_code
from mlops_kit.adapters.snowflake_emulator import connect_snowflake_emulator
from mlops_kit.connect import DEFAULT_DATABASE
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError


@pytest.mark.parametrize(
    "statement",
    [
        "SHOW RUNS IN EXPERIMENTT MLOPS_HOL_DB.PUBLIC.E",
        "ALTER MODEL MLOPS_HOL_DB.PUBLIC.M SET DEFAULT_VERSON = V1",
        "ALTER DYNAMIC TABLE MLOPS_HOL_DB.PUBLIC.D CLUSTER BY (A)",
        "SELECT * FROM TABLE(SYSTEM$GET_EXPERIMENT_RUN_METRICS('MLOPS_HOL_DB.PUBLIC.E', 'R'))",
    ],
    ids=["misspelled-show-runs", "misspelled-alter-model", "dynamic-table", "metric-history"],
)
def test_statements_the_emulator_does_not_know_are_refused_by_name(emulated_session: Session, statement: str) -> None:
    with pytest.raises(SnowparkSQLException) as refused:
        emulated_session.sql(statement).collect()
    assert refused.value.sql_error_code == 1003
    assert "does not answer" in refused.value.message
    assert " ".join(statement.split())[:40] in refused.value.message


# The documented columns (https://docs.snowflake.com/en/sql-reference/sql/show-models,
# …/show-versions-in-model, …/show-runs-in-experiment, …/show-tags, …/list).
DOCUMENTED = {
    "SHOW MODELS IN SCHEMA MLOPS_HOL_DB.PUBLIC": [
        "created_on", "name", "model_type", "database_name", "schema_name", "comment", "owner",
        "default_version_name", "versions", "aliases",
    ],
    "SHOW TAGS IN SCHEMA MLOPS_HOL_DB.PUBLIC": [
        "created_on", "name", "database_name", "schema_name", "owner", "comment", "allowed_values", "owner_role_type",
    ],
    "SHOW EXPERIMENTS IN SCHEMA MLOPS_HOL_DB.PUBLIC": [
        "created_on", "name", "database_name", "schema_name", "owner", "comment", "owner_role_type",
    ],
    "SHOW SCHEMAS IN DATABASE MLOPS_HOL_DB": [
        "created_on", "name", "is_default", "is_current", "database_name", "owner", "comment", "options",
        "retention_time", "owner_role_type", "budget",
    ],
}  # fmt: skip


@pytest.mark.parametrize("statement", sorted(DOCUMENTED))
def test_show_commands_answer_with_the_documented_columns(emulated_session: Session, statement: str) -> None:
    cursor = emulated_session._conn._conn.cursor()
    cursor.execute(statement)
    assert [column.name for column in cursor.description] == DOCUMENTED[statement]


def test_show_schemas_filters_by_like_and_scope(emulated_session: Session) -> None:
    """SHOW SCHEMAS LIKE … IN DATABASE … (fakesnow ignored LIKE, so the feature store found schemas that
    were not there; https://docs.snowflake.com/en/sql-reference/sql/show-schemas)."""
    session = emulated_session
    session.sql("CREATE SCHEMA IF NOT EXISTS MLOPS_HOL_DB.LIKE_ME_1").collect()
    session.sql("CREATE SCHEMA IF NOT EXISTS MLOPS_HOL_DB.LIKE_ME_2").collect()
    names = lambda sql: [row["name"] for row in session.sql(sql).collect()]  # noqa: E731
    assert names("SHOW SCHEMAS LIKE 'like_me_1' in DATABASE MLOPS_HOL_DB") == ["LIKE_ME_1"]
    assert names("SHOW SCHEMAS LIKE 'LIKE_ME%' IN DATABASE MLOPS_HOL_DB LIMIT 1") == ["LIKE_ME_1"]
    assert names("SHOW SCHEMAS LIKE 'NOT_THERE'") == []
    assert "INFORMATION_SCHEMA" in names("SHOW SCHEMAS IN DATABASE MLOPS_HOL_DB")
    with pytest.raises(SnowparkSQLException, match="does not exist"):
        session.sql("SHOW SCHEMAS IN DATABASE NO_SUCH_DB").collect()


def test_errors_carry_snowflake_and_library_codes(emulated_session: Session) -> None:
    """What the adapter classifies comes from the libraries' own code paths, by code, not text."""
    with pytest.raises(SnowparkSQLException) as missing_table:
        emulated_session.sql("SELECT * FROM MLOPS_HOL_DB.PUBLIC.NO_SUCH_TABLE").collect()
    assert sql_code(missing_table.value) == 2003
    assert classify(missing_table.value) is NotFoundError

    emulated_session.sql("CREATE STAGE MLOPS_HOL_DB.PUBLIC.ONCE").collect()
    with pytest.raises(SnowparkSQLException) as twice:
        emulated_session.sql("CREATE STAGE MLOPS_HOL_DB.PUBLIC.ONCE").collect()
    assert classify(twice.value) is AlreadyExistsError

    with pytest.raises(SnowparkSQLException) as syntax:
        emulated_session.sql("SELEC 1").collect()
    assert classify(syntax.value) is InvalidInputError

    store = FeatureStore(
        emulated_session, DEFAULT_DATABASE, "FS", "EMULATOR_WH", creation_mode=CreationMode.CREATE_IF_NOT_EXIST
    )
    with pytest.raises(ValueError) as missing_entity:
        store.get_entity("NOBODY")
    assert library_code(missing_entity.value) == "2101"
    assert classify(missing_entity.value) is NotFoundError


def test_temporary_stages_and_tables_end_with_their_session(emulator, emulated_session: Session) -> None:  # noqa: ANN001
    emulated_session.sql("CREATE TEMPORARY STAGE MLOPS_HOL_DB.PUBLIC.SCRATCH").collect()
    emulated_session.sql("CREATE TEMPORARY TABLE MLOPS_HOL_DB.PUBLIC.T_SCRATCH (A INT)").collect()
    emulated_session.sql("INSERT INTO MLOPS_HOL_DB.PUBLIC.T_SCRATCH VALUES (1)").collect()
    assert emulated_session.sql("SELECT A FROM MLOPS_HOL_DB.PUBLIC.T_SCRATCH").collect()[0][0] == 1
    tables = emulated_session.sql(
        "SELECT TABLE_NAME FROM MLOPS_HOL_DB.INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'T_SCRATCH'"
    ).collect()
    assert tables == []  # a temporary table is not a table of the schema for others
    emulated_session.close()
    other = emulator.session(DEFAULT_DATABASE, "PUBLIC")
    try:
        with pytest.raises(SnowparkSQLException) as gone:
            other.sql("LIST @MLOPS_HOL_DB.PUBLIC.SCRATCH").collect()
        assert gone.value.sql_error_code == 2003
        with pytest.raises(SnowparkSQLException):
            other.sql("SELECT A FROM MLOPS_HOL_DB.PUBLIC.T_SCRATCH").collect()
    finally:
        other.close()
    assert not (emulator.root / "stages" / "_temporary").exists() or not any(
        (emulator.root / "stages" / "_temporary").iterdir()
    )


def _kit(home: Path, *args: str, lock_timeout: str = "30") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPS_KIT_HOME": str(home), "MLOPS_KIT_EMULATOR_LOCK_TIMEOUT": lock_timeout}
    return subprocess.run(
        [sys.executable, "-m", "mlops_kit.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_account_outlives_the_process_and_serves_one_at_a_time(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    features = pd.DataFrame({"A": rng.normal(size=40), "B": rng.normal(size=40)})
    model = LogisticRegression().fit(features, (features["A"] > 0).astype(int))
    backend = connect_snowflake_emulator(home=tmp_path)
    try:
        backend.registry.log_model("KEPT", "v1", model, sample_input=features.head(), comment="made earlier")
        # While this process holds the account, another one is refused with a clear error.
        held = _kit(tmp_path, "models", "list", "--backend", "snowflake-emulator", lock_timeout="1")
        assert held.returncode == 1
        assert "in use by another process" in held.stderr
    finally:
        backend.close()
    listed = _kit(tmp_path, "models", "list", "KEPT", "--backend", "snowflake-emulator")
    assert listed.returncode == 0, listed.stderr
    assert "V1" in listed.stdout and "made earlier" in listed.stdout


def test_unconfirmed_conda_packages_are_said_once_per_set(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every version of the lab asks the same packages: one warning, not one per version."""
    from mlops_kit.adapters.snowflake_emulator import models
    from mlops_kit.adapters.snowflake_emulator.statements import ObjectName

    (tmp_path / "env").mkdir()
    (tmp_path / "MANIFEST.yml").write_text("runtimes:\n  cpu:\n    dependencies:\n      conda: env/conda.yml\n")
    (tmp_path / "env" / "conda.yml").write_text(
        f"dependencies:\n  - conda-forge::no-such-package-{tmp_path.name}==1.0\n"
    )
    model = ObjectName("DB", "S", "M")
    with caplog.at_level("WARNING", logger="mlops_kit.snowflake_emulator"):
        for version in ("V1", "V2"):
            models._warn_unconfirmed_dependencies(model, version, tmp_path)
    said = [r.getMessage() for r in caplog.records if "cannot confirm" in r.getMessage()]
    assert len(said) == 1 and "version V1" in said[0]


def test_a_model_records_its_libraries_at_the_versions_that_trained_it(tmp_path: Path) -> None:
    """Snowflake builds the warehouse runtime from the version's conda dependencies: an XGBoost step
    inside a scikit-learn pipeline must arrive as ``xgboost`` at the trained version (snowflake-ml's
    sklearn handler pins pipeline steps, ``model_handlers/sklearn.py``), or the warehouse cannot unpickle
    the model. With XGBoost installed as ``xgboost-cpu`` it arrived unpinned: the locks keep ``xgboost``."""
    import xgboost
    import yaml
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    features = pd.DataFrame({"A": rng.normal(size=60), "B": rng.normal(size=60)})
    model = make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=3)).fit(features, features.A > 0)
    backend = connect_snowflake_emulator(home=tmp_path)
    try:
        backend.registry.log_model("PIPED", "v1", model, sample_input=features.head())
    finally:
        backend.close()
    conda_files = [p for p in tmp_path.rglob("conda.yml") if "PIPED" in str(p).upper()]
    assert conda_files
    major, minor = xgboost.__version__.split(".")[:2]
    # pinned, or relaxed (relax_version) to the trained minor release and the later ones of its major
    trained = {f"xgboost=={xgboost.__version__}", f"xgboost<{int(major) + 1},>={major}.{minor}"}
    for conda_file in conda_files:
        dependencies = [d for d in yaml.safe_load(conda_file.read_text())["dependencies"] if isinstance(d, str)]
        assert trained & {d.split("::")[-1] for d in dependencies}, dependencies


def test_text_is_coerced_and_cast_to_variant_as_snowflake_does(emulated_session: Session) -> None:
    """Snowflake coerces a VARCHAR compared with a TIMESTAMP (a spine's timestamps written as text, in
    the feature store's ASOF JOIN), and ``'red'::VARIANT`` is the string "red", not JSON text to parse
    (Snowpark casts a categorical column so). Both failed on the emulator (Snowflake's own tests)."""
    coerced = emulated_session.sql(
        "SELECT COUNT(*) AS N FROM (SELECT '2024-01-02 00:00:00' AS TS_TEXT) WHERE TS_TEXT >= '2024-01-01'::TIMESTAMP_NTZ"
    ).collect()
    assert coerced[0]["N"] == 1
    variant = emulated_session.sql("SELECT CAST(COLOR AS VARIANT) AS V FROM (SELECT 'red' AS COLOR)").collect()
    assert variant[0]["V"] == '"red"'


def test_a_variant_cast_to_text_is_its_value(emulated_session: Session) -> None:
    """``CAST(v AS VARCHAR)`` of a VARIANT string is the string (Snowflake's data type conversion):
    a pandas categorical column is written as VARIANT and the model's SQL casts it back to text. On the
    emulator the model saw '"red"' and refused an unknown category (Snowflake's own tests)."""
    session = emulated_session
    session.sql("CREATE OR REPLACE TABLE MLOPS_HOL_DB.PUBLIC.COLOURS (C VARIANT, S VARCHAR, N INT)").collect()
    session.sql("INSERT INTO MLOPS_HOL_DB.PUBLIC.COLOURS SELECT TO_VARIANT('red'), '\"quoted\"', 3").collect()
    session.sql("INSERT INTO MLOPS_HOL_DB.PUBLIC.COLOURS SELECT NULL, NULL, NULL").collect()
    rows = session.sql(
        "SELECT CAST(C AS STRING) AS C, S::VARCHAR AS S, N::VARCHAR AS N, C AS RAW FROM MLOPS_HOL_DB.PUBLIC.COLOURS "
        "ORDER BY N NULLS LAST"
    ).collect()
    assert [tuple(row) for row in rows] == [("red", '"quoted"', "3", '"red"'), (None, None, None, None)]


def test_a_view_renamed_keeps_its_tags_and_text(emulated_session: Session) -> None:
    """ALTER VIEW … RENAME TO (https://docs.snowflake.com/en/sql-reference/sql/alter-view): the feature
    store renames a new view into place when it overwrites a dynamic table; its tags went missing."""
    session = emulated_session
    session.sql("CREATE TAG IF NOT EXISTS MLOPS_HOL_DB.PUBLIC.OWNER_TAG").collect()
    session.sql(
        "CREATE OR REPLACE VIEW MLOPS_HOL_DB.PUBLIC.V_TMP COMMENT = 'kept' TAG (MLOPS_HOL_DB.PUBLIC.OWNER_TAG = 'me') "
        "AS SELECT 1 AS A"
    ).collect()
    session.sql("ALTER VIEW IF EXISTS MLOPS_HOL_DB.PUBLIC.V_TMP RENAME TO MLOPS_HOL_DB.PUBLIC.V_FINAL").collect()
    shown = session.sql("SHOW VIEWS LIKE 'V_%' IN SCHEMA MLOPS_HOL_DB.PUBLIC").collect()
    assert [(r["name"], r["comment"]) for r in shown] == [("V_FINAL", "kept")]
    tag = session.sql("SELECT SYSTEM$GET_TAG('MLOPS_HOL_DB.PUBLIC.OWNER_TAG', 'MLOPS_HOL_DB.PUBLIC.V_FINAL', 'TABLE')")
    assert tag.collect()[0][0] == "me"
    assert session.sql("SELECT A FROM MLOPS_HOL_DB.PUBLIC.V_FINAL").collect()[0][0] == 1
    session.sql("ALTER VIEW IF EXISTS MLOPS_HOL_DB.PUBLIC.V_TMP RENAME TO MLOPS_HOL_DB.PUBLIC.V_OTHER").collect()
    with pytest.raises(SnowparkSQLException, match="does not exist"):
        session.sql("ALTER VIEW MLOPS_HOL_DB.PUBLIC.V_TMP RENAME TO MLOPS_HOL_DB.PUBLIC.V_OTHER").collect()


def test_the_account_is_private_whatever_the_umask(tmp_path: Path) -> None:
    """The account holds every customer row: its folder is 0700 and its DuckDB files 0600, as the local
    home's are, also for a database created later and one a login made (they were 0644, 0666 under
    umask 000)."""
    code = f"""
        import os
        os.umask(0)
        from mlops_kit.adapters.snowflake_emulator import start_emulator, stop_emulator
        from pathlib import Path
        emulator = start_emulator(Path({str(tmp_path)!r}) / "snowflake-emulator")
        session = emulator.session("LOGIN_DB", "PUBLIC")
        session.sql("CREATE DATABASE LATER_DB").collect()
        session.sql("CREATE TABLE LATER_DB.PUBLIC.T AS SELECT 1 AS A").collect()
        session.close()
        stop_emulator(emulator)
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "snowflake-emulator"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    files = [root / "account.duckdb", root / "account.lock", *(root / "databases").glob("*.db")]
    assert {path.stem for path in files} >= {"account", "LOGIN_DB", "LATER_DB"}
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files} == {
        path.name: oct(0o600) for path in files
    }


def test_a_model_loaded_once_per_query_predicts(emulated_session: Session) -> None:
    """A version logged with ``model_init_once`` has handlers that import ``_snowflake.udf_init_once``
    (https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-init-once); the emulator had none."""
    from sklearn.linear_model import LogisticRegression
    from snowflake.ml.registry import Registry

    rng = np.random.default_rng(5)
    features = pd.DataFrame({"A": rng.normal(size=50), "B": rng.normal(size=50)})
    model = LogisticRegression().fit(features, (features.A > 0).astype(int))
    registry = Registry(emulated_session, database_name=DEFAULT_DATABASE, schema_name="PUBLIC")
    version = registry.log_model(
        model, model_name="LOADED_ONCE", version_name="V1", sample_input_data=features.head(),
        options={"model_init_once": True},
    )  # fmt: skip
    predicted = version.run(features, function_name="predict")
    assert predicted["output_feature_0"].tolist() == model.predict(features).tolist()


def test_a_table_method_answers_each_row_and_parameters_may_be_left_out(emulated_session: Session) -> None:
    """``SELECT * FROM input, TABLE(MODEL(M, V)!EXPLAIN(…))`` as snowflake-ml sends it (and a user may):
    one row of explanations beside each input row (SHAP values: they add up to the prediction minus
    the background's mean prediction). A method's inference parameters follow its inputs; a SQL call may
    leave them out for their defaults."""
    from sklearn.linear_model import LinearRegression
    from snowflake.ml.model import model_signature
    from snowflake.ml.registry import Registry

    class ScaledRegression(LinearRegression):
        def predict(self, X, *, scale: float = 1.0):  # type: ignore[no-untyped-def, override]  # noqa: ANN001, ANN202, N803
            return super().predict(X) * scale

    rng = np.random.default_rng(11)
    features = pd.DataFrame({"A": rng.normal(size=40), "B": rng.normal(size=40)})
    model = ScaledRegression().fit(features, 3 * features.A - features.B)
    inferred = model_signature.infer_signature(features, model.predict(features))
    signature = model_signature.ModelSignature(
        inputs=inferred.inputs, outputs=inferred.outputs,
        params=[model_signature.ParamSpec(name="scale", dtype=model_signature.DataType.DOUBLE, default_value=1.0)],
    )  # fmt: skip
    registry = Registry(emulated_session, database_name=DEFAULT_DATABASE, schema_name="PUBLIC")
    version = registry.log_model(
        model, model_name="EXPLAINED", version_name="V1", sample_input_data=features,
        signatures={"predict": signature}, options={"enable_explainability": True},
    )  # fmt: skip

    rows = features.head(10)
    explained = version.run(rows, function_name="explain")
    assert len(explained) == 10 and len(explained.columns) == 2
    background_mean = model.predict(features).mean()
    np.testing.assert_allclose(explained.to_numpy(float).sum(axis=1), model.predict(rows) - background_mean, atol=1e-6)

    emulated_session.write_pandas(rows, "EXPLAIN_INPUT", auto_create_table=True, overwrite=True)
    from_sql = emulated_session.sql(
        'SELECT * FROM EXPLAIN_INPUT, TABLE(MODEL(EXPLAINED, V1)!EXPLAIN("A", "B"))'
    ).to_pandas()
    assert list(from_sql.columns[:2]) == ["A", "B"] and len(from_sql) == 10
    np.testing.assert_allclose(from_sql.iloc[:, 2:].to_numpy(float), explained.to_numpy(float), atol=1e-9)

    predicted = emulated_session.sql(
        'SELECT EXPLAINED!PREDICT("A", "B"):output_feature_0::FLOAT AS P, '
        'EXPLAINED!PREDICT("A", "B", 2.0):output_feature_0::FLOAT AS P2 FROM EXPLAIN_INPUT'
    ).to_pandas()
    np.testing.assert_allclose(predicted.P, model.predict(rows), rtol=1e-9)
    np.testing.assert_allclose(predicted.P2, model.predict(rows, scale=2.0), rtol=1e-9)
    scaled = version.run(rows, function_name="predict", params={"scale": 2.0})
    np.testing.assert_allclose(scaled.iloc[:, 0], model.predict(rows, scale=2.0), rtol=1e-9)


def test_arrays_and_objects_are_typed_as_the_query_makes_them(emulated_session: Session) -> None:
    """A column cast to ARRAY or OBJECT is an ARRAY / OBJECT in the result's metadata, not a VARIANT:
    snowflake-ml parses a model's array outputs only from a column typed ARRAY (a multi-output model's
    predictions arrived as JSON text)."""
    from snowflake.snowpark import types

    frame = emulated_session.sql(
        "SELECT CAST(PARSE_JSON('[1.0, 2.0]') AS ARRAY) AS A, PARSE_JSON('{\"k\": 1}')::OBJECT AS O, "
        "PARSE_JSON('[1]') AS V"
    )
    kinds = {field.name: type(field.datatype) for field in frame.schema.fields}
    assert kinds == {"A": types.ArrayType, "O": types.MapType, "V": types.VariantType}
    assert frame.to_pandas()["A"].map(json.loads).tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("keep", [True, False])
def test_a_real_row_is_stored_with_a_version_only_when_asked(tmp_path: Path, keep: bool) -> None:
    """snowflake-ml stores a row of the sample with every version (``capture_sample_input_data``, on by
    default) for Snowsight's snippets: a real customer row. ``input_example=False`` keeps it out."""
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"SPEND": [731.0625 + i for i in range(12)], "VISITS": list(range(12))})
    model = LogisticRegression().fit(features, [i % 2 for i in range(12)])
    backend = connect_snowflake_emulator(home=tmp_path)
    try:
        backend.registry.log_model("SAMPLED", "V1", model, sample_input=features, input_example=keep)
        assert (
            backend.registry.predict("SAMPLED", features)["output_feature_0"].tolist()
            == model.predict(features).tolist()
        )
    finally:
        backend.close()
    stored = [p for p in (tmp_path / "snowflake-emulator" / "models").rglob("*") if p.is_file()]
    assert stored
    holds_the_row = [p for p in stored if b"731.0625" in p.read_bytes()]
    assert bool(holds_the_row) is keep, holds_the_row
