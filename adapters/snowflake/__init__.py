"""Snowflake backend: snowflake-ml-python FeatureStore, ExperimentTracking and Registry over Snowpark.

``connect_snowflake`` opens (or adopts) a Snowpark session, creates the database and the kit's
schemas when missing, and wires the four adapters. Only this package imports snowflake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit import names
from mlops_kit.adapters.snowflake.feature_store import SnowflakeFeatureStore
from mlops_kit.adapters.snowflake.registry import SnowflakeRegistry
from mlops_kit.adapters.snowflake.session import create_session, live_connection_configured
from mlops_kit.adapters.snowflake.tracker import SnowflakeTracker
from mlops_kit.adapters.snowflake.warehouse import SnowflakeWarehouse
from mlops_kit.connect import DEFAULT_DATABASE, Backend

if TYPE_CHECKING:
    from snowflake.snowpark import Session

__all__ = [
    "SnowflakeFeatureStore",
    "SnowflakeRegistry",
    "SnowflakeTracker",
    "SnowflakeWarehouse",
    "connect_snowflake",
    "live_connection_configured",
]


def connect_snowflake(
    *,
    connection_name: str | None = None,
    session: Session | None = None,
    database: str = DEFAULT_DATABASE,
    warehouse: str | None = None,
    role: str | None = None,
    feature_store_schema: str = "FEATURE_STORE",
    registry_schema: str = "MODEL_REGISTRY",
    experiment_schema: str = "EXPERIMENTS",
) -> Backend:
    """Connect to Snowflake and return the warehouse, feature store, tracker and registry.

    Args:
        connection_name: a connection in connections.toml; the default connection when None.
        session: an open Snowpark session to use instead (it is not closed by ``Backend.close``).
    Raises:
        BackendUnavailableError: no connection is configured, or the login failed.
    """
    database_id = names.identifier(database, "database")
    schemas = [names.identifier(s, "schema") for s in (feature_store_schema, registry_schema, experiment_schema)]
    owned = session is None
    if session is None:
        session = create_session(connection_name=connection_name, warehouse=warehouse, role=role)
    wh = SnowflakeWarehouse(session, database_id)
    wh.execute(f"CREATE DATABASE IF NOT EXISTS {database_id}")
    wh.create_schemas(schemas)
    # Unqualified MODEL!PREDICT(...) in warehouse SQL resolves in the registry schema, as on the
    # local backend; kit SQL always names SCHEMA.TABLE.
    wh.execute(f"USE SCHEMA {database_id}.{schemas[1]}")
    backend = Backend(
        name="snowflake",
        warehouse=wh,
        feature_store=SnowflakeFeatureStore(
            session, database=database_id, schema=schemas[0], default_warehouse=warehouse
        ),
        tracker=SnowflakeTracker(session, database=database_id, schema=schemas[2]),
        registry=SnowflakeRegistry(session, database=database_id, schema=schemas[1]),
        raw={"session": session, "close": session.close if owned else None},
        locations={
            "Snowsight": f"AI & ML > Features, Experiments and Models, database {database_id}",
            "tables": f"Data > Databases > {database_id}",
        },
    )
    return backend
