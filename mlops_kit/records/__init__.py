"""The records the kit keeps for itself, defined once, over the ``Warehouse`` interface.

Some facts no engine keeps for us: which spine, labels and feature view versions a saved training
set was made from; which run, training set and feature view versions made a model version. The kit
keeps them in tables of its own, ``MLOPS_KIT_*``, in the warehouse, with one schema on every
backend: the same columns and types on DuckDB and on Snowflake, written and read only through the
public ``Warehouse`` methods, in Snowflake's SQL dialect. Each record table is one module here
(``training_sets.py``, ``model_versions.py``); ``RecordTable`` is what they share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlops_kit import names
from mlops_kit.warehouse import writing_records

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.warehouse import Warehouse


def sql_string(value: str) -> str:
    """``value`` as a Snowflake string literal, quotes and backslashes escaped."""
    from sqlglot import exp

    return exp.Literal.string(value).sql(dialect="snowflake")


class RecordTable:
    """One table of records in the warehouse: created on first write, one row per key.

    Args:
        columns: column name -> Snowflake type (``VARCHAR``, ``NUMBER``, ``TIMESTAMP_NTZ`` …), in order.
            Timestamps are stored as UTC without a zone (``mlops_kit.clock``), the same on every engine.
        key: the columns that identify a record; ``put`` replaces the record with the same key.
    """

    def __init__(
        self, warehouse: Warehouse, schema: str, name: str, columns: Mapping[str, str], key: Sequence[str]
    ) -> None:
        self.warehouse = warehouse
        self.table = names.TableName(names.identifier(schema, "schema"), names.identifier(name, "record table"))
        self.columns = dict(columns)
        self.key = tuple(key)
        self._exists = False

    @property
    def qualified(self) -> str:
        return self.table.qualified()

    def exists(self) -> bool:
        if not self._exists:
            self._exists = self.warehouse.table_exists(self.qualified)
        return self._exists

    def ensure(self) -> None:
        """Create the table unless it exists (and its schema)."""
        if self.exists():
            return
        self.warehouse.create_schemas([self.table.schema])
        definition = ", ".join(f"{column} {kind}" for column, kind in self.columns.items())
        self.warehouse.execute(f"CREATE TABLE IF NOT EXISTS {self.qualified} ({definition})")
        self._exists = True

    def where(self, match: Mapping[str, str]) -> str:
        """A WHERE clause matching every column of ``match`` exactly (values as string literals)."""
        unknown = [column for column in match if column not in self.columns]
        if unknown:
            raise KeyError(f"{self.qualified} has no columns {unknown}")
        if not match:
            return ""
        return " WHERE " + " AND ".join(f"{column} = {sql_string(str(value))}" for column, value in match.items())

    def read(self, match: Mapping[str, str] | None = None, *, order_by: Sequence[str] = ()) -> pd.DataFrame:
        """The records matching ``match`` (all of them when None), with every column."""
        import pandas as pd

        if not self.exists():
            return pd.DataFrame(columns=list(self.columns))
        order = f" ORDER BY {', '.join(order_by)}" if order_by else ""
        return self.warehouse.query(f"SELECT * FROM {self.qualified}{self.where(match or {})}{order}")

    def delete(self, match: Mapping[str, str]) -> None:
        """Remove the records matching ``match`` (every key column must be given)."""
        missing = [column for column in self.key if column not in match]
        if missing:
            raise KeyError(f"deleting from {self.qualified} needs the key columns {missing}")
        if self.exists():
            self.warehouse.execute(f"DELETE FROM {self.qualified}{self.where(match)}")

    def put(self, record: Mapping[str, Any]) -> None:
        """Write ``record`` (every column), replacing the record with the same key.

        Two statements (a delete, then an append): a process killed between them leaves the
        record missing, which reads as "no record"; writing it again repairs that.
        """
        import pandas as pd

        if set(record) != set(self.columns):
            raise KeyError(f"a record of {self.qualified} has the columns {list(self.columns)}, got {list(record)}")
        self.ensure()
        self.delete({column: record[column] for column in self.key})
        row = pd.DataFrame([{column: record[column] for column in self.columns}])
        with writing_records():
            self.warehouse.write_table(self.qualified, row, mode="append")
