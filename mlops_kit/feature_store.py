"""The ``FeatureStore`` interface: entities, versioned feature views and training sets.

Shaped after snowflake-ml's FeatureStore so both backends can serve it: a feature view version is
an immutable named query (Snowflake stores it as ``NAME$VERSION``), training sets join a spine with
feature view versions, point-in-time correct when both sides carry timestamps.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlops_kit.boundary import Boundary
from mlops_kit.types import Entity, FeatureView, FeatureViewRef, TrainingSet

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.warehouse import Warehouse

FeatureViewLike = FeatureView | FeatureViewRef | tuple[str, str]


def as_ref(view: FeatureViewLike) -> FeatureViewRef:
    """Accept a FeatureView, a FeatureViewRef or a ``(name, version)`` pair."""
    from mlops_kit import names

    if isinstance(view, FeatureView):
        return view.ref
    name, version = (view.name, view.version) if isinstance(view, FeatureViewRef) else view
    return FeatureViewRef(names.identifier(name, "feature view"), names.feature_view_version(version))


class FeatureStore(Boundary, abc.ABC):
    """Entities, feature view versions and training sets in one feature store schema."""

    #: The warehouse the kit's own records live in (``mlops_kit/records/``); set by ``Backend``.
    warehouse: Warehouse

    @abc.abstractmethod
    def register_entity(self, name: str, join_keys: Sequence[str], description: str = "") -> Entity:
        """Register an entity, or return it when an identical one exists.

        Raises:
            AlreadyExistsError: an entity of that name exists with other join keys or description.
            InvalidInputError: a name or join key is not an identifier, or no join key is given.
        """

    @abc.abstractmethod
    def list_entities(self) -> list[Entity]:
        """All entities, sorted by name."""

    @abc.abstractmethod
    def get_entity(self, name: str) -> Entity:
        """Raises NotFoundError when there is no such entity."""

    @abc.abstractmethod
    def delete_entity(self, name: str) -> None:
        """Delete an entity.

        Raises:
            NotFoundError: there is no such entity.
            InvalidInputError: feature views still use it (delete them first).
        """

    @abc.abstractmethod
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
        """Register a feature view version computed by ``query`` (Snowflake SQL dialect).

        The query must return the join keys of every entity (and ``timestamp_col`` when given).
        Versions are immutable: registering an existing name and version with the same query,
        entities, timestamp column and description returns the existing version.

        Raises:
            AlreadyExistsError: the version exists with another definition and ``overwrite`` is False.
            NotFoundError: an entity is not registered.
            InvalidInputError: a bad name or version, a failing query, or a query that lacks a join
                key or the timestamp column.
        """

    @abc.abstractmethod
    def list_feature_views(self, name: str | None = None) -> list[FeatureView]:
        """Every feature view version (or every version of ``name``), sorted by name and version."""

    @abc.abstractmethod
    def get_feature_view(self, name: str, version: str) -> FeatureView:
        """Raises NotFoundError when there is no such feature view version."""

    @abc.abstractmethod
    def read_feature_view(self, name: str, version: str) -> pd.DataFrame:
        """The current rows of a feature view version. Raises NotFoundError when it does not exist."""

    @abc.abstractmethod
    def delete_feature_view(self, name: str, version: str) -> None:
        """Delete one feature view version. Raises NotFoundError when it does not exist."""

    @abc.abstractmethod
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

        Args:
            save_as: ``SCHEMA.TABLE`` (or a bare name, in the feature store's schema) to keep the
                result as a table, recorded with its spine and feature view versions for lineage.
        Returns:
            The training set with its rows in ``data``.
        Raises:
            NotFoundError: a feature view version does not exist.
            InvalidInputError: the spine lacks a join key, label or timestamp column, or two
                feature views share a feature column name.
        """

    @abc.abstractmethod
    def get_training_set(self, table: str) -> TrainingSet:
        """The record of a saved training set, with its rows. Raises NotFoundError if unknown."""

    @abc.abstractmethod
    def delete_training_set(self, table: str) -> None:
        """Drop a saved training set and its record. Raises NotFoundError if unknown."""
