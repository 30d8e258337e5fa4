"""The record of saved training sets: which spine, labels and feature view versions made each table.

No engine keeps this for a plain table (snowflake-ml's ``generate_training_set(save_as=…)`` writes
only the rows), and lineage needs it: a model version names the training set it was fitted on, and
the training set names its feature view versions. One row per saved table, keyed by
``SCHEMA.TABLE``, in ``<feature store schema>.MLOPS_KIT_TRAINING_SETS`` on every backend.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from mlops_kit import clock
from mlops_kit.records import RecordTable, sql_string
from mlops_kit.types import FeatureViewRef, TrainingSet

if TYPE_CHECKING:
    from mlops_kit.warehouse import Warehouse

TABLE = "MLOPS_KIT_TRAINING_SETS"

#: Column -> Snowflake type. Lists are JSON text; CREATED_AT is UTC without a zone.
COLUMNS = {
    "TABLE_NAME": "VARCHAR",
    "SPINE_QUERY": "VARCHAR",
    "FEATURE_VIEWS": "VARCHAR",  # [["NAME", "version"], …]
    "LABEL_COLS": "VARCHAR",
    "FEATURE_COLUMNS": "VARCHAR",
    "COLUMNS": "VARCHAR",
    "SPINE_TIMESTAMP_COL": "VARCHAR",
    "ROW_COUNT": "NUMBER",
    "CREATED_AT": "TIMESTAMP_NTZ",
}


class TrainingSetRecords:
    """Saved training sets, in the feature store's schema of ``warehouse``."""

    def __init__(self, warehouse: Warehouse, schema: str) -> None:
        self.records = RecordTable(warehouse, schema, TABLE, COLUMNS, key=["TABLE_NAME"])
        self._upgraded = False

    def upgrade(self) -> None:
        """Add the columns a table written by an older kit lacks (7 columns locally, before
        ``COLUMNS`` and ``ROW_COUNT``); records are matched by column name, so order is no matter."""
        if self._upgraded or not self.records.exists():
            return
        warehouse, table = self.records.warehouse, self.records.qualified
        present = {str(c).upper() for c in warehouse.query(f"SELECT * FROM {table} LIMIT 0").columns}
        for column, kind in COLUMNS.items():
            if column not in present:
                warehouse.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self._upgraded = True

    def find(self, table: str) -> TrainingSet | None:
        """The record of the training set saved as ``table`` (``SCHEMA.TABLE``), without its rows."""
        self.upgrade()
        import pandas as pd

        found = self.records.read({"TABLE_NAME": table})
        if found.empty:
            return None
        row = found.iloc[0]
        ts_col = row["SPINE_TIMESTAMP_COL"]
        return TrainingSet(
            spine_query=str(row["SPINE_QUERY"]),
            feature_views=tuple(FeatureViewRef(n, v) for n, v in json.loads(row["FEATURE_VIEWS"])),
            label_cols=tuple(json.loads(row["LABEL_COLS"])),
            feature_columns=tuple(json.loads(row["FEATURE_COLUMNS"])),
            columns=tuple(json.loads(row["COLUMNS"])) if isinstance(row["COLUMNS"], str) else (),
            row_count=0 if pd.isna(row["ROW_COUNT"]) else int(row["ROW_COUNT"]),
            table=str(row["TABLE_NAME"]),
            spine_timestamp_col=str(ts_col) if isinstance(ts_col, str) and ts_col else None,
            created_at=clock.as_utc(row["CREATED_AT"]),
        )

    def ensure(self) -> None:
        """Create the record table unless it exists."""
        self.records.ensure()

    def begin(self, training_set: TrainingSet) -> None:
        """Record a training set before its table is written (no columns, no rows yet)."""
        self.put(dataclasses.replace(training_set, columns=(), row_count=0))

    def put(self, training_set: TrainingSet) -> None:
        """Write the record of ``training_set``, replacing the one with the same table."""
        self.upgrade()
        self.records.put(
            {
                "TABLE_NAME": training_set.table,
                "SPINE_QUERY": training_set.spine_query,
                "FEATURE_VIEWS": json.dumps([[r.name, r.version] for r in training_set.feature_views]),
                "LABEL_COLS": json.dumps(list(training_set.label_cols)),
                "FEATURE_COLUMNS": json.dumps(list(training_set.feature_columns)),
                "COLUMNS": json.dumps(list(training_set.columns)),
                "SPINE_TIMESTAMP_COL": training_set.spine_timestamp_col,
                "ROW_COUNT": training_set.row_count,
                "CREATED_AT": _naive_utc(training_set),
            }
        )

    def finish(self, training_set: TrainingSet) -> None:
        """Complete the record once the table is written: its columns and row count."""
        where = self.records.where({"TABLE_NAME": str(training_set.table)})
        self.records.warehouse.execute(
            f"UPDATE {self.records.qualified} SET COLUMNS = {sql_string(json.dumps(list(training_set.columns)))}, "
            f"ROW_COUNT = {int(training_set.row_count)}{where}"
        )

    def remove(self, table: str) -> None:
        self.records.delete({"TABLE_NAME": table})


def _naive_utc(training_set: TrainingSet) -> object:
    created = clock.as_utc(training_set.created_at)
    return None if created is None else created.replace(tzinfo=None)
