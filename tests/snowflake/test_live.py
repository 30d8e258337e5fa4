"""A short end-to-end pass on a real Snowflake account; skipped (with how to enable it) otherwise.

Uses its own database (``$MLOPS_KIT_TEST_DATABASE``, default ``MLOPS_KIT_TEST_DB``) and drops what
it creates. The backend-parametrized conformance suite in tests/conformance covers the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pytest
from live_snowflake import SKIP_REASON, live_connection_configured, skipped_because

from mlops_kit.adapters.snowflake import connect_snowflake
from mlops_kit.connect import Backend

CONFIGURED, WHY = live_connection_configured()
if not CONFIGURED:
    skipped_because.append(WHY)
pytestmark = [pytest.mark.snowflake_live, pytest.mark.skipif(not CONFIGURED, reason=SKIP_REASON)]


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    connected = connect_snowflake(database=os.environ.get("MLOPS_KIT_TEST_DATABASE", "MLOPS_KIT_TEST_DB"))
    connected.warehouse.create_schemas(["PREP_DATA"])
    yield connected
    connected.warehouse.drop_schema("PREP_DATA")
    connected.close()


def test_tables_features_and_training_set(backend: Backend) -> None:
    wh, fs = backend.warehouse, backend.feature_store
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "orders": [3, 0], "is_churned": [0, 1]})
    assert wh.write_table("PREP_DATA.LIVE_T", df) == 2
    assert wh.query("SELECT COUNT(*) AS N FROM PREP_DATA.LIVE_T")["N"].tolist() == [2]
    fs.register_entity("LIVE_CUSTOMER", ["CUSTOMER_ID"], "live test")
    view = fs.register_feature_view(
        "LIVE_FEATURES", "v1", ["LIVE_CUSTOMER"], f"SELECT CUSTOMER_ID, ORDERS FROM {wh.database}.PREP_DATA.LIVE_T"
    )
    try:
        assert view.object_name.endswith('."LIVE_FEATURES$v1"')
        assert view.feature_columns == ("ORDERS",)
        ts = fs.generate_training_set(
            f"SELECT CUSTOMER_ID, IS_CHURNED FROM {wh.database}.PREP_DATA.LIVE_T",
            [view],
            label_cols=["IS_CHURNED"],
            save_as="LIVE_TRAINING_SET",
        )
        assert ts.row_count == 2
        assert fs.get_training_set("LIVE_TRAINING_SET").feature_views == (view.ref,)
        fs.delete_training_set("LIVE_TRAINING_SET")
    finally:
        fs.delete_feature_view("LIVE_FEATURES", "v1")
        fs.delete_entity("LIVE_CUSTOMER")


def test_the_whole_lab_runs_live(backend: Backend, tmp_path) -> None:  # noqa: ANN001
    """The churn lab, every step, on the real account; then its cleanup leaves none of its objects."""
    from mlops_kit.examples import churn_workflow

    lab = churn_workflow.run(backend, churn_workflow.Options(customers=300, seed=7, out_dir=tmp_path))
    try:
        assert len(lab.created) >= 8
        versions = backend.registry.list_versions(churn_workflow.MODEL)
        assert [v.version for v in versions] == ["V1", "V2"]
        assert sum(v.is_default for v in versions) == 1
        runs = {r.name for r in backend.tracker.list_runs(churn_workflow.EXPERIMENT)}
        assert runs == {*churn_workflow.RUNS, churn_workflow.V2_RUN}  # three compared, one retrains V2
        assert backend.warehouse.table_exists(churn_workflow.CHURN_RISK)
    finally:
        churn_workflow.cleanup(backend)
    assert backend.feature_store.list_feature_views(churn_workflow.FEATURE_VIEW) == []
