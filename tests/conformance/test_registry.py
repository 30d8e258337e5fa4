"""Registry conformance: versions, the default, predictions from the stored model, lineage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from xgboost import XGBClassifier

import mlops_kit
from mlops_kit import AlreadyExistsError, InvalidInputError, NotFoundError


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"RECENCY": rng.uniform(0, 180, 300), "ORDERS": rng.integers(1, 12, 300).astype(float)})
    labels = ((features["RECENCY"] > 90) & (features["ORDERS"] < 6)).astype(int)
    return features, labels


@pytest.fixture(scope="module")
def models(data: tuple[pd.DataFrame, pd.Series]) -> tuple[XGBClassifier, LogisticRegression]:
    features, labels = data
    xgb = XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(features, labels)
    logistic = LogisticRegression(max_iter=500).fit(features, labels)
    return xgb, logistic


def test_versions_default_and_predictions(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    registry = backend.registry
    features, _ = data
    xgb, logistic = models
    name = f"churn_{unique}"
    v1 = registry.log_model(name, "v1", xgb, sample_input=features.head(), metrics={"f1": 0.8}, comment="first")
    assert (v1.model, v1.version, v1.comment, v1.is_default) == (f"CHURN_{unique}", "V1", "first", True)
    assert v1.metrics == {"f1": 0.8}
    assert v1.feature_names == ("RECENCY", "ORDERS")
    v2 = registry.log_model(name, "V2", logistic, sample_input=features.head(), comment="second")
    assert v2.is_default is False  # the first version stays the default until switched
    assert [v.version for v in registry.list_versions(name)] == ["V1", "V2"]
    assert any(m.name == f"CHURN_{unique}" and m.default_version == "V1" for m in registry.list_models())

    # predictions come from the stored models and equal the in-memory ones
    default_pred = registry.predict(name, features)
    assert list(default_pred.columns) == ["output_feature_0"]
    assert (default_pred["output_feature_0"].to_numpy() == xgb.predict(features)).all()
    proba = registry.predict(name, features, version="v2", function="predict_proba")
    assert list(proba.columns) == ["output_feature_0", "output_feature_1"]
    np.testing.assert_allclose(proba.to_numpy(), logistic.predict_proba(features), rtol=1e-6)
    np.testing.assert_allclose(registry.load_model(name, "v1").predict_proba(features), xgb.predict_proba(features))

    # switch and roll back are one call each
    assert registry.set_default(name, "v2") == "V1"
    assert registry.get_default(name).version == "V2"
    assert registry.set_default(name, "v1") == "V2"
    assert registry.get_default(name).version == "V1"


def test_metrics_can_be_added(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    registry = backend.registry
    features, _ = data
    registry.log_model(f"M_{unique}", "v1", models[0], sample_input=features.head(), metrics={"f1": 0.5})
    registry.set_metrics(f"M_{unique}", "v1", {"accuracy": 0.9, "confusion_matrix": [[1, 2], [3, 4]]})
    assert registry.get_metrics(f"M_{unique}", "V1") == {
        "f1": 0.5,
        "accuracy": 0.9,
        "confusion_matrix": [[1, 2], [3, 4]],
    }
    table = registry.compare_versions(f"M_{unique}")
    assert table.loc[0, "accuracy"] == 0.9


def test_duplicate_overwrite_and_name_errors(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    registry = backend.registry
    features, _ = data
    xgb, logistic = models
    registry.log_model(f"M_{unique}", "v1", xgb, sample_input=features.head(), comment="old")
    with pytest.raises(AlreadyExistsError, match="V1"):
        registry.log_model(f"M_{unique}", "V1", xgb, sample_input=features.head())
    replaced = registry.log_model(
        f"M_{unique}", "v1", logistic, sample_input=features.head(), comment="new", overwrite=True
    )
    assert replaced.comment == "new" and replaced.is_default
    assert [v.version for v in registry.list_versions(f"M_{unique}")] == ["V1"]
    for bad in ["1.0", "v 1", "v1;drop"]:
        with pytest.raises(InvalidInputError):
            registry.log_model(f"M_{unique}", bad, xgb, sample_input=features.head())
    with pytest.raises(InvalidInputError):
        registry.log_model(f"M_{unique}", "v9", xgb, sample_input=features.head(0))


def test_not_found_errors(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    registry = backend.registry
    features, _ = data
    with pytest.raises(NotFoundError):
        registry.list_versions(f"NOPE_{unique}")
    with pytest.raises(NotFoundError):
        registry.predict(f"NOPE_{unique}", features)
    registry.log_model(f"M_{unique}", "v1", models[0], sample_input=features.head())
    with pytest.raises(NotFoundError, match=f"M_{unique} has no version V2: it has V1$"):  # issue 23: what exists
        registry.get_version(f"M_{unique}", "v2")
    with pytest.raises(NotFoundError):
        registry.set_default(f"M_{unique}", "v2")
    with pytest.raises(InvalidInputError, match="ORDERS"):
        registry.predict(f"M_{unique}", features[["RECENCY"]])


def test_delete_version_guards_the_default(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    registry = backend.registry
    features, _ = data
    name = f"M_{unique}"
    registry.log_model(name, "v1", models[0], sample_input=features.head())
    registry.log_model(name, "v2", models[1], sample_input=features.head())
    with pytest.raises(InvalidInputError, match="default"):
        registry.delete_version(name, "v1")
    registry.delete_version(name, "v2")
    assert [v.version for v in registry.list_versions(name)] == ["V1"]
    registry.delete_model(name)
    assert all(m.name != name for m in registry.list_models())
    with pytest.raises(NotFoundError):
        registry.delete_model(name)


def test_a_delete_killed_between_the_model_and_its_records_is_finished(
    backend: mlops_kit.Backend,
    unique: str,
    data,  # noqa: ANN001
    models,  # noqa: ANN001
) -> None:
    """The model goes first, then its lineage records: a process killed between the two (issue 17, a
    kill during ``lab cleanup``) leaves records of a model that is gone, which the next delete removes."""
    registry = backend.registry
    features, _ = data
    name = f"HALF_{unique}"
    registry.log_model(name, "v1", models[0], sample_input=features.head(), metrics={"f1": 0.5})
    registry._delete_model(name)  # type: ignore[attr-defined]  # where the kill stopped it
    assert registry._records.read(name)  # type: ignore[attr-defined]
    registry.delete_model(name)  # finishes it
    assert registry._records.read(name) == {}  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError):
        registry.delete_model(name)  # nothing of it is left


def test_a_failed_registration_leaves_nothing(backend: mlops_kit.Backend, unique: str, data) -> None:  # noqa: ANN001
    features, labels = data

    class Unpicklable(LogisticRegression):
        def __reduce__(self):  # noqa: ANN204
            raise TypeError("cannot be saved")

    broken = Unpicklable().fit(features, labels)
    with pytest.raises(InvalidInputError, match="model"):
        backend.registry.log_model(f"BROKEN_{unique}", "v1", broken, sample_input=features.head())
    assert all(m.name != f"BROKEN_{unique}" for m in backend.registry.list_models())


@pytest.mark.parametrize(
    ("function", "answer", "message"),
    [
        ("predict", lambda rows: np.zeros(len(rows) - 1), r"predict returned an array of shape \(4,\) for the 5 rows"),
        ("predict", lambda rows: None, r"predict returned None for the 5 rows of sample_input"),
        ("predict", lambda rows: np.full(len(rows), np.nan), "predict returned only NaN"),
        ("predict", lambda rows: np.zeros((len(rows), 3)), r"shape \(5, 3\).*one output per row"),
        ("predict_proba", lambda rows: np.zeros(len(rows)), r"predict_proba returned an array of shape \(5,\)"),
    ],
)
def test_a_model_that_cannot_predict_is_refused(  # noqa: PLR0913
    backend: mlops_kit.Backend,
    unique: str,
    data,  # noqa: ANN001
    function: str,
    answer: object,
    message: str,
) -> None:
    """Registration runs each of the model's functions on sample_input and checks what comes back:
    one value per row (predict), one row of class probabilities per row (predict_proba), not only NaN."""
    features, labels = data
    model = LogisticRegression().fit(features, labels)
    setattr(model, function, answer)  # the instance's own function shadows the class's
    with pytest.raises(InvalidInputError, match=message):
        backend.registry.log_model(f"WRONG_{unique}", "v1", model, sample_input=features.head())
    assert all(m.name != f"WRONG_{unique}" for m in backend.registry.list_models())


def test_lineage_links_run_training_set_and_feature_views(
    backend: mlops_kit.Backend,
    unique: str,
    data,
    models,  # noqa: ANN001
) -> None:
    features, _ = data
    backend.warehouse.write_table(f"PREP_DATA.LIN_{unique}", features.assign(CUSTOMER_ID=[f"C{i}" for i in range(300)]))
    fs = backend.feature_store
    fs.register_entity(f"E_{unique}", ["CUSTOMER_ID"])
    view = fs.register_feature_view(
        f"F_{unique}", "v2", [f"E_{unique}"], f"SELECT CUSTOMER_ID, RECENCY, ORDERS FROM PREP_DATA.LIN_{unique}"
    )
    ts = fs.generate_training_set(
        f"SELECT CUSTOMER_ID, 1 AS LABEL FROM PREP_DATA.LIN_{unique}",
        [view],
        label_cols=["LABEL"],
        save_as=f"TS_{unique}",
    )
    backend.tracker.set_experiment(f"EXP_{unique}")
    with backend.tracker.start_run("baseline"):
        backend.tracker.log_params({"max_depth": 3})
        backend.tracker.log_training_set(ts)
    run = backend.tracker.get_run("baseline")
    backend.registry.log_model(
        f"M_{unique}", "v1", models[0], sample_input=features.head(), run=run, training_set=ts, metrics={"f1": 0.7}
    )
    lineage = backend.registry.get_lineage(f"M_{unique}", "v1")
    assert lineage.run is not None and lineage.run.run_id == run.run_id and lineage.run.name == "BASELINE"
    assert lineage.training_set == f"FEATURE_STORE.TS_{unique}"
    assert lineage.feature_views == (mlops_kit.FeatureViewRef(f"F_{unique}", "v2"),)
    assert lineage.params == {"max_depth": "3"}
    assert lineage.metrics == {"f1": 0.7}


def test_a_version_keeps_its_metrics_comment_and_lineage_when_its_run_is_re_tracked(
    backend: mlops_kit.Backend,
    unique: str,
    data,
    models,  # noqa: ANN001
) -> None:
    """Issue 23: the version's metrics, comment and lineage are the version's, whatever happens to its run."""
    features, _ = data
    tracker, registry = backend.tracker, backend.registry
    tracker.set_experiment(f"EXP_{unique}")
    with tracker.start_run("logreg"):
        tracker.log_params({"C": 1.0})
        tracker.log_metrics({"f1_score": 0.5})
    run = tracker.get_run("logreg")
    registry.log_model(
        f"M_{unique}", "v1", models[1], sample_input=features.head(), run=run, comment="first",
        metrics={"f1_score": 0.95, "confusion_matrix": [[1, 2], [3, 4]]},
    )  # fmt: skip
    with tracker.start_run("logreg", replace=True):
        tracker.log_metrics({"f1_score": 0.1})
    assert registry.get_metrics(f"M_{unique}", "V1") == {"f1_score": 0.95, "confusion_matrix": [[1, 2], [3, 4]]}
    assert registry.get_version(f"M_{unique}", "V1").comment == "first"
    lineage = registry.get_lineage(f"M_{unique}", "V1")
    # The lineage names the run as it was when the version was registered (its id, its params).
    assert lineage.run is not None and (lineage.run.name, lineage.run.run_id) == ("LOGREG", run.run_id)
    assert lineage.params == {"C": "1.0"}
    assert lineage.metrics == {"f1_score": 0.95, "confusion_matrix": [[1, 2], [3, 4]]}
    tracker.delete_run("logreg")
    assert registry.get_metrics(f"M_{unique}", "V1")["f1_score"] == 0.95


@pytest.fixture
def sql_backend(backend: mlops_kit.Backend) -> mlops_kit.Backend:
    """The backend, where its warehouse calls models from SQL (``M!PREDICT(…)``); skipped elsewhere."""
    if not backend.warehouse.supports_model_sql:
        pytest.skip(f"{backend.name}: models are not callable from SQL here")
    return backend


def test_models_callable_from_sql_agree_with_predict(sql_backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    backend = sql_backend
    features, _ = data
    xgb, logistic = models
    name = f"SQLM_{unique}"
    backend.registry.log_model(name, "v1", xgb, sample_input=features.head())
    backend.registry.log_model(name, "v2", logistic, sample_input=features.head())
    table = f"PREP_DATA.SQLX_{unique}"
    backend.warehouse.write_table(table, features.assign(ROW_ID=range(len(features))))
    via_sql = backend.warehouse.query(
        f"SELECT ROW_ID, {name}!PREDICT_PROBA(RECENCY, ORDERS)['output_feature_1']::FLOAT AS P, "
        f"{name}!PREDICT(RECENCY, ORDERS)['output_feature_0']::INT AS C FROM {table} ORDER BY ROW_ID"
    )
    proba = backend.registry.predict(name, features, function="predict_proba")["output_feature_1"]
    np.testing.assert_allclose(via_sql["P"].to_numpy(), proba.to_numpy(), rtol=1e-6)
    assert (via_sql["C"].to_numpy() == xgb.predict(features)).all()
    named = backend.warehouse.query(
        f"WITH M AS MODEL {name} VERSION V2 SELECT M!PREDICT_PROBA(RECENCY, ORDERS)['output_feature_1']::FLOAT AS P "
        f"FROM {table} ORDER BY ROW_ID"
    )
    np.testing.assert_allclose(named["P"].to_numpy(), logistic.predict_proba(features)[:, 1], rtol=1e-6)


def test_a_model_call_with_the_wrong_arguments_says_what_the_model_takes(
    sql_backend: mlops_kit.Backend,
    unique: str,
    data,
    models,  # noqa: ANN001
) -> None:
    """Issue 17: the message named the kit's internal function (MLOPS_MODEL_0_PREDICT, a macro)."""
    backend = sql_backend
    features, _ = data
    name = f"ARGS_{unique}"
    backend.registry.log_model(name, "v1", models[1], sample_input=features.head())
    table = f"PREP_DATA.ARGS_{unique}"
    backend.warehouse.write_table(table, features)
    with pytest.raises(InvalidInputError, match=r"Invalid argument types for function 'PREDICT': model .*ARGS_\w+ "
                       r"(version V1 )?PREDICT takes 2 arguments, its feature columns in this order: RECENCY, "
                       r"ORDERS; the call passes 1") as refused:  # fmt: skip
        backend.warehouse.query(f"SELECT {name}!PREDICT(RECENCY)['output_feature_0'] AS C FROM {table}")
    assert "MLOPS_MODEL" not in str(refused.value) and "_EMULATOR_MODEL" not in str(refused.value)


