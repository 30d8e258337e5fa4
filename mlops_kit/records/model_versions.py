"""Model lineage records: which run, params, training set and feature view versions made a model version.

One row per model version in ``<registry schema>.MLOPS_KIT_VERSION_LINEAGE``, the same table on
every backend, written by the core's ``Registry.log_model`` and read by ``list_versions``,
``get_version`` and ``get_lineage``. Engines keep models, versions, the default and metrics; none
keeps this (a Snowflake model logged from a pandas sample has no lineage edges to read back;
MLflow keeps tags, which the local backend still writes for MLflow UI users, but the record is what
the kit reads).

A record of a version that does not exist (a registration killed before its version became
visible, a deletion killed after the version went) is never read: reads start from the engine's
versions. The next registration of that name replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlops_kit import clock
from mlops_kit.records import RecordTable
from mlops_kit.types import FeatureViewRef, RunRef

if TYPE_CHECKING:
    from mlops_kit.warehouse import Warehouse

TABLE = "MLOPS_KIT_VERSION_LINEAGE"
COLUMNS = {
    "MODEL_NAME": "VARCHAR",
    "VERSION_NAME": "VARCHAR",
    "RUN_EXPERIMENT": "VARCHAR",
    "RUN_NAME": "VARCHAR",
    "RUN_ID": "VARCHAR",
    "PARAMS": "VARCHAR",  # JSON object: the run's params as logged
    "TRAINING_SET": "VARCHAR",
    "FEATURE_VIEWS": "VARCHAR",  # JSON list of [name, version]
    "FEATURE_NAMES": "VARCHAR",  # JSON list: the model's input columns, in order
    "CREATED_AT": "TIMESTAMP_NTZ",  # UTC
}
KEY = ("MODEL_NAME", "VERSION_NAME")


@dataclass(frozen=True)
class VersionLineage:
    """What made one model version."""

    run: RunRef | None = None
    params: dict[str, str] | None = None
    training_set: str | None = None
    feature_views: tuple[FeatureViewRef, ...] = ()
    feature_names: tuple[str, ...] = ()
    created_at: datetime | None = None


class ModelVersionRecords:
    """The lineage records of every model of one registry."""

    def __init__(self, warehouse: Warehouse, schema: str) -> None:
        self.table = RecordTable(warehouse, schema, TABLE, COLUMNS, KEY)

    def put(self, model: str, version: str, lineage: VersionLineage) -> None:
        """Record (or replace) the lineage of ``model``/``version``."""
        run = lineage.run
        self.table.put(
            {
                "MODEL_NAME": model,
                "VERSION_NAME": version,
                "RUN_EXPERIMENT": run.experiment if run else None,
                "RUN_NAME": run.name if run else None,
                "RUN_ID": run.run_id if run else None,
                "PARAMS": json.dumps(lineage.params or {}, sort_keys=True),
                "TRAINING_SET": lineage.training_set,
                "FEATURE_VIEWS": json.dumps([[ref.name, ref.version] for ref in lineage.feature_views]),
                "FEATURE_NAMES": json.dumps(list(lineage.feature_names)),
                "CREATED_AT": (lineage.created_at or clock.now()).replace(tzinfo=None),
            }
        )

    def read(self, model: str) -> dict[str, VersionLineage]:
        """The records of ``model``'s versions, by version name (empty when there are none)."""
        rows = self.table.read({"MODEL_NAME": model})
        return {str(row["VERSION_NAME"]): _lineage(row) for row in rows.to_dict("records")}

    def delete(self, model: str, version: str | None = None) -> None:
        """Forget one version's record, or every record of ``model`` when ``version`` is None."""
        if version is not None:
            self.table.delete({"MODEL_NAME": model, "VERSION_NAME": version})
        elif self.table.exists():
            self.table.warehouse.execute(f"DELETE FROM {self.table.qualified}{self.table.where({'MODEL_NAME': model})}")


def _text(value: Any) -> str | None:
    """A VARCHAR cell as read back: None for SQL NULL (pandas may hand back NaN or None)."""
    return value if isinstance(value, str) else None


def _lineage(row: dict[str, Any]) -> VersionLineage:
    run_id = _text(row["RUN_ID"])
    created = row["CREATED_AT"]
    return VersionLineage(
        run=RunRef(_text(row["RUN_EXPERIMENT"]) or "", _text(row["RUN_NAME"]) or "", run_id) if run_id else None,
        params={str(k): str(v) for k, v in json.loads(_text(row["PARAMS"]) or "{}").items()},
        training_set=_text(row["TRAINING_SET"]),
        feature_views=tuple(FeatureViewRef(n, v) for n, v in json.loads(_text(row["FEATURE_VIEWS"]) or "[]")),
        feature_names=tuple(json.loads(_text(row["FEATURE_NAMES"]) or "[]")),
        created_at=clock.as_utc(created) if isinstance(created, datetime) else None,
    )
