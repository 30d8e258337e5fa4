"""The ``FeatureStore`` interface: entities, versioned feature views and training sets.

Shaped after snowflake-ml's FeatureStore so both backends can serve it: a feature view version is
an immutable named query (Snowflake stores it as ``NAME$VERSION``), training sets join a spine with
feature view versions, point-in-time correct when both sides carry timestamps.

Every rule lives here, once, for every backend: argument checks, canonical names, immutable
versions, entities in use, spine and feature columns, the point-in-time tie rule, and the record of
saved training sets (``mlops_kit/records/training_sets.py``). Adapters implement the primitives
(methods named ``_…``, at the end of the class), which take checked, canonical input.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from mlops_kit import checks, clock, names, statements
from mlops_kit.boundary import Boundary
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError
from mlops_kit.records.training_sets import TrainingSetRecords
from mlops_kit.types import Entity, FeatureView, FeatureViewRef, TrainingSet

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.warehouse import Warehouse

FeatureViewLike = FeatureView | FeatureViewRef | tuple[str, str]

#: Tied groups shown in the point-in-time tie error (the message also says how many there are).
TIES_SHOWN = 5


def as_ref(view: FeatureViewLike) -> FeatureViewRef:
    """Accept a FeatureView, a FeatureViewRef or a ``(name, version)`` pair.

    Raises:
        InvalidInputError: anything else, or a bad name or version.
    """
    if isinstance(view, FeatureView):
        return view.ref
    if isinstance(view, FeatureViewRef):
        name, version = view.name, view.version
    elif isinstance(view, tuple) and len(view) == 2:
        name, version = view
    else:
        raise InvalidInputError(
            f"a feature view must be a FeatureView, a FeatureViewRef or a (name, version) pair, not {view!r}"
        )
    return FeatureViewRef(names.identifier(name, "feature view"), names.feature_view_version(version))


@dataclasses.dataclass(frozen=True)
class JoinedView:
    """A feature view version in a training set, with the join keys of its entities (in order)."""

    view: FeatureView
    join_keys: tuple[str, ...]

    def point_in_time(self, spine_timestamp_col: str | None) -> bool:
        return spine_timestamp_col is not None and self.view.timestamp_col is not None


@dataclasses.dataclass(frozen=True)
class JoinPlan:
    """What ``_join`` makes: checked by the core (spine columns, clashes, the tie rule)."""

    spine_query: str
    views: tuple[JoinedView, ...]
    spine_timestamp_col: str | None
    label_cols: tuple[str, ...]
    #: Where to save the rows, or None to only return them.
    target: names.TableName | None = None
    #: The target is a saved training set's table, to be replaced.
    replace: bool = False


class FeatureStore(Boundary, abc.ABC):
    """Entities, feature view versions and training sets in one feature store schema."""

    #: The warehouse the kit's own records live in (``mlops_kit/records/``); set by ``Backend``.
    warehouse: Warehouse
    #: The schema the feature store keeps its objects in; saved training sets default to it.
    schema: str

    # Entities.

    def register_entity(self, name: str, join_keys: Sequence[str], description: str = "") -> Entity:
        """Register an entity, or return it when an identical one exists.

        Raises:
            AlreadyExistsError: an entity of that name exists with other join keys or description.
            InvalidInputError: a name or join key is not an identifier, or no join key is given.
        """
        entity = Entity(
            names.identifier(name, "entity"),
            checks.identifier_list(join_keys, "join_keys", "join key", keyword_ok=True),
            checks.optional_text(description, "description"),
        )
        with self._boundary(f"could not register entity {entity.name}"):
            existing = self._read_entity(entity.name)
            if existing is not None:
                if existing != entity:
                    raise AlreadyExistsError(
                        f"entity {entity.name} exists with join keys {list(existing.join_keys)} and description "
                        f"{existing.description!r}; delete it first to change it"
                    )
                return existing
            self._create_entity(entity)
        return entity

    def list_entities(self) -> list[Entity]:
        """All entities, sorted by name."""
        with self._boundary("could not list entities"):
            return sorted(self._list_entities(), key=lambda e: e.name)

    def get_entity(self, name: str) -> Entity:
        """Raises NotFoundError when there is no such entity."""
        canonical = names.identifier(name, "entity")
        with self._boundary(f"could not read entity {canonical}"):
            entity = self._read_entity(canonical)
        if entity is None:
            raise NotFoundError(f"entity {canonical} is not registered")
        return entity

    def delete_entity(self, name: str) -> None:
        """Delete an entity.

        Raises:
            NotFoundError: there is no such entity.
            InvalidInputError: feature views still use it (delete them first).
        """
        entity = self.get_entity(name)
        users = [str(v.ref) for v in self.list_feature_views() if entity.name in v.entities]
        if users:
            raise InvalidInputError(f"entity {entity.name} is used by feature views {users}: delete them first")
        with self._boundary(f"could not delete entity {entity.name}"):
            self._drop_entity(entity.name)

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
        """Register a feature view version computed by ``query`` (one SELECT, Snowflake SQL dialect).

        The query must return the join keys of every entity (and ``timestamp_col`` when given).
        Versions are immutable: registering an existing name and version with the same query,
        entities, timestamp column and description returns the existing version.

        Raises:
            AlreadyExistsError: the version exists with another definition and ``overwrite`` is False.
            NotFoundError: an entity is not registered.
            InvalidInputError: a bad name or version, a query that is not one reading statement or
                fails, or a query that lacks a join key or the timestamp column.
        """
        view_name = names.identifier(name, "feature view")
        view_version = names.feature_view_version(version)
        ref = FeatureViewRef(view_name, view_version)
        entity_names = checks.identifier_list(entities, "entities", "entity")
        sql = _reading_query(query, "query", f"feature view {ref}")
        ts_col = checks.optional_identifier(timestamp_col, "timestamp_col")
        description = checks.optional_text(description, "description")
        replace = checks.flag(overwrite, "overwrite")

        with self._one_connection():
            return self._register(ref, entity_names, sql, ts_col, description, replace)

    def _register(
        self,
        ref: FeatureViewRef,
        entity_names: tuple[str, ...],
        sql: str,
        ts_col: str | None,
        description: str,
        replace: bool,
    ) -> FeatureView:
        view_name, view_version = ref.name, ref.version
        join_keys = self._join_keys(entity_names, f"feature view {ref}")
        columns = self._query_columns(sql, f"query of feature view {ref}")
        required = {**{key: "join key" for key in join_keys}, **({ts_col: "timestamp column"} if ts_col else {})}
        missing = [f"{what} {column}" for column, what in required.items() if column not in columns]
        if missing:
            raise InvalidInputError(
                f"query of feature view {ref} lacks the {', '.join(missing)} (entities {list(entity_names)}); "
                f"it returns {list(columns)}"
            )
        draft = FeatureView(
            name=view_name,
            version=view_version,
            entities=entity_names,
            query=sql,
            columns=columns,
            feature_columns=tuple(c for c in columns if c not in join_keys and c != ts_col),
            object_name="",
            timestamp_col=ts_col,
            description=description,
            created_at=clock.now(),
        )
        with self._boundary(f"could not register feature view {ref}"):
            # Versions keep their case, but one that differs from another only in case would be the
            # same object on a case-insensitive engine (DuckDB): one rule on every backend, refused.
            twin = next(
                (v.version for v in self._list_feature_views(view_name)
                 if v.version != view_version and v.version.casefold() == view_version.casefold()),
                None,
            )  # fmt: skip
            if twin is not None:
                raise AlreadyExistsError(
                    f"feature view {view_name} has version {twin}, which differs from {view_version} only in case: "
                    f"versions that differ only in case are refused; use {twin}, or a new version name"
                )
            existing = self._read_feature_view(view_name, view_version)
            if existing is not None and not replace:
                if _same_definition(existing, draft):
                    return _in_utc(existing)
                raise AlreadyExistsError(
                    f"feature view {ref} exists with another definition: versions are immutable, so register "
                    "a new version (or pass overwrite=True)"
                )
            created = self._create_feature_view(draft, join_keys, replace=existing is not None)
        # The record table of training sets exists before the first one is saved, so a save that
        # fails leaves the warehouse as it was.
        self._records.ensure()
        return _in_utc(created)

    def list_feature_views(self, name: str | None = None) -> list[FeatureView]:
        """Every feature view version (or every version of ``name``), sorted by name and version."""
        canonical = None if name is None else names.identifier(name, "feature view")
        with self._boundary("could not list feature views"):
            views = self._list_feature_views(canonical)
        return sorted((_in_utc(v) for v in views), key=lambda v: (v.name, v.version))

    def get_feature_view(self, name: str, version: str) -> FeatureView:
        """Raises NotFoundError when there is no such feature view version."""
        ref = as_ref((name, version))
        with self._boundary(f"could not read feature view {ref}"):
            view = self._read_feature_view(ref.name, ref.version)
        if view is None:
            versions = [v.version for v in self.list_feature_views(ref.name)]
            known = f" (registered versions: {', '.join(versions)})" if versions else ""
            raise NotFoundError(f"feature view {ref} is not registered{known}")
        return _in_utc(view)

    def read_feature_view(self, name: str, version: str) -> pd.DataFrame:
        """The current rows of a feature view version. Raises NotFoundError when it does not exist."""
        view = self.get_feature_view(name, version)
        with self._boundary(f"could not read feature view {view.ref}"):
            return self._read_rows(view)

    def delete_feature_view(self, name: str, version: str) -> None:
        """Delete one feature view version. Raises NotFoundError when it does not exist."""
        view = self.get_feature_view(name, version)
        with self._boundary(f"could not delete feature view {view.ref}"):
            self._drop_feature_view(view)

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
        """Join feature view versions onto the rows of ``spine_query``.

        The result has one row per spine row (in no particular order); feature columns are
        joined on the entities' join keys.
        When ``spine_timestamp_col`` is given and a feature view has a timestamp column, a spine
        row takes the latest feature row whose timestamp is <= the spine's (point-in-time
        correct); otherwise the plain join. Spine rows without features get nulls.

        Point-in-time ties: two rows of a feature view with the same keys and timestamp but
        different values would make the result depend on the engine's pick, so they are refused;
        rows that are exact duplicates are harmless and accepted.

        Args:
            save_as: ``SCHEMA.TABLE`` (or a bare name, in the feature store's schema) to keep the
                result as a table, recorded with its spine and feature view versions for lineage.
                Saving again under the same name replaces that training set.
        Returns:
            The training set with its rows in ``data``.
        Raises:
            NotFoundError: a feature view version does not exist.
            AlreadyExistsError: ``save_as`` names a table that is not a saved training set.
            InvalidInputError: the spine lacks a join key, label or timestamp column, a feature
                column is already a spine column or another view's, or a point-in-time feature
                view has tied rows with different values.
        """
        spine = _reading_query(spine_query, "spine_query", "the spine")
        refs = [as_ref(v) for v in _views_argument(feature_views)]
        labels = checks.identifier_list(label_cols, "label_cols", "label column", allow_empty=True, keyword_ok=True)
        spine_ts = checks.optional_identifier(spine_timestamp_col, "spine_timestamp_col")
        target = None if save_as is None else self._saved_name(save_as, "save_as")

        with self._one_connection():
            return self._generate(spine, refs, labels, spine_ts, target)

    def _generate(
        self,
        spine: str,
        refs: Sequence[FeatureViewRef],
        labels: tuple[str, ...],
        spine_ts: str | None,
        target: names.TableName | None,
    ) -> TrainingSet:
        joined = [self._joined(self.get_feature_view(ref.name, ref.version)) for ref in refs]
        spine_cols = self._query_columns(spine, "spine_query")
        _check_spine(spine_cols, joined, labels, spine_ts)
        for part in joined:
            if part.point_in_time(spine_ts):
                self._refuse_conflicting_ties(part)
            else:
                self._refuse_repeated_keys(part)
        feature_cols = tuple(c for part in joined for c in part.view.feature_columns)

        training_set = TrainingSet(
            spine_query=spine,
            feature_views=tuple(refs),
            label_cols=labels,
            feature_columns=feature_cols,
            columns=(),
            row_count=0,
            table=None if target is None else target.qualified(),
            spine_timestamp_col=spine_ts,
            created_at=clock.now(),
        )
        if target is None:
            with self._boundary("could not generate the training set"):
                data = self._join(JoinPlan(spine, tuple(joined), spine_ts, labels))
        else:
            data = self._save(training_set, JoinPlan(spine, tuple(joined), spine_ts, labels, target))
        training_set = dataclasses.replace(
            training_set, columns=tuple(str(c) for c in data.columns), row_count=len(data), data=data
        )
        if target is not None:
            self._records.finish(training_set)
        return training_set

    def get_training_set(self, table: str) -> TrainingSet:
        """The record of a saved training set, with its rows. Raises NotFoundError if unknown."""
        target = self._saved_name(table, "table")
        record = self._records.find(target.qualified())
        if record is None:
            raise NotFoundError(f"no training set was saved as {target}")
        if not self.warehouse.table_exists(target.qualified()):
            raise NotFoundError(
                f"training set {target} was recorded but its table is missing (a save was interrupted, or the table "
                "was dropped outside the kit): generate it again with the same save_as"
            )
        data = self.warehouse.read_table(target.qualified())
        return dataclasses.replace(record, columns=tuple(str(c) for c in data.columns), row_count=len(data), data=data)

    def delete_training_set(self, table: str) -> None:
        """Drop a saved training set and its record. Raises NotFoundError if unknown.

        A table that is not a recorded training set is never dropped here.
        """
        target = self._saved_name(table, "table")
        if self._records.find(target.qualified()) is None:
            raise NotFoundError(f"no training set was saved as {target}")
        self.warehouse.drop_table(target.qualified())
        self._records.remove(target.qualified())

    # The kit's rules, shared by the methods above.

    @functools.cached_property
    def _records(self) -> TrainingSetRecords:
        return TrainingSetRecords(self.warehouse, self.schema)

    def _saved_name(self, table: object, argument: str) -> names.TableName:
        """A training set's table as the records key it: ``SCHEMA.TABLE`` in the warehouse's database."""
        name = names.table_name(checks.text(table, argument), default_schema=self.schema)
        if name.database and name.database != self.warehouse.database:
            raise InvalidInputError(
                f"{argument} {table!r} is in database {name.database}; training sets are saved in {self.warehouse.database}"
            )
        return names.TableName(name.schema, name.table)

    def _save(self, training_set: TrainingSet, plan: JoinPlan) -> pd.DataFrame:
        """Join and save as ``plan.target``, recording the training set before its table is written.

        Recording first makes every table at the target the kit's: a process killed before the
        table is written leaves a record without a table, which reads as "not found" and which the
        next save under the same name replaces. A table the kit did not record is the user's and
        is never replaced. A join that fails puts the previous record back (or none).
        """
        qualified = str(plan.target)
        previous = self._records.find(qualified)
        exists = self.warehouse.table_exists(qualified)
        if exists and previous is None:
            raise AlreadyExistsError(
                f"save_as {qualified} is a table that is not a saved training set: choose another name, "
                "or drop that table first"
            )
        self._records.begin(training_set)
        try:
            with self._boundary(f"could not generate the training set {qualified}"):
                return self._join(dataclasses.replace(plan, replace=exists))
        except BaseException:
            if previous is None:
                self._records.remove(qualified)
            else:
                self._records.put(previous)
            raise

    def _joined(self, view: FeatureView) -> JoinedView:
        return JoinedView(view, self._join_keys(view.entities, f"feature view {view.ref}"))

    def _join_keys(self, entity_names: Iterable[str], user: str) -> tuple[str, ...]:
        """The join keys of ``entity_names``, in order, without repeats."""
        keys: list[str] = []
        for entity_name in entity_names:
            with self._boundary(f"could not read entity {entity_name}"):
                entity = self._read_entity(entity_name)
            if entity is None:
                raise NotFoundError(f"{user}: entity {entity_name} is not registered")
            keys += [k for k in entity.join_keys if k not in keys]
        return tuple(keys)

    def _query_columns(self, sql: str, argument: str) -> tuple[str, ...]:
        """The columns ``sql`` returns, upper case, found without reading its rows."""
        try:
            columns = tuple(str(c) for c in self.warehouse.query(f"SELECT * FROM ({sql}) LIMIT 0").columns)
        except MlopsKitError as exc:
            raise InvalidInputError(f"{argument} fails: {exc}") from exc
        not_canonical = [c for c in columns if c != c.upper()]
        if not_canonical:
            raise InvalidInputError(
                f"{argument}: columns {not_canonical} are not upper case; alias them in upper case (AS {not_canonical[0].upper()})"
            )
        return columns

    def _refuse_conflicting_ties(self, part: JoinedView) -> None:
        """The point-in-time tie rule: rows with the same keys and timestamp must hold the same values.

        Both engines' ASOF JOIN pick any one of tied rows, so ties with different values would
        make a training set depend on the pick. One query in Snowflake's dialect, run by the
        warehouse, so every backend applies the same rule: find the tied keys (a grouping of the
        key columns only), then look at those rows alone, where exact duplicates collapse in
        DISTINCT. That reads the view twice but is about twice as fast on a million rows as a
        DISTINCT over the whole view (benchmark 3's data).
        """
        view, ts_col = part.view, str(part.view.timestamp_col)
        columns = [*part.join_keys, ts_col]
        group = ", ".join(columns)
        same = " AND ".join(f"V.{c} = TIED.{c}" for c in columns)
        tied = self.warehouse.query(
            f"WITH TIED AS (SELECT {group} FROM {view.object_name} GROUP BY {group} HAVING COUNT(*) > 1) "
            f"SELECT {group}, COUNT(*) OVER () AS MLOPS_KIT_GROUPS "
            f"FROM (SELECT DISTINCT V.* FROM {view.object_name} AS V JOIN TIED ON {same}) "
            f"GROUP BY {group} HAVING COUNT(*) > 1 ORDER BY {group} LIMIT {TIES_SHOWN}"
        )
        if tied.empty:
            return
        total = int(tied["MLOPS_KIT_GROUPS"].iloc[0])
        shown = "; ".join(", ".join(f"{column}={row[column]}" for column in columns) for _, row in tied.iterrows())
        keys = ", ".join(part.join_keys)
        raise InvalidInputError(
            f"feature view {view.ref} has {total} group{'s' if total != 1 else ''} of rows with the same "
            f"{keys} and {ts_col} but different feature values ({shown}{'; …' if total > len(tied) else ''}): "
            "a point-in-time join would pick one of them arbitrarily. Keep one row per key and timestamp in "
            f"the view's query, e.g. QUALIFY ROW_NUMBER() OVER (PARTITION BY {keys}, {ts_col} ORDER BY <a column "
            "that decides>) = 1, and register a new version"
        )

    def _refuse_repeated_keys(self, part: JoinedView) -> None:
        """The join rule without a point in time: one row per key in the view, so a training set has
        one row per spine row (a repeated key would repeat the spine rows it matches). One query in
        Snowflake's dialect, run by the warehouse: the same rule on every backend."""
        view, keys = part.view, ", ".join(part.join_keys)
        try:
            repeated = self.warehouse.query(
                f"SELECT {keys}, COUNT(*) AS MLOPS_KIT_ROWS, COUNT(*) OVER () AS MLOPS_KIT_GROUPS "
                f"FROM {view.object_name} GROUP BY {keys} HAVING COUNT(*) > 1 ORDER BY {keys} LIMIT {TIES_SHOWN}"
            )
        except NotFoundError:
            return  # the view cannot be read: the join says which version and why (the adapter's message)
        if repeated.empty:
            return
        total = int(repeated["MLOPS_KIT_GROUPS"].iloc[0])
        shown = "; ".join(
            ", ".join(f"{key}={row[key]}" for key in part.join_keys) + f" ({int(row['MLOPS_KIT_ROWS'])} rows)"
            for _, row in repeated.iterrows()
        )
        raise InvalidInputError(
            f"feature view {view.ref} has {total} {keys} value{'s' if total != 1 else ''} with more than one row "
            f"({shown}{'; …' if total > len(repeated) else ''}): joined to a spine, each would repeat the spine's "
            f"rows. Keep one row per {keys} in the view's query (GROUP BY {keys}, or QUALIFY ROW_NUMBER() OVER "
            f"(PARTITION BY {keys} ORDER BY <a column that decides>) = 1) and register a new version, or give "
            "the view a timestamp column for a point-in-time join"
        )

    # Primitives each backend implements: checked, canonical input; NotFoundError for a missing object.

    def _one_connection(self) -> AbstractContextManager[object]:
        """Around a public call that makes several round trips to the engine: an adapter whose
        connections cost to open (DuckDB opens its file, ~20 ms) keeps one open for the block.
        The default does nothing."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def _read_entity(self, name: str) -> Entity | None:
        """The entity ``name`` (canonical), or None."""

    @abc.abstractmethod
    def _list_entities(self) -> list[Entity]:
        """Every entity, in any order."""

    @abc.abstractmethod
    def _create_entity(self, entity: Entity) -> None:
        """Create ``entity``; the core has checked that no entity of that name exists."""

    @abc.abstractmethod
    def _drop_entity(self, name: str) -> None:
        """Drop the entity ``name``; the core has checked that it exists and no feature view uses it."""

    @abc.abstractmethod
    def _read_feature_view(self, name: str, version: str) -> FeatureView | None:
        """The feature view version, or None; ``created_at`` as the engine keeps it (UTC if naive)."""

    @abc.abstractmethod
    def _list_feature_views(self, name: str | None) -> list[FeatureView]:
        """Every feature view version (of ``name`` when given), in any order."""

    @abc.abstractmethod
    def _create_feature_view(self, draft: FeatureView, join_keys: tuple[str, ...], *, replace: bool) -> FeatureView:
        """Create the version ``draft`` describes, as one step: its object and what the store knows of it.

        ``draft`` is checked (its entities exist, its query returns ``join_keys`` and its timestamp
        column) and carries ``created_at``; ``object_name`` is for the adapter to fill in.
        ``replace`` says the version exists and is to be replaced. Returns the version as stored.
        """

    @abc.abstractmethod
    def _drop_feature_view(self, view: FeatureView) -> None:
        """Drop a feature view version that exists, its object and what the store knows of it."""

    @abc.abstractmethod
    def _read_rows(self, view: FeatureView) -> pd.DataFrame:
        """Every row of a feature view version that is registered."""

    @abc.abstractmethod
    def _join(self, plan: JoinPlan) -> pd.DataFrame:
        """The spine's rows with the views' feature columns, as ``generate_training_set`` defines.

        When ``plan.target`` is given, the rows are also saved as that table; ``plan.replace``
        says a training set's table of that name exists and is to be replaced (in one step where
        the engine can).
        """


def _reading_query(value: object, argument: str, user: str) -> str:
    """One reading SQL statement (a trailing ``;`` dropped), the only kind a view or a spine may be."""
    if type(value).__name__ == "DataFrame":  # pandas or Snowpark: rows, not a query
        raise InvalidInputError(
            f"{argument} must be a string (a SQL query), not a DataFrame: write the rows as a table "
            "(backend.warehouse.write_table) and select from it"
        )
    sql = statements.single(checks.text(value, argument))
    if not statements.is_reading(sql):
        raise InvalidInputError(
            f"{argument} of {user} must only read, but it is a {statements.kind(sql) or 'statement'} statement "
            f"({statements.abbreviate(sql)}): write a query (SELECT …)"
        )
    return sql


def _views_argument(value: object) -> list[FeatureViewLike]:
    if isinstance(value, (str, FeatureView, FeatureViewRef, Mapping)) or not isinstance(value, Iterable):
        raise InvalidInputError(f"feature_views must be a list of feature view versions, not {value!r}")
    views = list(value)
    if not views:
        raise InvalidInputError("feature_views is empty: give at least one feature view version")
    return views


def _check_spine(
    spine_cols: tuple[str, ...], joined: Sequence[JoinedView], labels: tuple[str, ...], spine_ts: str | None
) -> None:
    """The spine has every column the join needs, and no feature column is there twice."""
    has = f"the spine returns {list(spine_cols)}"
    missing_labels = [c for c in labels if c not in spine_cols]
    if missing_labels:
        raise InvalidInputError(f"label_cols {missing_labels} are not columns of the spine: {has}")
    if spine_ts is not None and spine_ts not in spine_cols:
        raise InvalidInputError(f"spine_timestamp_col {spine_ts} is not a column of the spine: {has}")
    seen = {column: "the spine" for column in spine_cols}
    for part in joined:
        lacking = [k for k in part.join_keys if k not in spine_cols]
        if lacking:
            raise InvalidInputError(f"the spine lacks the join key(s) {lacking} of feature view {part.view.ref}: {has}")
        clash = {c: seen[c] for c in part.view.feature_columns if c in seen}
        if clash:
            where = ", ".join(f"{column} (in {owner})" for column, owner in clash.items())
            raise InvalidInputError(
                f"feature view {part.view.ref} brings feature column(s) that are already there: {where}; rename "
                "them in one of the queries"
            )
        seen.update({c: f"feature view {part.view.ref}" for c in part.view.feature_columns})


def _same_definition(a: FeatureView, b: FeatureView) -> bool:
    def flat(sql: str) -> str:
        return " ".join(sql.split()).rstrip(";").strip()

    return (a.entities, flat(a.query), a.timestamp_col, a.description) == (
        b.entities,
        flat(b.query),
        b.timestamp_col,
        b.description,
    )


def _in_utc(view: FeatureView) -> FeatureView:
    return dataclasses.replace(view, created_at=clock.as_utc(view.created_at))
