"""The command line: parse, call one library function, render, exit.

No domain logic lives here; every command is a thin shell over the library.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from reconciler import __version__, terminal
from reconciler.cli_fleet import ManyOrgs, load
from reconciler.cli_import import add_import_commands
from reconciler.cli_policy import add_policy_commands, validate_policy
from reconciler.cli_rollback import add_rollback_command
from reconciler.cli_setup import (
    add_examples,
    add_setup_commands,
    chosen_format,
    count,
    format_option,
)

if TYPE_CHECKING:
    from reconciler.apply import ApplyResult
    from reconciler.config import Config
    from reconciler.plan import Plan

from reconciler.errors import ConfigError, PlanRejected, ReconcilerError, UsageError


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

    def paint(self) -> bool:
        """Colour standard output? Not with --no-color or NO_COLOR, in CI, or in a pipe."""
        return terminal.color(sys.stdout, allowed=self.color)


def report_error(exc: BaseException, ctx: Context | None,
                 echo: Callable[..., None] = click.echo) -> None:
    """Print an error (with ``echo``) as one clear line per problem (a traceback too
    with -v)."""
    if ctx is not None and ctx.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, ConfigError | PlanRejected):
        for problem in exc.problems:
            echo(str(problem), err=True)
    else:
        echo(f"Error: {str(exc) or type(exc).__name__}", err=True)


def fail(exc: BaseException, ctx: Context | None) -> NoReturn:
    """Report an error and exit with its code."""
    report_error(exc, ctx)
    sys.exit(exit_code_for(exc))


many_orgs = ManyOrgs(exit_code_for, report_error)


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
              help="Org name from the config (default: settings.default_org); plan, drift "
                   "and doctor take several: dev,uat,prod.")
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


@cli.command()
@click.pass_obj
def validate(obj: Context) -> None:
    """Check the config offline; print every problem as file:line:col: message.

    With --org, also check that the credentials of that org can be resolved.
    """
    from reconciler.config import load_config

    try:
        config = load_config(obj.config, variables=obj.variables, var_files=obj.var_files)
        if obj.org is not None:
            config.org(obj.org)
        policy_lines = validate_policy(config)
    except ReconcilerError as exc:
        fail(exc, obj)
    counts = [count(len(config.permission_sets), "permission set"),
              count(len(config.permission_set_groups), "permission set group"),
              count(len(config.users), "user")]
    click.echo(f"The configuration is valid: {', '.join(counts)} "
               f"in {count(len(config.files), 'file')}.")
    for line in policy_lines:
        click.echo(line)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of config files (for editors and the YAML language server)."""
    import json

    from reconciler.config import config_json_schema

    click.echo(json.dumps(config_json_schema(), indent=2))


def _load(obj: Context) -> Config:
    return load(obj, obj.org)


def _default_plan_path(org: str) -> Path:
    return Path("plans") / f"{org}.plan.json"


def _echo_plan(plan: Plan, obj: Context, fmt: str) -> None:
    from reconciler import render

    if fmt == "json":
        click.echo(render.as_json(plan))
    elif fmt == "markdown":
        click.echo(render.markdown(plan))
    else:
        click.echo(render.text(plan, color=obj.paint()))


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to save the plan (default: plans/<org>.plan.json); with several "
                   "orgs, a directory or a path with {org}.")
@format_option("text", "markdown", "json")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes, 0 when there are none.")
@click.option("--target", "targets", multiple=True, metavar="ADDR",
              help="Plan only this address (and what it depends on); repeatable.")
@click.option("--exclude", "excludes", multiple=True, metavar="ADDR",
              help="Leave this address (and what depends on it) out; repeatable.")
