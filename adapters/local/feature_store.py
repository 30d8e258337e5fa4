"""``LocalFeatureStore``: entities and feature view versions in the DuckDB file, joined with DuckDB SQL.

Each feature view version is a DuckDB view named as Snowflake names it (``FEATURE_STORE."NAME$v1"``),
so any DuckDB client sees it. What the store knows about entities and versions sits in two tables
of its own in the same schema (``MLOPS_KIT_ENTITIES``, ``MLOPS_KIT_FEATURE_VIEWS``), written in the
same transaction as the objects they describe. Point-in-time training sets use DuckDB's ASOF JOIN.
The rules (checks, immutability, ties, the record of saved training sets) are the core's
(``mlops_kit/feature_store.py``); this file only maps its primitives onto DuckDB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from mlops_kit import clock, names
from mlops_kit.adapters.local.errors import LocalErrorKinds
from mlops_kit.adapters.local.frames import frame, stored
from mlops_kit.adapters.local.sql import quote, to_duckdb
from mlops_kit.adapters.local.warehouse import _object_type
from mlops_kit.errors import NotFoundError
from mlops_kit.feature_store import FeatureStore, JoinPlan
from mlops_kit.types import Entity, FeatureView

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from mlops_kit.adapters.local.warehouse import LocalWarehouse

ENTITIES = "MLOPS_KIT_ENTITIES"
FEATURE_VIEWS = "MLOPS_KIT_FEATURE_VIEWS"


class LocalFeatureStore(LocalErrorKinds, FeatureStore):
    """A feature store in one schema (``FEATURE_STORE`` by default) of the local warehouse."""

    def __init__(self, warehouse: LocalWarehouse, schema: str = "FEATURE_STORE") -> None:
        self.warehouse = warehouse
        self.local = warehouse
        self.schema = names.identifier(schema, "feature store schema")
        self._ready = False

    # Entities.

    def _read_entity(self, name: str) -> Entity | None:
        with self._connection() as con:
            return self._entity_row(con, name)

    def _list_entities(self) -> list[Entity]:
        with self._connection() as con:
            rows = con.execute(f"SELECT NAME, JOIN_KEYS, DESCRIPTION FROM {self._meta(ENTITIES)}").fetchall()
        return [Entity(r[0], tuple(json.loads(r[1])), r[2]) for r in rows]

    def _create_entity(self, entity: Entity) -> None:
        with self._transaction() as con:
            con.execute(
                f"INSERT INTO {self._meta(ENTITIES)} VALUES (?, ?, ?, ?)",
                [entity.name, json.dumps(entity.join_keys), entity.description, _naive_utc_now()],
            )

    def _drop_entity(self, name: str) -> None:
        with self._transaction() as con:
            con.execute(f"DELETE FROM {self._meta(ENTITIES)} WHERE NAME = ?", [name])

    # Feature views.

    def _read_feature_view(self, name: str, version: str) -> FeatureView | None:
        with self._connection() as con:
            rows = con.execute(
                f"SELECT * FROM {self._meta(FEATURE_VIEWS)} WHERE NAME = ? AND VERSION = ?", [name, version]
            ).fetchall()
        return self._view_from_row(rows[0]) if rows else None

    def _list_feature_views(self, name: str | None) -> list[FeatureView]:
        sql, params = f"SELECT * FROM {self._meta(FEATURE_VIEWS)}", []
        if name is not None:
            sql, params = sql + " WHERE NAME = ?", [name]
        with self._connection() as con:
            return [self._view_from_row(r) for r in con.execute(sql, params).fetchall()]

    def _create_feature_view(self, draft: FeatureView, join_keys: tuple[str, ...], *, replace: bool) -> FeatureView:
        created = clock.as_utc(draft.created_at) or clock.now()
        with self._transaction() as con:
            if replace:
                con.execute(
                    f"DELETE FROM {self._meta(FEATURE_VIEWS)} WHERE NAME = ? AND VERSION = ?",
                    [draft.name, draft.version],
                )
            con.execute(f"CREATE OR REPLACE VIEW {self._object(draft)} AS {stored(con, to_duckdb(draft.query))}")
            con.execute(
                f"INSERT INTO {self._meta(FEATURE_VIEWS)} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    draft.name,
                    draft.version,
                    json.dumps(draft.entities),
                    draft.query,
                    draft.timestamp_col,
                    draft.description,
                    json.dumps(draft.columns),
                    json.dumps(draft.feature_columns),
                    created.replace(tzinfo=None),
                ],
            )
        return dataclasses.replace(draft, object_name=self._object_name(draft.name, draft.version), created_at=created)

    def _drop_feature_view(self, view: FeatureView) -> None:
        with self._transaction() as con:
            con.execute(f"DROP VIEW IF EXISTS {self._object(view)}")
            con.execute(
                f"DELETE FROM {self._meta(FEATURE_VIEWS)} WHERE NAME = ? AND VERSION = ?", [view.name, view.version]
            )

    def _read_rows(self, view: FeatureView) -> pd.DataFrame:
        with self._explaining_missing_objects([view]), self._connection() as con:
            return frame(con, f"SELECT * FROM {self._object(view)}")

    # Training sets.

    def _join(self, plan: JoinPlan) -> pd.DataFrame:
        select, joins = ["spine.*"], []
        for i, part in enumerate(plan.views):
            view, alias = part.view, f"fv{i}"
            select += [f"{alias}.{quote(c)}" for c in view.feature_columns]
            condition = " AND ".join(f"spine.{quote(k)} = {alias}.{quote(k)}" for k in part.join_keys)
            if part.point_in_time(plan.spine_timestamp_col):
                condition += (
                    f" AND spine.{quote(str(plan.spine_timestamp_col))} >= {alias}.{quote(str(view.timestamp_col))}"
                )
                joins.append(f"ASOF LEFT JOIN {self._object(view)} AS {alias} ON {condition}")
            else:
                joins.append(f"LEFT JOIN {self._object(view)} AS {alias} ON {condition}")
        sql = f"SELECT {', '.join(select)} FROM ({to_duckdb(plan.spine_query)}) AS spine " + " ".join(joins)
        # one connection for the whole call: opening one costs ~20 ms
        with self._explaining_missing_objects([p.view for p in plan.views]), self._transaction() as con:
            if plan.target is None:
                return frame(con, sql)
            table = f"{quote(plan.target.schema)}.{quote(plan.target.table)}"
            con.execute(f"CREATE {'OR REPLACE ' if plan.replace else ''}TABLE {table} AS {stored(con, sql)}")
            return frame(con, f"SELECT * FROM {table}")

    # Internals.

    def _one_connection(self) -> AbstractContextManager[object]:
        return self.local.hold()

    def _connection(self) -> Any:
        self._ensure_metadata()
        return self.local.connection()

    def _transaction(self) -> Any:
        self._ensure_metadata()
        return self.local.transaction()

    def _ensure_metadata(self) -> None:
        if self._ready:
            return
        # Reading never writes: the tables are created only where they are missing (a new database),
        # so a reader runs beside another program holding the database read-only.
        if {ENTITIES, FEATURE_VIEWS} <= set(self.local.list_tables(self.schema)):
            self._ready = True
            return
        with self.local.transaction() as con:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {self._meta(ENTITIES)} (NAME VARCHAR PRIMARY KEY, "
                "JOIN_KEYS VARCHAR NOT NULL, DESCRIPTION VARCHAR, CREATED_AT TIMESTAMP)"
            )
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {self._meta(FEATURE_VIEWS)} (NAME VARCHAR NOT NULL, "
                "VERSION VARCHAR NOT NULL, ENTITIES VARCHAR NOT NULL, QUERY VARCHAR NOT NULL, "
                "TIMESTAMP_COL VARCHAR, DESCRIPTION VARCHAR, COLUMNS VARCHAR NOT NULL, "
                "FEATURE_COLUMNS VARCHAR NOT NULL, CREATED_AT TIMESTAMP, PRIMARY KEY (NAME, VERSION))"
            )
        self._ready = True

    def _meta(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def _object_name(self, name: str, version: str) -> str:
        """The version's view as other tools name it: ``MLOPS_HOL_DB.FEATURE_STORE."NAME$v1"``."""
        return f"{self.local.database}.{self.schema}.{quote(names.feature_view_object(name, version))}"

    def _object(self, view: FeatureView) -> str:
        return f"{quote(self.schema)}.{quote(names.feature_view_object(view.name, view.version))}"

    def _entity_row(self, con: duckdb.DuckDBPyConnection, name: str) -> Entity | None:
        rows = con.execute(
            f"SELECT NAME, JOIN_KEYS, DESCRIPTION FROM {self._meta(ENTITIES)} WHERE NAME = ?", [name]
        ).fetchall()
        return Entity(rows[0][0], tuple(json.loads(rows[0][1])), rows[0][2]) if rows else None

    def _view_from_row(self, row: tuple[Any, ...]) -> FeatureView:
        name, version, entities, query, ts_col, description, columns, features, created = row
        return FeatureView(
            name=name,
            version=version,
            entities=tuple(json.loads(entities)),
            query=query,
            columns=tuple(json.loads(columns)),
            feature_columns=tuple(json.loads(features)),
            object_name=self._object_name(name, version),
            timestamp_col=ts_col,
            description=description,
            created_at=created,  # stored as naive UTC; the core makes it aware
        )

    @contextlib.contextmanager
    def _explaining_missing_objects(self, views: list[FeatureView]) -> Iterator[None]:
        """A version's view reads tables that may be dropped after it was registered: when the block fails
        on a missing object, say which version cannot be read and why (nothing is checked while all is well)."""
        import duckdb

        try:
            yield
        except duckdb.CatalogException as exc:
            with self._connection() as con:  # the failed block's transaction is gone: a fresh look
                for view in views:
                    problem = self._unreadable(con, view)
                    if problem is not None:
                        raise problem from exc
            raise

    def _unreadable(self, con: duckdb.DuckDBPyConnection, view: FeatureView) -> NotFoundError | None:
        import duckdb

        object_name = names.feature_view_object(view.name, view.version)
        if _object_type(con, self.schema, object_name) is None:
            problem = f"its view {self.schema}.{quote(object_name)} was dropped outside the kit; delete the version and register it again"
        else:
            try:  # binds the view's query without running it
                con.execute(f"DESCRIBE SELECT * FROM {self._object(view)}").fetchall()
                return None
            except duckdb.CatalogException as exc:
                problem = (
                    f"its query reads something that no longer exists ({str(exc).splitlines()[0]}); "
                    "recreate what it reads, or register a new version"
                )
        return NotFoundError(
            f"feature view {view.name}/{view.version} cannot be read: {problem}. "
            f"Its query: {' '.join(view.query.split())[:300]}"
        )


def _naive_utc_now() -> Any:
    return clock.now().replace(tzinfo=None)
