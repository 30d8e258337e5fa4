"""The core's commands: what the stores hold (features, entities, runs, models, lineage), SQL, the UI.

Read commands take ``--format table|csv|json``; each builds plain rows from the interfaces'
dataclasses and leaves the printing to ``output.py``.
"""

from __future__ import annotations

import fnmatch
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import click

from mlops_kit.cli import BACKEND_CHOICE, backend_option, cli, connect_backend, format_option, note, settings
from mlops_kit.cli.output import Format, emit, emit_record

if TYPE_CHECKING:
    from mlops_kit.types import Run


@cli.command()
@backend_option
@format_option
def features(backend: str, fmt: Format) -> None:
    """Feature view versions and their features.

    With each version: its entities and join keys, its feature columns and the object to query.
    """
    with connect_backend(backend) as kit:
        join_keys = {e.name: e.join_keys for e in kit.feature_store.list_entities()}
        rows = [
            {
                "feature_view": view.name,
                "version": view.version,
                "entities": list(view.entities),
                "join_keys": [key for entity in view.entities for key in join_keys.get(entity, ())],
                "features": list(view.feature_columns),
                "object": view.object_name,
                "description": view.description,
                "created": view.created_at,
            }
            for view in kit.feature_store.list_feature_views()
        ]
    columns = ["feature_view", "version", "entities", "join_keys", "features", "object", "description", "created"]
    emit(rows, fmt, title="Feature view versions", columns=columns)


@cli.command()
@backend_option
@format_option
def entities(backend: str, fmt: Format) -> None:
    """Entities and the feature views that use them.

    An entity is what features describe (a customer), identified by its join keys.
    """
    with connect_backend(backend) as kit:
        views = kit.feature_store.list_feature_views()
        rows = [
            {
                "entity": entity.name,
                "join_keys": list(entity.join_keys),
                "description": entity.description,
                "feature_views": [f"{v.name}/{v.version}" for v in views if entity.name in v.entities],
            }
            for entity in kit.feature_store.list_entities()
        ]
    emit(rows, fmt, title="Entities", columns=["entity", "join_keys", "description", "feature_views"])


@cli.command()
@click.argument("experiment", required=False, help="Experiment whose runs to show; default: the only one with runs.")
@click.option(
    "--metric", "-m", "metric_patterns", multiple=True, metavar="NAME",
    help="Metrics to show, by name or pattern: -m 'f1*' -m accuracy, or -m f1_score,accuracy. Default: all.",
)  # fmt: skip
@click.option(
    "--param", "-p", "param_patterns", multiple=True, metavar="NAME",
    help="Params to show, by name or pattern, as -m. Default: the params that differ between runs.",
)  # fmt: skip
@click.option(
    "--all", "all_params", is_flag=True,
    help="Show every param and metric, also those equal in all runs, in as many columns as they need.",
)  # fmt: skip
@backend_option
@format_option
def runs(
    experiment: str | None,
    metric_patterns: tuple[str, ...],
    param_patterns: tuple[str, ...],
    all_params: bool,
    backend: str,
    fmt: Format,
) -> None:
    """The runs of an experiment, side by side.

    One row per run, its params and metrics as columns (choose them with -m and -p). By default a
    table shows first what differs between the runs (metrics, then params) and as many columns as
    fit the terminal; --all, -m / -p or --format csv show the rest.
    """
    with connect_backend(backend) as kit:
        tracker = kit.tracker
        if experiment is None:
            experiment, found = _the_experiment_with_runs(tracker)
        else:
            found = tracker.list_runs(experiment)
    chosen = bool(metric_patterns or param_patterns or all_params)
    emit(
        _run_rows(found, metric_patterns, param_patterns, all_params),
        fmt,
        title=f"Runs of {experiment.upper()}",
        fit_width=None if chosen else "choose them with -m / -p, or see all with --all or --format csv",
    )


def _the_experiment_with_runs(tracker: Any) -> tuple[str, list[Run]]:
    with_runs = {e.name: r for e in tracker.list_experiments() if (r := _runs_or_none(tracker, e.name))}
    if len(with_runs) != 1:
        raise click.UsageError(
            "name the experiment: " + (", ".join(sorted(with_runs)) if with_runs else "no experiment has runs yet")
        )
    [(name, found)] = with_runs.items()
    note(f"(experiment {name}: the only one with runs)")
    return name, found


def _runs_or_none(tracker: Any, experiment: str) -> list[Run]:
    from mlops_kit.errors import NotFoundError

    try:
        return tracker.list_runs(experiment)
    except NotFoundError:  # a name the tracker lists but cannot open by name (MLflow's "Default")
        return []


