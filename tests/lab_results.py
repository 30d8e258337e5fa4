"""What a finished churn lab left in a backend, gathered the same way on every backend, so runs on
two backends over the same data can be compared: labels, feature values, training-set rows,
predictions (from the registry and from SQL), lineage rows, and what the summary said it created."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import mlops_kit
from mlops_kit.examples import churn_sql, churn_workflow
from mlops_kit.examples.churn_workflow import FEATURE_VIEW, MODEL, TRAINING_SET, Options

CUSTOMERS = 400
SEED = 7
LINEAGE_COLUMNS = ["MODEL_NAME", "MODEL_VERSION", "FEATURE_VIEW_NAME", "FEATURE_VIEW_VERSION", "TRAINING_DATASET",
                   "EXPERIMENT_NAME", "RUN_NAME", "PARAMS", "ACCURACY", "F1_SCORE"]  # fmt: skip


@dataclass
class LabResults:
    output: str
    created: list[str]
    labels: pd.DataFrame
    features: dict[str, pd.DataFrame]
    training_set: pd.DataFrame
    registry_predictions: pd.DataFrame
    sql_predictions: pd.DataFrame
    lineage: pd.DataFrame
    default_version: str


def run_lab(backend: mlops_kit.Backend, out: Path) -> tuple[churn_workflow.Lab, str]:
    """The whole lab on ``backend`` (stdout captured)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        lab = churn_workflow.run(backend, Options(customers=CUSTOMERS, seed=SEED, out_dir=out))
    return lab, printed.getvalue()


def _by_customer(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("CUSTOMER_ID").reset_index(drop=True)


def collect(backend: mlops_kit.Backend, lab: churn_workflow.Lab, output: str) -> LabResults:
    split = lab.split()
    wh, fs, registry = backend.warehouse, backend.feature_store, backend.registry
    features = ", ".join(churn_sql.FEATURES_V2)
    sql = wh.query(
        f"SELECT CUSTOMER_ID, {wh.database}.MODEL_REGISTRY.{MODEL}!PREDICT_PROBA({features})['output_feature_1']::FLOAT "
        f"AS P FROM {TRAINING_SET}"
    )
    predictions = registry.predict(MODEL, split.x_test, function="predict_proba").assign(
        CUSTOMER_ID=split.ids_test.to_numpy()
    )
    lineage = wh.read_table(churn_workflow.MODEL_LINEAGE)[LINEAGE_COLUMNS]
    return LabResults(
        output=output,
        created=list(lab.created),
        labels=_by_customer(wh.read_table(churn_sql.CHURN_LABELS)),
        features={v: _by_customer(fs.read_feature_view(FEATURE_VIEW, v)) for v in ("v1", "v2")},
        training_set=_by_customer(fs.get_training_set(TRAINING_SET).data),
        registry_predictions=_by_customer(predictions),
        sql_predictions=_by_customer(sql),
        lineage=lineage.sort_values(["MODEL_VERSION", "FEATURE_VIEW_VERSION"]).reset_index(drop=True),
        default_version=registry.get_default(MODEL).version,
    )