@many_orgs("plan")
@click.pass_obj
def plan(obj: Context, out: Path | None, fmt: str, as_json: bool, detailed_exitcode: bool,
         targets: tuple[str, ...], excludes: tuple[str, ...]) -> None:
    """Read the org, show what would change, and save the plan.

    --format markdown is for a pull-request comment: a collapsible block per resource,
    within GitHub's comment size.
    """
    from reconciler.workflow import plan_org

    fmt = chosen_format(fmt, as_json)
    try:
        result = plan_org(_load(obj), obj.org, targets=targets, excludes=excludes)
        path = out or _default_plan_path(result.org.name)
        result.save(path)
    except ReconcilerError as exc:
        fail(exc, obj)
    _echo_plan(result, obj, fmt)
    if fmt != "json":
        # Beside a Markdown comment, on stderr: `plan --format markdown > plan.md` works.
        click.echo(f"Saved the plan to {path}; apply it with: reconciler apply {path}",
                   err=fmt == "markdown")
    sys.exit(2 if detailed_exitcode and not result.empty else 0)


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path), required=False)
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option("--group-wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="How long to wait for a changed permission set group to be recalculated "
                   "before assigning it (default: 300).")
@click.pass_obj
def apply(obj: Context, plan_file: Path | None, auto_approve: bool,
          group_wait: float | None) -> None:
    """Apply a saved plan (refused when stale), or plan now and ask first.

    After applying, the org is read again: exit 0 when it has converged, 1 when
    anything failed or is still different. One apply per org at a time: a second one
    says which process holds the org and exits 1.
    """
    from reconciler import render
    from reconciler.apply import apply_config

    try:
        config = _load(obj)
        done = apply_config(config, obj.org, _ApplyConsole(obj, config, auto_approve),
                            plan_file=plan_file, group_wait=group_wait)
    except ReconcilerError as exc:
        fail(exc, obj)
    if done is None:
        click.echo("Nothing to apply.")
        sys.exit(0)
    if done.after.empty:
        click.echo("Converged: no changes left.")
    else:
        add, change, remove = done.after.counts()
        click.echo(f"Not converged: {add} to add, {change} to change, {remove} to remove "
                   "remain:")
        for action in done.after.actions:
            click.echo(f"  {action.symbol} {action.address}: {render.detail(action)}")
    sys.exit(0 if done.result.ok and done.after.empty else 1)


class _ApplyConsole:
    """Where apply shows and asks: the plan made now, the yes, progress, the result."""

    def __init__(self, obj: Context, config: Config, auto_approve: bool) -> None:
        self.obj = obj
        self.config = config
        self.auto_approve = auto_approve

    def planned(self, plan: Plan) -> None:
        _echo_plan(plan, self.obj, "text")

    def confirm(self, plan: Plan) -> None:
        if not self.auto_approve:
            _confirm(plan)

    def progress(self, total: int) -> Callable[[int, int, str], None]:
        return _progress(total)

    def applied(self, plan: Plan, result: ApplyResult) -> None:
        _echo_result(self.config, plan, result)


