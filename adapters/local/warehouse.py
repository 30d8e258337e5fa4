"""``LocalWarehouse``: the warehouse as one DuckDB database file any DuckDB client can open.

DuckDB lets one process at a time open a file for writing, so the warehouse does not keep the file
open: each operation opens it under an inter-process lock and closes it again, and several
processes (four labs started together) take turns instead of failing. Inside ``hold()`` one
connection serves every operation (opening costs about 18 ms), still under the lock.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_kit import names, statements
from mlops_kit.adapters.local.sql import ModelCall, extract_model_calls, quote, to_duckdb
from mlops_kit.errors import AlreadyExistsError, InvalidInputError, MlopsKitError, NotFoundError
from mlops_kit.warehouse import Warehouse, WriteMode

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pandas as pd

    from mlops_kit.adapters.local.home import LocalPaths


@dataclass(frozen=True)
class SqlModelFunction:
    """What the registry hands the warehouse so a model can run inside a DuckDB query."""

    feature_names: tuple[str, ...]
    output_width: int
    output_type: str  # DuckDB type of each output field
    predict: Callable[[pd.DataFrame], np.ndarray]


ModelFunctionResolver = Callable[[ModelCall], SqlModelFunction]


class LocalWarehouse(Warehouse):
    """Tables and SQL in ``<home>/<DATABASE>.duckdb``."""

    def __init__(self, paths: LocalPaths, model_functions: ModelFunctionResolver | None = None) -> None:
        from filelock import FileLock

        self.paths = paths
        self._database = names.identifier(paths.database, "database")
        self._lock = FileLock(str(paths.duckdb_lock), timeout=600)
        self.model_functions = model_functions
        self._held: duckdb.DuckDBPyConnection | None = None

    @property
    def database(self) -> str:
        return self._database

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep the database open (and locked against other processes) for the whole block."""
        if self._held is not None:
            yield
            return
        import duckdb

        with self._lock:
            self._held = duckdb.connect(str(self.paths.duckdb_file))
            try:
                yield
            finally:
                self._held.close()
                self._held = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The database file, opened for this block only (or the held one), under the inter-process lock."""
        if self._held is not None:
            yield self._held
            return
        import duckdb

        with self._lock:
            con = duckdb.connect(str(self.paths.duckdb_file))
            try:
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: everything in the block lands, or nothing does."""
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def create_schemas(self, schemas: Iterable[str]) -> None:
        canonical = [names.identifier(s, "schema") for s in schemas]
        with self.transaction() as con:
            for schema in canonical:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def query(self, sql: str) -> pd.DataFrame:
        duck_sql, calls = self._prepare(statements.single(sql))
        with self.connection() as con, self._model_functions(con, calls):
            return _run(con, duck_sql, sql, fetch=True)

    def execute(self, sql: str) -> None:
        duck_sql, calls = self._prepare(sql)
        with self.transaction() as con, self._model_functions(con, calls):
            _run(con, duck_sql, sql, fetch=False)

    def create_table_as(self, table: str, sql: str) -> int:
        target = self._table(table)
        duck_sql, calls = self._prepare(sql)
        with self.transaction() as con, self._model_functions(con, calls):
            _run(con, f"CREATE OR REPLACE TABLE {target} AS {duck_sql}", sql, fetch=False)
            return con.execute(f"SELECT COUNT(*) FROM {target}").fetchall()[0][0]

    def write_table(self, table: str, df: pd.DataFrame, mode: WriteMode = "overwrite") -> int:
        target = self._table(table)
        frame = df.rename(columns={c: names.identifier(str(c), f"column of {table}") for c in df.columns})
        if frame.columns.duplicated().any():
            dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise InvalidInputError(f"{table}: columns {dupes} appear twice once upper-cased")
        name = names.table_name(table)
        with self.transaction() as con:  # the existence check and the write see the same state
            exists = _object_type(con, name.schema, name.table) is not None
            if mode == "error" and exists:
                raise AlreadyExistsError(f"table {table} already exists")
            con.register("__mlops_kit_frame", frame)
            try:
                if mode == "append" and exists:
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM __mlops_kit_frame")
                else:
                    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM __mlops_kit_frame")
            except Exception as exc:
                raise InvalidInputError(f"could not write {table}: {exc}") from exc
            finally:
                con.unregister("__mlops_kit_frame")
        return len(frame)

    def list_tables(self, schema: str) -> list[str]:
        with self.connection() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND upper(table_schema) = ? ORDER BY 1",
                [names.identifier(schema, "schema")],
            ).fetchall()
        return [r[0] for r in rows]

    def drop_table(self, table: str) -> bool:
        name = names.table_name(table)
        return self.drop_object(name.schema, name.table)

    def drop_object(self, schema: str, object_name: str) -> bool:
        """Drop a table or view named ``object_name`` (may hold ``$``, as feature views do)."""
        with self.transaction() as con:
            found = _object_type(con, schema, object_name)
            if found is None:
                return False
            kind = "VIEW" if found == "VIEW" else "TABLE"
            con.execute(f"DROP {kind} {quote(schema)}.{quote(object_name)}")
        return True

    def drop_schema(self, schema: str) -> bool:
        canonical = names.identifier(schema, "schema")
        with self.transaction() as con:
            found = con.execute(
                "SELECT 1 FROM information_schema.schemata WHERE catalog_name = current_database() "
                "AND upper(schema_name) = ?",
                [canonical],
            ).fetchall()
            if found:
                con.execute(f"DROP SCHEMA {quote(canonical)} CASCADE")
        return bool(found)

    # Internals.

    def _table(self, table: str) -> str:
        name = names.table_name(table)
        if name.database and name.database != self.database:
            raise InvalidInputError(f"table {table} is in database {name.database}, not {self.database}")
        return f"{quote(name.schema)}.{quote(name.table)}"

    def _prepare(self, sql: str) -> tuple[str, list[ModelCall]]:
        plain, calls = extract_model_calls(sql)
        if calls and self.model_functions is None:
            raise InvalidInputError("this warehouse has no registry attached, so models cannot be called from SQL")
        return to_duckdb(plain, calls), calls

    @contextlib.contextmanager
    def _model_functions(self, con: duckdb.DuckDBPyConnection, calls: list[ModelCall]) -> Iterator[None]:
        """The models a query calls, as DuckDB functions for the length of the block."""
        self._register_model_functions(con, calls)
        try:
            yield
        finally:
            for call in calls:  # a held connection outlives the query
                con.remove_function(call.sql_function)

    def _register_model_functions(self, con: duckdb.DuckDBPyConnection, calls: list[ModelCall]) -> None:
        for call in calls:
            assert self.model_functions is not None
            spec = self.model_functions(call)
            con.create_function(
                call.sql_function,
                _arrow_model_function(spec),
                ["DOUBLE"] * len(spec.feature_names),
                "STRUCT(" + ", ".join(f"output_feature_{i} {spec.output_type}" for i in range(spec.output_width)) + ")",
                type="arrow",
                side_effects=False,
            )


