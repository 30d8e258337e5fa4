"""``SnowflakeWarehouse``: the Warehouse interface over a Snowpark session.

SQL is already in Snowflake's dialect, so it runs as given. Every object name the kit builds into
SQL itself passes through ``mlops_kit.names`` first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mlops_kit import names, statements
from mlops_kit.adapters.snowflake._errors import SnowflakeErrorKinds, translated
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError
from mlops_kit.warehouse import Warehouse, WriteMode

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Session


class SnowflakeWarehouse(SnowflakeErrorKinds, Warehouse):
    """Tables and SQL in one Snowflake database."""

    supports_model_sql = True

    def __init__(self, session: Session, database: str = "MLOPS_HOL_DB") -> None:
        self.session = session
        self._database = names.identifier(database, "database")

    @property
    def database(self) -> str:
        return self._database

    def qualify(self, table: str) -> names.TableName:
        """``SCHEMA.TABLE`` as a canonical three-part name in this database."""
        name = names.table_name(table)
        return names.TableName(name.schema, name.table, name.database or self._database)

    def create_schemas(self, schemas: Iterable[str]) -> None:
        # CREATE SCHEMA also makes the new schema the session's current one: keep the current schema
        # (unqualified model calls and the registry resolve against it).
        with translated("could not read the current schema"):
            current = self.session.get_current_schema()
        for schema in schemas:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self._database}.{names.identifier(schema, 'schema')}")
        if current:
            with translated("could not restore the current schema"):
                self.session.use_schema(current)

    def query(self, sql: str) -> pd.DataFrame:
        statement = statements.single(sql)
        with translated("query failed"):
            return self.session.sql(statement).to_pandas()

    def execute(self, sql: str) -> None:
        with translated("statement failed"):
            self.session.sql(sql).collect()

    def create_table_as(self, table: str, sql: str) -> int:
        # One CTAS statement: on failure Snowflake leaves an existing table untouched.
        target = self.qualify(table).qualified()
        with translated(f"could not create {target}", default=InvalidInputError):
            self.session.sql(f"CREATE OR REPLACE TABLE {target} AS {sql}").collect()
            return int(self.session.sql(f"SELECT COUNT(*) AS N FROM {target}").collect()[0][0])

    def write_table(self, table: str, df: pd.DataFrame, mode: WriteMode = "overwrite") -> int:
        if mode not in ("overwrite", "append", "error"):
            raise InvalidInputError(f"write mode {mode!r} is not one of overwrite, append, error")
        target = self.qualify(table)
        columns = [names.identifier(str(column), f"column of {target}") for column in df.columns]
        if len(set(columns)) != len(columns):
            raise InvalidInputError(f"columns of {target} collide once upper-cased: {list(df.columns)}")
        if mode == "error" and self.table_exists(str(target)):
            raise AlreadyExistsError(f"table {target} already exists")
        # The index is not data (write_pandas would warn and drop a non-default one).
        frame = df.set_axis(columns, axis=1).reset_index(drop=True)
        # overwrite=True with auto_create_table loads into a new table and swaps it in, so a failed
        # load leaves the old table; append is one COPY INTO (ON_ERROR=abort_statement).
        with translated(f"could not write {target}", default=InvalidInputError):
            self.session.write_pandas(
                frame,
                target.table,
                database=target.database,
                schema=target.schema,
                auto_create_table=True,
                overwrite=mode != "append",
                use_logical_type=True,
            )
        return len(frame)

    def write_tables(self, frames: Mapping[str, pd.DataFrame], mode: WriteMode = "overwrite") -> dict[str, int]:
        """Load every frame into a staging table (``<TABLE>__MLOPS_KIT_STAGE``), then put them in place.

        Nothing changes before every frame is loaded; a failed load drops the staging tables. Then
        ``overwrite`` swaps each staging table in (``ALTER TABLE … SWAP WITH``, atomic per table,
        or a rename where the table is new), ``error`` renames them, and ``append`` inserts every
        staged row in one transaction. Snowflake commits each ALTER TABLE on its own, so a kill
        between two swaps leaves the tables swapped so far new and the others old, plus staging
        tables; writing the same frames again replaces the staging tables and swaps every table,
        which repairs it.
        """
        if mode not in ("overwrite", "append", "error"):
            raise InvalidInputError(f"write mode {mode!r} is not one of overwrite, append, error")
        prepared: list[tuple[str, names.TableName, names.TableName, pd.DataFrame]] = []
        for table, df in frames.items():
            target = self.qualify(table)
            columns = [names.identifier(str(column), f"column of {target}") for column in df.columns]
            if len(set(columns)) != len(columns):
                raise InvalidInputError(f"columns of {target} collide once upper-cased: {list(df.columns)}")
            stage = names.TableName(target.schema, f"{target.table}__MLOPS_KIT_STAGE", target.database)
            prepared.append((table, target, stage, df.set_axis(columns, axis=1)))
        if len({str(target) for _, target, _, _ in prepared}) != len(prepared):
            raise InvalidInputError(f"a table is named twice in one write: {sorted(frames)}")
        existing = {str(target) for _, target, _, _ in prepared if self._object_type(target) is not None}
        if mode == "error" and existing:
            raise AlreadyExistsError(f"tables {sorted(existing)} already exist")
        try:
            for table, _, stage, frame in prepared:
                with translated(f"could not load {table}", default=InvalidInputError):
                    self.session.write_pandas(
                        frame, stage.table, database=stage.database, schema=stage.schema,
                        auto_create_table=True, overwrite=True, use_logical_type=True,
                    )  # fmt: skip
        except BaseException:
            for _, _, stage, _ in prepared:
                with contextlib.suppress(MlopsKitError):
                    self.execute(f"DROP TABLE IF EXISTS {stage.qualified()}")
            raise
        if mode == "append":
            statements = [
                f"INSERT INTO {target.qualified()} SELECT * FROM {stage.qualified()}"
                if str(target) in existing
                else f"CREATE TABLE {target.qualified()} AS SELECT * FROM {stage.qualified()}"
                for _, target, stage, _ in prepared
            ]
            self.execute("BEGIN TRANSACTION")
            try:
                for statement in statements:
                    self.execute(statement)
            except BaseException:
                self.execute("ROLLBACK")
                raise
            self.execute("COMMIT")
            for _, _, stage, _ in prepared:
                self.execute(f"DROP TABLE IF EXISTS {stage.qualified()}")
        else:
            for _, target, stage, _ in prepared:
                if str(target) in existing:
                    self.execute(f"ALTER TABLE {target.qualified()} SWAP WITH {stage.qualified()}")
                    self.execute(f"DROP TABLE IF EXISTS {stage.qualified()}")
                else:
                    self.execute(f"ALTER TABLE {stage.qualified()} RENAME TO {target.qualified()}")
        return {table: len(frame) for table, _, _, frame in prepared}

    def _object_type(self, target: names.TableName) -> str | None:
        """``BASE TABLE``, ``VIEW`` … for an existing table or view, None when there is none."""
        rows = self._information_schema(
            f"SELECT TABLE_TYPE FROM {target.database}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA = '{target.schema}' AND TABLE_NAME = '{target.table}'"
        )
        return str(rows[0][0]) if rows else None

    def _information_schema(self, sql: str) -> list:
        with translated("could not read INFORMATION_SCHEMA"):
            return self.session.sql(sql).collect()

    def list_tables(self, schema: str) -> list[str]:
        schema_id = names.identifier(schema, "schema")
        rows = self._information_schema(
            f"SELECT TABLE_NAME FROM {self._database}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA = '{schema_id}' ORDER BY TABLE_NAME"
        )
        return [str(row[0]) for row in rows]

    def drop_table(self, table: str) -> bool:
        target = self.qualify(table)
        kind = self._object_type(target)
        if kind is None:
            return False
        keyword = "VIEW" if "VIEW" in kind.upper() else "TABLE"
        self.execute(f"DROP {keyword} IF EXISTS {target.qualified()}")
        return True

    def drop_schema(self, schema: str) -> bool:
        schema_id = names.identifier(schema, "schema")
        rows = self._information_schema(
            f"SELECT SCHEMA_NAME FROM {self._database}.INFORMATION_SCHEMA.SCHEMATA "
            f"WHERE SCHEMA_NAME = '{schema_id}'"
        )
        if not rows:
            return False
        self.execute(f"DROP SCHEMA IF EXISTS {self._database}.{schema_id} CASCADE")
        return True