def _confirm(plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise UsageError("apply needs a yes: there is no terminal to ask on. Review the plan "
                         "and run `reconciler apply --auto-approve`, or apply a saved plan "
                         "file")
    if plan.destructive:
        click.echo(f"{len(plan.destructive)} of these actions take away access or data: "
                   "they are listed under Destructive actions above.")
    answer = click.prompt("Apply these changes? (yes/no)", default="no", show_default=False)
    if answer.strip().lower() != "yes":
        raise UsageError("apply cancelled: nothing was written")


def _progress(total: int) -> Callable[[int, int, str], None]:
    """A progress line per layer; a bar on a terminal for big plans."""
    if total > 36 and terminal.live(sys.stderr):
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("applying", total=total)
        bar.start()

        def update(done: int, of: int, what: str) -> None:
            bar.update(task, completed=done, description=what)
            if done >= of:
                bar.stop()

        return update

    def line(done: int, of: int, what: str) -> None:
        click.echo(f"{what}: {done}/{of} actions done", err=True)

    return line


def _echo_result(config: Config, plan: Plan, result: ApplyResult) -> None:
    from reconciler import render
    from reconciler.checks import location_of

    by_id = {a.id: a for a in plan.actions}
    applied, failed = result.ids("applied"), result.ids("failed") + result.ids("unknown")
    click.echo(f"Applied {len(applied)}, failed {len(failed)}, skipped "
               f"{len(result.skipped)}, not attempted {len(result.not_attempted)} · "
               f"{result.write_calls} write calls, {result.records_written} records written "
               f"(planned ~{plan.apply_calls} calls)"
               + (f", {count(result.status_polls, 'group status check')}"
                  if result.status_polls else ""))
    for action_id in failed:
        action, outcome = by_id[action_id], result.outcomes[action_id]
        where = location_of(config, action.address)
        prefix = f"{where}: " if where else ""
        word = "outcome unknown" if outcome.status == "unknown" else "failed"
        click.echo(f"{prefix}{action.address}: {word}: {render.detail(action)}: "
                   f"{outcome.error}", err=True)
    for action_id, waited in sorted(result.skipped.items()):
        click.echo(f"skipped {by_id[action_id].address}: it depends on {waited}", err=True)
    if result.stopped:
        click.echo(f"Stopped: {result.stopped}", err=True)
        for action_id in result.not_attempted:
            click.echo(f"not attempted: {by_id[action_id].address}", err=True)
    if result.journal is not None:
        click.echo(f"Journal: {result.journal}")


@cli.command()
@click.argument("plan_file", type=click.Path(path_type=Path))
@format_option("text", "markdown", "json")
@click.pass_obj
def show(obj: Context, plan_file: Path, fmt: str, as_json: bool) -> None:
    """Render a saved plan."""
    from reconciler.plan import load_plan

    fmt = chosen_format(fmt, as_json)
    try:
        saved = load_plan(plan_file)
    except ReconcilerError as exc:
        fail(exc, obj)
    _echo_plan(saved, obj, fmt)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid"]), default="dot",
              show_default=True, help="Graph language.")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path), default=None,
              help="Draw a saved plan instead of planning now.")
@click.pass_obj
def graph(obj: Context, fmt: str, plan_file: Path | None) -> None:
    """Print the action graph of the current plan (or of a saved one)."""
    from reconciler import render
    from reconciler.plan import load_plan
    from reconciler.workflow import plan_org

    try:
        drawn = load_plan(plan_file) if plan_file is not None else plan_org(_load(obj), obj.org)
    except ReconcilerError as exc:
        fail(exc, obj)
    click.echo(render.dot(drawn) if fmt == "dot" else render.mermaid(drawn))


class _DriftConsole:
    """Where drift prints: reports on stdout, progress and errors on stderr."""

    def __init__(self, obj: Context) -> None:
        self.obj = obj

    def out(self, text: str) -> None:
        click.echo(text)

    def err(self, text: str) -> None:
        click.echo(text, err=True)

    def error(self, exc: ReconcilerError) -> None:
        # A scheduled run's error: printed as fail() would, and the schedule goes on.
        report_error(exc, self.obj)


@cli.command(epilog="There is no `drift --fix`: drift never changes the org. To fix drift, "
                    "run `reconciler plan`, review it, then `reconciler apply`.")
@click.option("--format", "fmt", default="text", show_default=True,
              metavar="[text|json|markdown]",
              help="Report format: text, json (documented, versioned) or markdown (for a "
                   "ticket or a pull-request comment).")
@click.option("--since", default=None, metavar="DURATION",
              help="Read the Setup Audit Trail this far back (default: since the last run, "
                   "else 7d).")
@click.option("--notify", default=None, metavar="URL",
              help="POST a Slack-compatible JSON summary and the report to this webhook, "
                   "once per new, changed or resolved drift. May be ${env.NAME}; never "
                   "printed in full.")
@click.option("--every", default=None, metavar="DURATION",
              help="Run on a schedule (30s, 15m, 1h…), with jitter, until SIGTERM/SIGINT.")
@click.option("--runs", type=int, default=None, metavar="N",
              help="With --every: stop after N runs (exit code of the last run).")
