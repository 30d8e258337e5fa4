"""Stages and files: CREATE/DROP STAGE, PUT, GET, LIST, REMOVE, and the INFER_SCHEMA table function.

Files live in the account folder: a named stage in ``stages/<DB>/<SCHEMA>/<STAGE>/``, a temporary
one in ``stages/_temporary/<session>/…`` (removed with its session), a model version's files in
``models/…`` (``snow://model/…``) and a run's artifacts in ``experiments/…`` (``snow://experiment/…``).
Stages are recorded in fakesnow's stage catalog with their folder as URL, so fakesnow's own
``COPY INTO … FROM @stage`` and ``SHOW STAGES`` read them.

PUT and GET answer with the connector's local-file-system transfer protocol: the connector copies
the files itself (it compresses for PUT when AUTO_COMPRESS is on, as with a real stage).
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from mlops_kit.adapters.snowflake_emulator.statements import (
    NAME,
    STRING,
    Family,
    FileTransfer,
    ObjectName,
    Rewrite,
    Rows,
    Statement,
    already_exists,
    claim_anywhere,
    does_not_exist,
    drops,
    inline_params,
    invalid,
    masked,
    registered,
    split_name,
    status,
    string_value,
)

if TYPE_CHECKING:
    from mlops_kit.adapters.snowflake_emulator.server import EmulatorSession

STAGES = "_fs_global._fs_information_schema._fs_stages"

family = Family(
    "stages and files",
    claim_anywhere(
        r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|SCOPED\s+TEMPORARY|VOLATILE)\s+)?STAGE\b",
        r"^\s*DROP\s+STAGE\b",
        r"^\s*(?:PUT|GET|LIST|LS|REMOVE|RM)\b",
        r"\bINFER_SCHEMA\s*\(",
        r"^\s*COPY\s+INTO\b",
    ),
)

#: A stage reference: @name[/path] or a snow:// URL, bare or as a string literal.
LOCATION = rf"(?:'[^']*'|@{NAME}(?:/\S*)?|@~\S*|snow://\S+)"


@dataclass(frozen=True)
class Location:
    """Where a stage reference points: a folder, the path below it, and how LIST names its files."""

    root: Path  # the stage's (or model version's, or run's) folder
    path: str  # the path below the root the reference names ("" for all of it)
    list_prefix: str  # what LIST puts before a file's path below the root

    def files(self) -> list[str]:
        """Paths below the root of the files whose path starts with ``path`` (as Snowflake matches)."""
        if not self.root.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(f for f in found if f.startswith(self.path))


# Resolving stage references.


def unquoted(text: str) -> str:
    """A stage reference as written, without the quotes of a string literal."""
    return string_value(text) if text.startswith("'") else text


def resolve(statement: Statement, reference: str) -> Location:
    """The folder a stage reference names.

    Raises:
        ProgrammingError: the stage, model version or run does not exist.
    """
    text = unquoted(reference.strip())
    if text.startswith("snow://"):
        return _snow_url(statement, text)
    if text.startswith("@~") or text.startswith("@%"):
        raise invalid(f"the Snowflake emulator has named stages only, not user or table stages: {text}")
    match = re.fullmatch(rf"@(?P<name>{NAME})(?:/(?P<path>.*))?", text, re.DOTALL)
    if not match:
        raise invalid(f"invalid stage location {text}", errno=1011, sqlstate="42601")
    name = statement.object_name(match["name"], "stage")
    root = stage_folder(statement, name)
    return Location(root, match["path"] or "", f"{name.name.lower()}/")


def stage_folder(statement: Statement, name: ObjectName) -> Path:
    rows = statement.account.query(
        f"SELECT url FROM {STAGES} WHERE database_name = ? AND schema_name = ? AND name = ?", list(name.parts)
    )
    if not rows:
        raise does_not_exist("Stage", name.fqn)
    return Path(rows[0][0])


def _snow_url(statement: Statement, url: str) -> Location:
    """``snow://model/DB.S.M/versions/V[/path]`` or ``snow://experiment/DB.S.E/versions/RUN[/path]``."""
    from mlops_kit.adapters.snowflake_emulator import experiments, models

    parsed = urlparse(url)
    match = re.fullmatch(rf"/(?P<name>{NAME})/versions/(?P<version>[^/]+)(?:/(?P<path>.*))?", unquote(parsed.path))
    if parsed.netloc not in ("model", "experiment") or not match:
        raise invalid(f"invalid stage location {url}", errno=1011, sqlstate="42601")
    owner = statement.object_name(match["name"])
    version = split_name(match["version"])[0] if match["version"].startswith('"') else match["version"]
    if parsed.netloc == "model":
        root = models.version_folder(statement, owner, version)
        # The library reads LIST names of a model version as ``versions/<version>/<path>``.
        return Location(root, match["path"] or "", f"versions/{version}/")
    root = experiments.run_folder(statement, owner, version)
    # … and those of a run as ``/versions/<run>/<path>``.
    return Location(root, match["path"] or "", f"/versions/{version}/")


