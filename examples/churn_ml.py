"""The churn lab's machine learning, apart from the stores: the 80/20 split, the XGBoost model,
the hyper-parameter search, the test-set metrics and SHAP values.

``churn_workflow.py`` runs these inside the lab's steps; the benchmarks (``benchmarks/plain_lab.py``)
reuse them, so the kit and the plain code compute the same things.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlops_kit import TrainingSet

#: The label column of the lab's training set, and the key the split keeps beside it.
LABEL = "IS_CHURNED"
KEY = "CUSTOMER_ID"


@dataclass
class Split:
    """The lab's 80/20 split of the training set, the same in every step that needs it."""

    training_set: TrainingSet
    features: tuple[str, ...]
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    ids_test: pd.Series


def make_split(training_set: TrainingSet, seed: int) -> Split:
    from sklearn.model_selection import train_test_split

    data = training_set.data
    assert data is not None
    data = data.sort_values(KEY).reset_index(drop=True)  # engines return rows in any order
    features = tuple(training_set.feature_columns)
    # The features keep the training set's own types (counts are integers), so the model's signature
    # accepts the feature store's rows as they are; only exact decimals (NUMBER(p, s) on Snowflake)
    # become floats, which the models take.
    x = data[list(features)].apply(lambda column: column.astype("float64") if column.dtype == object else column)
    y = data[LABEL].astype("int64")
    x_train, x_test, y_train, y_test, _, ids_test = train_test_split(
        x, y, data[KEY], test_size=0.2, random_state=seed, stratify=y
    )
    return Split(training_set, features, x_train, x_test, y_train, y_test, ids_test)


def xgb(params: dict[str, Any], seed: int, n_jobs: int = 1) -> Any:
    """The lab's XGBoost classifier. One thread by default: on a few thousand rows more threads
    gain nothing, and OpenMP threads on a busy machine spin (a 0.05 s fit took 17 s on 2 busy cores)."""
    from xgboost import XGBClassifier

    return XGBClassifier(**params, random_state=seed, n_jobs=n_jobs, eval_metric="logloss", tree_method="hist")


def evaluate(model: Any, x: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    from sklearn import metrics

    predicted = model.predict(x)
    probability = model.predict_proba(x)[:, 1]
    return {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "precision": float(metrics.precision_score(y, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, zero_division=0)),
        "f1_score": float(metrics.f1_score(y, predicted, zero_division=0)),
        "roc_auc": float(metrics.roc_auc_score(y, probability)),
        "confusion_matrix": metrics.confusion_matrix(y, predicted, labels=[0, 1]).tolist(),
    }


def search_hyperparameters(split: Split, seed: int) -> Any:
    """RandomizedSearchCV as in the lab (5 candidates x 3 folds, F1), with a progress bar."""
    import joblib
    from scipy.stats import randint, uniform
    from sklearn.metrics import f1_score
    from sklearn.model_selection import RandomizedSearchCV
    from tqdm.auto import tqdm

    space = {
        "max_depth": randint(3, 10),
        "learning_rate": uniform(0.01, 0.29),
        "n_estimators": randint(50, 300),
        "min_child_weight": randint(1, 10),
        "subsample": uniform(0.6, 0.4),
        "colsample_bytree": uniform(0.6, 0.4),
        "scale_pos_weight": uniform(1, 3),
    }
    # disable=None: a bar on a terminal only, so a log file gets no carriage-return frames
    bar = tqdm(total=15, desc="  search: 5 candidates x 3 folds", unit="fit", file=sys.stdout, disable=None)

    def f1_with_progress(estimator: Any, x: pd.DataFrame, y: pd.Series) -> float:
        score = float(f1_score(y, estimator.predict(x)))
        bar.update(1)
        return score

    search = RandomizedSearchCV(
        xgb({}, seed, n_jobs=1), space, n_iter=5, cv=3, scoring=f1_with_progress, random_state=seed, n_jobs=-1
    )
    # Threads, not processes: XGBoost releases the GIL, and the progress bar sees every fold.
    with joblib.parallel_config(backend="threading"):
        search.fit(split.x_train, split.y_train)
    bar.close()
    return search


def shap_values(model: Any, x: pd.DataFrame, seed: int) -> tuple[np.ndarray, pd.DataFrame, Any]:
    """TreeExplainer on up to 500 training rows: (values, the rows, the explainer)."""
    import shap

    sample = x.sample(n=min(500, len(x)), random_state=seed)
    explainer = shap.TreeExplainer(model)
    return explainer.shap_values(sample), sample, explainer


def dataset_info(split: Split) -> dict[str, Any]:
    return {
        "dataset_name": split.training_set.table,
        "train_size": len(split.x_train),
        "test_size": len(split.x_test),
        "feature_count": len(split.features),
        "train_churn_rate": round(float(split.y_train.mean()), 4),
        "test_churn_rate": round(float(split.y_test.mean()), 4),
    }
