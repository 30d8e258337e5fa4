"""How the command line prints rows: a table for people, CSV or JSON for programs.

One set of rules for every command (and the lab's log):
- a column of floats that are all whole numbers prints as integers (``998``, not ``998.000``: SQL
  sums come back as floats), a column of times that are all midnight as dates; other floats print
  with 3 decimals in tables and in full in CSV/JSON;
- a table never truncates a cell: it wraps to the terminal's width, and outside a terminal it is as
  wide as it needs to be; colours only on a terminal (Rich decides, and honours ``NO_COLOR``);
- lists print as ``a, b`` in tables and as JSON text in CSV cells; dates and times as ISO 8601;
  missing values as an empty cell, ``null`` in JSON.

Rich is imported only when a table is printed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TextIO

if TYPE_CHECKING:
    import pandas as pd

Format = Literal["table", "csv", "json"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json")
Rows = Sequence[Mapping[str, Any]]


def emit(
    rows: Rows | pd.DataFrame,
    fmt: Format = "table",
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    indent: int = 0,
    file: TextIO | None = None,
    fit_width: str | None = None,
    too_wide: str | None = "--format csv keeps a row on one line",
) -> None:
    """Print ``rows`` (dicts, or a DataFrame) in ``fmt``; ``columns`` fixes the columns and their
    order (default: every key, in first-seen order). ``title`` and ``indent`` apply to tables only.

    A table too wide for the terminal prints one block per row, with ``too_wide`` (a hint) in its
    note. Given ``fit_width`` (how to see every column), a table keeps instead the leading columns
    that fit the terminal (120 characters outside one) and says how many it left out and ``fit_width``.
    """
    out = file or sys.stdout
    records, names = _records(rows, columns)
    records = [dict(zip(names, values, strict=True)) for values in _normalised(records, names)]
    if fmt == "table" and fit_width is not None:
        kept = _columns_that_fit(records, names, _width(out) - indent)
        if len(kept) < len(names):
            left_out = len(names) - len(kept)  # said on stderr, as every remark to the person: stdout stays the rows
            print(f"({left_out} of {len(names)} columns left out to fit the width: {fit_width})", file=sys.stderr)
            names = kept
            records = [{name: record[name] for name in names} for record in records]
    if fmt == "json":
        json.dump([{k: _json_value(v) for k, v in r.items()} for r in records], out, indent=2, allow_nan=False)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_csv_cell(r[name]) for name in names] for r in records)
    else:
        _table(records, names, title, indent, out, too_wide)


def _width(out: TextIO) -> int:
    """The terminal's width when ``out`` is one (or ``COLUMNS``), else 120."""
    import os
    import shutil

    if out.isatty():
        with contextlib.suppress(OSError):
            return os.get_terminal_size(out.fileno()).columns
    return shutil.get_terminal_size((120, 24)).columns if os.environ.get("COLUMNS") else 120


def _columns_that_fit(records: list[Mapping[str, Any]], names: list[str], width: int) -> list[str]:
    """The leading columns whose cells, wrapped as a table wraps them, fit in ``width`` (at least two)."""
    kept: list[str] = []
    used = 0
    for name in names:
        natural = max([len(name), *(len(line) for r in records for line in cell_text(r[name]).splitlines() or [""])])
        needed = min(natural, max(len(name), SHORT_COLUMN)) + (_COLUMN_GAP if kept else 0)
        if used + needed > width and len(kept) >= 2:
            break
        kept.append(name)
        used += needed
    return kept


