"""``reconciler rollback JOURNAL``: the plan that undoes an apply, saved like any plan.
Registered on the command group by :mod:`reconciler.cli`, which hands over its error
reporter and the way it prints a plan."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli_fleet import load
from reconciler.cli_setup import Fail, chosen_format, format_option
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.plan import Plan
    from reconciler.rollback import Rollback

EchoPlan = Callable[["Plan", Any, str], None]


def add_rollback_command(group: click.Group, fail: Fail, echo_plan: EchoPlan) -> None:
    """``rollback``, reporting errors with ``fail`` and printing the plan with
    ``echo_plan`` (as ``plan`` does)."""

    @group.command()
    @click.argument("journal", type=click.Path(path_type=Path))
    @click.option("--out", type=click.Path(path_type=Path), default=None,
                  help="Where to save the plan (default: plans/<org>.rollback.json).")
    @format_option("text", "markdown", "json")
    @click.option("--detailed-exitcode", is_flag=True,
                  help="Exit 2 when there are changes, 0 when there are none.")
    @click.pass_obj
    def rollback(obj: Any, journal: Path, out: Path | None, fmt: str, as_json: bool,
                 detailed_exitcode: bool) -> None:
        """Plan the undoing of the apply that wrote JOURNAL (plans/<org>.apply-<time>.json).

        Every resource the apply touched goes back to what the journal says it replaced,
        where the org still has it as the apply left it; what someone changed since is
        left alone and listed. An apply that stopped half-way is undone as far as it
        went. The plan is saved and applied like any: reconciler apply FILE.
        """
        from reconciler.workflow import rollback_org

        fmt = chosen_format(fmt, as_json)
        try:
            plan, built = rollback_org(load(obj, obj.org), obj.org, journal)
            path = out or Path("plans") / f"{plan.org.name}.rollback.json"
            plan.save(path)
        except ReconcilerError as exc:
            fail(exc, obj)
        echo_plan(plan, obj, fmt)
        # Beside a JSON or Markdown plan on stdout, the notes go to stderr.
        _echo_notes(built, err=fmt != "text")
        click.echo(f"Saved the rollback plan to {path}; apply it with: reconciler apply "
                   f"{path}", err=fmt != "text")
        sys.exit(2 if detailed_exitcode and not plan.empty else 0)


def _echo_notes(built: Rollback, *, err: bool) -> None:
    """What the rollback leaves alone and what can't come back as it was."""
    for title, lines in (("Left alone (changed since the apply):", built.left_alone),
                         ("Can't be restored as it was:", built.caveats)):
        if lines:
            click.echo(title, err=err)
            for line in lines:
                click.echo(f"  {line}", err=err)
