"""The churn lab's data: a deterministic generator, a fast CSV writer and the lab-specific checks.

``generate`` builds CUSTOMERS and ORDERS frames of the exact shape the lab uses (shared/LAB.md, "Data"),
with a real churn signal. Each customer gets latent propensities (order rate, spend level, return and
cancel rates, segment); a churn score mixes low order rate, low spend, high returns and the segment with
noise, and customers drawn as churners stop ordering at a random day in the first half of 2024, so in H2
they have no orders while their H1 recency, frequency, spend and return rate all carry the signal.
Everything is vectorised with numpy: a million customers (about six million orders) take seconds.

Frames from ``generate`` hold strings as ``string[pyarrow]``, dates as ``date32[pyarrow]`` (the values
are ``datetime.date``, as from ``read_csv_checked``) and ORDER_AMOUNT as float64 rounded to cents.

``find_csv_files`` + ``mlops_kit.csv_loading.read_csv_checked`` + ``validate`` accept the lab's own
``customers.csv`` / ``orders.csv`` unchanged and reject bad files with messages naming the file, the
column and the CSV rows (the header is row 1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlops_kit.csv_loading import ColumnType
from mlops_kit.errors import InvalidInputError
from mlops_kit.files import writing

CUSTOMERS_COLUMNS: dict[str, ColumnType] = {
    "CUSTOMER_ID": "string",
    "SEGMENT": "string",
    "REGISTRATION_DATE": "date",
    "REGION": "string",
}
ORDERS_COLUMNS: dict[str, ColumnType] = {
    "ORDER_ID": "string",
    "CUSTOMER_ID": "string",
    "ORDER_DATE": "date",
    "ORDER_AMOUNT": "float",
    "STATUS": "string",
}
SEGMENTS = ("Basic", "Standard", "Premium")
REGIONS = ("North", "East", "West", "South")
STATUSES = ("FULFILLED", "RETURNED", "CANCELLED")
OBSERVATION_DATE = dt.date(2024, 6, 30)
H2_START = dt.date(2024, 7, 1)

CUSTOMERS_FILE = "CUSTOMERS.csv"
ORDERS_FILE = "ORDERS.csv"

# Generator constants (days are counted from 2024-01-01; 2024 is a leap year so 2024-07-01 is day 182).
_YEAR_START = np.datetime64("2024-01-01", "D")
_H2_DAY = 182
_LAST_DAY = 329  # 2024-11-25: orders run from Jan 1 to late November
_REG_START = np.datetime64("2022-01-01", "D")
_REG_DAYS = 730  # 2022-01-01 .. 2023-12-31
_DAYS_PER_MONTH = 30.44
_SEGMENT_SHARE = (0.45, 0.35, 0.20)
_REGION_SHARE = (0.27, 0.25, 0.26, 0.22)
_SEGMENT_RATE = np.array([0.85, 1.0, 1.2])  # order-rate multiplier per segment
_SEGMENT_SPEND = np.array([0.295, 0.38, 0.49])  # mean of the Beta amount draw per segment
_SEGMENT_CHURN = np.array([0.30, 0.0, -0.35])  # churn-score shift per segment
_AMOUNT_MIN, _AMOUNT_SPAN = 30.0, 390.0  # amounts fall in 30 .. 420
_SHOWN_ROWS = 5


# ----------------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------------


def generate(customers: int = 3000, seed: int = 42, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(CUSTOMERS, ORDERS)`` frames shaped like the lab's CSV files, deterministic for ``seed``.

    The default 3,000 customers give about 17,000-20,000 orders; every customer has at least one order.
    With ``progress=True`` a tqdm bar shows the generation phases on a terminal (never in a log file).
    """
    if customers < 1:
        raise InvalidInputError(f"customers must be at least 1, got {customers}")
    rng = np.random.default_rng(seed)
    n = int(customers)
    bar = tqdm(total=6, desc="churn data", unit="phase", disable=None if progress else True)  # None: terminal only
    try:
        # 1. Customers and their latent propensities.
        bar.set_postfix_str(f"{n:,} customers")
        segment = rng.choice(3, size=n, p=_SEGMENT_SHARE).astype(np.int8)
        region = rng.choice(4, size=n, p=_REGION_SHARE).astype(np.int8)
        registration = _REG_START + rng.integers(0, _REG_DAYS, size=n)
        rate = rng.gamma(2.5, 0.28, size=n) * _SEGMENT_RATE[segment]  # orders per month
        spend = np.clip(_SEGMENT_SPEND[segment] + rng.normal(0.0, 0.07, size=n), 0.08, 0.85)
        returns = rng.beta(2.0, 10.5, size=n)
        cancels = rng.beta(3.0, 17.0, size=n)
        bar.update()

        # 2. Who churns: low order rate, low spend, many returns and the segment raise the score.
        score = (
            -1.4
            - 1.0 * _standardise(np.log(rate))
            - 0.6 * _standardise(spend)
            + 0.7 * _standardise(returns)
            + _SEGMENT_CHURN[segment]
            + rng.normal(0.0, 0.6, size=n)
        )
        churner = rng.random(n) < 1.0 / (1.0 + np.exp(-score))
        # Churners order only before their stop day (some time in H1); the others all year.
        end_day = np.where(churner, rng.integers(20, _H2_DAY + 1, size=n), _LAST_DAY + 1)
        counts = np.maximum(rng.poisson(rate * end_day / _DAYS_PER_MONTH), 1)
        bar.update()

        # 3. Orders: one row per order, grouped by customer and in date order within a customer.
        bar.set_postfix_str(f"{int(counts.sum()):,} orders")
        owner = np.repeat(np.arange(n, dtype=np.int64), counts)
        day = (rng.random(owner.size) * end_day[owner]).astype(np.int64)
        order = np.argsort(owner * 512 + day, kind="stable")
        day = day[order]
        del order  # owner is already sorted, so it is unchanged by the reordering
        bar.update()

        # 4. Amounts (a Beta draw around the customer's spend level) and statuses.
        concentration = 6.0
        mean = spend[owner]
        amount = _AMOUNT_MIN + _AMOUNT_SPAN * rng.beta(mean * concentration, (1 - mean) * concentration)
        amount = np.round(amount, 2)
        draw = rng.random(owner.size)
        ret = returns[owner]
        status = np.where(draw < ret, 1, np.where(draw < ret + cancels[owner], 2, 0)).astype(np.int8)
        del mean, draw, ret
        bar.update()

        # 5. Identifiers.
        customer_ids = _ids("CUST_", np.arange(1, n + 1, dtype=np.int64), max(5, len(str(n))))
        orders_n = owner.size
        order_ids = _ids("ORD_", np.arange(1, orders_n + 1, dtype=np.int64), max(6, len(str(orders_n))))
        bar.update()

        # 6. Frames.
        customers_df = pd.DataFrame(
            {
                "CUSTOMER_ID": _string_column(customer_ids),
                "SEGMENT": _string_column(_labels(SEGMENTS, segment)),
                "REGISTRATION_DATE": _date_column(registration),
                "REGION": _string_column(_labels(REGIONS, region)),
            }
        )
        orders_df = pd.DataFrame(
            {
                "ORDER_ID": _string_column(order_ids),
                "CUSTOMER_ID": _string_column(customer_ids.take(owner)),
                "ORDER_DATE": _date_column(_YEAR_START + day),
                "ORDER_AMOUNT": amount,
                "STATUS": _string_column(_labels(STATUSES, status)),
            }
        )
        bar.update()
    finally:
        bar.close()
    return customers_df, orders_df


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 0 else 1.0)


