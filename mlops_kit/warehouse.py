"""The ``Warehouse`` interface: tables and SQL, the part of a workflow that is neither features,
runs nor models.

SQL given to a warehouse is written in Snowflake's dialect on every backend. Snowflake runs it as it
is; the local backend translates it for DuckDB. One dialect means the same query gives the same rows
everywhere (the conformance suite checks it).

Every rule lives here, once: the public methods check their arguments, make names canonical
(``names.TableName``), hold SQL to one statement (``statements.py``), keep ``query`` to reading
statements and decide whether a write can land; then they call the adapter's primitives (``_…``,
abstract below) inside ``self._boundary``, which turns the engine's errors into the kit's. The
adapters (``adapters/local/warehouse.py``, ``adapters/snowflake/warehouse.py``) only map the
primitives onto their engine.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from mlops_kit import checks, names, statements
from mlops_kit.boundary import Boundary
from mlops_kit.csv_loading import ColumnType, checked_columns, read_csv_checked
from mlops_kit.errors import AlreadyExistsError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

WriteMode = Literal["overwrite", "append", "error"]
WRITE_MODES: tuple[WriteMode, ...] = get_args(WriteMode)


#: The kit's own record tables (``mlops_kit/records/``) are named with this prefix.
RECORD_TABLE_PREFIX = "MLOPS_KIT_"
#: Set while the records module writes: the one writer of the record tables.
_records_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("mlops_kit_records_writing", default=False)


@contextlib.contextmanager
def writing_records() -> Iterator[None]:
    """Let the records module write the kit's record tables for the length of the block."""
    token = _records_writing.set(True)
    try:
        yield
    finally:
        _records_writing.reset(token)


@dataclass(frozen=True)
class TableWrite:
    """One frame to write, checked: ``table`` is canonical and in this database, ``frame`` has
    canonical (upper-case, distinct) column names and a plain 0..n-1 index."""

    given: str  # the name as the caller wrote it: results are keyed by it
    table: names.TableName  # SCHEMA.TABLE (in the warehouse's database)
    frame: pd.DataFrame


@dataclass(frozen=True)
class TableState:
    """What an adapter found about a write's target, for ``Warehouse.check_write``."""

    schema_exists: bool
    columns: tuple[str, ...] | None  # the table's columns; None when there is no such table or view