def _run_rows(
    found: list[Run], metric_patterns: tuple[str, ...], param_patterns: tuple[str, ...], all_params: bool
) -> list[dict[str, Any]]:
    """One row per run. Chosen columns (-m, -p) come in the order asked, after run, status and
    started; by default what differs between the runs comes first: single metrics, params, families
    of metrics (``importance_*``), then when each run started and the metrics equal in all."""
    params = sorted({k for run in found for k in run.params})
    metrics = sorted({k for run in found for k in run.metrics})
    if param_patterns:
        params = _matching(params, param_patterns, "param")
    elif not all_params:  # a param equal in every run says nothing about the difference between them
        params = [p for p in params if _differs(found, "params", p)]
    if metric_patterns:
        metrics = _matching(metrics, metric_patterns, "metric")
    clash = set(params) & set(metrics)
    param_columns = {p: f"param.{p}" if p in clash else p for p in params}
    metric_columns = {m: f"metric.{m}" if m in clash else m for m in metrics}
    if metric_patterns or param_patterns:
        order = ["run", "status", "started", *param_columns.values(), *metric_columns.values()]
    else:
        differing = [m for m in metrics if _differs(found, "metrics", m)]
        singles, families = _singles_and_families(differing)
        equal = [metric_columns[m] for m in metrics if m not in differing]
        order = ["run", "status", *(metric_columns[m] for m in singles), *param_columns.values()]
        order += [*(metric_columns[m] for m in families), "started", *equal]
    rows = []
    for run in found:
        row: dict[str, Any] = {"run": run.name, "status": run.status.value, "started": run.start_time}
        row.update({column: run.params.get(p) for p, column in param_columns.items()})
        row.update({column: run.metrics.get(m) for m, column in metric_columns.items()})
        rows.append({column: row[column] for column in order})
    return rows


def _singles_and_families(metrics: list[str]) -> tuple[list[str], list[str]]:
    """(single metrics such as ``f1_score``, families such as ``importance_*``: three or more sharing
    the text before their first ``_``, many columns that say one thing)."""
    prefixes = Counter(m.split("_", 1)[0] for m in metrics)
    families = [m for m in metrics if prefixes[m.split("_", 1)[0]] >= 3]
    return [m for m in metrics if m not in families], families


def _differs(found: list[Run], kind: str, key: str) -> bool:
    return len({getattr(run, kind).get(key) for run in found}) > 1


def _matching(names: list[str], patterns: tuple[str, ...], what: str) -> list[str]:
    patterns = tuple(p.strip() for given in patterns for p in given.split(",") if p.strip())  # -m a,b = -m a -m b
    # In the order asked for (-m f1_score,accuracy shows f1_score first); a pattern's matches sorted.
    chosen = list(dict.fromkeys(n for p in patterns for n in names if fnmatch.fnmatch(n.lower(), p.lower())))
    if not chosen:
        raise click.UsageError(f"no {what} matches {', '.join(patterns)}: there are {', '.join(names) or 'none'}")
    return chosen


@cli.group()
def models() -> None:
    """Registered models and their versions.

    List them, choose the default version, copy a version to another backend.
    """


@models.command("list")
@click.argument("model", required=False, help="Model whose versions to list; default: list the models.")
@backend_option
@format_option
def models_list(model: str | None, backend: str, fmt: Format) -> None:
    """Every model, or the versions of one.

    Versions come with the default marked, metrics as columns and comments in full.
    """
    with connect_backend(backend) as kit:
        registry = kit.registry
        if model is None:
            rows = [
                {"model": m.name, "versions": list(m.versions), "default": m.default_version, "comment": m.comment}
                for m in registry.list_models()
            ]
            emit(rows, fmt, title="Models", columns=["model", "versions", "default", "comment"])
            return
        versions = registry.list_versions(model)
    metrics = sorted({k for v in versions for k, value in v.metrics.items() if _is_number(value)})
    rows = [
        {
            "version": v.version,
            "default": v.is_default,
            "run": v.run.name if v.run else None,
            "created": v.created_at,
            **{k: v.metrics.get(k) for k in metrics},
            "comment": v.comment,
        }
        for v in versions
    ]
    emit(
        rows,
        fmt,
        title=f"Versions of {model.upper()}",
        columns=["version", "default", "run", "created", *metrics, "comment"],
    )


@models.command("default")
@click.argument("model", help="The registered model.")
@click.argument("version", help="The version to make its default (used when a caller names none).")
@backend_option
def models_default(model: str, version: str, backend: str) -> None:
    """Make VERSION the default version of MODEL.

    Prints the previous default and how to roll back.
    """
    with connect_backend(backend) as kit:
        previous = kit.registry.set_default(model, version)
    click.echo(f"{model.upper()}: default is now {version.upper()} (was {previous or 'none'})")
    if previous:
        note(f"roll back with: mlops-kit models default {model.upper()} {previous} --backend {backend}")