def emit_record(record: Mapping[str, Any], fmt: Format = "table", *, title: str | None = None) -> None:
    """Print one object: JSON as an object; a table or CSV as ``field``/``value`` rows, an entry of
    a mapping as a row of its own (``params.max_depth``)."""
    if fmt == "json":
        json.dump({k: _json_value(v) for k, v in record.items()}, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return
    rows = []
    for key, value in record.items():
        if isinstance(value, Mapping):  # one row per entry: params.max_depth, metrics.f1_score
            rows += [{"field": f"{key}.{k}", "value": v} for k, v in value.items()]
        else:
            rows.append({"field": key, "value": value})
    emit(rows, fmt, title=title, columns=["field", "value"])


def cell_text(value: Any) -> str:
    """How one value reads in a table cell: floats with 3 decimals (3 significant digits when
    smaller than 0.001, which 3 decimals would show as 0.000)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if value != 0 and abs(value) < 1e-3 else f"{value:.3f}"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple, Mapping)) for v in value):  # nested: keep the structure visible
            return json.dumps(_json_value(value))
        return ", ".join(cell_text(v) for v in value)
    return str(value)


def _records(rows: Rows | pd.DataFrame, columns: Sequence[str] | None) -> tuple[list[Mapping[str, Any]], list[str]]:
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame, without importing pandas
        frame: Any = rows
        names = [str(c) for c in frame.columns]
        records = [dict(zip(names, values, strict=True)) for values in frame.itertuples(index=False, name=None)]
    else:
        records = list(rows)  # type: ignore[arg-type]
        names = list(dict.fromkeys(key for record in records for key in record))
    if columns is not None:
        names = list(columns)
    return records, names


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as plain Python values; NaN and NaT as None."""
    if value is None or type(value).__name__ == "NaTType":
        return None
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        return value.to_pydatetime()
    if type(value).__module__ == "numpy":
        value = value.tolist()  # a numpy scalar becomes its Python value, an array a list
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _normalised(records: list[Mapping[str, Any]], names: list[str]) -> list[list[Any]]:
    """Plain values, and per column: floats that are all whole numbers as ints, times that are all
    midnight as dates (DuckDB hands DATE columns to pandas as timestamps)."""
    table = [[_plain(record.get(name)) for name in names] for record in records]
    for column in range(len(names)):
        values = [row[column] for row in table if row[column] is not None]
        if not values:
            continue
        if all(isinstance(v, float) and math.isfinite(v) and v.is_integer() for v in values):
            convert: Any = int
        elif all(isinstance(v, dt.datetime) and v.tzinfo is None and v == _midnight(v) for v in values):
            convert = dt.datetime.date
        else:
            continue
        for row in table:
            if row[column] is not None:
                row[column] = convert(row[column])
    return table


def _midnight(value: dt.datetime) -> dt.datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_value(_plain(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(_plain(v)) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_json_value(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


#: A column whose longest cell is at most this wide never wraps; longer text wraps at spaces.
SHORT_COLUMN = 30
_COLUMN_GAP = 3


def _table(
    records: list[Mapping[str, Any]],
    names: list[str],
    title: str | None,
    indent: int,
    out: TextIO,
    too_wide: str | None,
) -> None:
    from rich.console import Console
    from rich.text import Text

    cells = [[cell_text(record[name]) for name in names] for record in records]
    heading = " " * indent + title if title else None
    empty = " " * indent + "(no rows)" if not records else None
    if not out.isatty():
        # As wide as it needs (nothing wraps in a log or a file), plain text without trailing blanks.
        table = _rich_table(records, names, cells, {})
        console = Console(file=io.StringIO(), width=100_000, color_system=None)
        console.print(table)
        lines = [" " * indent + line.rstrip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
        out.write("\n".join(part for part in (heading, *lines, empty) if part is not None) + "\n")
        return
    console = Console(file=out, highlight=False)
    natural = {
        n: max([len(n), *(len(line) for row in cells for line in row[i].splitlines() or [""])])
        for i, n in enumerate(names)
    }
    least = {n: w if w <= SHORT_COLUMN else max(min(len(n), SHORT_COLUMN), 16) for n, w in natural.items()}
    if heading:
        console.print(Text(heading, style="bold"))
    if sum(least.values()) + _COLUMN_GAP * (len(names) - 1) + indent <= console.width:
        console.print(_indented(_rich_table(records, names, cells, least), indent))
    else:  # too many columns for the terminal: one block per row, as psql's expanded display
        note = f"{' ' * indent}({len(names)} columns: a block per row{f'; {too_wide}' if too_wide else ''})"
        console.print(Text(note, style="dim"))
        for row in cells:
            console.print(_indented(_record_grid(names, row), indent))
    if empty:
        console.print(empty)


def _rich_table(
    records: list[Mapping[str, Any]], names: list[str], cells: list[list[str]], least: dict[str, int]
) -> Any:
    """Cells and headers are Text, not markup: data such as ``[bold]`` or ``['output_feature_1']`` prints as is."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name in names:
        values = [r[name] for r in records if r[name] is not None]
        numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        table.add_column(Text(name), justify="right" if numeric else "left", overflow="fold", min_width=least.get(name))
    for row in cells:
        table.add_row(*map(Text, row))
    return table


def _record_grid(names: list[str], row: list[str]) -> Any:
    """One row as ``name  value`` lines under a rule naming it by its first value."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, _COLUMN_GAP))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, text in zip(names[1:], row[1:], strict=True):
        grid.add_row(Text(name), Text(text))
    return Group(Rule(Text(f"{names[0]} {row[0]}"), align="left", style="dim"), grid)


def _indented(renderable: Any, indent: int) -> Any:
    from rich.padding import Padding

    return Padding(renderable, (0, 0, 0, indent)) if indent else renderable
