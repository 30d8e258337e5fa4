"""``SUM`` of whole numbers stays a whole number, as on Snowflake.

Snowflake sums numbers "into an equivalent or larger data type"
(https://docs.snowflake.com/en/sql-reference/functions/sum): ``SUM(CASE WHEN … THEN 1 ELSE 0 END)``
is ``NUMBER(38,0)``, a count. fakesnow casts every argument of a numeric aggregate to DOUBLE first, so
that a VARCHAR argument sums as Snowflake's implicit cast would (``numeric_agg_implicit_cast``); the sum
of whole numbers then arrives as a float. The emulator keeps that cast for ``SUM`` only where the
argument is not evidently a number by its spelling: a numeric literal, NULL, and CASE / IFF /
COALESCE / NVL / arithmetic (but division) made of them. A plain column is not evident (the
rewrite sees no types), so ``SUM`` of an integer column is still a float on the emulator: a known gap.
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


def install() -> None:
    """Put the narrowed cast in place of fakesnow's, where fakesnow's cursor looks it up."""
    from fakesnow import transforms

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