@models.command("promote")
@click.argument("model", help="The registered model.")
@click.argument("version", help="The version to copy, with its metrics, comment and lineage.")
@click.option("--from", "source", type=BACKEND_CHOICE, default="local", show_default=True, help="Backend to copy from.")
@click.option(
    "--to", "target", type=BACKEND_CHOICE, default="snowflake", show_default=True, help="Backend to copy into."
)
@click.option("--as-default", is_flag=True, help="Also make it the default version there.")
def models_promote(model: str, version: str, source: str, target: str, as_default: bool) -> None:
    """Copy a version into another backend's registry.

    E.g. from local to Snowflake, with its metrics, comment and lineage records.
    """
    from mlops_kit.promote import promote

    if source.lower() == target.lower():
        raise click.UsageError(f"--from and --to are both {source}: choose two different backends")
    with connect_backend(source) as origin, connect_backend(target) as destination:
        promoted = promote(origin.registry, destination.registry, model, version, as_default=as_default)
    click.echo(f"promoted {promoted.model} {promoted.version} from {source} to {target}")


@cli.command()
@click.argument("model", help="The registered model.")
@click.argument("version", help="Its version, e.g. V1.")
@backend_option
@format_option
def lineage(model: str, version: str, backend: str, fmt: Format) -> None:
    """What made a model version: run, data, features.

    The run it came from (with its params), the training set, the feature view versions and the
    version's metrics.
    """
    with connect_backend(backend) as kit:
        found = kit.registry.get_lineage(model, version)
    numbers = {k: v for k, v in sorted(found.metrics.items()) if _is_number(v)}
    record: dict[str, Any] = {
        "model": found.model,
        "version": found.version,
        "created": found.created_at,
        "experiment": found.run.experiment if found.run else None,
        "run": found.run.name if found.run else None,
        "run_id": found.run.run_id if found.run else None,
        "training_set": found.training_set,
        "feature_views": [f"{v.name}/{v.version}" for v in found.feature_views],
        "params": dict(sorted(found.params.items())),
        "metrics": numbers,
    }
    # Values recorded with the version that are not numbers (a confusion matrix) are no metrics.
    others = {k: v for k, v in sorted(found.metrics.items()) if k not in numbers}
    if others:
        record["other_values"] = others
    emit_record(record, fmt, title=f"Lineage of {found.model} {found.version}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@cli.command()
@click.argument("statement", metavar="SQL", help="One statement in Snowflake's dialect; - reads it from stdin.")
@click.option("--write", is_flag=True, help="Allow a statement that changes data (INSERT, DELETE, CREATE, DROP, …).")
@backend_option
@format_option
def sql(statement: str, write: bool, backend: str, fmt: Format) -> None:
    """Run one SQL statement (read-only unless --write).

    SQL is Snowflake's dialect on every backend, and a registered model is callable as on
    Snowflake: MODEL!PREDICT(...) for the default version, or WITH M AS MODEL NAME VERSION V1
    SELECT M!PREDICT(...). Without --write only reading statements run: SELECT, WITH … SELECT,
    SHOW, DESCRIBE, EXPLAIN.
    """
    from mlops_kit import statements

    if statement == "-":
        statement = sys.stdin.read()
    single = statements.single(statement, "SQL")
    unparsed = statements.parse_error(single) if not statements.is_reading(single) else None
    if unparsed is not None:  # a typo is not a write: say so, with where, before --write is asked for
        raise click.UsageError(f"{unparsed}; check the keywords' spelling")
    if not write and not statements.is_reading(single):  # checked before connecting
        kind = statements.kind(single) or "this statement"
        raise click.UsageError(f"{kind} changes data and mlops-kit sql is read-only: add --write to run it")
    reading = statements.is_reading(single)
    with connect_backend(backend) as kit:
        if not reading:  # query() only reads; a writing statement goes through execute()
            kit.warehouse.execute(single)
            click.echo(f"{statements.kind(single) or 'statement'} done", err=True)
            return
        rows = kit.warehouse.query(single)
    emit(rows, fmt)


@cli.command()
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0: every one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in the browser once it is ready.")
def ui(port: int, host: str, open_browser: bool) -> int:
    """The MLflow UI on the local store.

    Runs, params, metrics, artifacts and models in the browser; one worker, ready in seconds.
    """
    from mlops_kit.cli.mlflow_ui import serve

    return serve(host, port, open_browser=open_browser, verbose=settings.verbose)