class Warehouse(Boundary, abc.ABC):
    """Tables and SQL in one database (``MLOPS_HOL_DB``) with several schemas."""

    #: Whether ``!PREDICT``-style model calls work inside ``query`` (see ``query``).
    supports_model_sql: bool = True
    #: Whether ``write_tables`` changes all its tables in one transaction, so that other readers and
    #: a kill at any moment see all old or all new tables (DuckDB). Without it (Snowflake commits
    #: each ALTER TABLE on its own), a kill between tables leaves some new and some old, which
    #: writing the same frames again repairs.
    supports_atomic_write_tables: bool = False

    @property
    @abc.abstractmethod
    def database(self) -> str:
        """The canonical database name, e.g. ``MLOPS_HOL_DB``."""

    # The public interface: checks, names and rules, then the adapter's primitives.

    def create_schemas(self, schemas: Iterable[str]) -> None:
        """Create each schema unless it exists.

        Raises:
            InvalidInputError: ``schemas`` is a lone string or not a list, or a name is not a plain
                identifier (nothing is created).
        """
        canonical = checks.identifier_list(schemas, "schemas", "schema", allow_empty=True)
        with self._boundary(f"could not create schemas {', '.join(canonical)}"):
            self._create_schemas(canonical)

    def query(self, sql: str) -> pd.DataFrame:
        """Run one reading statement in Snowflake's SQL dialect and return its rows.

        Exactly one statement runs: ``SELECT 1; DROP TABLE T`` is refused before anything runs (a
        trailing ``;`` is fine). It must only read (``SELECT``, ``WITH … SELECT``, ``VALUES``,
        ``SHOW``, ``DESCRIBE``, ``EXPLAIN``; see ``statements.py``): a statement that changes data
        is refused, on every backend, and belongs in ``execute``.

        A registered model can be called as on Snowflake:
        ``SELECT CUSTOMER_CHURN_PREDICTOR!PREDICT(A, B)['output_feature_0'] FROM T`` uses the default
        version; ``WITH M AS MODEL CUSTOMER_CHURN_PREDICTOR VERSION V1 SELECT M!PREDICT(...)`` a
        named one.

        Raises:
            NotFoundError: a table or model in the query does not exist.
            InvalidInputError: ``sql`` is not a string, holds no statement or more than one, a
                statement that writes, does not parse, or fails to run.
        """
        statement = self._reading_statement(sql, "sql", "query() only reads")
        with self._boundary(f"could not run {statements.abbreviate(statement, 200)}"):
            return self._query(statement)

    def execute(self, sql: str) -> None:
        """Run one statement (DDL or DML) in Snowflake's dialect.

        Raises:
            InvalidInputError: ``sql`` is not a string, holds no statement or more than one, does
                not parse or fails to run.
        """
        statement = statements.single(sql, "sql")
        with self._boundary(f"could not run {statements.abbreviate(statement, 200)}"):
            self._execute(statement)

    def create_table_as(self, table: str, sql: str) -> int:
        """Create or replace ``table`` (``SCHEMA.TABLE``) with the rows of the query ``sql``, atomically.

        Returns:
            The number of rows written.
        Raises:
            NotFoundError: a table the query reads does not exist.
            InvalidInputError: a bad table name, ``sql`` not one reading statement, or failing SQL;
                an existing table is left as it was.
        """
        target = self._writable(table)
        statement = self._reading_statement(sql, "sql", "sql must be a query")
        with self._boundary(f"could not create {target}"):
            return self._create_table_as(target, statement)

    def write_table(self, table: str, df: pd.DataFrame, mode: WriteMode = "overwrite") -> int:
        """Write a DataFrame as a table in one transaction; column names are upper-cased.

        Args:
            mode: ``overwrite`` replaces the table, ``append`` adds rows, matching columns by name
                (creating the table if missing), ``error`` refuses an existing table.
        Returns:
            The number of rows written.
        Raises:
            AlreadyExistsError: ``mode="error"`` and the table exists.
            InvalidInputError: ``df`` is not a DataFrame or has no columns, a column name is not a
                string or not an identifier or appears twice, the schema does not exist, the rows
                do not fit, or (``append``) the frame's columns are not the table's.
        """
        checks.choice(mode, "mode", WRITE_MODES)
        write = self._table_write(table, df, "df")
        with self._boundary(f"could not write {write.table}"):
            self._write_tables([write], mode)
        return len(write.frame)

    def write_tables(self, frames: Mapping[str, pd.DataFrame], mode: WriteMode = "overwrite") -> dict[str, int]:
        """Write several DataFrames as tables, all or nothing (e.g. a load of related raw tables).

        Each frame is written as ``write_table`` would write it. Every frame is checked and loaded
        before any table changes, so a bad frame or a failed load leaves every table as it was.
        With ``supports_atomic_write_tables`` the tables change in one transaction, so other
        readers and a kill at any moment see all old or all new tables; without it the adapter
        documents what a kill between tables leaves, and writing the same frames again always
        ends with all of them written.

        Args:
            frames: ``SCHEMA.TABLE`` -> rows to write; each table at most once.
            mode: as for ``write_table``, the same for every table.
        Returns:
            Rows written per table, keyed as given.
        Raises:
            AlreadyExistsError: ``mode="error"`` and one of the tables exists (nothing is written).
            InvalidInputError: ``frames`` is not a dict or is empty, a bad table or column name, a
                table named twice, or rows that do not fit (nothing is written).
        """
        if not isinstance(frames, Mapping):
            checks.mapping(frames, "frames")  # raises, naming what was given
            raise InvalidInputError("frames must be a dict of table name -> DataFrame, not None")
        checks.choice(mode, "mode", WRITE_MODES)
        if not frames:
            raise InvalidInputError("frames is empty: give at least one table")
        writes = [self._table_write(table, df, f"the frame for {table}") for table, df in frames.items()]
        seen: dict[names.TableName, str] = {}
        for write in writes:
            if write.table in seen:
                raise InvalidInputError(
                    f"frames names {write.table} twice (as {seen[write.table]!r} and {write.given!r})"
                )
            seen[write.table] = write.given
        with self._boundary(f"could not write {', '.join(str(w.table) for w in writes)}"):
            self._write_tables(writes, mode)
        return {write.given: len(write.frame) for write in writes}

    def list_tables(self, schema: str) -> list[str]:
        """Names of the tables and views in ``schema``, sorted (empty if the schema does not exist)."""
        canonical = names.identifier(schema, "schema")
        with self._boundary(f"could not list the tables of {canonical}"):
            return sorted(self._list_tables(canonical))

    def drop_table(self, table: str) -> bool:
        """Drop a table or view; returns whether something was dropped."""
        target = self._writable(table)
        with self._boundary(f"could not drop {target}"):
            return self._drop_table(target)

    def drop_schema(self, schema: str) -> bool:
        """Drop a schema and all it holds; returns whether something was dropped."""
        canonical = names.identifier(schema, "schema")
        with self._boundary(f"could not drop schema {canonical}"):
            return self._drop_schema(canonical)

    def table_exists(self, table: str) -> bool:
        """Whether ``table`` (``SCHEMA.TABLE``) is a table or view."""
        target = self._table(table)
        # Feature view objects keep their version's case (CUSTOMER_FEATURES$v1): compare without case.
        return any(t.upper() == target.table for t in self.list_tables(target.schema))

    def read_table(self, table: str) -> pd.DataFrame:
        """All rows of ``table``. Raises NotFoundError when it does not exist."""
        return self.query(f"SELECT * FROM {self._table(table).quoted()}")

    def load_csv(self, table: str, path: str | Path, columns: Mapping[str, ColumnType], encoding: str = "utf-8") -> int:
        """Validate a CSV file with a header row against ``columns`` and write it as ``table``.

        Nothing is written unless the whole file is valid. ``encoding`` is the file's text encoding.

        Raises:
            InvalidInputError: a bad table name, ``path`` not a path, ``columns`` not a dict of
                identifier -> column type; a missing, extra or mistyped column, an empty file, a
                folder or a file not in ``encoding``; the message names the file, the column and the
                first offending rows (and, for text in another encoding, the likely one).
        """
        self._table(table)
        file = checks.path(path, "path", "a CSV file")
        declared = checked_columns(columns, "columns")
        checks.text(encoding, "encoding")
        return self.write_table(table, read_csv_checked(file, declared, encoding), mode="overwrite")

    def check_write(self, write: TableWrite, mode: WriteMode, state: TableState) -> None:
        """The rules a write must pass against what is there; adapters call it from ``_write_tables``
        with what they found (inside their transaction, where they have one).

        Raises:
            InvalidInputError: the schema does not exist, or ``append`` to a table whose columns
                are not the frame's (the message lists both).
            AlreadyExistsError: ``mode="error"`` and the table exists.
        """
        table = write.table
        if not state.schema_exists:
            raise InvalidInputError(
                f"could not write {table}: schema {table.schema} does not exist "
                f"(create it first: warehouse.create_schemas([{table.schema!r}]))"
            )
        if state.columns is None:
            return
        if mode == "error":
            raise AlreadyExistsError(f"table {table} already exists")
        if mode == "append":
            columns = [c.upper() for c in state.columns]
            given = list(write.frame.columns)
            if set(columns) != set(given):
                missing = [c for c in columns if c not in given]
                extra = [c for c in given if c not in columns]
                raise InvalidInputError(
                    f"cannot append to {table}: the table has columns {columns}, the frame has {given} "
                    f"(missing from the frame: {missing}; not in the table: {extra})"
                )

    # Primitives: each adapter implements these. They get canonical, checked input.

    @abc.abstractmethod
    def _create_schemas(self, schemas: Sequence[str]) -> None:
        """Create each (canonical) schema of this database unless it exists."""

    @abc.abstractmethod
    def _query(self, statement: str) -> pd.DataFrame:
        """Run one reading statement (Snowflake's dialect) and return its rows.

        Must raise NotFoundError (or an engine error ``error_kind`` maps to it) for a missing table
        or model.
        """

    @abc.abstractmethod
    def _execute(self, statement: str) -> None:
        """Run one statement (Snowflake's dialect) in its own transaction."""

    @abc.abstractmethod
    def _create_table_as(self, table: names.TableName, query: str) -> int:
        """Create or replace ``table`` with the rows of one reading statement in one step (a
        failure leaves an existing table as it was); return the number of rows."""

    @abc.abstractmethod
    def _write_tables(self, writes: Sequence[TableWrite], mode: WriteMode) -> None:
        """Write every frame (``mode`` checked; tables distinct), all or nothing as far as the
        engine allows (see ``supports_atomic_write_tables``).

        For each write, before changing anything, call ``self.check_write(write, mode, state)``
        with the target's ``TableState``. ``append`` matches columns by name and creates a
        missing table; ``overwrite`` replaces the table.
        """

    @abc.abstractmethod
    def _list_tables(self, schema: str) -> list[str]:
        """Names of the tables and views of ``schema`` (none when it does not exist)."""

    @abc.abstractmethod
    def _drop_table(self, table: names.TableName) -> bool:
        """Drop the table or view ``table``; False when there is none."""

    @abc.abstractmethod
    def _drop_schema(self, schema: str) -> bool:
        """Drop ``schema`` and everything in it; False when there is none."""

    # Internals.

    def _table(self, table: object) -> names.TableName:
        """``SCHEMA.TABLE`` (or ``DATABASE.SCHEMA.TABLE`` of this database) as canonical
        ``SCHEMA.TABLE``: a warehouse's tables are in its own database."""
        if table is not None and not isinstance(table, str):
            raise InvalidInputError(f"table name {table!r} must be a string, not {type(table).__name__}")
        name = names.table_name(table)  # type: ignore[arg-type]
        if name.database and name.database != self.database:
            raise InvalidInputError(
                f"table {table} is in database {name.database}, not {self.database}: a warehouse writes "
                "only to its own database"
            )
        return names.TableName(name.schema, name.table)

    def _writable(self, table: object) -> names.TableName:
        """``_table``, refusing the kit's own record tables (``MLOPS_KIT_*``) unless the records
        module is the writer: a user's write there would leave records the kit cannot read."""
        target = self._table(table)
        if target.table.startswith(RECORD_TABLE_PREFIX) and not _records_writing.get():
            raise InvalidInputError(
                f"{target} is one of the kit's own record tables ({RECORD_TABLE_PREFIX}*): only the kit writes or "
                "drops it; its rows are read with query() and removed by the calls that own them "
                "(delete_training_set, delete_version)"
            )
        return target

    def _reading_statement(self, sql: object, argument: str, refusal: str) -> str:
        """The one statement of ``sql``, refused (``refusal: …``) unless it only reads."""
        statement = statements.single(sql, argument)
        if not statements.is_reading(statement):
            unparsed = statements.parse_error(statement)
            if unparsed is not None:
                raise InvalidInputError(f"{unparsed}; check the keywords' spelling")
            kind = statements.kind(statement) or "this statement"
            raise InvalidInputError(
                f"{refusal}, not {kind} ({statements.abbreviate(statement)}): run a statement that "
                "changes data with execute()"
            )
        return statement

    def _table_write(self, table: object, df: object, argument: str) -> TableWrite:
        """A checked write: canonical table name, a DataFrame with canonical, distinct column names."""
        target = self._writable(table)
        frame = checks.frame(df, argument, allow_empty=True)
        canonical = []
        for column in frame.columns:
            if not isinstance(column, str):
                raise InvalidInputError(
                    f"column {column!r} of {target} is not a string: name every column "
                    "(df.columns = [...]; a NumPy array's columns are numbered)"
                )
            canonical.append(names.identifier(column, f"column of {target}", keyword_ok=True))
        spellings: dict[str, list[str]] = {}  # one pass: a frame may have tens of thousands of columns
        for column, name in zip(frame.columns, canonical, strict=True):
            spellings.setdefault(name, []).append(str(column))
        for name, given in spellings.items():
            if len(given) > 1:
                spelled = f" (as {', '.join(given)})" if len(set(given)) > 1 else ""
                raise InvalidInputError(f"{target} has the column {name} twice{spelled}: column names ignore case")
        return TableWrite(str(table), target, frame.set_axis(canonical, axis=1).reset_index(drop=True))
