"""The first-run commands (``init``, ``completion``), the example every command's
``--help`` ends with, and the ``--format`` option of the commands that print a report.
Registered on the command group by :mod:`reconciler.cli`, which hands over its error
reporter so errors map to exit codes in one place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.errors import ReconcilerError

#: One example per command, by its path under ``reconciler``.
EXAMPLES = {
    "validate": "reconciler -c config/ validate",
    "schema": "reconciler schema > reconciler.schema.json",
    "plan": "reconciler --org prod plan --format markdown > plan.md",
    "apply": "reconciler --org prod apply plans/prod.plan.json",
    "show": "reconciler show plans/prod.plan.json --format json",
    "graph": "reconciler graph --format mermaid",
    "import": "reconciler import --from-sf-project . -o config/",
    "export": "reconciler export --to-metadata force-app/main/default",
    "drift": "reconciler --org prod drift --format markdown --since 1d",
    "doctor": "reconciler --org prod doctor",
    "access": "reconciler --org prod access --who Account:delete",
    "policy": "reconciler --org prod policy check --format sarif > policy.sarif",
    "policy check": "reconciler --org prod policy check --format sarif > policy.sarif",
    "policy list": "reconciler policy list",
    "rollback": "reconciler --org prod rollback plans/prod.apply-20260101T120000000000Z.json",
    "emulator": "reconciler emulator serve --port 8443",
    "emulator serve": "reconciler emulator serve --port 8443",
    "init": "reconciler init my-org-config",
    "completion": 'eval "$(reconciler completion bash)"',
}

Fail = Callable[[BaseException, Any], NoReturn]


def count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_option(*formats: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` with ``formats`` (text first) and ``--json``, its older spelling."""
    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option("--json", "as_json", is_flag=True,
                               help="Same as --format json.")(command)
        return click.option("--format", "fmt", type=click.Choice(formats), default="text",
                            show_default=True, help="Output format.")(command)
    return decorate


def chosen_format(fmt: str, as_json: bool) -> str:
    """The format asked for by ``--format`` and ``--json`` together."""
    if as_json and fmt not in ("text", "json"):
        raise click.UsageError(f"--json contradicts --format {fmt}")
    return "json" if as_json else fmt


def add_examples(group: click.Group, prefix: str = "") -> None:
    """End the help of ``group``'s commands (recursively) with their example."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        example = EXAMPLES.get(path)
        if example is not None:
            command.epilog = f"Example: {example}" + (
                f"\n\n{command.epilog}" if command.epilog else "")
        if isinstance(command, click.Group):
            add_examples(command, f"{path} ")


def add_setup_commands(group: click.Group, fail: Fail) -> None:
    """``init`` and ``completion``, reporting errors with ``fail``."""

    @group.command()
    @click.argument("directory", type=click.Path(path_type=Path, file_okay=False),
                    default=Path("."))
    @click.option("--from-org", "alias", default=None, metavar="ALIAS",
                  help="Start from an org the Salesforce CLI has logged in (sf org login "
                       "web --alias ALIAS): log in through sf and import its integration "
                       "users.")
    @click.option("--ca-bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                  default=None, help="With --from-org: PEM file of CAs to trust.")
    @click.pass_obj
    def init(obj: Any, directory: Path, alias: str | None, ca_bundle: Path | None) -> None:
        """Write a first config into DIRECTORY (default: here), and a .gitignore for
        plans, journals and .reconciler/. Existing files are never overwritten.

        The starter config is the integration-user walkthrough, commented, against the
        embedded org: it validates and plans as written.
        """
        from reconciler import init as starter

        if ca_bundle is not None and alias is None:
            raise click.UsageError("--ca-bundle goes with --from-org")
        try:
            if alias is None:
                org, written = "local", starter.starter(directory)
            else:
                org, written = starter.from_org(directory, alias, ca_bundle)
        except ReconcilerError as exc:
            fail(exc, obj)
        for path in written:
            click.echo(f"Wrote {path}")
        click.echo("Next:")
        for command in starter.next_commands(directory, org):
            click.echo(f"  {command}")

    @group.command()
    @click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
    @click.pass_context
    def completion(ctx: click.Context, shell: str) -> None:
        """Print the shell completion script for SHELL (click's own completion).

        \b
        bash: eval "$(reconciler completion bash)"   (in ~/.bashrc)
        zsh:  eval "$(reconciler completion zsh)"    (in ~/.zshrc)
        fish: reconciler completion fish > ~/.config/fish/completions/reconciler.fish
        """
        from click.shell_completion import get_completion_class

        shell_class = get_completion_class(shell)
        assert shell_class is not None  # the three choices are click's built-ins
        root = ctx.find_root().command
        click.echo(shell_class(root, {}, "reconciler", "_RECONCILER_COMPLETE").source())
