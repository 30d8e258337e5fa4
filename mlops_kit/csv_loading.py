"""Reading CSV files strictly: every column declared, every value checked, errors that point at rows.

Used before anything is written, so a bad file never leaves a half-loaded table behind.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

ColumnType = Literal["string", "int", "float", "date", "timestamp"]
_SHOWN_ROWS = 5


def read_csv_checked(path: str | Path, columns: Mapping[str, ColumnType], encoding: str = "utf-8") -> pd.DataFrame:
    """Read ``path`` and return its rows typed as ``columns`` says (names upper-cased).

    Column names match case-insensitively and in any order. Rows are numbered as a spreadsheet shows
    them (the header is row 1). A UTF-8 byte order mark and Windows line ends are accepted.

    Args:
        encoding: the file's text encoding (e.g. ``cp1252`` for a CSV saved by Excel on Windows).
    Raises:
        InvalidInputError: the file is missing, not a file, unreadable, empty or not in ``encoding``
            (the message names the row, the column and a likely encoding), a declared column is
            missing, an undeclared one is present, or a value does not parse as its column's type
            (blank values included).
    """
    import pandas as pd

    columns = checked_columns(columns)
    path = Path(path)
    _check_is_csv_file(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, engine="c", encoding=encoding)
    except pd.errors.EmptyDataError as exc:
        raise InvalidInputError(f"{path}: the file is empty (expected a header row and data)") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path}: {_undecodable(path, encoding)}") from exc
    except pd.errors.ParserError as exc:
        raise InvalidInputError(f"{path}: not a readable CSV file: {exc}") from exc
    except LookupError as exc:
        raise InvalidInputError(f"{path}: unknown encoding {encoding!r}") from exc
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot be read: {exc.strerror or exc}") from exc

    wanted = {name.upper(): kind for name, kind in columns.items()}
    raw.columns = [str(c).strip().upper() for c in raw.columns]
    missing = [c for c in wanted if c not in raw.columns]
    extra = [c for c in raw.columns if c not in wanted]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        raise InvalidInputError(f"{path}: {'; '.join(parts)} (expected {', '.join(wanted)})")
    if raw.empty:
        raise InvalidInputError(f"{path}: the file has a header row but no data rows")

    typed = {name: _convert(path, raw[name], name, kind) for name, kind in wanted.items()}
    return pd.DataFrame(typed)


def checked_columns(columns: object, argument: str = "columns") -> dict[str, ColumnType]:
    """``columns`` (column name -> type) with canonical names, checked before any file is read.

    Raises:
        InvalidInputError: not a dict, empty, a name that is not an identifier, or an unknown type.
    """
    from mlops_kit import names

    if not isinstance(columns, Mapping):
        raise InvalidInputError(
            f"{argument} must be a dict of column name -> type, not {type(columns).__name__}: "
            "e.g. {'CUSTOMER_ID': 'string', 'SIGNUP': 'date'}"
        )
    if not columns:
        raise InvalidInputError(f"{argument} is empty: declare every column of the file")
    allowed = get_args(ColumnType)
    checked: dict[str, ColumnType] = {}
    for name, kind in columns.items():
        canonical = names.identifier(name, f"column in {argument}", keyword_ok=True)
        if kind not in allowed:
            raise InvalidInputError(f"{argument}: {canonical} has type {kind!r}; use one of {', '.join(allowed)}")
        if canonical in checked:
            raise InvalidInputError(f"{argument} declares {canonical} twice")
        checked[canonical] = kind
    return checked


def _convert(path: Path, values: pd.Series, column: str, kind: ColumnType) -> pd.Series:
    import pandas as pd

    stripped = values.str.strip()
    if kind == "string":
        converted, bad = stripped, stripped.eq("")
    elif kind in ("int", "float"):
        converted = pd.to_numeric(stripped, errors="coerce")
        bad = converted.isna()
        if kind == "int":
            bad |= converted.notna() & (converted % 1 != 0)
            converted = converted.astype("Int64") if not bad.any() else converted
    elif kind == "date":
        converted = pd.to_datetime(stripped, format="%Y-%m-%d", errors="coerce")
        bad = converted.isna()
        converted = converted.dt.date
    elif kind == "timestamp":
        converted = pd.to_datetime(stripped, format="ISO8601", errors="coerce")
        bad = converted.isna()
    else:  # pragma: no cover - guarded by the type
        raise InvalidInputError(f"unknown column type {kind!r} for column {column}")
    if bad.any():
        rows = bad[bad].index[:_SHOWN_ROWS]
        shown = ", ".join(f"row {i + 2}: {values[i]!r}" for i in rows)
        expected = {"date": "a date YYYY-MM-DD", "timestamp": "an ISO timestamp"}.get(kind, f"a {kind}")
        raise InvalidInputError(
            f"{path}: column {column} expects {expected}; {int(bad.sum())} bad value(s), first: {shown}"
        )
    return converted


def _check_is_csv_file(path: Path) -> None:
    """Refuse, before parsing, what is not a CSV file at all."""
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() == ".csv")[:5]
        hint = f" (it holds {', '.join(inside)})" if inside else ""
        raise InvalidInputError(f"{path}: is a folder, not a CSV file: give the path of the file{hint}")
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise InvalidInputError(f"{path}: not a regular file (a pipe or a device?): give the path of a CSV file")
    try:
        with open(path, "rb") as handle:
            start = handle.read(4)
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if start == b"PK\x03\x04":
        raise InvalidInputError(
            f"{path}: is a zip file (an Excel .xlsx workbook?), not a CSV file: save it as CSV UTF-8"
        )


#: Encodings worth suggesting, most likely first: UTF-8, what Excel on Windows writes, any 8-bit text.
_CANDIDATE_ENCODINGS = ("utf-8", "cp1252", "latin-1")


def _undecodable(path: Path, encoding: str) -> str:
    """Where ``path`` stops being ``encoding`` (row and column, as a spreadsheet numbers them), and what it may be."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return f"not {encoding} text; it is utf-16: pass encoding='utf-16', or save the file as UTF-8"
    likely = next(e for e in _CANDIDATE_ENCODINGS if e != encoding and _decodes(data, e))
    resave = "" if likely == "utf-8" else ", or save the file as UTF-8 (in Excel: Save As, CSV UTF-8)"
    return f"not {encoding} text{_first_undecodable(data, encoding, likely)}; it looks like {likely}: pass encoding={likely!r}{resave}"


def _first_undecodable(data: bytes, encoding: str, likely: str) -> str:
    # Undecodable bytes become lone surrogates, so the CSV reader can say which field holds them.
    text = data.decode(encoding, errors="surrogateescape")
    header: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        header = header or row
        bad = [i for i, value in enumerate(row) if any("\udc80" <= ch <= "\udcff" for ch in value)]
        if not bad:
            continue
        index = bad[0]
        if number == 1:
            place = f"row 1 (the header), column {index + 1}"
        else:
            place = f"row {number}, column {header[index] if index < len(header) else index + 1}"
        shown = row[index].encode(encoding, errors="surrogateescape").decode(likely, errors="replace")
        return f" at {place} ({shown!r} when read as {likely})"
    return ""


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
