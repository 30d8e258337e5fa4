"""Promotion for real: ``mlops-kit models promote … --from local --to snowflake-emulator`` copies a
version out of a real MLflow registry into the emulated account through snowflake-ml-python, and the
copy predicts from SQL what the local version predicts from Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlops_kit
from mlops_kit.adapters.snowflake_emulator import connect_snowflake_emulator

MODEL = "CHURN_PROMOTED"


def _local_version(home: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A local lab in miniature: a training set from a feature view, a tracked run, a version with
    metrics, a comment and lineage. Returns the rows to score and the local version's probabilities."""
    rng = np.random.default_rng(7)
    rows = pd.DataFrame(
        {
            "CUSTOMER_ID": [f"C{i}" for i in range(120)],
            "TOTAL_ORDER_COUNT": rng.integers(0, 300, size=120),  # beyond int8: the signature must hold it
            "RETURN_RATE": rng.uniform(0, 1, size=120),
        }
    )
    label = (rows.RETURN_RATE + rows.TOTAL_ORDER_COUNT / 300 > 1).astype(int)
    local = mlops_kit.connect("local", home=home)
    try:
        local.warehouse.create_schemas(["PREP_DATA", "FEATURE_STORE"])
        local.warehouse.write_table("PREP_DATA.CUSTOMER_ROWS", rows.assign(CHURNED=label))
        local.feature_store.register_entity("CUSTOMER", ["CUSTOMER_ID"])
        view = local.feature_store.register_feature_view(
            "CUSTOMER_FEATURES", "v1", ["CUSTOMER"],
            "SELECT CUSTOMER_ID, TOTAL_ORDER_COUNT, RETURN_RATE FROM PREP_DATA.CUSTOMER_ROWS",
        )  # fmt: skip
        training = local.feature_store.generate_training_set(
            "SELECT CUSTOMER_ID, CHURNED FROM PREP_DATA.CUSTOMER_ROWS", [view], label_cols=["CHURNED"],
            save_as="TRAINING_SET_V1",
        )  # fmt: skip
        features = rows[["TOTAL_ORDER_COUNT", "RETURN_RATE"]]
        model = LogisticRegression(max_iter=500).fit(features, label)
        local.tracker.set_experiment("CHURN_PREDICTION_EXPERIMENT")
        with local.tracker.start_run("BASELINE"):
            local.tracker.log_params({"max_iter": 500})
            local.tracker.log_training_set(training)
        local.registry.log_model(
            MODEL, "V1", model, sample_input=features.head(10), metrics={"f1_score": 0.81},
            comment="baseline, trained locally", run=local.tracker.get_run("BASELINE"), training_set=training,
        )  # fmt: skip
        local_probabilities = local.registry.predict(MODEL, features, version="V1", function="predict_proba")[
            "output_feature_1"
        ].to_numpy()
    finally:
        local.close()
    return rows, local_probabilities


@pytest.mark.slow
def test_a_local_version_promoted_to_the_emulator_predicts_the_same_from_sql(tmp_path: Path) -> None:
    rows, local_probabilities = _local_version(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")} | {"MLOPS_KIT_HOME": str(tmp_path)}
    promoted = subprocess.run(
        [sys.executable, "-m", "mlops_kit.cli", "models", "promote", MODEL, "V1", "--to", "snowflake-emulator"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert f"promoted {MODEL} V1 from local to snowflake-emulator" in promoted.stdout

    emulated = connect_snowflake_emulator(home=tmp_path)
    try:
        version = emulated.registry.get_version(MODEL, "V1")
        assert version.comment == "baseline, trained locally"
        assert version.metrics == {"f1_score": 0.81}
        lineage = emulated.registry.get_lineage(MODEL, "V1")
        assert lineage.run is not None and lineage.run.name == "BASELINE"
        assert lineage.params == {"max_iter": "500"}
        assert lineage.training_set == "FEATURE_STORE.TRAINING_SET_V1"
        assert lineage.feature_views == (mlops_kit.FeatureViewRef("CUSTOMER_FEATURES", "v1"),)

        emulated.warehouse.create_schemas(["PREP_DATA"])
        emulated.warehouse.write_table("PREP_DATA.TO_SCORE", rows)
        scored = emulated.warehouse.query(
            f"SELECT CUSTOMER_ID, MODEL_REGISTRY.{MODEL}!PREDICT_PROBA(TOTAL_ORDER_COUNT, RETURN_RATE)"
            "['output_feature_1']::FLOAT AS P FROM PREP_DATA.TO_SCORE ORDER BY CUSTOMER_ID"
        )
    finally:
        emulated.close()
    expected = pd.Series(local_probabilities, index=rows.CUSTOMER_ID).sort_index()
    assert list(scored.CUSTOMER_ID) == list(expected.index)
    np.testing.assert_allclose(scored.P.to_numpy(), expected.to_numpy(), rtol=1e-9)
