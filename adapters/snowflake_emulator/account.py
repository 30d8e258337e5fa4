"""The emulated Snowflake account: everything it holds lives in one folder and outlives the process.

Layout of ``<root>`` (by default ``$MLOPS_KIT_HOME/snowflake-emulator``)::

    account.lock          one process at a time uses the account (the lock is held while it runs)
    account.duckdb        fakesnow's account-wide catalog (stages, table comments, …) and the
                          emulator's own objects in schema _EMULATOR (tags, models, experiments, …)
    databases/<DB>.db     one DuckDB file per database, as fakesnow writes them (``db_path``)
    stages/…              files of named and temporary stages
    models/…              files of model versions (what CREATE MODEL … FROM @stage copied)
    experiments/…         artifacts of experiment runs

The account is its user's alone, as the local home is, whatever the umask: the folder is 0700 and
the DuckDB files 0600 (``keep_private``: when the account opens and when a database file appears).

DuckDB commits every statement (or writes its log first), so a process killed at any moment leaves
files the next start opens as they were after the last finished statement.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import shutil
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fakesnow import info_schema, macros
from fakesnow.instance import FakeSnow
from fakesnow.transforms import show
from fakesnow.transforms import stage as fakesnow_stages

from mlops_kit.adapters.local.home import create_private_folder
from mlops_kit.errors import BackendUnavailableError

STATE_SCHEMA = "_fs_global._emulator"


# fakesnow makes a folder in the system's temporary folder when it is imported, for stage files; the
# emulator keeps stage files in the account (stages.py), so the folder stays empty: remove it at exit
# instead of leaving one behind per process.
def _remove_fakesnow_stage_folder() -> None:
    with contextlib.suppress(OSError):  # not empty after all: leave it
        os.rmdir(fakesnow_stages.LOCAL_BUCKET_PATH)


atexit.register(_remove_fakesnow_stage_folder)

# The emulator's own objects. Names are stored as Snowflake stores identifiers (upper case unless quoted).
_STATE_TABLES = f"""
CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA};
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.tags (
    database_name VARCHAR, schema_name VARCHAR, name VARCHAR, comment VARCHAR, allowed_values VARCHAR,
    created_on TIMESTAMPTZ, PRIMARY KEY (database_name, schema_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.tag_references (
    tag_database VARCHAR, tag_schema VARCHAR, tag_name VARCHAR, domain VARCHAR, object_database VARCHAR,
    object_schema VARCHAR, object_name VARCHAR, tag_value VARCHAR,
    PRIMARY KEY (tag_database, tag_schema, tag_name, domain, object_database, object_schema, object_name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.warehouse_objects (
    kind VARCHAR, database_name VARCHAR, schema_name VARCHAR, name VARCHAR, definition VARCHAR,
    comment VARCHAR, created_on TIMESTAMPTZ, PRIMARY KEY (kind, database_name, schema_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.dynamic_tables (
    database_name VARCHAR, schema_name VARCHAR, name VARCHAR, query VARCHAR, text VARCHAR, target_lag VARCHAR,
    refresh_mode VARCHAR, warehouse VARCHAR, initialization_warehouse VARCHAR, initialize VARCHAR, comment VARCHAR,
    columns VARCHAR, scheduling_state VARCHAR, created_on TIMESTAMPTZ, cluster_by VARCHAR,
    last_suspended_on TIMESTAMPTZ, data_timestamp TIMESTAMPTZ, iceberg VARCHAR,
    PRIMARY KEY (database_name, schema_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.dynamic_table_refreshes (
    database_name VARCHAR, schema_name VARCHAR, name VARCHAR, state VARCHAR, trigger VARCHAR,
    refresh_start_time TIMESTAMPTZ, refresh_end_time TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.tasks (
    database_name VARCHAR, schema_name VARCHAR, name VARCHAR, warehouse VARCHAR, schedule VARCHAR,
    definition VARCHAR, comment VARCHAR, state VARCHAR, created_on TIMESTAMPTZ, last_suspended_on TIMESTAMPTZ,
    PRIMARY KEY (database_name, schema_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.models (
    database_name VARCHAR, schema_name VARCHAR, name VARCHAR, comment VARCHAR, default_version VARCHAR,
    created_on TIMESTAMPTZ, PRIMARY KEY (database_name, schema_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.model_versions (
    database_name VARCHAR, schema_name VARCHAR, model_name VARCHAR, name VARCHAR, comment VARCHAR,
    metadata VARCHAR, user_data VARCHAR, model_spec VARCHAR, created_on TIMESTAMPTZ,
    PRIMARY KEY (database_name, schema_name, model_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.experiments (
    database_name VARCHAR, schema_name VARCHAR, name VARCHAR, comment VARCHAR, created_on TIMESTAMPTZ,
    PRIMARY KEY (database_name, schema_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.runs (
    database_name VARCHAR, schema_name VARCHAR, experiment_name VARCHAR, name VARCHAR, status VARCHAR,
    source_info VARCHAR, created_on TIMESTAMPTZ, finished_on TIMESTAMPTZ,
    PRIMARY KEY (database_name, schema_name, experiment_name, name));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.run_metrics (
    database_name VARCHAR, schema_name VARCHAR, experiment_name VARCHAR, run_name VARCHAR, name VARCHAR,
    step BIGINT, value DOUBLE, logged_on TIMESTAMPTZ,
    PRIMARY KEY (database_name, schema_name, experiment_name, run_name, name, step));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.roles (name VARCHAR PRIMARY KEY, comment VARCHAR, created_on TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.grants (
    privilege VARCHAR, granted_on VARCHAR, database_name VARCHAR, schema_name VARCHAR, name VARCHAR,
    grantee VARCHAR, created_on TIMESTAMPTZ,
    PRIMARY KEY (privilege, granted_on, database_name, schema_name, name, grantee));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.role_grants (
    role VARCHAR, grantee_kind VARCHAR, grantee VARCHAR, created_on TIMESTAMPTZ, PRIMARY KEY (role, grantee_kind, grantee));
CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.run_parameters (
    database_name VARCHAR, schema_name VARCHAR, experiment_name VARCHAR, run_name VARCHAR, name VARCHAR,
    value VARCHAR, PRIMARY KEY (database_name, schema_name, experiment_name, run_name, name));
"""


class _PersistentFakeSnow(FakeSnow):
    """fakesnow with its account-wide catalog in a file too, not only its databases.

    fakesnow's ``db_path`` puts each database in a file, but keeps stages, table comments and users
    in an in-memory catalog ``_fs_global``: attach that from a file, and attach the database files
    an earlier process left, so the account is as it was.
    """

    def __init__(self, root: Path) -> None:
        databases = root / "databases"
        databases.mkdir(parents=True, exist_ok=True)
        super().__init__(db_path=databases)
        con = self.duck_conn
        con.execute("DETACH _fs_global")
        con.execute(f"ATTACH '{root / 'account.duckdb'}' AS _fs_global")
        con.execute(info_schema.fs_global_creation_sql())
        con.execute(show.fs_global_creation_sql())
        for path in sorted(databases.glob("*.db")):
            name = path.stem
            con.execute(f"ATTACH IF NOT EXISTS '{path}' AS \"{name}\"")
            con.execute(info_schema.per_db_creation_sql(name))
            con.execute(macros.creation_sql(name))
        # Snowflake has no local files and no extensions: a statement can reach the account's own
        # folder (its databases and stage files) and nothing else of the machine, and installs nothing.
        con.execute("SET allowed_directories = ['" + str(root).replace("'", "''") + "/']")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET enable_external_access = false")
        # Snowflake coerces a VARCHAR where another type is expected ("implicit casting (coercion)",
        # https://docs.snowflake.com/en/sql-reference/data-type-conversion): a spine's timestamps written
        # as text compare with a feature view's TIMESTAMP in its ASOF JOIN. DuckDB casts only literals,
        # unless asked to, as it did before 0.10.
        con.execute("SET old_implicit_casting = true")


# INFORMATION_SCHEMA.TABLES lists views too (TABLE_TYPE 'VIEW'):
# https://docs.snowflake.com/en/sql-reference/info-schema/tables. fakesnow's lists base tables only.
_VIEW_ROWS = """
UNION ALL BY NAME
SELECT v.database_name AS "TABLE_CATALOG", v.schema_name AS "TABLE_SCHEMA", v.view_name AS "TABLE_NAME",
       'ACCOUNTADMIN' AS "TABLE_OWNER", 'VIEW' AS "TABLE_TYPE", 'NO' AS "IS_TRANSIENT",
       NULL::VARCHAR AS "CLUSTERING_KEY", NULL::BIGINT AS "ROW_COUNT", NULL::BIGINT AS "BYTES",
       NULL::INTEGER AS "RETENTION_TIME", 'NO' AS "IS_INSERTABLE_INTO", 'NO' AS "IS_TYPED",
       coalesce(o.created_on, to_timestamp(0)) AS "CREATED", coalesce(o.created_on, to_timestamp(0)) AS "LAST_ALTERED",
       coalesce(o.created_on, to_timestamp(0)) AS "LAST_DDL", 'ACCOUNTADMIN' AS "LAST_DDL_BY",
       'NO' AS "AUTO_CLUSTERING_ON", o.comment AS "COMMENT", 'NO' AS "IS_TEMPORARY", 'NO' AS "IS_ICEBERG",
       'NO' AS "IS_DYNAMIC", 'NO' AS "IS_IMMUTABLE", 'NO' AS "IS_HYBRID"
FROM duckdb_views() v
LEFT JOIN {state}.warehouse_objects o
  ON o.kind = 'VIEW' AND o.database_name = v.database_name AND o.schema_name = v.schema_name AND o.name = v.view_name
WHERE v.database_name = '{catalog}' AND NOT v.internal
  AND v.schema_name NOT IN ('_fs_information_schema', 'information_schema', 'pg_catalog')
"""


class EmulatedAccount:
    """One emulated account on disk; statements run one at a time (``self.lock``)."""

    def __init__(self, root: Path, *, lock_timeout: float = 10.0) -> None:
        from filelock import FileLock, Timeout

        self.root = root
        create_private_folder(root, "the emulated Snowflake account")
        os.chmod(root, 0o700)  # an account an earlier version made as the umask said
        self._process_lock = FileLock(str(root / "account.lock"), mode=0o600, thread_local=False, is_singleton=True)
        try:
            self._process_lock.acquire(timeout=lock_timeout)
        except Timeout as exc:
            raise BackendUnavailableError(
                f"the emulated Snowflake account in {root} is in use by another process; wait for it to "
                f"finish, or use another MLOPS_KIT_HOME"
            ) from exc
        try:
            self.fakesnow = _PersistentFakeSnow(root)
            self.keep_private()
            self.state = self.fakesnow.duck_conn.cursor()
            self.state.execute(_STATE_TABLES)
            self.ensure_information_schema()
            # Temporary stages end with their session; a process that died left some behind.
            self.state.execute(
                "DELETE FROM _fs_global._fs_information_schema._fs_stages WHERE type = 'INTERNAL TEMPORARY'"
            )
            shutil.rmtree(self.area("stages", "_temporary"), ignore_errors=True)
        except BaseException:
            self._process_lock.release()
            raise
        self.created_on = datetime.datetime.fromtimestamp(
            (root / "account.duckdb").stat().st_ctime, tz=datetime.timezone.utc
        )
        #: One statement at a time: the emulator serves one user, and DuckDB connections are not
        #: meant to be shared across threads mid-statement.
        self.lock = threading.RLock()

    def keep_private(self) -> None:
        """Make the account's DuckDB files (DuckDB creates them as the umask says) its owner's alone."""
        for file in (*self.root.glob("account.*"), *self.area("databases").glob("*.db*")):
            if file.is_file() and stat.S_IMODE(file.stat().st_mode) != 0o600:
                os.chmod(file, 0o600)

    def database_names(self) -> list[str]:
        """The account's databases (DuckDB's own catalogs and the emulator's left out)."""
        return [
            str(name)
            for (name,) in self.query(
                "SELECT database_name FROM duckdb_databases() WHERE NOT internal "
                "AND database_name NOT IN ('memory', 'system', 'temp', '_fs_global')"
            )
        ]

    def has_database(self, name: str) -> bool:
        """Whether the account holds the database ``name`` (as Snowflake stores it)."""
        return name in self.database_names()

    def ensure_information_schema(self) -> None:
        """Give every attached database an INFORMATION_SCHEMA.TABLES that lists its views too."""
        for catalog in self.database_names():
            tables = info_schema.SQL_CREATE_INFORMATION_SCHEMA_TABLES_VIEW.substitute(catalog=catalog)
            tables = tables.replace("create view if not exists", "create or replace view")
            self.state.execute(tables + _VIEW_ROWS.format(state=STATE_SCHEMA, catalog=catalog))

    def area(self, *parts: str) -> Path:
        """A folder under the account root (not created)."""
        return self.root.joinpath(*parts)

    def has(self, table: str, parts: Sequence[str], name_column: str = "name") -> bool:
        """Whether the emulator's ``table`` holds the object ``database.schema.name``."""
        return bool(
            self.query(
                f"SELECT 1 FROM {STATE_SCHEMA}.{table} WHERE database_name = ? AND schema_name = ? "
                f"AND {name_column} = ?",
                list(parts),
            )
        )

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.state.execute(sql, params or []).fetchall()

    def records(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """``query``'s rows as column name -> value."""
        cursor = self.state.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.state.execute(sql, params or [])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Several changes to the emulator's objects that land together or not at all."""
        self.state.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.state.execute("ROLLBACK")
            raise
        self.state.execute("COMMIT")

    def close(self) -> None:
        try:
            self.state.close()
            self.fakesnow.duck_conn.close()
        finally:
            self._process_lock.release()
