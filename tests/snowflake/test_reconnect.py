"""Connecting to what exists sends no CREATE (Snowflake checks the CREATE privilege even for
``CREATE … IF NOT EXISTS`` of an existing object, so a role granted only what it uses could not even
connect), shown from the session's own query history (Snowpark's ``Session.query_history``); a session
the caller passes in gets its context back; a failed connect leaves no session open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from snowflake.snowpark import Session

from mlops_kit.adapters import snowflake as adapter
from mlops_kit.adapters.snowflake import connect_snowflake
from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.adapters.snowflake_emulator import Emulator
from mlops_kit.errors import BackendUnavailableError

DATABASE = "RECONNECT_DB"
#: The one CREATE the library itself sends when it opens an existing feature store: best effort, a
#: refusal ignored (snowflake/ml/feature_store/feature_store.py, 2.6.0, "connect-only mode").
LIBRARY_BEST_EFFORT = "CREATE TABLE IF NOT EXISTS"


def _everything_once(session: Session, tmp_path: Path) -> None:
    backend = connect_snowflake(session=session, database=DATABASE)
    frame = pd.DataFrame({"CUSTOMER_ID": ["C1", "C2", "C3", "C4"], "X": [1.0, 2.0, 3.0, 4.0], "Y": [0, 1, 0, 1]})
    backend.warehouse.create_schemas(["PREP_DATA"])
    backend.warehouse.write_table("PREP_DATA.CUSTOMER_ROWS", frame)
    backend.feature_store.register_entity("CUSTOMER", ["CUSTOMER_ID"])
    backend.feature_store.register_feature_view(
        "FEATS", "v1", ["CUSTOMER"], f"SELECT CUSTOMER_ID, X FROM {DATABASE}.PREP_DATA.CUSTOMER_ROWS"
    )
    backend.tracker.set_experiment("EXP")
    note = tmp_path / "note.txt"
    note.write_text("kept")
    with backend.tracker.start_run("RUN1"):
        backend.tracker.log_params({"c": 1})
        backend.tracker.log_artifact(note)
    model = LogisticRegression().fit(frame[["X"]], frame.Y)
    backend.registry.log_model("M", "V1", model, sample_input=frame[["X"]], run=backend.tracker.get_run("RUN1"))
    backend.close()


def _creates(history: Any) -> list[str]:
    return [q.sql_text for q in history.queries if q.sql_text.lstrip().upper().startswith("CREATE")]


def test_reconnecting_and_reading_send_no_create(emulator: Emulator, tmp_path: Path) -> None:
    first = emulator.session()
    _everything_once(first, tmp_path)
    first.close()

    session = emulator.session()
    with session.query_history() as history:
        backend = connect_snowflake(session=session, database=DATABASE)
        assert [m.name for m in backend.registry.list_models()] == ["M"]
        assert [v.version for v in backend.registry.list_versions("M")] == ["V1"]
        assert backend.registry.get_lineage("M", "V1").run is not None
        assert [r.name for r in backend.tracker.list_runs("EXP")] == ["RUN1"]
        assert [a.path for a in backend.tracker.list_artifacts("RUN1", experiment="EXP")] == ["note.txt"]
        downloaded = backend.tracker.download_artifacts("RUN1", "note.txt", tmp_path / "out", experiment="EXP")
        assert Path(downloaded).read_text() == "kept"
        assert backend.warehouse.list_tables("PREP_DATA") == ["CUSTOMER_ROWS"]
        connected_queries = len(history.queries)
        assert [v.name for v in backend.feature_store.list_feature_views()] == ["FEATS"]
    backend.close()
    session.close()
    assert connected_queries > 5  # the history saw the session's statements
    creates = _creates(history)
    assert all(LIBRARY_BEST_EFFORT in sql and "SNOWML_SNAPSHOT_STATUS" in sql for sql in creates), creates
    assert len(creates) <= 1


def test_a_passed_session_gets_its_context_back(emulator: Emulator) -> None:
    session = emulator.session()
    session.sql("CREATE DATABASE IF NOT EXISTS CALLERS_DB").collect()
    session.sql("CREATE SCHEMA IF NOT EXISTS CALLERS_DB.MINE").collect()
    session.sql("USE SCHEMA CALLERS_DB.MINE").collect()
    backend = connect_snowflake(session=session, database=DATABASE)
    assert backend.warehouse.query("SELECT CURRENT_SCHEMA() AS S")["S"].tolist() == ["MODEL_REGISTRY"]
    backend.close()
    assert (session.get_current_database(), session.get_current_schema()) == ('"CALLERS_DB"', '"MINE"')
    session.close()


def test_a_failed_connect_closes_the_session_it_opened(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    parameters = emulator.server.connection_parameters()
    toml = "[emulated]\n" + "".join(
        f"{key} = {parameters[key]!r}\n".replace("'", '"')
        for key in ("account", "user", "password", "host", "port", "protocol", "warehouse")
    )
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS", toml)
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "emulated")
    opened: list[Session] = []
    real_create_session = adapter.create_session

    def create_session(**options: Any) -> Session:
        opened.append(real_create_session(**options))
        return opened[-1]

    def database_exists(self: SnowflakeWarehouse) -> bool:
        raise BackendUnavailableError("the account went away")

    monkeypatch.setattr(adapter, "create_session", create_session)
    monkeypatch.setattr(SnowflakeWarehouse, "database_exists", database_exists)
    with pytest.raises(BackendUnavailableError, match="went away"):
        connect_snowflake(database=DATABASE)
    assert len(opened) == 1 and opened[0]._conn.is_closed()


def test_a_quoted_mixed_case_warehouse_reaches_the_library_as_written(emulator: Emulator) -> None:
    """``"Analytics_wh"`` is another warehouse than ANALYTICS_WH (Snowflake's identifier resolution):
    the feature store was opened with the name unquoted and upper-cased, a warehouse that is not there."""
    session = emulator.session()
    session.sql('CREATE WAREHOUSE IF NOT EXISTS "Analytics_wh"').collect()
    session.sql('USE WAREHOUSE "Analytics_wh"').collect()
    backend = connect_snowflake(session=session, database=DATABASE)
    try:
        assert backend.feature_store.list_entities() is not None
        assert str(backend.feature_store.store._default_warehouse) == '"Analytics_wh"'
    finally:
        backend.close()
        session.close()
