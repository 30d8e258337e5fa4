"""``promote``: copy a registered model version from one registry to another (e.g. local -> Snowflake).

Backend-agnostic: it uses only the Registry interface. The copy keeps the version name, metrics,
comment and lineage records (run reference with its params, training set, feature view versions).
The input signature is rebuilt from the version's ``feature_names`` as float columns, because no
registry records column dtypes in the core types; pass ``sample_input`` to keep exact dtypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_kit.errors import InvalidInputError
from mlops_kit.types import ModelVersion, Run, RunStatus, TrainingSet

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.registry import Registry


def promote(
    source: Registry,
    target: Registry,
    model_name: str,
    version: str,
    *,
    as_default: bool = False,
    sample_input: pd.DataFrame | None = None,
) -> ModelVersion:
    """Register ``source``'s ``model_name``/``version`` in ``target`` under the same names.

    Args:
        as_default: make the copy the target model's default version.
        sample_input: rows that define the input signature; by default one row of zeros over the
            version's recorded ``feature_names``.
    Returns:
        The new version in ``target``.
    Raises:
        NotFoundError: the source version does not exist.
        AlreadyExistsError: the target already has that version.
        InvalidInputError: no sample input is given and the version records no feature names.
    """
    import pandas as pd

    mv = source.get_version(model_name, version)
    if sample_input is None:
        if not mv.feature_names:
            raise InvalidInputError(
                f"model {mv.model} version {mv.version} records no feature names: pass sample_input"
            )
        sample_input = pd.DataFrame([[0.0] * len(mv.feature_names)], columns=list(mv.feature_names))
    lineage = source.get_lineage(mv.model, mv.version)
    run = (
        Run(mv.run.experiment, mv.run.name, mv.run.run_id, RunStatus.FINISHED, params=dict(lineage.params))
        if mv.run
        else None
    )
    training_set = (
        TrainingSet(
            spine_query="",
            feature_views=mv.feature_views,
            label_cols=(),
            feature_columns=mv.feature_names,
            columns=mv.feature_names,
            row_count=0,
            table=mv.training_set,
        )
        if mv.training_set or mv.feature_views
        else None
    )
    target.log_model(
        mv.model,
        mv.version,
        source.load_model(mv.model, mv.version),
        sample_input=sample_input,
        metrics=dict(mv.metrics),
        comment=mv.comment,
        run=run,
        training_set=training_set,
    )
    if as_default:
        target.set_default(mv.model, mv.version)
    return target.get_version(mv.model, mv.version)
