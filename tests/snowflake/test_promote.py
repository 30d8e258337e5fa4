"""``mlops_kit.promote`` against autospec doubles of the Registry interface (any two backends)."""

from __future__ import annotations

from unittest import mock

import pandas as pd
import pytest

from mlops_kit.errors import InvalidInputError
from mlops_kit.promote import promote
from mlops_kit.registry import Registry
from mlops_kit.types import FeatureViewRef, Lineage, ModelVersion, Run, RunRef, RunStatus, TrainingSet

SOURCE_VERSION = ModelVersion(
    model="CUSTOMER_CHURN_PREDICTOR",
    version="V2",
    comment="retrained",
    metrics={"f1_score": 0.8},
    run=RunRef("CHURN_PREDICTION_EXPERIMENT", "BASELINE", "abc123"),
    training_set="FEATURE_STORE.TRAINING_DATASET_V1",
    feature_views=(FeatureViewRef("CUSTOMER_FEATURES", "v2"),),
    feature_names=("TOTAL_ORDER_COUNT", "RETURN_RATE"),
)


def registries() -> tuple[mock.Mock, mock.Mock]:
    source = mock.create_autospec(Registry, instance=True, spec_set=True)
    target = mock.create_autospec(Registry, instance=True, spec_set=True)
    source.get_version.return_value = SOURCE_VERSION
    source.get_lineage.return_value = Lineage(
        "CUSTOMER_CHURN_PREDICTOR",
        "V2",
        SOURCE_VERSION.run,
        SOURCE_VERSION.training_set,
        SOURCE_VERSION.feature_views,
        {"max_depth": "6"},
        {"f1_score": 0.8},
    )
    source.load_model.return_value = "fitted model"
    return source, target


def test_promote_copies_model_metrics_comment_and_lineage() -> None:
    source, target = registries()
    result = promote(source, target, "customer_churn_predictor", "v2", as_default=True)
    source.load_model.assert_called_once_with("CUSTOMER_CHURN_PREDICTOR", "V2")
    args, kwargs = target.log_model.call_args
    assert args == ("CUSTOMER_CHURN_PREDICTOR", "V2", "fitted model")
    assert list(kwargs["sample_input"].columns) == ["TOTAL_ORDER_COUNT", "RETURN_RATE"]
    assert (kwargs["metrics"], kwargs["comment"]) == ({"f1_score": 0.8}, "retrained")
    run: Run = kwargs["run"]
    assert (run.ref, run.status, run.params) == (SOURCE_VERSION.run, RunStatus.FINISHED, {"max_depth": "6"})
    ts: TrainingSet = kwargs["training_set"]
    assert (ts.table, ts.feature_views) == ("FEATURE_STORE.TRAINING_DATASET_V1", SOURCE_VERSION.feature_views)
    target.set_default.assert_called_once_with("CUSTOMER_CHURN_PREDICTOR", "V2")
    assert result is target.get_version.return_value


def test_promote_needs_feature_names_or_a_sample() -> None:
    source, target = registries()
    source.get_version.return_value = ModelVersion("M", "V1")
    with pytest.raises(InvalidInputError, match="sample_input"):
        promote(source, target, "M", "V1")
    sample = pd.DataFrame({"A": [1]})
    promote(source, target, "M", "V1", sample_input=sample)
    assert target.log_model.call_args.kwargs["sample_input"] is sample
    assert target.log_model.call_args.kwargs["run"] is None
    target.set_default.assert_not_called()
