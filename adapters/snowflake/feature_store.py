"""``SnowflakeFeatureStore``: the FeatureStore primitives over snowflake-ml's FeatureStore.

Entities and feature view versions are snowflake-ml objects (a version is the view
``NAME$version``, its case kept); training sets come from ``FeatureStore.generate_training_set``.
The rules (checks, immutability, ties, the record of saved training sets) are the core's
(``mlops_kit/feature_store.py``); this file only maps its primitives onto snowflake-ml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from snowflake.ml.feature_store import CreationMode
from snowflake.ml.feature_store import Entity as SfEntity
from snowflake.ml.feature_store import FeatureStore as SfFeatureStore
from snowflake.ml.feature_store import FeatureView as SfFeatureView

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SNOWFLAKE_ERRORS, SnowflakeErrorKinds, classify, translated
from mlops_kit.errors import InvalidInputError, NotFoundError
from mlops_kit.feature_store import FeatureStore, JoinPlan
from mlops_kit.types import Entity, FeatureView

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Row, Session

T = TypeVar("T")


def _plain(identifier: Any) -> str:
    """A snowflake-ml SqlIdentifier (or str) as the plain name the kit uses."""
    resolved = getattr(identifier, "resolved", None)
    return str(resolved()) if callable(resolved) else str(identifier).strip('"')


def _unless_missing(call: Callable[[], T]) -> T | None:
    """``call()``, or None when snowflake-ml says the object does not exist."""
    try:
        return call()
    except SNOWFLAKE_ERRORS as exc:
        if classify(exc) is NotFoundError:
            return None
        raise


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
        self._default_warehouse = default_warehouse
        self._store = store

    @property
    def store(self) -> SfFeatureStore:
        """The snowflake-ml FeatureStore (escape hatch), opened when first used.

        An existing store is opened as it is (``FAIL_IF_NOT_EXIST``: no CREATE for the schema and
        tags that exist, which Snowflake would check the CREATE privilege for); only a store that is
        not there yet is created. The library itself still tries ``CREATE TABLE IF NOT EXISTS`` of its
        snapshot status table when it opens a store, ignoring a refusal (feature_store.py, 2.6.0).

        The warehouse goes to the library as written: a quoted mixed-case name (``"Analytics_wh"``,
        what ``CURRENT_WAREHOUSE()`` answers for one) stays quoted, an unquoted one is upper-cased
        there, as Snowflake resolves identifiers.
        """
        if self._store is None:
            warehouse = self._default_warehouse or self.session.get_current_warehouse()
            if not warehouse:
                raise InvalidInputError("the feature store needs a warehouse: pass warehouse=... to connect")
            with translated("could not open the feature store"):
                self._store = _unless_missing(lambda: self._open(str(warehouse), CreationMode.FAIL_IF_NOT_EXIST))
                if self._store is None:
                    self._store = self._open(str(warehouse), CreationMode.CREATE_IF_NOT_EXIST)
        return self._store

    def _open(self, warehouse: str, mode: CreationMode) -> SfFeatureStore:
        return SfFeatureStore(self.session, self.database, self.schema, warehouse, creation_mode=mode)

    # Entities.

    def _read_entity(self, name: str) -> Entity | None:
        entity = _unless_missing(lambda: self.store.get_entity(name))
        if entity is None:
            return None
        return Entity(name, tuple(_plain(k) for k in entity.join_keys), entity.desc or "")

    def _list_entities(self) -> list[Entity]:
        found = [self._read_entity(str(row["NAME"])) for row in self.store.list_entities().collect()]
        return [entity for entity in found if entity is not None]

    def _create_entity(self, entity: Entity) -> None:
        self.store.register_entity(SfEntity(entity.name, list(entity.join_keys), desc=entity.description))

    def _drop_entity(self, name: str) -> None:
        self.store.delete_entity(name)

    # Feature views.

    def _read_feature_view(self, name: str, version: str) -> FeatureView | None:
        listed = [row for row in self._listed(name) if str(row["VERSION"]) == version]
        if not listed:
            return None
        return self._to_core(self.store.get_feature_view(name, version), listed[0]["CREATED_ON"])

    def _list_feature_views(self, name: str | None) -> list[FeatureView]:
        return [
            self._to_core(self.store.get_feature_view(_plain(row["NAME"]), str(row["VERSION"])), row["CREATED_ON"])
            for row in self._listed(name)
        ]

    def _create_feature_view(self, draft: FeatureView, join_keys: tuple[str, ...], *, replace: bool) -> FeatureView:
        # snowflake-ml stamps the version itself (CREATED_ON of its view), so draft.created_at is not kept.
        view = SfFeatureView(
            name=draft.name,
            entities=[self.store.get_entity(e) for e in draft.entities],
            feature_df=self.session.sql(draft.query),
            timestamp_col=draft.timestamp_col,
            desc=draft.description,
        )
        self.store.register_feature_view(view, draft.version, overwrite=replace)
        created = self._read_feature_view(draft.name, draft.version)
        if created is None:
            raise NotFoundError(f"feature view {draft.ref} is missing right after it was registered")
        return created

    def _drop_feature_view(self, view: FeatureView) -> None:
        self.store.delete_feature_view(self.store.get_feature_view(view.name, view.version))

    def _read_rows(self, view: FeatureView) -> pd.DataFrame:
        # snowflake-ml refuses as_pandas=True for the default (offline) store: read the Snowpark frame.
        return self.store.read_feature_view(self.store.get_feature_view(view.name, view.version)).to_pandas()

    # Training sets.

    def _join(self, plan: JoinPlan) -> pd.DataFrame:
        save_as = None if plan.target is None else f"{self.database}.{plan.target.qualified()}"
        if save_as is not None and plan.replace:
            # snowflake-ml saves only into a new table: the old one goes first (not one step here).
            self.session.sql(f"DROP TABLE IF EXISTS {save_as}").collect()
        result = self.store.generate_training_set(
            self.session.sql(plan.spine_query),
            [self.store.get_feature_view(p.view.name, p.view.version) for p in plan.views],
            save_as=save_as,
            spine_timestamp_col=plan.spine_timestamp_col,
            spine_label_cols=list(plan.label_cols) or None,
        )
        return result.to_pandas()

    # Internals.

    def _listed(self, name: str | None) -> list[Row]:
        """snowflake-ml's listing of feature view versions (of ``name`` when given), with CREATED_ON."""
        if name is None:
            return self.store.list_feature_views().collect()
        return self.store.list_feature_views(feature_view_name=name).collect()

    def _to_core(self, view: SfFeatureView, created_on: Any) -> FeatureView:
        entities = tuple(_plain(e.name) for e in view.entities)
        keys = {_plain(k) for e in view.entities for k in e.join_keys}
        ts_col = _plain(view.timestamp_col) if view.timestamp_col else None
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
            created_at=created_on,
        )
