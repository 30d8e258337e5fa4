"""The ``Warehouse`` interface: tables and SQL, the part of a workflow that is neither features,
runs nor models.

SQL given to a warehouse is written in Snowflake's dialect on every backend. Snowflake runs it as it
is; the local backend translates it for DuckDB. One dialect means the same query gives the same rows
everywhere (the conformance suite checks it).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlops_kit.boundary import Boundary
from mlops_kit.csv_loading import ColumnType, read_csv_checked

if TYPE_CHECKING:
    import pandas as pd

WriteMode = Literal["overwrite", "append", "error"]


class Warehouse(Boundary, abc.ABC):
    """Tables and SQL in one database (``MLOPS_HOL_DB``) with several schemas."""

    #: Whether ``!PREDICT``-style model calls work inside ``query`` (see ``query``).
    supports_model_sql: bool = True

    @property
    @abc.abstractmethod
    def database(self) -> str:
        """The canonical database name, e.g. ``MLOPS_HOL_DB``."""

    @abc.abstractmethod
    def create_schemas(self, schemas: Iterable[str]) -> None:
        """Create each schema unless it exists.

        Raises:
            InvalidInputError: a schema name is not a plain identifier.
        """

    @abc.abstractmethod
    def query(self, sql: str) -> pd.DataFrame:
        """Run one statement (a query) in Snowflake's SQL dialect and return its rows.

        Exactly one statement runs: ``SELECT 1; DROP TABLE T`` is refused before anything runs (a
        trailing ``;`` is fine).

        A registered model can be called as on Snowflake:
        ``SELECT CUSTOMER_CHURN_PREDICTOR!PREDICT(A, B)['output_feature_0'] FROM T`` uses the default
        version; ``WITH M AS MODEL CUSTOMER_CHURN_PREDICTOR VERSION V1 SELECT M!PREDICT(...)`` a
        named one.

        Raises:
            NotFoundError: a table or model in the query does not exist.
            InvalidInputError: the SQL does not parse, holds no statement or more than one, or
                fails to run.
        """

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement (DDL or DML) in Snowflake's dialect.

        Raises:
            InvalidInputError: the statement does not parse or fails to run.
        """

    @abc.abstractmethod
    def create_table_as(self, table: str, sql: str) -> int:
        """Create or replace ``table`` (``SCHEMA.TABLE``) with the rows of ``sql``, atomically.

        Returns:
            The number of rows written.
        Raises:
            InvalidInputError: bad table name or failing SQL; an existing table is left as it was.
        """

    @abc.abstractmethod
    def write_table(self, table: str, df: pd.DataFrame, mode: WriteMode = "overwrite") -> int:
        """Write a DataFrame as a table in one transaction; column names are upper-cased.

        Args:
            mode: ``overwrite`` replaces the table, ``append`` adds rows (creating it if missing),
                ``error`` refuses an existing table.
        Returns:
            The number of rows written.
        Raises:
            AlreadyExistsError: ``mode="error"`` and the table exists.
            InvalidInputError: a column name is not an identifier, the schema does not exist, the
                rows do not fit, or (``append``) the frame's columns are not the table's.
        """

    @abc.abstractmethod
    def write_tables(self, frames: Mapping[str, pd.DataFrame], mode: WriteMode = "overwrite") -> dict[str, int]:
        """Write several DataFrames as tables, all or nothing (e.g. a load of related raw tables).

        Each frame is written as ``write_table`` would write it. Every frame is checked and loaded
        before any table changes, so a bad frame or a failed load leaves every table as it was.
        Where the engine has transactions that cover creating tables (DuckDB), the tables change
        in one transaction, so other readers and a kill at any moment see all old or all new
        tables. Where it has not (Snowflake), the adapter documents what a kill between tables
        leaves; writing the same frames again always ends with all of them written.

        Args:
            frames: ``SCHEMA.TABLE`` -> rows to write; each table at most once.
            mode: as for ``write_table``, the same for every table.
        Returns:
            Rows written per table, keyed as given.
        Raises:
            AlreadyExistsError: ``mode="error"`` and one of the tables exists (nothing is written).
            InvalidInputError: a bad table or column name, a table named twice, or rows that do
                not fit (nothing is written).
        """

    @abc.abstractmethod
    def list_tables(self, schema: str) -> list[str]:
        """Names of the tables and views in ``schema`` (empty if the schema does not exist)."""

    @abc.abstractmethod
    def drop_table(self, table: str) -> bool:
        """Drop a table or view; returns whether something was dropped."""

    @abc.abstractmethod
    def drop_schema(self, schema: str) -> bool:
        """Drop a schema and all it holds; returns whether something was dropped."""

    # Conveniences built on the primitives above.

    def table_exists(self, table: str) -> bool:
        from mlops_kit.names import table_name

        name = table_name(table)
        # Feature view objects keep their version's case (CUSTOMER_FEATURES$v1): compare without case.
        return any(t.upper() == name.table for t in self.list_tables(name.schema))

    def read_table(self, table: str) -> pd.DataFrame:
        """All rows of ``table``. Raises NotFoundError when it does not exist."""
        from mlops_kit.names import table_name

        return self.query(f"SELECT * FROM {table_name(table).qualified()}")

    def load_csv(
        self, table: str, path: str | Path, columns: Mapping[str, ColumnType], encoding: str = "utf-8"
    ) -> int:
        """Validate a CSV file with a header row against ``columns`` and write it as ``table``.

        Nothing is written unless the whole file is valid. ``encoding`` is the file's text encoding.

        Raises:
            InvalidInputError: a missing, extra or mistyped column, an empty file, a folder or a file
                not in ``encoding``; the message names the file, the column and the first offending
                rows (and, for text in another encoding, the likely one).
        """
        return self.write_table(table, read_csv_checked(path, columns, encoding), mode="overwrite")
