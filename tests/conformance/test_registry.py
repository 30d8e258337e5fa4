"""Registry conformance: versions, the default, predictions from the stored model, lineage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from xgboost import XGBClassifier

import mlops_kit
from mlops_kit import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError


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
    with pytest.raises(NotFoundError):
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


def test_a_failed_registration_leaves_nothing(backend: mlops_kit.Backend, unique: str, data) -> None:  # noqa: ANN001
    features, labels = data

    class Unpicklable(LogisticRegression):
        def __reduce__(self):  # noqa: ANN204
            raise TypeError("cannot be saved")

    broken = Unpicklable().fit(features, labels)
    with pytest.raises(MlopsKitError):
        backend.registry.log_model(f"BROKEN_{unique}", "v1", broken, sample_input=features.head())
    assert all(m.name != f"BROKEN_{unique}" for m in backend.registry.list_models())


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


def test_models_callable_from_sql_agree_with_predict(
    backend: mlops_kit.Backend,
    unique: str,
    data,
    models,  # noqa: ANN001
) -> None:
    if not backend.warehouse.supports_model_sql:
        pytest.skip(f"{backend.name}: models are not callable from SQL here")
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