# CREATE STAGE / DROP STAGE: https://docs.snowflake.com/en/sql-reference/sql/create-stage,
# https://docs.snowflake.com/en/sql-reference/sql/drop-stage


@family.statement(
    rf"CREATE\s+(?P<replace>OR\s+REPLACE\s+)?(?P<temporary>(?:TEMP|TEMPORARY|SCOPED\s+TEMPORARY|VOLATILE)\s+)?"
    rf"STAGE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME})(?P<options>(?:\s+.*)?)"
)
def create_stage(statement: Statement, match: re.Match[str]) -> Rows:
    name = statement.object_name(match["name"], "stage")
    if re.search(r"\bURL\s*=", match["options"] or "", re.IGNORECASE):
        raise invalid("the Snowflake emulator has internal stages only (no URL = ...)")
    temporary = bool(match["temporary"])
    existing = statement.account.query(
        f"SELECT url FROM {STAGES} WHERE database_name = ? AND schema_name = ? AND name = ?", list(name.parts)
    )
    if existing:
        if match["exists"]:
            return status(f"{name.name} already exists, statement succeeded.")
        if not match["replace"]:
            raise already_exists("Object", name.name)
        shutil.rmtree(existing[0][0], ignore_errors=True)
    folder = _new_folder(statement.session, name, temporary)
    comment = re.search(rf"\bCOMMENT\s*=\s*(?P<c>{STRING})", match["options"] or "", re.IGNORECASE | re.DOTALL)
    statement.account.execute(
        f"INSERT OR REPLACE INTO {STAGES} (created_on, name, database_name, schema_name, url, has_credentials, "
        "has_encryption_key, owner, comment, region, type, cloud, notification_channel, storage_integration, "
        "endpoint, owner_role_type, directory_enabled) VALUES (now(), ?, ?, ?, ?, 'N', 'N', 'ACCOUNTADMIN', ?, "
        "NULL, ?, NULL, NULL, NULL, NULL, 'ROLE', 'N')",
        [
            name.name,
            name.database,
            name.schema,
            f"{folder}/",
            string_value(comment["c"]) if comment else "",
            "INTERNAL TEMPORARY" if temporary else "INTERNAL",
        ],
    )
    return status(f"Stage area {name.name} successfully created.")


def _new_folder(session: EmulatorSession, name: ObjectName, temporary: bool) -> Path:
    base = (
        session.account.area("stages", "_temporary", str(session.id)) if temporary else session.account.area("stages")
    )
    folder = base.joinpath(*name.parts)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@family.statement(drops("STAGE"))
def drop_stage(statement: Statement, match: re.Match[str]) -> Rows:
    name = statement.object_name(match["name"], "stage")
    rows = statement.account.query(
        f"SELECT url FROM {STAGES} WHERE database_name = ? AND schema_name = ? AND name = ?", list(name.parts)
    )
    if not rows:
        if match["exists"]:
            return status(f"Drop statement executed successfully ({name.name} already dropped).")
        raise does_not_exist("Stage", name.fqn)
    statement.account.execute(
        f"DELETE FROM {STAGES} WHERE database_name = ? AND schema_name = ? AND name = ?", list(name.parts)
    )
    shutil.rmtree(rows[0][0], ignore_errors=True)
    return status(f"{name.name} successfully dropped.")


def drop_temporary(session: EmulatorSession) -> None:
    """Temporary stages end with the session that made them."""
    folder = session.account.area("stages", "_temporary", str(session.id))
    session.account.execute(f"DELETE FROM {STAGES} WHERE starts_with(url, ?)", [f"{folder}/"])
    shutil.rmtree(folder, ignore_errors=True)


# PUT: https://docs.snowflake.com/en/sql-reference/sql/put