def _ids(prefix: str, numbers: np.ndarray, width: int):  # -> pyarrow.StringArray
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, built from bytes (no Python loop)."""
    import pyarrow as pa

    head = prefix.encode("ascii")
    size = len(head) + width
    buf = np.empty((numbers.size, size), dtype=np.uint8)
    buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = numbers.copy()
    for position in range(size - 1, len(head) - 1, -1):
        buf[:, position] = rest % 10 + 48
        rest //= 10
    offset_type, arrow_type = (np.int32, pa.string()) if buf.size < 2**31 else (np.int64, pa.large_string())
    offsets = np.arange(numbers.size + 1, dtype=offset_type) * size
    return pa.Array.from_buffers(arrow_type, numbers.size, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def _labels(names: Sequence[str], codes: np.ndarray):  # -> pyarrow.StringArray
    import pyarrow as pa

    return pa.array(list(names), type=pa.string()).take(pa.array(codes.astype(np.int32)))


def _string_column(values) -> pd.Series:  # values: pyarrow string array
    import pyarrow as pa

    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([values])), copy=False)


def _date_column(days: np.ndarray) -> pd.Series:
    import pyarrow as pa

    array = pa.array(days.astype("datetime64[D]").astype(np.int32), type=pa.int32()).view(pa.date32())
    return pd.Series(pd.arrays.ArrowExtensionArray(array), copy=False)


# ----------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------


def write_csv(customers_df: pd.DataFrame, orders_df: pd.DataFrame, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``CUSTOMERS.csv`` and ``ORDERS.csv`` into ``out_dir`` (created if needed); return both paths.

    Header row, dates as YYYY-MM-DD, ORDER_AMOUNT with exactly two decimals, values quoted only when
    they must be. Uses pyarrow's CSV writer, so six million orders take a few seconds.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    customers_path, orders_path = out / CUSTOMERS_FILE, out / ORDERS_FILE
    _write_frame(customers_df, list(CUSTOMERS_COLUMNS), customers_path)
    _write_frame(orders_df, list(ORDERS_COLUMNS), orders_path)
    return customers_path, orders_path


def _write_frame(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"cannot write {path.name}: the frame lacks column(s) {', '.join(missing)}")
    arrays = []
    for name in columns:
        kind = {**CUSTOMERS_COLUMNS, **ORDERS_COLUMNS}[name]
        series = frame[name]
        if kind == "date":
            arrays.append(_arrow_dates(series))
        elif kind == "float":
            arrays.append(_money_strings(series.to_numpy(dtype=np.float64)))
        else:
            arrays.append(pa.array(series.astype("string[pyarrow]").array).cast(pa.string()))
    table = pa.table(arrays, names=columns)
    tmp = path.with_name(path.name + ".tmp")
    with writing(tmp, f"the data file {path.name}:"), open(tmp, "wb") as sink:
        sink.write((",".join(columns) + "\n").encode("ascii"))
        try:
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        except pa.ArrowInvalid:  # a value holds a comma, quote or newline: quote where needed
            sink.seek(0)
            sink.truncate()
            sink.write((",".join(columns) + "\n").encode("ascii"))
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    tmp.replace(path)


def _money_strings(values: np.ndarray):  # -> pyarrow.StringArray
    """Format amounts with exactly two decimals ("180.50") without a per-row Python loop."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not np.isfinite(values).all():
        raise InvalidInputError("cannot write ORDER_AMOUNT: it holds missing or infinite values")
    cents = np.rint(values * 100).astype(np.int64)
    magnitude = np.abs(cents)
    whole = pc.cast(pa.array(magnitude // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(magnitude % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    negative = cents < 0
    if negative.any():
        text = pc.if_else(pa.array(negative), pc.binary_join_element_wise("-", text, ""), text)
    return text


# ----------------------------------------------------------------------------------------------------
# Finding and validating the lab's files
# ----------------------------------------------------------------------------------------------------


def find_csv_files(data_dir: str | Path) -> tuple[Path, Path]:
    """Return ``(customers_csv, orders_csv)`` found in ``data_dir`` (not recursive).

    Names match case-insensitively: a ``.csv`` file whose name contains "order" is the orders file, one
    containing "customer" (and not "order") the customers file; ``customers.csv``/``orders.csv`` (any
    case) win over other candidates. Raises InvalidInputError listing what was found otherwise.
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        raise InvalidInputError(f"{folder}: no such directory (expected customers.csv and orders.csv in it)")
    csvs = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    orders = [p for p in csvs if "order" in p.stem.lower()]
    customers = [p for p in csvs if "customer" in p.stem.lower() and p not in orders]
    found_customers = _pick(customers, ("customers", "customer"))
    found_orders = _pick(orders, ("orders", "order"))
    if found_customers is not None and found_orders is not None:
        return found_customers, found_orders
    listing = ", ".join(p.name for p in csvs) if csvs else "no .csv files"
    problems = []
    for what, candidates, found in (
        ("customers", customers, found_customers),
        ("orders", orders, found_orders),
    ):
        if found is None:
            if candidates:
                names = ", ".join(p.name for p in candidates)
                problems.append(f"several files could be the {what} file ({names})")
            else:
                problems.append(f"no file with '{what[:-1]}' in its name for the {what}")
    raise InvalidInputError(
        f"{folder}: cannot identify the lab's CSV files: {'; '.join(problems)}. Found: {listing}. "
        "Expected customers.csv and orders.csv (any case)."
    )


def _pick(candidates: list[Path], preferred: tuple[str, ...]) -> Path | None:
    if len(candidates) == 1:
        return candidates[0]
    exact = [p for p in candidates if p.stem.lower() in preferred]
    return exact[0] if len(exact) == 1 else None


def validate(
    customers: pd.DataFrame,
    orders: pd.DataFrame,
    customers_path: str | Path,
    orders_path: str | Path,
) -> None:
    """Check the lab's rules on frames already typed by ``read_csv_checked``; raise on any problem.

    Rejected: SEGMENT, REGION or STATUS values outside the lab's sets; ORDER_AMOUNT not positive (or not
    finite); duplicate CUSTOMER_ID or ORDER_ID; orders whose CUSTOMER_ID is not in the customers file;
    registration or order dates in the future (after today); no order at all in 2024 H1 (the churn
    labels would be empty). Orders before 2024 are kept: the lab's features count all history up to
    2024-06-30 and an earlier version of the lab's files carries 2023 orders.

    Raises:
        InvalidInputError: one message listing every problem found; each names the file, the column,
            how many rows are affected and the first few with their CSV row numbers (header = row 1).
    """
    cpath, opath = Path(customers_path), Path(orders_path)
    today = dt.date.today()
    problems: list[str] = []

    problems += _unknown_values(customers, "SEGMENT", SEGMENTS, cpath)
    problems += _unknown_values(customers, "REGION", REGIONS, cpath)
    problems += _unknown_values(orders, "STATUS", STATUSES, opath)
    problems += _duplicates(customers, "CUSTOMER_ID", cpath)
    problems += _duplicates(orders, "ORDER_ID", opath)

    amount = pd.to_numeric(orders["ORDER_AMOUNT"], errors="coerce").to_numpy(dtype=np.float64)
    bad_amount = ~(np.isfinite(amount) & (amount > 0))
    problems += _report(orders, "ORDER_AMOUNT", bad_amount, opath, "must be a positive amount")

    unknown = ~_is_in(_arrow_strings(orders["CUSTOMER_ID"]), _arrow_strings(customers["CUSTOMER_ID"]))
    problems += _report(orders, "CUSTOMER_ID", unknown, opath, f"names customers that are not in {cpath.name}")

    registered = _as_days(customers["REGISTRATION_DATE"])
    problems += _report(
        customers, "REGISTRATION_DATE", registered > _day(today), cpath, f"is in the future (today is {today})"
    )
    ordered = _as_days(orders["ORDER_DATE"])
    problems += _report(orders, "ORDER_DATE", ordered > _day(today), opath, f"is in the future (today is {today})")
    in_h1 = (ordered >= _day(dt.date(2024, 1, 1))) & (ordered <= _day(OBSERVATION_DATE))
    if len(orders) and not in_h1.any():
        first, last = _date_text(np.nanmin(ordered)), _date_text(np.nanmax(ordered))
        problems.append(
            f"{opath}: column ORDER_DATE has no order between 2024-01-01 and {OBSERVATION_DATE} "
            f"(dates run {first} .. {last}); the churn lab labels customers active in 2024 H1"
        )
    if problems:
        raise InvalidInputError("\n".join(problems))


def _unknown_values(frame: pd.DataFrame, column: str, allowed: Sequence[str], path: Path) -> list[str]:
    import pyarrow as pa

    bad = ~_is_in(_arrow_strings(frame[column]), pa.array(list(allowed), type=pa.string()))
    return _report(frame, column, bad, path, f"must be one of {', '.join(allowed)} (case matters)")


def _duplicates(frame: pd.DataFrame, column: str, path: Path) -> list[str]:
    codes = _arrow_strings(frame[column]).dictionary_encode().indices.to_numpy(zero_copy_only=False)
    # dictionary_encode numbers values in order of first appearance: a row holds a new value exactly when
    # its code exceeds every earlier code, and the k-th such row is where code k first appears.
    earlier_max = np.maximum.accumulate(np.concatenate(([-1], codes[:-1]))) if codes.size else codes
    repeated = codes <= earlier_max
    first_seen = np.flatnonzero(~repeated)
    notes = {int(i): f"also at row {int(first_seen[codes[i]]) + 2}" for i in np.flatnonzero(repeated)[:_SHOWN_ROWS]}
    return _report(frame, column, repeated, path, "must be unique", notes)


def _arrow_strings(values: pd.Series):  # -> pyarrow.StringArray
    """A string column as one Arrow array (pandas' own isin/duplicated are slow on Arrow strings)."""
    import pyarrow as pa

    if isinstance(values.dtype, (pd.ArrowDtype, pd.StringDtype)):
        array = pa.array(values.array)
    else:
        array = pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if pa.types.is_string(array.type) else array.cast(pa.string())


def _is_in(values, allowed) -> np.ndarray:  # pyarrow arrays -> numpy bool
    import pyarrow.compute as pc

    found = pc.is_in(values, value_set=allowed)
    return found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def _report(
    frame: pd.DataFrame,
    column: str,
    bad: np.ndarray,
    path: Path,
    rule: str,
    notes: dict[int, str] | None = None,
) -> list[str]:
    """One problem line: file, column, rule, count and the first rows as ``row N: 'value'``."""
    if not bad.any():
        return []
    positions = np.flatnonzero(bad)
    shown = []
    for i in positions[:_SHOWN_ROWS]:
        text = f"row {int(i) + 2}: {_value_text(frame[column].iloc[int(i)])!r}"
        if notes and int(i) in notes:
            text += f" ({notes[int(i)]})"
        shown.append(text)
    more = f" (and {positions.size - _SHOWN_ROWS} more)" if positions.size > _SHOWN_ROWS else ""
    return [f"{path}: column {column} {rule}; {positions.size} bad value(s), first: {', '.join(shown)}{more}"]


def _value_text(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _arrow_dates(values: pd.Series):  # -> pyarrow.Date32Array
    """Dates held as ``datetime.date`` objects, date32/timestamp Arrow or datetime64 as one date32 array.

    ``pd.to_datetime`` would do, but is very slow on Arrow-backed columns (seconds per million rows).
    """
    import pyarrow as pa

    if isinstance(values.dtype, pd.ArrowDtype):
        array = pa.array(values.array)
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        array = pa.array(values.dt.tz_localize(None) if values.dt.tz else values)
    else:
        try:
            array = pa.array(values.to_numpy(dtype=object), type=pa.date32())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array(pd.to_datetime(values))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if pa.types.is_date32(array.type) else array.cast(pa.date32())


def _as_days(values: pd.Series) -> np.ndarray:
    """Dates (see ``_arrow_dates``) as days since 1970 (float64, NaN where missing)."""
    import pyarrow as pa

    days = _arrow_dates(values).view(pa.int32())
    return days.to_numpy(zero_copy_only=False).astype(np.float64)


def _day(value: dt.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def _date_text(days: int) -> str:
    return str(np.datetime64(int(days), "D"))
