"""Reading CSV files strictly: every column declared, every value checked, errors that point at rows.

Used before anything is written, so a bad file never leaves a half-loaded table behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlops_kit.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

ColumnType = Literal["string", "int", "float", "date", "timestamp"]
_SHOWN_ROWS = 5


def read_csv_checked(path: str | Path, columns: Mapping[str, ColumnType]) -> pd.DataFrame:
    """Read ``path`` and return its rows typed as ``columns`` says (names upper-cased).

    Column names match case-insensitively and in any order. Rows are numbered as a spreadsheet shows
    them (the header is row 1).

    Raises:
        InvalidInputError: the file is missing or empty, a declared column is missing, an undeclared
            one is present, or a value does not parse as its column's type (blank values included).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, engine="c")
    except pd.errors.EmptyDataError as exc:
        raise InvalidInputError(f"{path}: the file is empty (expected a header row and data)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: not a readable CSV file: {exc}") from exc

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