def _arrow_model_function(spec: SqlModelFunction) -> Callable[..., Any]:
    def run(*columns: Any) -> Any:
        import pandas as pd
        import pyarrow as pa

        frame = pd.DataFrame({name: col.to_numpy() for name, col in zip(spec.feature_names, columns, strict=True)})
        out = spec.predict(frame)
        out = out.reshape(len(frame), -1)
        arrays = [pa.array(out[:, i]) for i in range(spec.output_width)]
        return pa.StructArray.from_arrays(arrays, names=[f"output_feature_{i}" for i in range(spec.output_width)])

    # DuckDB counts the Python function's parameters against the declared argument types.
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"x{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(len(spec.feature_names))]
    )
    return run


def _object_type(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    """``BASE TABLE`` or ``VIEW`` for an object of the database (any case), None when there is none."""
    rows = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND upper(table_schema) = ? AND upper(table_name) = ?",
        [schema.upper(), name.upper()],
    ).fetchall()
    return rows[0][0] if rows else None


def _run(con: duckdb.DuckDBPyConnection, duck_sql: str, original: str, *, fetch: bool) -> Any:
    import duckdb

    try:
        result = con.execute(duck_sql)
        return result.df() if fetch else result.fetchall()
    except duckdb.CatalogException as exc:
        raise NotFoundError(f"{_first_line(exc)}\n  in: {original.strip()[:300]}") from exc
    except duckdb.Error as exc:
        if isinstance(exc.__cause__, MlopsKitError):
            raise exc.__cause__ from exc
        raise InvalidInputError(f"{_first_line(exc)}\n  in: {original.strip()[:300]}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
