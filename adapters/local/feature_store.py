"""``LocalFeatureStore``: entities, feature view versions and training sets in the DuckDB file.

Each feature view version is a DuckDB view named as Snowflake names it (``FEATURE_STORE."NAME$v1"``),
so any DuckDB client sees it. What the store knows about entities, versions and saved training sets
sits in three tables of its own in the same schema (``MLOPS_KIT_*``), written in the same
transaction as the objects they describe. Point-in-time training sets use DuckDB's ASOF JOIN.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlops_kit import names
from mlops_kit.adapters.local.errors import LocalErrorKinds
from mlops_kit.adapters.local.sql import quote, to_duckdb
from mlops_kit.adapters.local.warehouse import _object_type
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlops_kit.feature_store import FeatureStore, FeatureViewLike, as_ref
from mlops_kit.types import Entity, FeatureView, FeatureViewRef, TrainingSet

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from mlops_kit.adapters.local.warehouse import LocalWarehouse

ENTITIES = "MLOPS_KIT_ENTITIES"
FEATURE_VIEWS = "MLOPS_KIT_FEATURE_VIEWS"
TRAINING_SETS = "MLOPS_KIT_TRAINING_SETS"


class LocalFeatureStore(LocalErrorKinds, FeatureStore):
    """A feature store in one schema (``FEATURE_STORE`` by default) of the local warehouse."""

    def __init__(self, warehouse: LocalWarehouse, schema: str = "FEATURE_STORE") -> None:
        self.warehouse = warehouse
        self.schema = names.identifier(schema, "feature store schema")
        self._ready = False

    # Entities.

    def register_entity(self, name: str, join_keys: Sequence[str], description: str = "") -> Entity:
        if isinstance(join_keys, str) or not join_keys:
            raise InvalidInputError(f"entity {name}: give join keys as a non-empty list, e.g. ['CUSTOMER_ID']")
        entity = Entity(
            names.identifier(name, "entity"),
            tuple(names.identifier(k, f"join key of entity {name}") for k in join_keys),
            description,
        )
        with self._transaction() as con:
            existing = self._entity_row(con, entity.name)
            if existing is not None:
                if existing != entity:
                    raise AlreadyExistsError(
                        f"entity {entity.name} exists with join keys {list(existing.join_keys)} and description "
                        f"{existing.description!r}; delete it first to change it"
                    )
                return existing
            con.execute(
                f"INSERT INTO {self._meta(ENTITIES)} VALUES (?, ?, ?, ?)",
                [entity.name, json.dumps(entity.join_keys), entity.description, _now()],
            )
        return entity

    def list_entities(self) -> list[Entity]:
        with self._connection() as con:
            rows = con.execute(
                f"SELECT NAME, JOIN_KEYS, DESCRIPTION FROM {self._meta(ENTITIES)} ORDER BY NAME"
            ).fetchall()
        return [Entity(r[0], tuple(json.loads(r[1])), r[2]) for r in rows]

    def get_entity(self, name: str) -> Entity:
        canonical = names.identifier(name, "entity")
        with self._connection() as con:
            entity = self._entity_row(con, canonical)
        if entity is None:
            raise NotFoundError(f"entity {canonical} is not registered")
        return entity

    def delete_entity(self, name: str) -> None:
        canonical = names.identifier(name, "entity")
        with self._transaction() as con:
            if self._entity_row(con, canonical) is None:
                raise NotFoundError(f"entity {canonical} is not registered")
            users = [
                f"{r[0]}/{r[1]}"
                for r in con.execute(f"SELECT NAME, VERSION, ENTITIES FROM {self._meta(FEATURE_VIEWS)}").fetchall()
                if canonical in json.loads(r[2])
            ]
            if users:
                raise InvalidInputError(f"entity {canonical} is used by feature views {users}: delete them first")
            con.execute(f"DELETE FROM {self._meta(ENTITIES)} WHERE NAME = ?", [canonical])

    # Feature views.

    def register_feature_view(
        self,
        name: str,
        version: str,
        entities: Sequence[str],
        query: str,
        *,
        timestamp_col: str | None = None,
        description: str = "",
        overwrite: bool = False,
    ) -> FeatureView:
        fv_name = names.identifier(name, "feature view")
        fv_version = names.feature_view_version(version)
        if isinstance(entities, str) or not entities:
            raise InvalidInputError(f"feature view {fv_name}: give entities as a non-empty list, e.g. ['CUSTOMER']")
        entity_names = tuple(names.identifier(e, "entity") for e in entities)
        ts_col = names.identifier(timestamp_col, "timestamp column") if timestamp_col else None
        object_name = names.feature_view_object(fv_name, fv_version)
        duck_query = to_duckdb(query)

        with self._transaction() as con:
            join_keys: list[str] = []
            for entity_name in entity_names:
                entity = self._entity_row(con, entity_name)
                if entity is None:
                    raise NotFoundError(f"feature view {fv_name}: entity {entity_name} is not registered")
                join_keys += [k for k in entity.join_keys if k not in join_keys]
            columns = _describe(con, duck_query, f"query of feature view {fv_name}/{fv_version}")
            missing = [c for c in [*join_keys, *([ts_col] if ts_col else [])] if c not in columns]
            if missing:
                raise InvalidInputError(
                    f"feature view {fv_name}/{fv_version}: the query returns {list(columns)} "
                    f"but lacks {missing} (join keys of {list(entity_names)}"
                    + (f", timestamp column {ts_col})" if ts_col else ")")
                )
            features = tuple(c for c in columns if c not in join_keys and c != ts_col)
            wanted = FeatureView(
                name=fv_name,
                version=fv_version,
                entities=entity_names,
                query=query.strip(),
                columns=columns,
                feature_columns=features,
                object_name=f"{self.warehouse.database}.{self.schema}.{quote(object_name)}",
                timestamp_col=ts_col,
                description=description,
            )
            existing = self._view_row(con, fv_name, fv_version)
            if existing is not None:
                if _same_definition(existing, wanted) and not overwrite:
                    return existing
                if not overwrite:
                    raise AlreadyExistsError(
                        f"feature view {fv_name}/{fv_version} exists with another definition: versions are "
                        "immutable, so register a new version (or pass overwrite=True)"
                    )
                con.execute(
                    f"DELETE FROM {self._meta(FEATURE_VIEWS)} WHERE NAME = ? AND VERSION = ?", [fv_name, fv_version]
                )
            con.execute(f"CREATE OR REPLACE VIEW {quote(self.schema)}.{quote(object_name)} AS {duck_query}")
            created = _now()
            con.execute(
                f"INSERT INTO {self._meta(FEATURE_VIEWS)} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    fv_name,
                    fv_version,
                    json.dumps(entity_names),
                    wanted.query,
                    ts_col,
                    description,
                    json.dumps(columns),
                    json.dumps(features),
                    created,
                ],
            )
        return dataclasses.replace(wanted, created_at=created)

    def list_feature_views(self, name: str | None = None) -> list[FeatureView]:
        sql = f"SELECT * FROM {self._meta(FEATURE_VIEWS)}"
        params: list[Any] = []
        if name is not None:
            sql += " WHERE NAME = ?"
            params.append(names.identifier(name, "feature view"))
        with self._connection() as con:
            rows = con.execute(sql + " ORDER BY NAME, VERSION", params).fetchall()
        return [self._view_from_row(r) for r in rows]

    def get_feature_view(self, name: str, version: str) -> FeatureView:
        ref = as_ref((name, version))
        with self._connection() as con:
            view = self._view_row(con, ref.name, ref.version)
        if view is None:
            raise NotFoundError(
                f"feature view {ref.name}/{ref.version} is not registered{self._known_versions(ref.name)}"
            )
        return view

    def read_feature_view(self, name: str, version: str) -> pd.DataFrame:
        view = self.get_feature_view(name, version)
        with self._explaining_missing_objects([view]), self._connection() as con:
            return con.execute(f"SELECT * FROM {self._object(view)}").df()

    def delete_feature_view(self, name: str, version: str) -> None:
        view = self.get_feature_view(name, version)
        with self._transaction() as con:
            con.execute(f"DROP VIEW IF EXISTS {self._object(view)}")
            con.execute(
                f"DELETE FROM {self._meta(FEATURE_VIEWS)} WHERE NAME = ? AND VERSION = ?", [view.name, view.version]
            )

    # Training sets.

    def generate_training_set(
        self,
        spine_query: str,
        feature_views: Sequence[FeatureViewLike],
        *,
        label_cols: Sequence[str] = (),
        spine_timestamp_col: str | None = None,
        save_as: str | None = None,
    ) -> TrainingSet:
        if not feature_views:
            raise InvalidInputError("generate_training_set needs at least one feature view version")
        refs = [as_ref(v) for v in feature_views]
        labels = tuple(names.identifier(c, "label column") for c in label_cols)
        spine_ts = names.identifier(spine_timestamp_col, "spine timestamp column") if spine_timestamp_col else None
        target = names.table_name(save_as, default_schema=self.schema) if save_as else None
        duck_spine = to_duckdb(spine_query)

        views: list[FeatureView] = []
        # one connection for the whole call: opening one costs ~20 ms
        with self._explaining_missing_objects(views), self._transaction() as con:
            for ref in refs:
                view = self._view_row(con, ref.name, ref.version)
                if view is None:
                    raise NotFoundError(f"feature view {ref.name}/{ref.version} is not registered")
                views.append(view)
            spine_cols = _describe(con, duck_spine, "spine query")
            missing = [c for c in [*labels, *([spine_ts] if spine_ts else [])] if c not in spine_cols]
            if missing:
                raise InvalidInputError(f"spine query returns {list(spine_cols)} but lacks {missing}")
            select, joins, seen = ["spine.*"], [], set(spine_cols)
            feature_cols: list[str] = []
            for i, view in enumerate(views):
                keys = self._join_keys(con, view)
                lacking = [k for k in keys if k not in spine_cols]
                if lacking:
                    raise InvalidInputError(
                        f"spine query lacks join key(s) {lacking} of feature view {view.name}/{view.version}"
                    )
                clash = [c for c in view.feature_columns if c in seen]
                if clash:
                    raise InvalidInputError(
                        f"feature view {view.name}/{view.version} brings columns {clash} that the spine or an "
                        "earlier feature view already has: rename them in one of the queries"
                    )
                seen.update(view.feature_columns)
                feature_cols += view.feature_columns
                alias = f"fv{i}"
                select += [f"{alias}.{quote(c)}" for c in view.feature_columns]
                condition = " AND ".join(f"spine.{quote(k)} = {alias}.{quote(k)}" for k in keys)
                if spine_ts and view.timestamp_col:
                    condition += f" AND spine.{quote(spine_ts)} >= {alias}.{quote(view.timestamp_col)}"
                    joins.append(f"ASOF LEFT JOIN {self._object(view)} AS {alias} ON {condition}")
                else:
                    joins.append(f"LEFT JOIN {self._object(view)} AS {alias} ON {condition}")
            sql = f"SELECT {', '.join(select)} FROM ({duck_spine}) AS spine " + " ".join(joins)
            if target is not None:
                table = f"{quote(target.schema)}.{quote(target.table)}"
                con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
                data = con.execute(f"SELECT * FROM {table}").df()
                con.execute(f"DELETE FROM {self._meta(TRAINING_SETS)} WHERE TABLE_NAME = ?", [target.qualified()])
                created = _now()
                con.execute(
                    f"INSERT INTO {self._meta(TRAINING_SETS)} VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        target.qualified(),
                        spine_query.strip(),
                        json.dumps([[r.name, r.version] for r in refs]),
                        json.dumps(labels),
                        spine_ts,
                        json.dumps(feature_cols),
                        created,
                    ],
                )
            else:
                data, created = con.execute(sql).df(), _now()
        return TrainingSet(
            spine_query=spine_query.strip(),
            feature_views=tuple(refs),
            label_cols=labels,
            feature_columns=tuple(feature_cols),
            columns=tuple(data.columns),
            row_count=len(data),
            table=target.qualified() if target else None,
            spine_timestamp_col=spine_ts,
            created_at=created,
            data=data,
        )

    def get_training_set(self, table: str) -> TrainingSet:
        target = names.table_name(table, default_schema=self.schema)
        with self._connection() as con:
            rows = con.execute(
                f"SELECT * FROM {self._meta(TRAINING_SETS)} WHERE TABLE_NAME = ?", [target.qualified()]
            ).fetchall()
            if not rows:
                raise NotFoundError(f"no training set was saved as {target.qualified()}")
            data = con.execute(f"SELECT * FROM {quote(target.schema)}.{quote(target.table)}").df()
        _, spine, views, labels, spine_ts, features, created = rows[0]
        return TrainingSet(
            spine_query=spine,
            feature_views=tuple(FeatureViewRef(n, v) for n, v in json.loads(views)),
            label_cols=tuple(json.loads(labels)),
            feature_columns=tuple(json.loads(features)),
            columns=tuple(data.columns),
            row_count=len(data),
            table=target.qualified(),
            spine_timestamp_col=spine_ts,
            created_at=created,
            data=data,
        )

    def delete_training_set(self, table: str) -> None:
        target = names.table_name(table, default_schema=self.schema)
        with self._transaction() as con:
            found = con.execute(
                f"DELETE FROM {self._meta(TRAINING_SETS)} WHERE TABLE_NAME = ? RETURNING 1", [target.qualified()]
            ).fetchall()
            if not found:
                raise NotFoundError(f"no training set was saved as {target.qualified()}")
            con.execute(f"DROP TABLE IF EXISTS {quote(target.schema)}.{quote(target.table)}")

    # Internals.

    def _connection(self) -> Any:
        self._ensure_metadata()
        return self.warehouse.connection()

    def _transaction(self) -> Any:
        self._ensure_metadata()
        return self.warehouse.transaction()

    def _ensure_metadata(self) -> None:
        if self._ready:
            return
        # Reading never writes: the tables are created only where they are missing (a new database),
        # so a reader runs beside another program holding the database read-only.
        if {ENTITIES, FEATURE_VIEWS, TRAINING_SETS} <= set(self.warehouse.list_tables(self.schema)):
            self._ready = True
            return
        with self.warehouse.transaction() as con:
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
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {self._meta(TRAINING_SETS)} (TABLE_NAME VARCHAR PRIMARY KEY, "
                "SPINE_QUERY VARCHAR NOT NULL, FEATURE_VIEWS VARCHAR NOT NULL, LABEL_COLS VARCHAR NOT NULL, "
                "SPINE_TIMESTAMP_COL VARCHAR, FEATURE_COLUMNS VARCHAR NOT NULL, CREATED_AT TIMESTAMP)"
            )
        self._ready = True

    def _meta(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    def _object(self, view: FeatureView) -> str:
        return f"{quote(self.schema)}.{quote(names.feature_view_object(view.name, view.version))}"

    def _entity_row(self, con: duckdb.DuckDBPyConnection, name: str) -> Entity | None:
        rows = con.execute(
            f"SELECT NAME, JOIN_KEYS, DESCRIPTION FROM {self._meta(ENTITIES)} WHERE NAME = ?", [name]
        ).fetchall()
        return Entity(rows[0][0], tuple(json.loads(rows[0][1])), rows[0][2]) if rows else None

    def _view_row(self, con: duckdb.DuckDBPyConnection, name: str, version: str) -> FeatureView | None:
        rows = con.execute(
            f"SELECT * FROM {self._meta(FEATURE_VIEWS)} WHERE NAME = ? AND VERSION = ?", [name, version]
        ).fetchall()
        return self._view_from_row(rows[0]) if rows else None

    def _view_from_row(self, row: tuple[Any, ...]) -> FeatureView:
        name, version, entities, query, ts_col, description, columns, features, created = row
        return FeatureView(
            name=name,
            version=version,
            entities=tuple(json.loads(entities)),
            query=query,
            columns=tuple(json.loads(columns)),
            feature_columns=tuple(json.loads(features)),
            object_name=f"{self.warehouse.database}.{self.schema}.{quote(names.feature_view_object(name, version))}",
            timestamp_col=ts_col,
            description=description,
            created_at=created,
        )

    def _join_keys(self, con: duckdb.DuckDBPyConnection, view: FeatureView) -> list[str]:
        keys: list[str] = []
        for entity_name in view.entities:
            entity = self._entity_row(con, entity_name)
            if entity is None:
                raise NotFoundError(f"entity {entity_name} of feature view {view.name}/{view.version} is gone")
            keys += [k for k in entity.join_keys if k not in keys]
        return keys

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

    def _known_versions(self, name: str) -> str:
        versions = [v.version for v in self.list_feature_views(name)]
        return f" (registered versions: {', '.join(versions)})" if versions else ""


def _describe(con: duckdb.DuckDBPyConnection, duck_sql: str, what: str) -> tuple[str, ...]:
    import duckdb

    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM ({duck_sql})").fetchall()
    except duckdb.Error as exc:
        raise InvalidInputError(f"{what} fails: {str(exc).splitlines()[0]}") from exc
    columns = tuple(r[0] for r in rows)
    not_canonical = [c for c in columns if c != c.upper()]
    if not_canonical:
        raise InvalidInputError(f"{what}: columns {not_canonical} are not upper case; alias them in upper case")
    return columns


def _same_definition(a: FeatureView, b: FeatureView) -> bool:
    return (a.entities, " ".join(a.query.split()), a.timestamp_col, a.description) == (
        b.entities,
        " ".join(b.query.split()),
        b.timestamp_col,
        b.description,
    )


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)