@family.statement(rf"PUT\s+(?P<source>'[^']*'|\S+)\s+(?P<target>{LOCATION}|\?)(?P<options>(?:\s+.*)?)")
def put(statement: Statement, match: re.Match[str]) -> FileTransfer:
    target = match["target"]
    if target == "?":
        if not statement.params:
            raise invalid("PUT names its stage with a binding but none was sent")
        target = str(statement.params[0])
    location = resolve(statement, target)
    local = _local_path(unquoted(match["source"]))
    options = _options(match["options"])
    folder = location.root / location.path
    folder.mkdir(parents=True, exist_ok=True)
    return FileTransfer(
        {
            "command": "UPLOAD",
            "src_locations": [local],
            "parallel": int(options.get("PARALLEL", 4)),
            "autoCompress": options.get("AUTO_COMPRESS", "TRUE").upper() == "TRUE",
            "sourceCompression": options.get("SOURCE_COMPRESSION", "AUTO_DETECT").lower(),
            "overwrite": options.get("OVERWRITE", "FALSE").upper() == "TRUE",
            "stageInfo": {"locationType": "LOCAL_FS", "location": str(folder), "creds": {}, "path": ""},
        }
    )


# GET: https://docs.snowflake.com/en/sql-reference/sql/get


@family.statement(rf"GET\s+(?P<source>{LOCATION})\s+(?P<target>'[^']*'|\S+)(?P<options>(?:\s+.*)?)")
def get(statement: Statement, match: re.Match[str]) -> FileTransfer:
    location = resolve(statement, match["source"])
    local = _local_path(unquoted(match["target"]))
    files = _matching(location, _options(match["options"]).get("PATTERN"))
    return FileTransfer(
        {
            "command": "DOWNLOAD",
            "src_locations": files,
            "parallel": int(_options(match["options"]).get("PARALLEL", 10)),
            "localLocation": local,
            "stageInfo": {"locationType": "LOCAL_FS", "location": str(location.root), "creds": {}, "path": ""},
        }
    )


# LIST: https://docs.snowflake.com/en/sql-reference/sql/list (columns name, size, md5, last_modified)


@family.statement(rf"(?:LIST|LS)\s+(?P<location>{LOCATION})(?:\s+PATTERN\s*=\s*(?P<pattern>{STRING}))?")
def list_files(statement: Statement, match: re.Match[str]) -> Rows:
    location = resolve(statement, match["location"])
    pattern = string_value(match["pattern"]) if match["pattern"] else None
    rows = []
    for relative in _matching(location, pattern):
        path = location.root / relative
        stat = path.stat()
        modified = datetime.datetime.fromtimestamp(stat.st_mtime, tz=datetime.timezone.utc)
        rows.append(
            (
                f"{location.list_prefix}{relative}",
                stat.st_size,
                hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest(),
                email.utils.format_datetime(modified, usegmt=True),
            )
        )
    return Rows([("name", "VARCHAR"), ("size", "BIGINT"), ("md5", "VARCHAR"), ("last_modified", "VARCHAR")], rows)


# REMOVE: https://docs.snowflake.com/en/sql-reference/sql/remove (columns name, result)


@family.statement(rf"(?:REMOVE|RM)\s+(?P<location>{LOCATION})(?:\s+PATTERN\s*=\s*(?P<pattern>{STRING}))?")
def remove(statement: Statement, match: re.Match[str]) -> Rows:
    location = resolve(statement, match["location"])
    pattern = string_value(match["pattern"]) if match["pattern"] else None
    removed = _matching(location, pattern)
    for relative in removed:
        (location.root / relative).unlink()
    return Rows(
        [("name", "VARCHAR"), ("result", "VARCHAR")], [(f"{location.list_prefix}{f}", "removed") for f in removed]
    )


# COPY INTO <table> FROM (SELECT … FROM '@stage'): https://docs.snowflake.com/en/sql-reference/sql/copy-into-table
# fakesnow loads the files (it finds the stage's folder in its stage catalog) but reads a stage only
# when it is written @stage, not as the string literal Snowflake also accepts (and write_pandas sends).

_QUOTED_STAGE = re.compile(r"'(@[^']*)'")


@family.statement(r"COPY\s+INTO\s+.*")
def copy_into(statement: Statement, match: re.Match[str]) -> Rewrite:
    sql = _QUOTED_STAGE.sub(r"\1", statement.sql)
    return Rewrite(sql, statement.params)


def _local_path(url: str) -> str:
    """The client's path in a ``file://`` URL, as written (``file://data/x.csv`` is the relative ``data/x.csv``)."""
    return unquote(url[len("file://") :]) if url.lower().startswith("file://") else url


