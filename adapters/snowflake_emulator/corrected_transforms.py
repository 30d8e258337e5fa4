"""fakesnow's rewrites of Snowflake SQL for DuckDB, corrected where they change what a query means.

**SUM of whole numbers stays a whole number.** Snowflake sums numbers "into an equivalent or larger
data type" (https://docs.snowflake.com/en/sql-reference/functions/sum): ``SUM(CASE WHEN … THEN 1 ELSE
0 END)`` is ``NUMBER(38,0)``, a count. fakesnow casts every argument of a numeric aggregate to DOUBLE
first, so that a VARCHAR argument sums as Snowflake's implicit cast would (``numeric_agg_implicit_cast``);
the sum of whole numbers then arrives as a float. The cast is kept for ``SUM`` only where the argument
is not evidently a number by its spelling: a numeric literal, NULL, and CASE / IFF / COALESCE / NVL /
arithmetic (but division) made of them. A plain column is not evident (the rewrite sees no types), so
``SUM`` of an integer column is still a float on the emulator: a known gap.

**A value cast to VARIANT is that value, not JSON text parsed.** ``'red'::VARIANT`` is the string
``"red"`` (https://docs.snowflake.com/en/sql-reference/data-types-semistructured: a VARIANT holds a
value of any other type; parsing is ``PARSE_JSON``'s). fakesnow writes the cast as ``CAST(x AS JSON)``,
which parses ``x`` and fails on ``red`` (Snowpark casts a categorical column so when it writes a
table); here it is ``to_json(x)``, which keeps strings, numbers, dates and JSON values as they are.

**A VARIANT cast to text is its value, not its JSON.** ``CAST(v AS VARCHAR)`` of the VARIANT string
``"red"`` is ``red`` (https://docs.snowflake.com/en/sql-reference/data-type-conversion: a VARIANT
holding a string converts to that string; https://docs.snowflake.com/en/sql-reference/functions/to_char:
"if the input is a VARIANT containing a string, the string is returned without quotes"); DuckDB's
cast of JSON to VARCHAR keeps the quotes, so a model whose categorical column arrives as VARIANT
saw ``"red"``. A column cast to text is read as its JSON value where its type is JSON, as itself
otherwise (the rewrite sees no types; DuckDB evaluates only the branch a row takes).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Mod)


def evidently_a_number(node: exp.Expression | None) -> bool:
    """Whether ``node`` is a number (or NULL) by its spelling alone."""
    if node is None:
        return True  # a CASE without ELSE: NULL
    if isinstance(node, exp.Literal):
        return not node.is_string
    if isinstance(node, exp.Null):
        return True
    if isinstance(node, (exp.Paren, exp.Neg)):
        return evidently_a_number(node.this)
    if isinstance(node, _ARITHMETIC):
        return evidently_a_number(node.left) and evidently_a_number(node.right)
    if isinstance(node, exp.Case):
        return all(evidently_a_number(branch.args.get("true")) for branch in node.args.get("ifs") or []) and (
            evidently_a_number(node.args.get("default"))
        )
    if isinstance(node, exp.If):
        return evidently_a_number(node.args.get("true")) and evidently_a_number(node.args.get("false"))
    if isinstance(node, exp.Coalesce):  # NVL too
        return all(evidently_a_number(part) for part in [node.this, *node.expressions])
    return False


def variant_cast_as_value(node: exp.Expression) -> exp.Expression:
    """``CAST(x AS VARIANT)`` as ``to_json(x)``; any other node as it is."""
    if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.is_type(exp.DataType.Type.VARIANT):
        return exp.func("to_json", node.this)
    return node


_TEXT_TYPES = (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR)
_CORRECTED = "mlops_kit_corrected"


def variant_cast_to_text(node: exp.Expression) -> exp.Expression:
    """``CAST(column AS VARCHAR)`` that reads a JSON (VARIANT) column as its value; other nodes as they are."""
    if not isinstance(node, exp.Cast) or node.meta.get(_CORRECTED) or not isinstance(node.this, exp.Column):
        return node
    if not any(node.to.is_type(kind) for kind in _TEXT_TYPES):
        return node
    as_text = node.copy()
    as_text.meta[_CORRECTED] = True
    is_json = exp.EQ(this=exp.func("typeof", node.this.copy()), expression=exp.Literal.string("JSON"))
    value = exp.func("json_extract_string", node.this.copy(), exp.Literal.string("$"))
    return exp.Case(ifs=[exp.If(this=is_json, true=value)], default=as_text)


def install() -> None:
    """Put the corrected rewrites in place of fakesnow's, where fakesnow's cursor looks them up."""
    from fakesnow import transforms

    fakesnow_types = getattr(transforms, "_fakesnow_semi_structured_types", transforms.semi_structured_types)

    def semi_structured_types(expression: exp.Expression) -> Any:
        return fakesnow_types(variant_cast_to_text(variant_cast_as_value(expression)))

    transforms._fakesnow_semi_structured_types = fakesnow_types  # type: ignore[attr-defined]
    transforms.semi_structured_types = semi_structured_types

    fakesnow_cast = getattr(transforms, "_fakesnow_numeric_agg_implicit_cast", transforms.numeric_agg_implicit_cast)

    def numeric_agg_implicit_cast(expression: exp.Expression) -> Any:
        if not (isinstance(expression, exp.Sum) and evidently_a_number(expression.this)):
            return fakesnow_cast(expression)
        named = fakesnow_cast(expression)  # fakesnow also names an unaliased column as Snowflake does
        summed = named.this if isinstance(named, exp.Alias) else named
        if isinstance(summed, exp.Sum) and isinstance(summed.this, exp.TryCast):
            summed.set("this", summed.this.this)
        return named

    transforms._fakesnow_numeric_agg_implicit_cast = fakesnow_cast  # type: ignore[attr-defined]
    transforms.numeric_agg_implicit_cast = numeric_agg_implicit_cast
