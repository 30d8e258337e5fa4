"""``mlops-kit``: the command line. Every import of a heavy library happens inside a command, so
``mlops-kit --help`` answers at once.

Commands:
  lab run / viewer / cleanup     the churn lab end to end, its experiment viewer page, removing what it made
  data generate                  the lab's CSV files, deterministic
  features / runs / models       what the stores hold, as tables
  lineage MODEL VERSION          which run, training set and feature views made a version
  models promote MODEL VERSION   copy a local version into another backend's registry
  sql "SELECT ..."               a query in Snowflake's dialect, models callable as MODEL!PREDICT(...)
  ui                             the MLflow UI on the local store
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlops_kit.connect import BACKENDS

if TYPE_CHECKING:
    import pandas as pd

    from mlops_kit.connect import Backend


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    from mlops_kit.errors import MlopsKitError

    try:
        return int(args.handler(args) or 0)
    except MlopsKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops-kit",
        description="One MLOps workflow on DuckDB + MLflow (local) or Snowflake ML (snowflake).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    lab = commands.add_parser("lab", help="the churn lab: run it end to end, or clean up after it")
    lab_commands = lab.add_subparsers(title="lab commands", metavar="ACTION")
    run = lab_commands.add_parser("run", help="run the churn lab (all steps by default)")
    _backend_option(run)
    run.add_argument("--data-dir", help="load CUSTOMERS and ORDERS CSV files from here instead of generating them")
    run.add_argument("--customers", type=int, default=3000, help="customers to generate (default 3000)")
    run.add_argument("--seed", type=int, default=42, help="seed for the data, the split and the search (default 42)")
    run.add_argument("--from", dest="from_step", type=int, default=0, help="first step to run (0-5)")
    run.add_argument("--to", dest="to_step", type=int, default=5, help="last step to run (0-5)")
    run.set_defaults(handler=_lab_run)
    viewer = lab_commands.add_parser(
        "viewer", help="write the experiment viewer page (runs compared, each run's details)"
    )
    _backend_option(viewer)
    viewer.add_argument("--out", default="mlops_lab_output/experiment_viewer.html", help="the HTML file to write")
    viewer.set_defaults(handler=_lab_viewer)
    cleanup = lab_commands.add_parser("cleanup", help="remove everything the lab created, and nothing else")
    _backend_option(cleanup)
    cleanup.set_defaults(handler=_lab_cleanup)

    data = commands.add_parser("data", help="the lab's data")
    data_commands = data.add_subparsers(title="data commands", metavar="ACTION")
    generate = data_commands.add_parser("generate", help="write CUSTOMERS.csv and ORDERS.csv of the lab's shape")
    generate.add_argument("--customers", type=int, default=3000)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--out", required=True, help="folder to write the CSV files to")
    generate.set_defaults(handler=_data_generate)

    features = commands.add_parser("features", help="entities and feature view versions")
    _backend_option(features)
    features.set_defaults(handler=_features)

    runs = commands.add_parser("runs", help="the runs of an experiment side by side")
    _backend_option(runs)
    runs.add_argument("experiment", nargs="?", default="CHURN_PREDICTION_EXPERIMENT")
    runs.set_defaults(handler=_runs)

    models = commands.add_parser("models", help="registered models and their versions")
    model_commands = models.add_subparsers(title="models commands", metavar="ACTION")
    listing = model_commands.add_parser("list", help="every model, or the versions of one (default marked)")
    _backend_option(listing)
    listing.add_argument("model", nargs="?")
    listing.set_defaults(handler=_models_list)
    default = model_commands.add_parser("default", help="make a version the default (prints the previous one)")
    _backend_option(default)
    default.add_argument("model")
    default.add_argument("version")
    default.set_defaults(handler=_models_default)
    promote = model_commands.add_parser("promote", help="copy a version into another backend's registry")
    promote.add_argument("model")
    promote.add_argument("version")
    promote.add_argument("--from", dest="source", default="local", choices=sorted(BACKENDS))
    promote.add_argument("--to", dest="target", default="snowflake", choices=sorted(BACKENDS))
    promote.add_argument("--as-default", action="store_true", help="make it the default version there")
    promote.set_defaults(handler=_models_promote)

    lineage = commands.add_parser("lineage", help="which run, training set and feature views made a version")
    _backend_option(lineage)
    lineage.add_argument("model")
    lineage.add_argument("version")
    lineage.set_defaults(handler=_lineage)

    sql = commands.add_parser("sql", help="run a query in Snowflake's SQL dialect")
    _backend_option(sql)
    sql.add_argument("query")
    sql.set_defaults(handler=_sql)

    ui = commands.add_parser("ui", help="start the MLflow UI on the local store")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--host", default="127.0.0.1")
    ui.set_defaults(handler=_ui)
    return parser


def _backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="local", choices=sorted(BACKENDS), help="default: local")


def _connect(name: str) -> Backend:
    from mlops_kit.connect import connect

    return connect(name)


def _print(df: pd.DataFrame, title: str) -> None:
    print(f"\n{title}")
    print(df.to_string(index=False) if len(df) else "  (none)")


def _lab_run(args: argparse.Namespace) -> int:
    from mlops_kit.examples import churn_workflow

    return churn_workflow.main(
        [
            "--backend", args.backend,
            "--customers", str(args.customers),
            "--seed", str(args.seed),
            "--from", str(args.from_step),
            "--to", str(args.to_step),
            *(["--data-dir", args.data_dir] if args.data_dir else []),
        ]
    )  # fmt: skip


def _lab_viewer(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mlops_kit.examples.churn_viewer import write_viewer
    from mlops_kit.examples.churn_workflow import EXPERIMENT

    path = write_viewer(_connect(args.backend), EXPERIMENT, Path(args.out))
    print(f"wrote {path}: open it in a browser")
    return 0


def _lab_cleanup(args: argparse.Namespace) -> int:
    from mlops_kit.examples import churn_workflow

    removed = churn_workflow.cleanup(_connect(args.backend))
    print("removed:" if removed else "nothing of the lab's was there")
    for item in removed:
        print(f"  {item}")
    return 0


def _data_generate(args: argparse.Namespace) -> int:
    from mlops_kit.examples import churn_data

    customers, orders = churn_data.generate(args.customers, args.seed, progress=True)
    paths = churn_data.write_csv(customers, orders, args.out)
    print(f"wrote {len(customers):,} customers and {len(orders):,} orders: {paths[0]}, {paths[1]}")
    return 0


def _features(args: argparse.Namespace) -> int:
    import pandas as pd

    fs = _connect(args.backend).feature_store
    entities = pd.DataFrame([{"entity": e.name, "join_keys": ", ".join(e.join_keys), "description": e.description}
                             for e in fs.list_entities()])  # fmt: skip
    views = pd.DataFrame(
        [
            {
                "feature_view": v.name,
                "version": v.version,
                "entities": ", ".join(v.entities),
                "features": len(v.feature_columns),
                "object": v.object_name,
                "description": v.description,
            }
            for v in fs.list_feature_views()
        ]
    )
    _print(entities, "Entities")
    _print(views, "Feature view versions")
    return 0


def _runs(args: argparse.Namespace) -> int:
    table = _connect(args.backend).tracker.compare_runs(args.experiment)
    _print(
        table.T.reset_index().rename(columns={"index": ""}) if len(table) else table,
        f"Runs of {args.experiment.upper()}",
    )
    return 0


def _models_list(args: argparse.Namespace) -> int:
    import pandas as pd

    registry = _connect(args.backend).registry
    if args.model:
        rows = [
            {
                "version": v.version,
                "default": "*" if v.is_default else "",
                "run": v.run.name if v.run else "",
                "metrics": ", ".join(
                    f"{k}={v.metrics[k]:.3f}" for k in sorted(v.metrics) if isinstance(v.metrics[k], float)
                ),
                "comment": v.comment[:60],
            }
            for v in registry.list_versions(args.model)
        ]
        _print(pd.DataFrame(rows), f"Versions of {args.model.upper()} (* = default)")
    else:
        rows = [
            {"model": m.name, "versions": ", ".join(m.versions), "default": m.default_version}
            for m in registry.list_models()
        ]
        _print(pd.DataFrame(rows), "Models")
    return 0


def _models_default(args: argparse.Namespace) -> int:
    previous = _connect(args.backend).registry.set_default(args.model, args.version)
    print(f"{args.model.upper()}: default is now {args.version.upper()} (was {previous}); roll back with "
          f"`mlops-kit models default {args.model} {previous}`")  # fmt: skip
    return 0


def _models_promote(args: argparse.Namespace) -> int:
    from mlops_kit.promote import promote

    promoted = promote(_connect(args.source).registry, _connect(args.target).registry, args.model, args.version,
                       as_default=args.as_default)  # fmt: skip
    print(f"promoted {promoted.model} {promoted.version} from {args.source} to {args.target}")
    return 0


def _lineage(args: argparse.Namespace) -> int:
    lineage = _connect(args.backend).registry.get_lineage(args.model, args.version)
    print(f"{lineage.model} {lineage.version}")
    if lineage.run:
        print(f"  run            {lineage.run.experiment} / {lineage.run.name} ({lineage.run.run_id})")
    print(f"  training set   {lineage.training_set or '-'}")
    for view in lineage.feature_views:
        print(f"  feature view   {view.name} {view.version}")
    if lineage.params:
        print("  params         " + ", ".join(f"{k}={v}" for k, v in sorted(lineage.params.items())))
    for key in sorted(lineage.metrics):
        print(f"  metric         {key} = {lineage.metrics[key]}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    import pandas as pd

    with pd.option_context("display.max_rows", 50, "display.width", 160):
        print(_connect(args.backend).warehouse.query(args.query))
    return 0


def _ui(args: argparse.Namespace) -> int:
    import os
    import subprocess

    from mlops_kit.adapters.local.home import LocalPaths, resolve_home

    paths = LocalPaths(resolve_home(), "MLOPS_HOL_DB")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", paths.tracking_uri,
               "--registry-store-uri", paths.registry_uri, "--host", args.host, "--port", str(args.port)]  # fmt: skip
    if paths.owns_mlflow_store:
        command += ["--default-artifact-root", paths.artifact_root.as_uri()]
    print(f"MLflow UI on http://{args.host}:{args.port} for {paths.tracking_uri} (Ctrl-C stops it)")
    return subprocess.call(command, env=os.environ.copy())


if __name__ == "__main__":
    raise SystemExit(main())
