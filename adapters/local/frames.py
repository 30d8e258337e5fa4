"""Whole numbers as Snowflake keeps them: integers in DataFrames, BIGINT in what the kit stores.

On Snowflake, ``SUM`` of whole numbers, ``COUNT_IF`` as a sum, ``CAST(x AS NUMBER)`` and every other
``NUMBER(p, 0)`` arrive in pandas as integers, and as float64 where the column holds a NULL
(https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-pandas: FIXED with
scale 0 maps to (u)int or, for NULL, float64). DuckDB types the same results ``HUGEINT`` (``SUM`` of
integers) or ``DECIMAL(p, 0)``, which its DataFrames carry as float64 (a count would reach a model's
signature as ``double``), and an integer column with NULLs as pandas' nullable ``Int64``, which a
scikit-learn model cannot read.

So the kit reads such columns as BIGINT and integer columns with NULLs as float64 (``frame``), and
stores them as BIGINT in the views and tables it makes from a query (``stored``: a feature view, a
training set, ``create_table_as``), so that any DuckDB client reading the file (plain DuckDB feeding
plain MLflow, say) gets the types the model was registered with. A whole number beyond 64 bits (which
no count reaches; Snowflake would keep 38 digits) fails the read or the write with DuckDB's conversion
error, which names the column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.adapters.local.sql import quote

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

_WIDE_WHOLE_NUMBERS = ("HUGEINT", "UHUGEINT")


def _is_wide_whole_number(type_name: str) -> bool:
    return type_name in _WIDE_WHOLE_NUMBERS or (type_name.startswith("DECIMAL(") and type_name.endswith(",0)"))


def _as_bigint(relation: duckdb.DuckDBPyRelation) -> str | None:
    """The select list that reads ``relation``'s wide whole-number columns as BIGINT (by position, so
    that repeated names work), or None when it has none."""
    types = [str(t) for t in relation.types]
    if not any(_is_wide_whole_number(t) for t in types):
        return None
    return ", ".join(
        f"CAST(#{i} AS BIGINT) AS {quote(name)}" if _is_wide_whole_number(t) else f"#{i}"
        for i, (name, t) in enumerate(zip(relation.columns, types, strict=True), start=1)
    )


def stored(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``query`` with its wide whole-number columns as BIGINT, for ``CREATE TABLE/VIEW … AS``
    (``query`` is bound, not run)."""
    columns = _as_bigint(con.sql(query))
    return query if columns is None else f"SELECT {columns} FROM ({query}\n)"  # a -- comment ends at the newline


def frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The rows of ``sql`` as a DataFrame, whole numbers as Snowflake's would be (the module's docstring)."""
    relation = con.sql(sql)
    if relation is None:  # a statement that returns no rows
        import pandas as pd

        return pd.DataFrame()
    columns = _as_bigint(relation)
    return _nulls_as_float((relation if columns is None else relation.project(columns)).df())


def _nulls_as_float(rows: pd.DataFrame) -> pd.DataFrame:
    """Integer columns that hold NULLs (DuckDB gives them pandas' nullable Int types) as float64."""
    import pandas as pd

    nullable = [name for name, dtype in rows.dtypes.items() if isinstance(dtype, pd.api.extensions.ExtensionDtype)
                and pd.api.types.is_integer_dtype(dtype)]  # fmt: skip
    if not nullable:
        return rows
    return rows.astype({name: "float64" for name in nullable})
