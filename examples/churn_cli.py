"""The churn lab's commands, ``mlops-kit lab …`` and ``mlops-kit data …``: the lab's one argument parser.

They are registered with the core command line through the ``mlops_kit.commands`` entry-point group
(``pyproject.toml``), so the core knows nothing of the lab. ``python examples/churn_workflow.py``
runs ``mlops-kit lab run`` with the same options. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlops_kit.cli import KitGroup, backend_option, connect_backend

STEP = click.IntRange(0, 5)


@click.group(cls=KitGroup)
def lab() -> None:
    """The churn lab: run it, view it, clean up after it.

    What the lab is: docs/LAB.md.
    """


@lab.command("run")
@backend_option
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Load the lab's own CUSTOMERS and ORDERS CSV files from this folder instead of generating data.",
)
@click.option("--customers", type=click.IntRange(min=1), default=3000, show_default=True, help="Customers to generate.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the data, the split and the search.")
@click.option("--from", "from_step", type=STEP, default=0, show_default=True, help="First step to run (0-5).")
@click.option("--to", "to_step", type=STEP, default=5, show_default=True, help="Last step to run (0-5).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("mlops_lab_output"),
    show_default=True,
    help="Folder for the generated CSV files and the plots.",
)
def run(
    backend: str, data_dir: Path | None, customers: int, seed: int, from_step: int, to_step: int, out: Path
) -> None:
    """Run the churn lab, all steps or some.

    Steps: 0 load, 1 labels, 2 feature store, 3 training, 4 tracking, 5 registry.

    Every step reads what it needs from the stores, so --from/--to rerun a part once steps 0-2
    have run.
    """
    import os

    from mlops_kit.examples import churn_workflow

    if from_step > to_step:
        raise click.BadParameter(f"--from {from_step} is after --to {to_step}", param_hint="--from")
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots are files; no window opens
    options = churn_workflow.Options(backend, data_dir, customers, seed, from_step, to_step, out)
    churn_workflow.say(f"Connecting to the {backend} backend ...")
    with connect_backend(backend) as kit:
        churn_workflow.run(kit, options)


@lab.command()
@backend_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("mlops_lab_output/experiment_viewer.html"),
    show_default=True,
    help="The HTML file to write.",
)
def viewer(backend: str, out: Path) -> None:
    """Write the lab's experiment viewer (one HTML page).

    The runs compared, then each run's params, importances, mean |SHAP| and plots.
    """
    from mlops_kit.examples.churn_viewer import write_viewer
    from mlops_kit.examples.churn_workflow import EXPERIMENT

    with connect_backend(backend) as kit:
        path = write_viewer(kit, EXPERIMENT, out)
    click.echo(f"wrote {path}: open it in a browser")


@lab.command()
@backend_option
def cleanup(backend: str) -> None:
    """Remove everything the lab created, and nothing else; say what stayed, and why.

    Its tables, feature store objects, experiment (runs, logged models, artifacts), model and the
    files in ./mlops_lab_output; the schemas and the stores themselves stay.
    """
    from mlops_kit.examples import churn_workflow

    with connect_backend(backend) as kit:
        report = churn_workflow.cleanup(kit, churn_workflow.Options.out_dir)
    click.echo("removed:" if report.removed else "nothing of the lab's was there")
    for item in report.removed:
        click.echo(f"  {item}")
    click.echo("kept:")
    for item in report.kept:
        click.echo(f"  {item}")


@click.group(cls=KitGroup)
def data() -> None:
    """The lab's data as CSV files."""


@data.command()
@click.option("--customers", type=click.IntRange(min=1), default=3000, show_default=True, help="Customers to generate.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generator.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write CUSTOMERS.csv and ORDERS.csv to.",
)
def generate(customers: int, seed: int, out: Path) -> None:
    """Write CUSTOMERS.csv and ORDERS.csv of the lab's shape, with a real churn signal."""
    from mlops_kit.examples import churn_data

    customers_df, orders_df = churn_data.generate(customers, seed, progress=True)
    paths = churn_data.write_csv(customers_df, orders_df, out)
    click.echo(f"wrote {len(customers_df):,} customers and {len(orders_df):,} orders: {paths[0]}, {paths[1]}")