def _matching(location: Location, pattern: str | None) -> list[str]:
    files = location.files()
    if pattern:
        # PATTERN is a regular expression matched against the whole path (the stage's list name).
        regex = re.compile(pattern)
        files = [f for f in files if regex.fullmatch(f"{location.list_prefix}{f}") or regex.fullmatch(f)]
    return files


def _options(text: str | None) -> dict[str, str]:
    return {
        key.upper(): string_value(value) if value.startswith("'") else value
        for key, value in re.findall(r"(\w+)\s*=\s*('[^']*'|\S+)", text or "")
    }


# INFER_SCHEMA: https://docs.snowflake.com/en/sql-reference/functions/infer_schema
# (columns COLUMN_NAME, TYPE, NULLABLE, EXPRESSION, FILENAMES, ORDER_ID). Parquet files only: the
# format write_pandas stages. Types follow Snowflake's Parquet mapping with USE_LOGICAL_TYPE.

_INFER_SCHEMA = re.compile(r"\bTABLE\s*\(\s*INFER_SCHEMA\s*\((?P<args>[^()]*)\)\s*\)", re.IGNORECASE)


@family.statement(r"(?:SELECT|WITH)\b.*\bINFER_SCHEMA\s*\(.*")
def infer_schema(statement: Statement, match: re.Match[str]) -> Rewrite:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sql = inline_params(statement.sql, statement.params)
    found = _INFER_SCHEMA.search(masked(sql))
    if not found:
        raise invalid("INFER_SCHEMA is a table function: SELECT … FROM TABLE(INFER_SCHEMA(LOCATION => …))")
    args = {
        key.upper(): string_value(value) if value.startswith("'") else value
        for key, value in re.findall(
            r"(\w+)\s*=>\s*('(?:[^']|'')*'|[^,\s]+)", sql[found.start("args") : found.end("args")]
        )
    }
    if "LOCATION" not in args:
        raise invalid("INFER_SCHEMA needs LOCATION => '@stage'")
    if "FILE_FORMAT" in args:
        _require_parquet(statement, args["FILE_FORMAT"])
    location = resolve(statement, args["LOCATION"])
    rows: list[tuple[Any, ...]] = []
    columns: dict[str, tuple[str, set[str], int]] = {}
    for relative in location.files():
        schema = pq.read_schema(location.root / relative)
        for field in schema:
            column_type = _snowflake_type(field.type)
            entry = columns.setdefault(field.name, (column_type, set(), len(columns)))
            entry[1].add(relative)
    for name, (column_type, files, order) in columns.items():
        rows.append((name, column_type, True, f'$1:"{name}"::{column_type}', ", ".join(sorted(files)), order))
    table = pa.table(
        {
            "COLUMN_NAME": pa.array([r[0] for r in rows], pa.string()),
            "TYPE": pa.array([r[1] for r in rows], pa.string()),
            "NULLABLE": pa.array([r[2] for r in rows], pa.bool_()),
            "EXPRESSION": pa.array([r[3] for r in rows], pa.string()),
            "FILENAMES": pa.array([r[4] for r in rows], pa.string()),
            "ORDER_ID": pa.array([r[5] for r in rows], pa.int64()),
        }
    )
    relation = f"_EMULATOR_INFER_SCHEMA_{statement.session.id}"
    rewritten = f"{sql[: found.start()]}{relation}{sql[found.end() :]}"
    return Rewrite(rewritten, None, lambda: registered(statement.session, {relation: table}))


def _require_parquet(statement: Statement, file_format: str) -> None:
    name = statement.object_name(file_format, "file format")
    rows = statement.account.query(
        "SELECT type FROM _fs_global._fs_information_schema._fs_file_formats "
        "WHERE database_name = ? AND schema_name = ? AND name = ?",
        list(name.parts),
    )
    if not rows:
        raise does_not_exist("File format", name.fqn)
    if str(rows[0][0]).upper() != "PARQUET":
        raise invalid(f"the Snowflake emulator infers schemas of Parquet files only, not {rows[0][0]}")


def _snowflake_type(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_integer(arrow_type):
        return "NUMBER(38, 0)"
    if pa.types.is_decimal(arrow_type):
        return f"NUMBER({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_floating(arrow_type):
        return "REAL"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "TEXT"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BINARY"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_time(arrow_type):
        return "TIME(9)"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP_TZ(9)" if arrow_type.tz else "TIMESTAMP_NTZ(9)"
    return "VARIANT"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def copy_folder(source: Path, target: Path) -> None:
    """Copy a stage's files into an object's own folder (as CREATE MODEL … FROM @stage does)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
