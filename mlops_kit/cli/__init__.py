"""``mlops-kit``: the command line (Click, with Rich for tables).

The core's commands are in ``commands.py``. Other packages add theirs through the
``mlops_kit.commands`` entry-point group, as Flask plugins do with ``flask.commands``: the churn lab
registers ``lab`` and ``data`` from ``examples/churn_cli.py``. A plugin builds its commands with
``KitGroup`` and the options below, so ``--backend``, ``--format``, ``--verbose`` and ``--debug``
read the same on every command.

Every heavy import happens inside a command, so ``mlops-kit --help`` answers at once. A failure
prints one line on stderr (``error: …``) and exits 1 (2 for a bad argument); ``--debug`` adds the
traceback.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mlops_kit.cli import logs
from mlops_kit.cli.output import FORMATS
from mlops_kit.connect import BACKENDS

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from mlops_kit.connect import Backend

F = TypeVar("F", bound=Callable[..., Any])

#: Entry-point group other packages register ``click`` commands under.
PLUGIN_GROUP = "mlops_kit.commands"


class _Settings:
    """What ``--verbose`` and ``--debug`` asked for, wherever on the command line they were given."""

    verbose = False
    debug = False


settings = _Settings()


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        settings.verbose = True
    logs.quiet_libraries(verbose=settings.verbose)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    settings.debug = settings.debug or value


def _common_options() -> list[click.Option]:
    return [
        click.Option(
            ["--verbose", "-v"],
            is_flag=True,
            expose_value=False,
            envvar="MLOPS_KIT_VERBOSE",
            callback=_set_verbose,
            help="Show the log messages of the libraries underneath (MLflow, alembic, uvicorn, Snowflake).",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            envvar="MLOPS_KIT_DEBUG",
            callback=_set_debug,
            help="Show the full traceback when something fails.",
        ),
    ]


class KitCommand(click.Command):
    """A command that also takes ``--verbose`` and ``--debug``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_common_options())


class KitGroup(click.Group):
    """A group whose commands (and subgroups) are ``KitCommand`` / ``KitGroup``."""

    command_class = KitCommand
    group_class = type  # Click's way of saying: subgroups are of this class too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"], "max_content_width": 100})
        super().__init__(*args, **kwargs)


#: The backends ``connect()`` knows, as a choice on the command line.
BACKEND_CHOICE = click.Choice(sorted(BACKENDS), case_sensitive=False)


_ROLE = "mlops_kit.role"


def _remember_role(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    ctx.meta[_ROLE] = value
    return value


def backend_option(function: F) -> F:
    """``--backend``: the same choices (``mlops_kit.connect.BACKENDS``), default and help everywhere;
    with ``--role`` (Snowflake's role for the session; ``connect_backend`` reads it)."""
    function = click.option(
        "--role",
        default=None,
        envvar="MLOPS_KIT_ROLE",
        expose_value=False,
        callback=_remember_role,
        help="The Snowflake role to use (snowflake, snowflake-emulator; or set MLOPS_KIT_ROLE). "
        "Default: the connection's.",
    )(function)
    return click.option(
        "--backend",
        "-b",
        type=BACKEND_CHOICE,
        default="local",
        show_default=True,
        envvar="MLOPS_KIT_BACKEND",
        help="Where the stores are (or set MLOPS_KIT_BACKEND).",
    )(function)


def format_option(function: F) -> F:
    """``--format``: ``table`` for people, ``csv`` or ``json`` for programs."""
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table: wrapped to the terminal, nothing cut; csv / json: every value in full, for programs.",
    )(function)


def connect_backend(name: str) -> Backend:
    """The backend named on the command line, as the command's ``--role`` chose (use it as a
    context manager to close it)."""
    from mlops_kit.connect import connect

    context = click.get_current_context(silent=True)
    role = context.meta.get(_ROLE) if context is not None else None
    if role and name.lower() == "local":
        raise click.UsageError("--role is the Snowflake role of the session: use it with --backend snowflake")
    return connect(name.lower(), **({"role": role} if role else {}))


def note(message: str) -> None:
    """A remark for the person at the terminal, on stderr so that stdout stays parseable."""
    click.echo(message, err=True)


class _CommandsWithPlugins(KitGroup):
    """The core's commands plus those registered under ``PLUGIN_GROUP``, loaded when listed or run.

    Only at the top: its subgroups (``models``, …) are plain ``KitGroup``s, so a plugin's commands
    do not appear under each of them.
    """

    group_class = KitGroup

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in _plugins():
            command = _load_plugin(_plugins()[name])
        return command


@functools.cache
def _plugins() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def _load_plugin(entry_point: EntryPoint) -> click.Command:
    try:
        loaded = entry_point.load()
    except Exception as exc:  # a broken plugin must not break the other commands
        reason = f"the {entry_point.name} command could not be loaded from {entry_point.value}: {exc}"

        @click.command(entry_point.name, help=f"({reason})")
        def broken() -> None:
            raise click.ClickException(reason)

        return broken
    if not isinstance(loaded, click.Command):
        raise click.ClickException(f"{entry_point.value} is registered as a command but is a {type(loaded).__name__}")
    return loaded


@click.group(cls=_CommandsWithPlugins, params=_common_options())
@click.version_option(package_name="mlops-kit", prog_name="mlops-kit", message="%(prog)s %(version)s")
def cli() -> None:
    """One MLOps workflow (feature store, tracking, registry, inference, lineage) on DuckDB + MLflow
    (local) or on Snowflake ML (snowflake): look at what the stores hold, query them, run the lab."""
    logs.quiet_libraries(verbose=settings.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (``mlops-kit`` calls ``sys.exit`` with it)."""
    from mlops_kit.errors import MlopsKitError

    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="mlops-kit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        _error("aborted")
        return 130
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _error(exc.format_message() + hint, exc)
        return exc.exit_code
    except click.ClickException as exc:
        _error(exc.format_message(), exc)
        return exc.exit_code
    except MlopsKitError as exc:
        _error(str(exc), exc)
        return 1
    except Exception as exc:
        _error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", exc)
        return 1
    return result if isinstance(result, int) else 0


def _error(message: str, exc: BaseException | None = None) -> None:
    if settings.debug and exc is not None:
        traceback.print_exception(exc, file=sys.stderr)
    click.echo("error: " + " ".join(line.strip() for line in message.strip().splitlines() if line.strip()), err=True)


from mlops_kit.cli import commands  # noqa: E402, F401  (registers the core's commands on ``cli``)
