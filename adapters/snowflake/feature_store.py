"""``SnowflakeFeatureStore``: the FeatureStore interface over snowflake-ml's FeatureStore.

Entities and feature view versions are snowflake-ml objects (a version is the view
``NAME$version``, its case kept). Saved training sets are tables made by
``FeatureStore.generate_training_set(save_as=...)``; their spine, label columns and feature view
versions are recorded in the kit table ``<FEATURE_STORE>.MLOPS_KIT_TRAINING_SETS`` for lineage,
because snowflake-ml keeps no such record for a plain table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from snowflake.ml.feature_store import CreationMode
from snowflake.ml.feature_store import Entity as SfEntity
from snowflake.ml.feature_store import FeatureStore as SfFeatureStore
from snowflake.ml.feature_store import FeatureView as SfFeatureView

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SnowflakeErrorKinds, translated
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlops_kit.feature_store import FeatureStore, FeatureViewLike, as_ref
from mlops_kit.types import Entity, FeatureView, FeatureViewRef, TrainingSet

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Session

TRAINING_SETS_TABLE = "MLOPS_KIT_TRAINING_SETS"


def _plain(identifier: Any) -> str:
    """A snowflake-ml SqlIdentifier (or str) as the plain name the kit uses."""
    resolved = getattr(identifier, "resolved", None)
    return str(resolved()) if callable(resolved) else str(identifier).strip('"')


def _same_sql(a: str, b: str) -> bool:
    return " ".join(a.split()).rstrip(";") == " ".join(b.split()).rstrip(";")


class SnowflakeFeatureStore(SnowflakeErrorKinds, FeatureStore):
    """Entities, feature view versions and training sets in one Snowflake feature store schema."""

    def __init__(
        self,
        session: Session,
        *,
        database: str = "MLOPS_HOL_DB",
        schema: str = "FEATURE_STORE",
        default_warehouse: str | None = None,
        store: SfFeatureStore | None = None,
    ) -> None:
        self.session = session
        self.database = names.identifier(database, "database")
        self.schema = names.identifier(schema, "feature store schema")
        if store is None:
            warehouse = default_warehouse or session.get_current_warehouse()
            if not warehouse:
                raise InvalidInputError("the feature store needs a warehouse: pass warehouse=... to connect")
            with translated("could not open the feature store"):
                store = SfFeatureStore(
                    session,
                    self.database,
                    self.schema,
                    _plain(warehouse),
                    creation_mode=CreationMode.CREATE_IF_NOT_EXIST,
                )
        #: The snowflake-ml FeatureStore (escape hatch).
        self.store = store

    # Entities

    def register_entity(self, name: str, join_keys: Sequence[str], description: str = "") -> Entity:
        entity_name = names.identifier(name, "entity")
        keys = tuple(names.identifier(key, "join key") for key in join_keys)
        if not keys:
            raise InvalidInputError(f"entity {entity_name}: give join keys as a non-empty list, e.g. ['CUSTOMER_ID']")
        wanted = Entity(entity_name, keys, description)
        try:
            existing = self.get_entity(entity_name)
        except NotFoundError:
            with translated(f"could not register entity {entity_name}"):
                self.store.register_entity(SfEntity(entity_name, list(keys), desc=description))
            return wanted
        if existing != wanted:
            raise AlreadyExistsError(
                f"entity {entity_name} exists with join keys {existing.join_keys} and description "
                f"{existing.description!r}"
            )
        return existing

    def list_entities(self) -> list[Entity]:
        with translated("could not list entities"):
            rows = self.store.list_entities().collect()
        return sorted((self.get_entity(str(row["NAME"])) for row in rows), key=lambda e: e.name)

    def get_entity(self, name: str) -> Entity:
        entity_name = names.identifier(name, "entity")
        with translated(f"entity {entity_name}"):
            entity = self.store.get_entity(entity_name)
        return Entity(entity_name, tuple(_plain(k) for k in entity.join_keys), entity.desc or "")

    def delete_entity(self, name: str) -> None:
        entity_name = self.get_entity(name).name
        # Snowflake refuses while feature views use the entity: that is the caller's input.
        what = f"cannot delete entity {entity_name} (an entity used by feature views cannot be deleted)"
        with translated(what, default=InvalidInputError):
            self.store.delete_entity(entity_name)

    # Feature views

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
        view_name = names.identifier(name, "feature view")
        view_version = names.feature_view_version(version)
        entity_names = tuple(names.identifier(e, "entity") for e in entities)
        ts_col = names.identifier(timestamp_col, "timestamp column") if timestamp_col else None
        try:
            existing = self.get_feature_view(view_name, view_version)
        except NotFoundError:
            existing = None
        if existing is not None:
            same = (
                existing.entities == entity_names
                and existing.timestamp_col == ts_col
                and existing.description == description
                and self._same_query(existing.query, query)
            )
            if same:
                return existing
            if not overwrite:
                raise AlreadyExistsError(
                    f"feature view {view_name} version {view_version} exists with another definition and "
                    "versions are immutable: register a new version, or pass overwrite=True"
                )
        sf_entities = [self._sf_entity(e) for e in entity_names]
        with translated(f"query of feature view {view_name}/{view_version} fails", default=InvalidInputError):
            feature_df = self.session.sql(query)
            columns = [_plain(c) for c in feature_df.columns]
        required = [_plain(k) for e in sf_entities for k in e.join_keys] + ([ts_col] if ts_col else [])
        missing = [c for c in required if c not in columns]
        if missing:
            raise InvalidInputError(
                f"query of feature view {view_name}/{view_version} lacks column(s) {missing}; it returns {columns}"
            )
        draft = SfFeatureView(
            name=view_name, entities=sf_entities, feature_df=feature_df, timestamp_col=ts_col, desc=description
        )
        with translated(f"could not register feature view {view_name}/{view_version}"):
            self.store.register_feature_view(draft, view_version, overwrite=overwrite)
        # Read it back so a registered view and a fetched one are built from the same metadata.
        return self.get_feature_view(view_name, view_version)

    def _same_query(self, stored: str, query: str) -> bool:
        """Whether ``stored`` (as Snowflake keeps it) is ``query``, as given or as Snowpark renders it."""
        if _same_sql(stored, query):
            return True
        with translated("query fails", default=InvalidInputError):
            rendered = self.session.sql(query).queries["queries"]
        return bool(rendered) and _same_sql(stored, str(rendered[-1]))

    def _sf_entity(self, name: str) -> SfEntity:
        with translated(f"entity {name}"):
            return self.store.get_entity(name)

    def _to_core(self, view: SfFeatureView) -> FeatureView:
        entities = tuple(_plain(e.name) for e in view.entities)
        keys = {_plain(k) for e in view.entities for k in e.join_keys}
        ts_col = _plain(view.timestamp_col) if view.timestamp_col else None
        with translated(f"could not read the schema of feature view {_plain(view.name)}"):
            columns = tuple(_plain(c) for c in view.output_schema.names)
        return FeatureView(
            name=_plain(view.name),
            version=str(view.version),
            entities=entities,
            query=view.query,
            columns=columns,
            feature_columns=tuple(c for c in columns if c not in keys and c != ts_col),
            object_name=view.fully_qualified_name(),
            timestamp_col=ts_col,
            description=view.desc or "",
        )

    def list_feature_views(self, name: str | None = None) -> list[FeatureView]:
        with translated("could not list feature views"):
            if name is None:
                rows = self.store.list_feature_views().collect()
            else:
                rows = self.store.list_feature_views(feature_view_name=names.identifier(name, "feature view"))
                rows = rows.collect()
        views = [self.get_feature_view(_plain(row["NAME"]), str(row["VERSION"])) for row in rows]
        return sorted(views, key=lambda v: (v.name, v.version))

    def _sf_view(self, name: str, version: str) -> SfFeatureView:
        view_name = names.identifier(name, "feature view")
        view_version = names.feature_view_version(version)
        with translated(f"feature view {view_name}/{view_version}"):
            return self.store.get_feature_view(view_name, view_version)

    def get_feature_view(self, name: str, version: str) -> FeatureView:
        return self._to_core(self._sf_view(name, version))

    def read_feature_view(self, name: str, version: str) -> pd.DataFrame:
        view = self._sf_view(name, version)
        # snowflake-ml refuses as_pandas=True for the default (offline) store: read the Snowpark frame.
        with translated(f"could not read feature view {name}/{version}"):
            return self.store.read_feature_view(view).to_pandas()

    def delete_feature_view(self, name: str, version: str) -> None:
        view = self._sf_view(name, version)
        with translated(f"could not delete feature view {name}/{version}"):
            self.store.delete_feature_view(view)

    # Training sets

    @property
    def _records(self) -> str:
        return f"{self.database}.{self.schema}.{TRAINING_SETS_TABLE}"

    def generate_training_set(
        self,
        spine_query: str,
        feature_views: Sequence[FeatureViewLike],
        *,
        label_cols: Sequence[str] = (),
        spine_timestamp_col: str | None = None,
        save_as: str | None = None,
    ) -> TrainingSet:
        refs = [as_ref(v) for v in feature_views]
        sf_views = [self._sf_view(r.name, r.version) for r in refs]
        views = [self._to_core(v) for v in sf_views]
        labels = tuple(names.identifier(c, "label column") for c in label_cols)
        ts_col = names.identifier(spine_timestamp_col, "spine timestamp column") if spine_timestamp_col else None
        feature_columns: list[str] = []
        for view in views:
            clash = sorted(set(view.feature_columns) & set(feature_columns))
            if clash:
                raise InvalidInputError(f"feature view {view.ref} repeats feature column(s) {clash}")
            feature_columns.extend(view.feature_columns)
        with translated("spine query fails", default=InvalidInputError):
            spine = self.session.sql(spine_query)
            spine_columns = [_plain(c) for c in spine.columns]
        needed = [k for v in sf_views for e in v.entities for k in map(_plain, e.join_keys)]
        missing = [c for c in [*needed, *labels, *([ts_col] if ts_col else [])] if c not in spine_columns]
        if missing:
            raise InvalidInputError(f"the spine lacks column(s) {sorted(set(missing))}; it has {spine_columns}")
        target = names.table_name(save_as, self.schema) if save_as else None
        if target is not None:
            target = names.TableName(target.schema, target.table, target.database or self.database)
            self._forget(target)
        with translated("could not generate the training set"):
            result = self.store.generate_training_set(
                spine,
                list(sf_views),
                save_as=target.qualified() if target else None,
                spine_timestamp_col=ts_col,
                spine_label_cols=list(labels) or None,
            )
            data = result.to_pandas()
        training_set = TrainingSet(
            spine_query=spine_query,
            feature_views=tuple(refs),
            label_cols=labels,
            feature_columns=tuple(feature_columns),
            columns=tuple(str(c) for c in data.columns),
            row_count=len(data),
            table=f"{target.schema}.{target.table}" if target else None,
            spine_timestamp_col=ts_col,
            created_at=datetime.now(timezone.utc) if target else None,
            data=data,
        )
        if target is not None:
            self._record(training_set)
        return training_set

    def _record(self, ts: TrainingSet) -> None:
        with translated("could not record the training set"):
            self.session.sql(
                f"CREATE TABLE IF NOT EXISTS {self._records} (TABLE_NAME VARCHAR, SPINE_QUERY VARCHAR, "
                "FEATURE_VIEWS VARCHAR, LABEL_COLS VARCHAR, FEATURE_COLUMNS VARCHAR, COLUMNS VARCHAR, "
                "SPINE_TIMESTAMP_COL VARCHAR, ROW_COUNT NUMBER, CREATED_AT TIMESTAMP_TZ)"
            ).collect()
            self.session.sql(
                f"INSERT INTO {self._records} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params=[
                    ts.table,
                    ts.spine_query,
                    json.dumps([[r.name, r.version] for r in ts.feature_views]),
                    json.dumps(list(ts.label_cols)),
                    json.dumps(list(ts.feature_columns)),
                    json.dumps(list(ts.columns)),
                    ts.spine_timestamp_col,
                    ts.row_count,
                    ts.created_at,
                ],
            ).collect()

    def _lookup(self, target: names.TableName) -> dict[str, Any] | None:
        """The record of a saved training set, or None (also when no record table exists yet)."""
        with translated("could not read training set records"):
            exists = self.session.sql(
                f"SELECT 1 FROM {self.database}.INFORMATION_SCHEMA.TABLES "
                f"WHERE TABLE_SCHEMA = '{self.schema}' AND TABLE_NAME = '{TRAINING_SETS_TABLE}'"
            ).collect()
            if not exists:
                return None
            rows = self.session.sql(
                f"SELECT * FROM {self._records} WHERE TABLE_NAME = ? ORDER BY CREATED_AT DESC",
                params=[f"{target.schema}.{target.table}"],
            ).collect()
        return rows[0].as_dict() if rows else None

    def _forget(self, target: names.TableName) -> bool:
        """Drop a saved training set and its record (re-saving replaces it); False when unknown.

        A table that is not a recorded training set is never dropped here.
        """
        record = self._lookup(target)
        if record is None:
            return False
        with translated(f"could not drop training set {target}"):
            self.session.sql(f"DROP TABLE IF EXISTS {target.qualified()}").collect()
            self.session.sql(
                f"DELETE FROM {self._records} WHERE TABLE_NAME = ?", params=[f"{target.schema}.{target.table}"]
            ).collect()
        return True

    def _target(self, table: str) -> names.TableName:
        name = names.table_name(table, self.schema)
        return names.TableName(name.schema, name.table, name.database or self.database)

    def get_training_set(self, table: str) -> TrainingSet:
        target = self._target(table)
        record = self._lookup(target)
        if record is None:
            raise NotFoundError(f"no saved training set {target.schema}.{target.table}")
        with translated(f"training set table {target}"):
            data = self.session.table(target.qualified()).to_pandas()
        ts_col = record["SPINE_TIMESTAMP_COL"]
        return TrainingSet(
            spine_query=record["SPINE_QUERY"],
            feature_views=tuple(FeatureViewRef(n, v) for n, v in json.loads(record["FEATURE_VIEWS"])),
            label_cols=tuple(json.loads(record["LABEL_COLS"])),
            feature_columns=tuple(json.loads(record["FEATURE_COLUMNS"])),
            columns=tuple(str(c) for c in data.columns),
            row_count=len(data),
            table=record["TABLE_NAME"],
            spine_timestamp_col=ts_col or None,
            created_at=record["CREATED_AT"],
            data=data,
        )

    def delete_training_set(self, table: str) -> None:
        target = self._target(table)
        if not self._forget(target):
            raise NotFoundError(f"no saved training set {target.schema}.{target.table}")


