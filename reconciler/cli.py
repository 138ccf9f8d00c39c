"""The command line: parse, call one library function, render, exit.

No domain logic lives here; every command is a thin shell over the library.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.errors import ConfigError, ReconcilerError, UsageError


def exit_code_for(exc: BaseException) -> int:
    """The one place that maps an error to an exit code."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, click.exceptions.UsageError):
        return 2
    return 1


@dataclass
class Context:
    """Global options, shared by every command."""

    config: Path
    org: str | None
    variables: dict[str, str] = field(default_factory=dict)
    var_files: list[Path] = field(default_factory=list)
    color: bool = True
    verbose: bool = False


def fail(exc: BaseException, ctx: Context | None) -> NoReturn:
    """Print an error as one clear line per problem and exit with its code."""
    if ctx is not None and ctx.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
    else:
        text = str(exc) or type(exc).__name__
        click.echo(f"Error: {text}", err=True)
    sys.exit(exit_code_for(exc))


def _parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        out[name.strip()] = value
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="Config directory (or a single YAML file).")
@click.option("--org", default=None,
              help="Org name from the config (default: settings.default_org).")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Set a variable; repeatable.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(path_type=Path),
              help="YAML file of variable values; repeatable.")
@click.option("--no-color", is_flag=True, help="Never colour the output.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="reconciler")
@click.pass_context
def cli(
    ctx: click.Context,
    config: Path,
    org: str | None,
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    no_color: bool,
    verbose: bool,
) -> None:
    """Plan and apply Salesforce integration users and their access."""
    ctx.obj = Context(config=config, org=org, variables=_parse_vars(variables),
                      var_files=list(var_files), color=not no_color, verbose=verbose)


@cli.group()
def emulator() -> None:
    """The embedded local org: a Salesforce REST API emulator over HTTPS."""


@emulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback only unless --allow-remote).")
@click.option("--port", default=0, show_default=True, type=int,
              help="Port; 0 picks a free one.")
@click.option("--data", type=click.Path(path_type=Path), default=Path(".reconciler/local"),
              show_default=True, help="Directory for the org's SQLite file, CA and credentials.")
@click.option("--seed", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Seed YAML for a new org (ignored when data exists).")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host.")
@click.pass_obj
def emulator_serve(obj: Context, host: str, port: int, data: Path, seed: Path | None,
                   allow_remote: bool) -> None:
    """Run the local org until SIGTERM or Ctrl-C; prints one JSON line when ready."""
    from reconciler.emulator.server import serve_forever

    try:
        serve_forever(host=host, port=port, data_dir=data, seed=seed,
                      allow_remote=allow_remote)
    except ReconcilerError as exc:
        fail(exc, obj)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    try:
        return cli.main(args=argv, prog_name="reconciler", standalone_mode=True)
    except UsageError as exc:  # pragma: no cover - commands handle their own
        fail(exc, None)
