"""DuckDB results as the DataFrames Snowflake's would be: whole numbers as integers, float64 with NULLs.

On Snowflake, ``SUM`` of whole numbers, ``COUNT_IF`` as a sum, ``CAST(x AS NUMBER)`` and every other
``NUMBER(p, 0)`` arrive in pandas as integers, and as float64 where the column holds a NULL
(https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-pandas: FIXED with
scale 0 maps to (u)int or, for NULL, float64). DuckDB types the same results ``HUGEINT`` (``SUM`` of
integers) or ``DECIMAL(p, 0)``, which its DataFrames carry as float64 (a count would reach a model's
signature as ``double``), and an integer column with NULLs as pandas' nullable ``Int64``, which a
scikit-learn model cannot read. Here the first are read as BIGINT (a result with values beyond 64 bits,
which no count reaches, as DuckDB reads it) and the second as float64.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.adapters.local.sql import quote

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

_WHOLE_NUMBER_TYPES = ("HUGEINT", "UHUGEINT")


def _is_whole_number(type_name: str) -> bool:
    return type_name in _WHOLE_NUMBER_TYPES or (type_name.startswith("DECIMAL(") and type_name.endswith(",0)"))


def frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The rows of ``sql`` as a DataFrame, its whole-number columns as int64 (see the module's docstring)."""
    import duckdb

    relation = con.sql(sql)
    if relation is None:  # a statement that returns no rows
        import pandas as pd

        return pd.DataFrame()
    types = [str(t) for t in relation.types]
    if any(_is_whole_number(t) for t in types):
        columns = [
            f"CAST(#{i} AS BIGINT) AS {quote(name)}" if _is_whole_number(t) else f"#{i}"
            for i, (name, t) in enumerate(zip(relation.columns, types, strict=True), start=1)
        ]
        try:
            return _nulls_as_float(relation.project(", ".join(columns)).df())
        except duckdb.ConversionException:  # a value beyond 64 bits: as DuckDB reads it
            pass
    return _nulls_as_float(relation.df())


def _nulls_as_float(rows: pd.DataFrame) -> pd.DataFrame:
    """Integer columns that hold NULLs (DuckDB gives them pandas' nullable Int types) as float64."""
    import pandas as pd

    nullable = [name for name, dtype in rows.dtypes.items() if isinstance(dtype, pd.api.extensions.ExtensionDtype)
                and pd.api.types.is_integer_dtype(dtype)]  # fmt: skip
    if not nullable:
        return rows
    return rows.astype({name: "float64" for name in nullable})
