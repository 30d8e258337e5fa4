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

    The database and the kit's schemas are created only where they are missing: Snowflake checks
    the CREATE privilege even for ``CREATE … IF NOT EXISTS`` of an object that exists, and a role
    granted only what it uses (the lab's ``MLOPS_HOL_ROLE``, a reader) holds none.

    Args:
        connection_name: a connection in connections.toml; the default connection when None.
        session: an open Snowpark session to use instead. It is not closed by ``Backend.close``, and
            ``close`` gives it back its current database and schema (the kit works in its own).
    Raises:
        BackendUnavailableError: no connection is configured, or the login failed.
        AccessDeniedError: the database or a schema is missing and the role may not create it.
    """
    database_id = names.identifier(database, "database")
    schemas = [names.identifier(s, "schema") for s in (feature_store_schema, registry_schema, experiment_schema)]
    owned = session is None
    if session is None:
        session = create_session(connection_name=connection_name, warehouse=warehouse, role=role)
    try:
        return _backend(session, owned, database_id, schemas, warehouse)
    except BaseException:
        if owned:
            session.close()  # a failed connect leaves no session open
        raise


def _backend(session: Session, owned: bool, database: str, schemas: list[str], warehouse: str | None) -> Backend:
    given_context = (session.get_current_database(), session.get_current_schema())
    wh = SnowflakeWarehouse(session, database)
    if not wh.database_exists():
        wh.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    missing = [schema for schema in schemas if not wh.schema_exists(schema)]
    if missing:
        wh.create_schemas(missing)
    # Unqualified MODEL!PREDICT(...) in warehouse SQL resolves in the registry schema, as on the
    # local backend; kit SQL always names SCHEMA.TABLE.
    wh.execute(f"USE SCHEMA {database}.{schemas[1]}")

    def give_back() -> None:
        given_database, given_schema = given_context
        if given_database and given_schema:
            session.sql(f"USE SCHEMA {given_database}.{given_schema}").collect()
        elif given_database:
            session.sql(f"USE DATABASE {given_database}").collect()

    return Backend(
        name="snowflake",
        warehouse=wh,
        feature_store=SnowflakeFeatureStore(session, database=database, schema=schemas[0], default_warehouse=warehouse),
        tracker=SnowflakeTracker(session, database=database, schema=schemas[2]),
        registry=SnowflakeRegistry(session, database=database, schema=schemas[1]),
        raw={"session": session, "close": session.close if owned else give_back},
        locations={
            "Snowsight": f"AI & ML > Features, Experiments and Models, database {database}",
            "tables": f"Data > Databases > {database}",
        },
    )
