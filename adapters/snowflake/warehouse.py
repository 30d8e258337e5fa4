"""``SnowflakeWarehouse``: the Warehouse primitives over a Snowpark session.

SQL is already in Snowflake's dialect, so it runs as given. The core (``mlops_kit/warehouse.py``)
has checked every argument and name before a primitive runs; what a primitive raises is translated
by the core's boundary through ``SnowflakeErrorKinds``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlops_kit import names
from mlops_kit.adapters.snowflake._errors import SNOWFLAKE_ERRORS, SnowflakeErrorKinds
from mlops_kit.connect import DEFAULT_DATABASE
from mlops_kit.errors import MlopsKitError
from mlops_kit.warehouse import TableState, TableWrite, Warehouse, WriteMode

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Session

#: Suffix of the table a frame is loaded into before it is put in place.
STAGE_SUFFIX = "__MLOPS_KIT_STAGE"


class SnowflakeWarehouse(SnowflakeErrorKinds, Warehouse):
    """Tables and SQL in one Snowflake database."""

    def __init__(self, session: Session, database: str = DEFAULT_DATABASE) -> None:
        self.session = session
        self._database = names.identifier(database, "database")

    @property
    def database(self) -> str:
        return self._database

    def qualify(self, table: names.TableName) -> str:
        """``"DATABASE"."SCHEMA"."TABLE"`` in this database, quoted: a part may be a reserved word."""
        return names.TableName(table.schema, table.table, self._database).quoted()

    # The primitives of the Warehouse interface (mlops_kit/warehouse.py).

    def _create_schemas(self, schemas: Sequence[str]) -> None:
        # CREATE SCHEMA also makes the new schema the session's current one: keep the current schema
        # (unqualified model calls and the registry resolve against it).
        database, current = self.session.get_current_database(), self.session.get_current_schema()
        for schema in schemas:
            self._run(f"CREATE SCHEMA IF NOT EXISTS {self._database}.{schema}")
        if database and current:
            self._run(f"USE SCHEMA {database}.{current}")

    def _query(self, statement: str) -> pd.DataFrame:
        return self.session.sql(statement).to_pandas()

    def _execute(self, statement: str) -> None:
        self._run(statement)

    def _create_table_as(self, table: names.TableName, query: str) -> int:
        # One CTAS statement: on failure Snowflake leaves an existing table untouched.
        target = self.qualify(table)
        self._run(f"CREATE OR REPLACE TABLE {target} AS {query}")
        return int(self.session.sql(f"SELECT COUNT(*) AS N FROM {target}").collect()[0][0])

    def _write_tables(self, writes: Sequence[TableWrite], mode: WriteMode) -> None:
        """Load every frame into a staging table (``<TABLE>__MLOPS_KIT_STAGE``), then put them in place.

        Nothing changes before every frame is loaded; a failed load drops the staging tables. Then
        ``overwrite`` replaces each existing table's rows and keeps the table (its grants, tags,
        comments and policies: an analyst's SELECT grant survives a rerun of the lab's step 0):
        ``INSERT OVERWRITE`` where the columns are the same
        (https://docs.snowflake.com/en/sql-reference/sql/insert, OVERWRITE), else ``CREATE OR REPLACE
        TABLE … COPY GRANTS`` (the grants kept; https://docs.snowflake.com/en/sql-reference/sql/create-table).
        Each is one statement, atomic per table; a new table is renamed into place. ``error`` renames
        the staging tables, and ``append`` inserts every staged row, by column name, in one
        transaction. A kill between two tables leaves those written so far new and the others old,
        plus staging tables; writing the same frames again replaces the staging tables and writes
        every table, which repairs it.
        """
        existing: set[names.TableName] = set()
        for write in writes:
            state = self._state(write.table)
            self.check_write(write, mode, state)
            if state.columns is not None:
                existing.add(write.table)
        stages = {
            write.table: names.TableName(write.table.schema, write.table.table + STAGE_SUFFIX) for write in writes
        }
        try:
            for write in writes:
                # Not overwrite=True: the connector would load a table named SNOWPARK_TEMP_TABLE_<random>
                # (a permanent table, pandas_tools.write_pandas) and rename it, so a kill in between left
                # a copy of the rows that nothing removes. The staging table has a known name instead,
                # which the next write of the table replaces.
                stage = stages[write.table]
                self._run(f"DROP TABLE IF EXISTS {self.qualify(stage)}")
                self.session.write_pandas(
                    write.frame, stage.table, database=self._database, schema=stage.schema,
                    auto_create_table=True, use_logical_type=True,
                )  # fmt: skip
        except BaseException:
            for stage in stages.values():
                with contextlib.suppress(MlopsKitError, *SNOWFLAKE_ERRORS):
                    self._run(f"DROP TABLE IF EXISTS {self.qualify(stage)}")
            raise
        if mode == "append":
            self._append(writes, stages, existing)
            return
        for write in writes:
            target, stage = self.qualify(write.table), self.qualify(stages[write.table])
            if write.table not in existing:
                self._run(f"ALTER TABLE {stage} RENAME TO {target}")
                continue
            if self._columns(write.table) == self._columns(stages[write.table]):
                self._run(f"INSERT OVERWRITE INTO {target} SELECT * FROM {stage}")
            else:
                self._run(f"CREATE OR REPLACE TABLE {target} COPY GRANTS AS SELECT * FROM {stage}")
            self._run(f"DROP TABLE IF EXISTS {stage}")

    def _list_tables(self, schema: str) -> list[str]:
        rows = self.session.sql(
            f"SELECT TABLE_NAME FROM {self._database}.INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '{schema}'"
        ).collect()
        return [str(row[0]) for row in rows]

    def _drop_table(self, table: names.TableName) -> bool:
        kind = self._object_type(table)
        if kind is None:
            return False
        keyword = "VIEW" if "VIEW" in kind.upper() else "TABLE"
        self._run(f"DROP {keyword} IF EXISTS {self.qualify(table)}")
        return True

    def _drop_schema(self, schema: str) -> bool:
        if not self._schema_exists(schema):
            return False
        self._run(f"DROP SCHEMA IF EXISTS {self._database}.{schema} CASCADE")
        return True

    # Internals.

    def _run(self, statement: str) -> None:
        self.session.sql(statement).collect()

    def _append(
        self,
        writes: Sequence[TableWrite],
        stages: dict[names.TableName, names.TableName],
        existing: set[names.TableName],
    ) -> None:
        """Every staged frame into its table in one transaction (columns by name), then drop the stages."""
        statements = []
        for write in writes:
            target, stage = self.qualify(write.table), self.qualify(stages[write.table])
            if write.table in existing:
                columns = ", ".join(f'"{column}"' for column in write.frame.columns)
                statements.append(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage}")
            else:
                statements.append(f"CREATE TABLE {target} AS SELECT * FROM {stage}")
        self._run("BEGIN TRANSACTION")
        try:
            for statement in statements:
                self._run(statement)
        except BaseException:
            self._run("ROLLBACK")
            raise
        self._run("COMMIT")
        for stage in stages.values():
            self._run(f"DROP TABLE IF EXISTS {self.qualify(stage)}")

    def _state(self, table: names.TableName) -> TableState:
        if self._object_type(table) is None:
            return TableState(self._schema_exists(table.schema), None)
        rows = self.session.sql(
            f"SELECT COLUMN_NAME FROM {self._database}.INFORMATION_SCHEMA.COLUMNS "
            f"WHERE TABLE_SCHEMA = '{table.schema}' AND TABLE_NAME = '{table.table}' ORDER BY ORDINAL_POSITION"
        ).collect()
        return TableState(True, tuple(str(row[0]) for row in rows))

    def _object_type(self, table: names.TableName) -> str | None:
        """``BASE TABLE``, ``VIEW`` … for an existing table or view, None when there is none."""
        rows = self.session.sql(
            f"SELECT TABLE_TYPE FROM {self._database}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA = '{table.schema}' AND TABLE_NAME = '{table.table}'"
        ).collect()
        return str(rows[0][0]) if rows else None

    def _columns(self, table: names.TableName) -> list[tuple[object, ...]]:
        """The table's columns in order, with their types (INFORMATION_SCHEMA.COLUMNS)."""
        rows = self.session.sql(
            f"SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, CHARACTER_MAXIMUM_LENGTH "
            f"FROM {self._database}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{table.schema}' "
            f"AND TABLE_NAME = '{table.table}' ORDER BY ORDINAL_POSITION"
        ).collect()
        return [tuple(row) for row in rows]

    def _schema_exists(self, schema: str) -> bool:
        rows = self.session.sql(
            f"SELECT SCHEMA_NAME FROM {self._database}.INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = '{schema}'"
        ).collect()
        return bool(rows)

    # Existence, asked before anything is created (Snowflake checks CREATE privileges even for an
    # object that exists: connecting must not need them).

    def database_exists(self) -> bool:
        """Whether the kit's database exists (is visible to the session's role)."""
        # SHOW … LIKE is case-insensitive; the name is a checked identifier with nothing to escape.
        rows = self.session.sql(f"SHOW DATABASES LIKE '{self._database}'").collect()
        return any(str(row["name"]) == self._database for row in rows)

    def schema_exists(self, schema: str) -> bool:
        """Whether ``schema`` exists in the kit's database."""
        return self._schema_exists(names.identifier(schema, "schema"))