@many_orgs("drift")
@click.pass_obj
def drift(obj: Context, fmt: str, since: str | None, notify: str | None, every: str | None,
          runs: int | None) -> None:
    """Report how the org differs from the config, graded; change nothing.

    Reads the org as `plan` does, plus one Setup Audit Trail query that says who
    changed each item and when ("unknown" when no row says so). Severity per item:
    widening (the org grants more than the config), narrowing, metadata.

    Exit codes: 0 no drift, 2 drift, 3 drift that widens access, 1 error. A failing
    --notify webhook is reported and does not change the exit code. With --every, a
    lock under .reconciler/ keeps two schedulers of one org apart; a signal stops the
    schedule with exit 0.
    """
    from reconciler import drift as drift_lib

    try:
        opts = drift_lib.options(fmt=fmt, since=since, notify=notify, every=every, runs=runs,
                                 color=obj.paint())
        code = drift_lib.run(lambda: _load(obj), obj.org, opts, _DriftConsole(obj))
    except ReconcilerError as exc:
        fail(exc, obj)
    sys.exit(code)


@cli.command()
@format_option("text", "json")
@many_orgs("doctor")
@click.pass_obj
def doctor(obj: Context, fmt: str, as_json: bool) -> None:
    """Check, read-only, that the org is ready: login, API version, My Domain, the
    running user's permissions, license seats, the audit trail, the config's objects
    and fields. Exit 0 when every check passes, 1 otherwise."""
    from reconciler import doctor as doctor_lib

    fmt = chosen_format(fmt, as_json)
    try:
        report = doctor_lib.examine(_load(obj), obj.org)
    except ReconcilerError as exc:
        fail(exc, obj)
    if fmt == "json":
        click.echo(doctor_lib.as_json(report))
    else:
        click.echo(doctor_lib.text(report, color=obj.paint()))
    sys.exit(0 if report.ok else 1)


@cli.command(epilog="Scope of --who: the users the config declares that exist in the org.")
@click.argument("username", required=False)
@click.option("--who", "right", default=None, metavar="RIGHT", help="Users in scope holding "
              "RIGHT: Account:delete, Account.Industry:edit, ModifyAllData, apex_classes:X.")
@click.option("--object", "sobject", default=None, metavar="SOBJECT",
              help="Only this object and its fields.")
@click.option("--field", "field_name", default=None, metavar="OBJECT.FIELD",
              help="Only this field.")
@click.option("--planned", "plan_file", type=click.Path(path_type=Path), default=None,
              help="Answer for the org as this saved plan would leave it.")
@format_option("text", "json")
@many_orgs("access")
@click.pass_obj
def access(obj: Context, username: str | None, right: str | None, sobject: str | None,
           field_name: str | None, plan_file: Path | None, fmt: str, as_json: bool) -> None:
    """What USERNAME can do (objects, fields, system permissions, setup entities), each
    right with the path granting it: profile, set, or group → set."""
    from reconciler.cli_fleet import access_answer

    try:
        click.echo(access_answer(_load(obj), obj.org, username, right, sobject, field_name,
                                 plan_file, chosen_format(fmt, as_json) == "json")[0])
    except ReconcilerError as exc:
        fail(exc, obj)


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
    from reconciler.org.connect import emulator_errors

    try:
        with emulator_errors():
            serve_forever(host=host, port=port, data_dir=data, seed=seed,
                          allow_remote=allow_remote)
    except ReconcilerError as exc:
        fail(exc, obj)


add_setup_commands(cli, fail)
add_import_commands(cli, fail)
add_policy_commands(cli, fail)
add_rollback_command(cli, fail, _echo_plan)
add_examples(cli)


#: The cyclic garbage collector's thresholds for a run of the command (CPython's default
#: is 700, 10, 10). A plan, the live state it was read from and a local org's records are
#: hundreds of thousands of objects that live as long as the run, and the default makes
#: full collections walk them again and again: in the benchmark apply (102,700 records)
#: 1.6 s of the client's CPU and 1.9 s of the local org's went to them. The collector
#: still runs, every 200,000 allocations; mypy's build sets the same thresholds for the
#: same reason.
GC_THRESHOLDS = (200_000, 30, 30)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    return cli.main(args=argv, prog_name="reconciler", standalone_mode=True)
