"""The ``policy`` commands: ``policy check`` (evaluate the access policy alone, as text,
JSON or SARIF) and ``policy list`` (the rules in force); and the policy step of
``validate``. Registered on the command group by :mod:`reconciler.cli`, which hands over
its error reporter."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli_fleet import load
from reconciler.cli_setup import Fail
from reconciler.errors import ConfigError, ReconcilerError

if TYPE_CHECKING:
    from reconciler.config import Config


def _today() -> date:
    return datetime.now(UTC).date()


def validate_policy(config: Config) -> list[str]:
    """The policy on the config alone: lines to print (the waivers in force), or
    :class:`ConfigError` with every violation at its config line."""
    from reconciler.policy import config_access, evaluate, policy_of
    from reconciler.policy.render import waiver_line

    if config.policies is None:
        return []
    checked = evaluate(policy_of(config), config_access(config), config, _today(),
                       point="config")
    if checked.violations:
        raise ConfigError(checked.problems())
    lines = [f"Policy: {len(checked.rules)} rules in force, no violation; "
             f"{len(checked.waivers)} waivers in force."]
    return lines + [f"  {waiver_line(w)}" for w in checked.waivers]


# long: the two commands' option declarations; their bodies are short.
def add_policy_commands(group: click.Group, fail: Fail) -> None:
    """``policy check`` and ``policy list``, reporting errors with ``fail``."""
    from reconciler.policy.render import FORMATS

    @group.group()
    def policy() -> None:
        """Access policy: rules on effective access, waivers (docs/policy.md)."""

    @policy.command("check")
    @click.option("--offline", is_flag=True,
                  help="The config alone, as validate sees it: no login.")
    @click.option("--planned", "plan_file", type=click.Path(path_type=Path), default=None,
                  help="The org as this saved plan would leave it.")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
                  show_default=True, help="Output format (sarif: for code scanning).")
    @click.pass_obj
    def check(obj: Any, offline: bool, plan_file: Path | None, fmt: str) -> None:
        """Evaluate the policy on the org as it is (default), as a saved plan would leave
        it, or on the config alone. Every active waiver is listed.

        Exit codes: 0 no violation, 1 a violation (or an error).
        """
        from reconciler.plan import load_plan
        from reconciler.policy import config_access, evaluate, policy_of
        from reconciler.policy import render as out
        from reconciler.workflow import org_access

        if offline and plan_file is not None:
            raise click.UsageError("--offline and --planned exclude each other")
        try:
            config = load(obj, obj.org)
            if offline:
                access, point = config_access(config), "config"
            else:
                saved = load_plan(plan_file) if plan_file is not None else None
                access = org_access(config, obj.org, plan=saved)
                point = "org" if saved is None else "plan"
            checked = evaluate(policy_of(config), access, config, _today(), point=point)
        except ReconcilerError as exc:
            fail(exc, obj)
        render = {"text": out.text, "json": out.as_json, "sarif": out.as_sarif}[fmt]
        click.echo(render(checked))
        sys.exit(1 if checked.violations else 0)

    @policy.command("list")
    @click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
                  show_default=True, help="Output format.")
    @click.pass_obj
    def list_rules(obj: Any, fmt: str) -> None:
        """Print the rules in force (built-in and the config's own), each with its scope,
        reason and source, and the waivers in force. Reads no org."""
        from reconciler.policy import policy_of
        from reconciler.policy.render import rules_json, rules_text

        try:
            declared = policy_of(load(obj, obj.org))
        except ReconcilerError as exc:
            fail(exc, obj)
        known = {r.id for r in declared.rules}
        waivers = tuple(w for w in declared.waivers
                        if w.rule in known and not w.expired(_today()))
        click.echo((rules_json if fmt == "json" else rules_text)(declared.rules, waivers))
