"""``LocalWarehouse``: the warehouse as one DuckDB database file any DuckDB client can open.

DuckDB lets many processes open a file read-only, or one open it read-write. So the warehouse does
not keep the file open: each read opens it read-only (and so runs beside a notebook or the DuckDB
CLI reading it), each write opens it read-write, and both close it again. Meeting DuckDB's lock, an
operation waits a bounded time, saying for whom, then fails naming the holder (``locks.py``).
Inside ``hold()`` one read-write connection serves every operation (opening costs about 18 ms), and
other processes wait for it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_kit import names
from mlops_kit.adapters.duckdb_messages import missing_reference, model_arguments_message
from mlops_kit.adapters.local.errors import LocalErrorKinds
from mlops_kit.adapters.local.frames import frame, stored
from mlops_kit.adapters.local.locks import (
    Busy,
    duckdb_advice,
    duckdb_lock_holder,
    resolve_lock_timeout,
    wait_until_free,
)
from mlops_kit.adapters.local.sql import ModelCall, extract_model_calls, quote, to_duckdb
from mlops_kit.boundary import first_line
from mlops_kit.errors import BackendUnavailableError, InvalidInputError, MlopsKitError, StoreLockedError
from mlops_kit.warehouse import TableState, TableWrite, Warehouse, WriteMode

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb
    import numpy as np
    import pandas as pd

    from mlops_kit.adapters.local.home import LocalPaths


#: The DuckDB settings of every connection the kit opens. SQL is Snowflake's dialect on both backends,
#: and Snowflake has no local files and no extensions: a user's query cannot read the machine's files
#: (``read_text('/etc/shadow')``, ``read_csv(…)``) or install an extension (``sqlite_scan(…)``). The
#: kit's own CSV loading reads files in Python and hands DuckDB the rows (``con.register``).
SQL_SANDBOX: dict[str, str | bool] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


@dataclass(frozen=True)
class SqlModelFunction:
    """What the registry hands the warehouse so a model can run inside a DuckDB query."""

    feature_names: tuple[str, ...]
    output_width: int
    output_type: str  # DuckDB type of each output field
    predict: Callable[[pd.DataFrame], np.ndarray]


ModelFunctionResolver = Callable[[ModelCall], SqlModelFunction]


class LocalWarehouse(LocalErrorKinds, Warehouse):
    """Tables and SQL in ``<home>/<DATABASE>.duckdb``."""

    supports_atomic_write_tables = True

    def __init__(
        self,
        paths: LocalPaths,
        model_functions: ModelFunctionResolver | None = None,
        lock_timeout: float | None = None,
    ) -> None:
        self.paths = paths
        self._database = names.identifier(paths.database, "database")
        self.model_functions = model_functions
        #: Seconds to wait for another process's hold on the database file before giving up.
        self.lock_timeout = resolve_lock_timeout(lock_timeout)
        self._held: duckdb.DuckDBPyConnection | None = None

    @property
    def database(self) -> str:
        return self._database

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep the database open read-write for the whole block: other processes wait for it."""
        if self._held is not None:
            yield
            return
        self._held = self._open(read_only=False)
        try:
            yield
        finally:
            self._held.close()
            self._held = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The database opened read-only for this block (or the held connection): for reading."""
        with self._opened(read_only=True) as con:
            yield con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The database opened for writing, inside one transaction: everything in the block lands, or nothing does."""
        with self._opened(read_only=False) as con, _in_transaction(con):
            yield con

    def drop_object(self, schema: str, object_name: str) -> bool:
        """Drop a table or view named ``object_name`` (may hold ``$``, as feature views do)."""
        with self.transaction() as con:
            found = _object_type(con, schema, object_name)
            if found is None:
                return False
            kind = "VIEW" if found == "VIEW" else "TABLE"
            con.execute(f"DROP {kind} {quote(schema)}.{quote(object_name)}")
        return True

    # The primitives of the Warehouse interface (mlops_kit/warehouse.py).

    def _create_schemas(self, schemas: Sequence[str]) -> None:
        with self.transaction() as con:
            for schema in schemas:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def _query(self, statement: str) -> pd.DataFrame:
        prepared = self._prepare(statement)
        with self.connection() as con, self._model_functions(con, prepared.calls):
            return _rows(con, prepared)

    def _execute(self, statement: str) -> None:
        prepared = self._prepare(statement)
        with self.transaction() as con, self._model_functions(con, prepared.calls):
            _run(con, prepared).fetchall()

    def _create_table_as(self, table: names.TableName, query: str) -> int:
        target = _duck_name(table)
        prepared = self._prepare(query)
        with self.transaction() as con, self._model_functions(con, prepared.calls):
            with _said_as_snowflake_says(con, prepared):
                con.execute(f"CREATE OR REPLACE TABLE {target} AS {stored(con, prepared.sql)}")
            return con.execute(f"SELECT COUNT(*) FROM {target}").fetchall()[0][0]

    def _write_tables(self, writes: Sequence[TableWrite], mode: WriteMode) -> None:
        """Every table in one DuckDB transaction: a failure, or a kill, leaves all of them as they were."""
        import duckdb

        with self.transaction() as con:  # the checks and the writes see the same state
            for write in writes:
                name = write.table
                columns = _columns(con, name.schema, name.table) if _object_type(con, name.schema, name.table) else None
                self.check_write(write, mode, TableState(_schema_exists(con, name.schema), columns))
                target = _duck_name(name)
                con.register("__mlops_kit_frame", write.frame)
                try:
                    if mode == "append" and columns is not None:
                        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM __mlops_kit_frame")
                    else:
                        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM __mlops_kit_frame")
                finally:
                    # After a failed statement the transaction is aborted and this fails too, hiding the
                    # cause; the rollback drops the registration anyway.
                    with contextlib.suppress(duckdb.Error):
                        con.unregister("__mlops_kit_frame")

    def _list_tables(self, schema: str) -> list[str]:
        with self.connection() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND upper(table_schema) = ?",
                [schema],
            ).fetchall()
        return [r[0] for r in rows]

    def _drop_table(self, table: names.TableName) -> bool:
        return self.drop_object(table.schema, table.table)

    def _drop_schema(self, schema: str) -> bool:
        with self.transaction() as con:
            found = _schema_exists(con, schema)
            if found:
                con.execute(f"DROP SCHEMA {quote(schema)} CASCADE")
        return found

    # Internals.

    @contextlib.contextmanager
    def _opened(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._held is not None:
            yield self._held
            return
        con = self._open(read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the database file, waiting (announced, at most ``lock_timeout`` s) while another process holds it."""
        import duckdb

        file = self.paths.duckdb_file
        if read_only and not file.exists():  # a read-only open cannot create the file
            self._open(read_only=False).close()
        _refuse_foreign_file(file)
        created = not file.exists()

        def connect(read_only: bool) -> duckdb.DuckDBPyConnection:
            try:
                return duckdb.connect(str(file), read_only=read_only, config=SQL_SANDBOX)
            except duckdb.ConnectionException as exc:
                if "different configuration" not in str(exc):
                    raise
                # The user's own connection to the file in this process (a notebook's duckdb.connect):
                # DuckDB shares one instance per file and process, with that connection's settings.
                return duckdb.connect(str(file), read_only=read_only)

        def attempt() -> duckdb.DuckDBPyConnection:
            try:
                return connect(read_only)
            except duckdb.ConnectionException as exc:
                # This process already has the file open in the other mode: DuckDB shares one instance
                # per file and process, so a reader can use a read-write connection, a writer cannot wait.
                if read_only:
                    return connect(False)
                raise StoreLockedError(
                    f"this process already has {file} open read-only (a duckdb.connect(..., read_only=True) "
                    "of its own?): close that connection, then write"
                ) from exc
            except duckdb.IOException as exc:
                holder = duckdb_lock_holder(str(exc), wanted_read_only=read_only)
                if holder is None:
                    raise _unusable(file, exc) from exc
                raise Busy(holder) from exc

        con = wait_until_free(attempt, f"the DuckDB database {file}", timeout=self.lock_timeout, advice=duckdb_advice)
        if created:  # DuckDB creates it as the umask says; the data is the user's alone
            os.chmod(file, 0o600)
        return con

    def _prepare(self, sql: str) -> _Prepared:
        plain, calls = extract_model_calls(sql)
        if calls and self.model_functions is None:
            raise InvalidInputError("this warehouse has no registry attached, so models cannot be called from SQL")
        return _Prepared(to_duckdb(plain, calls), calls, plain)

    @contextlib.contextmanager
    def _model_functions(self, con: duckdb.DuckDBPyConnection, calls: list[ModelCall]) -> Iterator[None]:
        """The models a query calls, as DuckDB functions for the length of the block. A call with the
        wrong number of arguments is told what the model takes, not DuckDB's name for its function."""
        import duckdb

        specs = self._register_model_functions(con, calls)
        try:
            yield
        except duckdb.BinderException as exc:
            wrong = next((call for call in calls if f"'{call.sql_function}(" in str(exc)), None)
            if wrong is None:
                raise
            given = re.search(rf"'{wrong.sql_function}\((?P<types>[^)]*)\)'", str(exc))
            count = len([t for t in given["types"].split(",") if t.strip()]) if given else None
            model = wrong.model if wrong.version is None else f"{wrong.model} version {wrong.version}"
            message = model_arguments_message(model, wrong.function, specs[wrong.sql_function].feature_names, count)
            raise InvalidInputError(message) from exc
        finally:
            for call in calls:  # a held connection outlives the query
                con.remove_function(call.sql_function)

    def _register_model_functions(
        self, con: duckdb.DuckDBPyConnection, calls: list[ModelCall]
    ) -> dict[str, SqlModelFunction]:
        specs = {}
        for call in calls:
            assert self.model_functions is not None
            spec = specs[call.sql_function] = self.model_functions(call)
            con.create_function(
                call.sql_function,
                _arrow_model_function(spec),
                ["DOUBLE"] * len(spec.feature_names),
                "STRUCT(" + ", ".join(f"output_feature_{i} {spec.output_type}" for i in range(spec.output_width)) + ")",
                type="arrow",
                # NULL rows reach the model, as a Snowflake UDF gets them (DuckDB would answer NULL without
                # calling it): https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-designing
                # ("NULL values": a SQL NULL argument is None, NaN in a vectorized UDF's batch)
                null_handling="special",
                side_effects=False,
            )
        return specs


def _arrow_model_function(spec: SqlModelFunction) -> Callable[..., Any]:
    def run(*columns: Any) -> Any:
        import pandas as pd
        import pyarrow as pa

        frame = pd.DataFrame(  # a NULL is NaN, as Snowflake hands a vectorized UDF its NULL rows
            {name: col.to_numpy(zero_copy_only=False) for name, col in zip(spec.feature_names, columns, strict=True)}
        )
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


def _schema_exists(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    rows = con.execute(
        "SELECT 1 FROM information_schema.schemata WHERE catalog_name = current_database() AND upper(schema_name) = ?",
        [schema.upper()],
    ).fetchall()
    return bool(rows)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND upper(table_schema) = ? AND upper(table_name) = ? ORDER BY ordinal_position",
        [schema.upper(), table.upper()],
    ).fetchall()
    return [r[0] for r in rows]


@contextlib.contextmanager
def _in_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    import duckdb

    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed rollback must not hide the cause
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


#: A DuckDB file starts with an 8-byte checksum, then this.
_DUCKDB_MAGIC = b"DUCK"


def _refuse_foreign_file(file: Path) -> None:
    """Refuse a file that is not a DuckDB database before DuckDB sees it: DuckDB would try to
    download an extension to open, say, a SQLite file, and then write into it."""
    try:
        with open(file, "rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise BackendUnavailableError(f"{file} is a folder, not a DuckDB database: move it away") from None
    except OSError as exc:
        raise BackendUnavailableError(f"cannot read the DuckDB database {file}: {exc.strerror or exc}") from exc
    if len(head) == 12 and head[8:12] != _DUCKDB_MAGIC:
        raise BackendUnavailableError(
            f"{file} is not a DuckDB database (it starts with {head[:8]!r}): move it away, and the kit creates a "
            "fresh one, or point the kit at another home (home= or MLOPS_KIT_HOME)"
        )


def _unusable(file: Path, exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"cannot open the DuckDB database {file}: {first_line(exc)}. If it is damaged, move it away (the kit "
        "creates a fresh one) or restore it from a copy; if it is not writable, check its permissions"
    )


@dataclass(frozen=True)
class _Prepared:
    """A user's statement ready for DuckDB: its translation, and what that was made from."""

    sql: str  # DuckDB SQL, output columns named as Snowflake names them
    calls: list[ModelCall]  # the model calls it makes, as DuckDB functions
    snowflake_sql: str  # the statement in Snowflake's dialect, model calls replaced

    def without_column_names(self) -> str:
        return to_duckdb(self.snowflake_sql, self.calls, name_columns=False)


def _rows(con: duckdb.DuckDBPyConnection, prepared: _Prepared) -> pd.DataFrame:
    """The rows of the prepared statement, as Snowflake's would be (``frames.frame``)."""
    with _said_as_snowflake_says(con, prepared):
        return frame(con, prepared.sql)


def _run(con: duckdb.DuckDBPyConnection, prepared: _Prepared) -> duckdb.DuckDBPyConnection:
    """Run the prepared statement."""
    with _said_as_snowflake_says(con, prepared):
        return con.execute(prepared.sql)


@contextlib.contextmanager
def _said_as_snowflake_says(con: duckdb.DuckDBPyConnection, prepared: _Prepared) -> Iterator[None]:
    """A reference to nothing said as Snowflake says it; a model function's own kit error unwrapped."""
    import duckdb

    try:
        yield
    except duckdb.BinderException as exc:
        missing = missing_reference(_binder_message(con, prepared, exc))
        if missing is None:
            raise
        raise duckdb.BinderException(missing.snowflake_message(with_candidates=True)) from exc
    except duckdb.Error as exc:
        # A model function's own kit error (a model that refuses its input) reaches us wrapped.
        if isinstance(exc.__cause__, MlopsKitError):
            raise exc.__cause__ from exc
        raise


def _binder_message(con: duckdb.DuckDBPyConnection, prepared: _Prepared, exc: Exception) -> str:
    """DuckDB's own message about a reference to nothing. The Snowflake column names (``X AS "X"``)
    make DuckDB read a column that does not exist as the alias itself ("cannot be referenced before
    it is defined"): bound again without them, with names upper case as Snowflake reads them, the
    message names the column and the nearest candidates."""
    import duckdb

    if not any(words in str(exc) for words in ("before it is defined", "not found", "does not have a column")):
        return str(exc)
    try:
        con.execute("EXPLAIN " + prepared.without_column_names())
    except duckdb.BinderException as unnamed:
        return str(unnamed)
    except duckdb.Error:
        pass
    return str(exc)


def _duck_name(table: names.TableName) -> str:
    """``"SCHEMA"."TABLE"`` (the database is the one open)."""
    return f"{quote(table.schema)}.{quote(table.table)}"