def test_rows_a_model_cannot_take_are_named(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    """Issue 17: predict on rows with NaN raised scikit-learn's raw ValueError. NULL rows reach the model,
    as a Snowflake vectorized UDF passes them: XGBoost takes missing values, LogisticRegression does not."""
    features, _ = data
    name = f"NAN_{unique}"
    xgb, logistic = models
    backend.registry.log_model(name, "v1", logistic, sample_input=features.head())
    backend.registry.log_model(name, "v2", xgb, sample_input=features.head())
    holes = features.head(8).copy()
    holes.loc[holes.index[[2, 5]], "ORDERS"] = np.nan
    with pytest.raises(InvalidInputError, match=r"NaN.*missing values in ORDERS, rows 2, 5"):
        backend.registry.predict(name, holes, version="V1")
    got = backend.registry.predict(name, holes, version="V2", function="predict_proba")["output_feature_1"]
    np.testing.assert_allclose(got.to_numpy(), xgb.predict_proba(holes)[:, 1], rtol=1e-6)
    if backend.warehouse.supports_model_sql:
        table = f"PREP_DATA.NAN_{unique}"
        backend.warehouse.write_table(table, holes.assign(ROW_ID=range(len(holes))))
        via_sql = backend.warehouse.query(
            f"WITH M AS MODEL {name} VERSION V2 SELECT M!PREDICT_PROBA(RECENCY, ORDERS)['output_feature_1']::FLOAT "
            f"AS P FROM {table} ORDER BY ROW_ID"
        )
        np.testing.assert_allclose(via_sql["P"].to_numpy(), xgb.predict_proba(holes)[:, 1], rtol=1e-6)


# Divergence 5 (issue 12): a model that cannot be registered is the same kit error on every backend,
# raised before anything is written: the versions are as they were, a failed overwrite keeps the old one.


class _NoPredict:
    """An object with no predict method."""


class _BrokenPredict(LogisticRegression):
    def predict(self, X):  # noqa: ANN001, ANN201, N803
        raise RuntimeError("predict is broken")


BAD_MODELS = {
    "no predict method": lambda features, labels: _NoPredict(),
    "unfitted": lambda features, labels: LogisticRegression(),
    "predict fails": lambda features, labels: _BrokenPredict().fit(features, labels),
}


@pytest.mark.parametrize("bad", list(BAD_MODELS))
def test_a_model_that_cannot_be_registered_changes_nothing(
    backend: mlops_kit.Backend, unique: str, data, models, bad: str
) -> None:  # noqa: ANN001, E501
    registry = backend.registry
    features, labels = data
    name = f"M_{unique}"
    registry.log_model(name, "v1", models[1], sample_input=features.head())
    model = BAD_MODELS[bad](features, labels)
    for version, overwrite in (("v2", False), ("v1", True)):
        with pytest.raises(InvalidInputError, match="model"):
            registry.log_model(name, version, model, sample_input=features.head(), overwrite=overwrite)
    assert [(v.version, v.is_default) for v in registry.list_versions(name)] == [("V1", True)]
    np.testing.assert_array_equal(registry.predict(name, features)["output_feature_0"], models[1].predict(features))


# Divergence 6 (issue 12): created_at is timezone-aware UTC on every backend.


def test_created_at_is_utc(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    features, _ = data
    before = datetime.now(timezone.utc)
    mv = backend.registry.log_model(f"M_{unique}", "v1", models[0], sample_input=features.head())
    for created in (mv.created_at, backend.registry.get_lineage(f"M_{unique}", "v1").created_at):
        assert created is not None and created.tzinfo is not None and created.utcoffset() == timedelta(0)
        assert abs(created - before) < timedelta(minutes=5)


def test_lineage_records_have_one_schema(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    """Lineage lives in the kit's record table, the same columns and types on every backend."""
    features, _ = data
    backend.registry.log_model(f"M_{unique}", "v1", models[0], sample_input=features.head())
    described = backend.warehouse.query(
        "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'MODEL_REGISTRY' "
        "AND TABLE_NAME = 'MLOPS_KIT_VERSION_LINEAGE' ORDER BY ORDINAL_POSITION"
    )
    assert list(described["COLUMN_NAME"]) == [
        "MODEL_NAME", "VERSION_NAME", "RUN_EXPERIMENT", "RUN_NAME", "RUN_ID", "PARAMS",
        "TRAINING_SET", "FEATURE_VIEWS", "FEATURE_NAMES", "CREATED_AT",
    ]  # fmt: skip
    rows = backend.warehouse.query(
        f"SELECT VERSION_NAME, FEATURE_NAMES FROM MODEL_REGISTRY.MLOPS_KIT_VERSION_LINEAGE WHERE MODEL_NAME = 'M_{unique}'"
    )
    assert rows.to_dict("records") == [{"VERSION_NAME": "V1", "FEATURE_NAMES": '["RECENCY", "ORDERS"]'}]


# Issue 10: bad input to the registry. Each case: the kit's error naming the argument, nothing written.


def _model_names(registry: mlops_kit.Registry) -> list[str]:
    return [m.name for m in registry.list_models()]


@pytest.mark.parametrize(
    ("argument", "kwargs"),
    [
        ("sample_input", {"sample_input": np.zeros((3, 2))}),
        ("sample_input", {"sample_input": None}),
        ("sample_input", {"sample_input": "RECENCY,ORDERS"}),
        ("sample_input", {"sample_input": pd.DataFrame(index=range(3))}),
        ("metrics", {"metrics": {"f1": float("nan")}}),
        ("metrics", {"metrics": {"f1": float("inf")}}),
        ("metrics", {"metrics": {"f1": True}}),
        ("metrics", {"metrics": [("f1", 0.5)]}),
        ("metrics", {"metrics": {"": 0.5}}),
        ("metrics", {"metrics": {"curve": [0.1, float("nan")]}}),
        ("comment", {"comment": 42}),
        ("overwrite", {"overwrite": "yes"}),
        ("run", {"run": "BASELINE"}),
        ("training_set", {"training_set": "FEATURE_STORE.TS"}),
    ],
)
def test_log_model_refuses_bad_arguments(
    backend: mlops_kit.Backend, unique: str, data, models, argument: str, kwargs
) -> None:  # noqa: ANN001, E501
    features, _ = data
    arguments = {"sample_input": features.head(), **kwargs}
    with pytest.raises(InvalidInputError, match=argument):
        backend.registry.log_model(f"M_{unique}", "v1", models[0], **arguments)
    assert f"M_{unique}" not in _model_names(backend.registry)


def test_a_numpy_sample_input_says_to_pass_a_dataframe(backend: mlops_kit.Backend, unique: str, models) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInputError, match=r"sample_input must be a pandas DataFrame.*columns"):
        backend.registry.log_model(f"M_{unique}", "v1", models[0], sample_input=np.zeros((3, 2)))


@pytest.mark.parametrize(
    "columns",
    [["RECENCY", "ORDERS", "EXTRA"], ["RECENCY"], ["ORDERS", "RECENCY"], ["RECENCY", "ORDERS", "ORDERS"]],
)
def test_a_sample_input_whose_columns_the_model_does_not_have_is_refused(
    backend: mlops_kit.Backend, unique: str, data, models, columns
) -> None:  # noqa: ANN001, E501
    features, _ = data
    sample = features.assign(EXTRA=1.0).head()
    sample = pd.concat([sample[c] for c in columns], axis=1)
    registry = backend.registry
    registry.log_model(f"M_{unique}", "v1", models[0], sample_input=features.head())
    with pytest.raises(InvalidInputError, match="sample_input"):
        registry.log_model(f"M_{unique}", "v2", models[0], sample_input=sample)
    assert [v.version for v in registry.list_versions(f"M_{unique}")] == ["V1"]


@pytest.mark.parametrize(
    ("argument", "model_name", "version"),
    [
        ("model_name", "churn'; DROP TABLE X; --", "v1"),
        ("model_name", 'churn"model', "v1"),
        ("model_name", "", "v1"),
        ("model_name", None, "v1"),
        ("version", "M", "1.0"),
        ("version", "M", "v 1"),
        ("version", "M", "v1;drop"),
        ("version", "M", ""),
        ("version", "M", 1),
    ],
)
def test_bad_model_and_version_names(
    backend: mlops_kit.Backend, unique: str, data, models, argument, model_name, version
) -> None:  # noqa: ANN001, E501
    features, _ = data
    before = _model_names(backend.registry)
    name = f"{model_name}_{unique}" if model_name == "M" else model_name
    with pytest.raises(InvalidInputError, match=argument):
        backend.registry.log_model(name, version, models[0], sample_input=features.head())
    assert _model_names(backend.registry) == before
    for call in (backend.registry.list_versions, backend.registry.delete_model):
        if argument == "model_name":
            with pytest.raises(InvalidInputError, match="model_name"):
                call(name)


@pytest.fixture
def registered(backend: mlops_kit.Backend, unique: str, data, models) -> str:  # noqa: ANN001
    """A model with two versions, V1 the default (XGBoost) and V2 (logistic regression)."""
    features, _ = data
    name = f"R_{unique}"
    backend.registry.log_model(name, "v1", models[0], sample_input=features.head(), metrics={"f1": 0.5})
    backend.registry.log_model(name, "v2", models[1], sample_input=features.head())
    return name


def test_bad_predict_calls(backend: mlops_kit.Backend, registered: str, data) -> None:  # noqa: ANN001
    registry = backend.registry
    features, _ = data
    with pytest.raises(InvalidInputError, match="df must be a pandas DataFrame"):
        registry.predict(registered, None)
    with pytest.raises(InvalidInputError, match="df must be a pandas DataFrame"):
        registry.predict(registered, features.to_numpy())
    with pytest.raises(InvalidInputError, match=r"df has no rows"):
        registry.predict(registered, features.head(0))
    with pytest.raises(InvalidInputError, match=r"function 'transform'.*'predict', 'predict_proba'"):
        registry.predict(registered, features, function="transform")
    with pytest.raises(InvalidInputError, match=r"df lacks.*ORDERS"):
        registry.predict(registered, features[["RECENCY"]])
    with pytest.raises(InvalidInputError, match="version"):
        registry.predict(registered, features, version="v 1")
    with pytest.raises(NotFoundError, match="V9"):
        registry.predict(registered, features, version="v9")
    # extra columns are ignored and the column order does not matter: the model's features are picked by name
    shuffled = features.assign(CUSTOMER_ID="C1")[["CUSTOMER_ID", "ORDERS", "RECENCY"]]
    pd.testing.assert_frame_equal(registry.predict(registered, shuffled), registry.predict(registered, features))


def test_bad_metrics_leave_the_metrics_as_they_were(backend: mlops_kit.Backend, registered: str) -> None:
    registry = backend.registry
    for metrics in (
        {"f1": float("inf")},
        {"f1": float("nan")},
        {"ok": 0.1, "f1": float("-inf")},
        {"f1": True},
        None,
        {},
    ):
        with pytest.raises(InvalidInputError, match="metrics"):
            registry.set_metrics(registered, "v1", metrics)
    assert registry.get_metrics(registered, "v1") == {"f1": 0.5}
    with pytest.raises(NotFoundError, match="V9"):
        registry.set_metrics(registered, "v9", {"f1": 0.1})


def test_missing_models_and_versions_are_not_found(backend: mlops_kit.Backend, registered: str, unique: str) -> None:
    registry = backend.registry
    missing_model = f"NOPE_{unique}"
    for call in (
        lambda: registry.get_version(missing_model, "v1"),
        lambda: registry.get_default(missing_model),
        lambda: registry.delete_model(missing_model),
        lambda: registry.delete_version(missing_model, "v1"),
        lambda: registry.set_default(missing_model, "v1"),
        lambda: registry.load_model(missing_model),
        lambda: registry.get_lineage(missing_model, "v1"),
        lambda: registry.compare_versions(missing_model),
    ):
        with pytest.raises(NotFoundError, match=missing_model.upper()):
            call()
    for call in (
        lambda: registry.get_version(registered, "v9"),
        lambda: registry.delete_version(registered, "v9"),
        lambda: registry.set_default(registered, "v9"),
        lambda: registry.load_model(registered, "v9"),
        lambda: registry.get_lineage(registered, "v9"),
        lambda: registry.get_metrics(registered, "v9"),
    ):
        with pytest.raises(NotFoundError, match="V9"):
            call()
    assert [(v.version, v.is_default) for v in registry.list_versions(registered)] == [("V1", True), ("V2", False)]


def test_deleting_the_last_version_deletes_the_model(backend: mlops_kit.Backend, unique: str, data, models) -> None:  # noqa: ANN001
    features, _ = data
    registry = backend.registry
    registry.log_model(f"M_{unique}", "v1", models[0], sample_input=features.head())
    registry.delete_version(f"M_{unique}", "v1")
    assert f"M_{unique}" not in _model_names(registry)
    with pytest.raises(NotFoundError):
        registry.list_versions(f"M_{unique}")


def test_a_model_takes_every_value_its_column_type_allows(sql_backend: mlops_kit.Backend, unique: str) -> None:
    """Issue 22: Snowflake's connector reads a whole-number column as the narrowest integer that holds
    the values read (int8 for order counts under 128), and a signature inferred from those rows said
    INT8: a later customer with 200 orders failed inside the model. Trained on small counts read back
    from the warehouse, the model takes 200, from Python and from SQL."""
    from sklearn.linear_model import LogisticRegression

    backend = sql_backend
    table = f"PREP_DATA.COUNTS_{unique}"
    rows = pd.DataFrame(
        {"ROW_ID": range(20), "ORDERS": [i % 7 for i in range(20)], "LABEL": [i % 2 for i in range(20)]}
    )
    backend.warehouse.write_table(table, rows)
    read = backend.warehouse.query(f"SELECT ORDERS, LABEL FROM {table} ORDER BY ROW_ID")
    model = LogisticRegression().fit(read[["ORDERS"]], read.LABEL)
    name = f"COUNTS_M_{unique}"
    backend.registry.log_model(name, "V1", model, sample_input=read[["ORDERS"]].head(10))

    later = pd.DataFrame({"ROW_ID": [100, 101], "ORDERS": [200, 40_000], "LABEL": [0, 1]})
    backend.warehouse.write_table(table, later, mode="append")
    predicted = backend.registry.predict(name, later[["ORDERS"]], function="predict_proba")["output_feature_1"]
    np.testing.assert_allclose(predicted.to_numpy(), model.predict_proba(later[["ORDERS"]])[:, 1], rtol=1e-6)
    via_sql = backend.warehouse.query(
        f"SELECT {name}!PREDICT_PROBA(ORDERS)['output_feature_1']::FLOAT AS P FROM {table} WHERE ROW_ID >= 100 "
        "ORDER BY ROW_ID"
    )
    np.testing.assert_allclose(via_sql["P"].to_numpy(), predicted.to_numpy(), rtol=1e-6)
