"""The command line: parse, call one library function, render, exit.

No domain logic lives here; every command is a thin shell over the library.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from reconciler import __version__

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


def report_error(exc: BaseException, ctx: Context | None) -> None:
    """Print an error as one clear line per problem (a traceback too with -v)."""
    if ctx is not None and ctx.verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, ConfigError | PlanRejected):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
    else:
        click.echo(f"Error: {str(exc) or type(exc).__name__}", err=True)


def fail(exc: BaseException, ctx: Context | None) -> NoReturn:
    """Report an error and exit with its code."""
    report_error(exc, ctx)
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
    except ReconcilerError as exc:
        fail(exc, obj)
    counts = [_count(len(config.permission_sets), "permission set"),
              _count(len(config.permission_set_groups), "permission set group"),
              _count(len(config.users), "user")]
    click.echo(f"The configuration is valid: {', '.join(counts)} "
               f"in {_count(len(config.files), 'file')}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@cli.command()
def schema() -> None:
    """Print the JSON Schema of config files (for editors and the YAML language server)."""
    import json

    from reconciler.config import config_json_schema

    click.echo(json.dumps(config_json_schema(), indent=2))


def _load(obj: Context) -> Config:
    from reconciler.config import load_config

    return load_config(obj.config, variables=obj.variables, var_files=obj.var_files)


def _default_plan_path(org: str) -> Path:
    return Path("plans") / f"{org}.plan.json"


def _echo_plan(plan: Plan, obj: Context, as_json: bool) -> None:
    from reconciler import render

    if as_json:
        click.echo(render.as_json(plan))
    else:
        click.echo(render.text(plan, color=obj.color and sys.stdout.isatty()))


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to save the plan (default: plans/<org>.plan.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes, 0 when there are none.")
@click.option("--target", "targets", multiple=True, metavar="ADDR",
              help="Plan only this address (and what it depends on); repeatable.")
@click.option("--exclude", "excludes", multiple=True, metavar="ADDR",
              help="Leave this address (and what depends on it) out; repeatable.")
@click.pass_obj
def plan(obj: Context, out: Path | None, as_json: bool, detailed_exitcode: bool,
         targets: tuple[str, ...], excludes: tuple[str, ...]) -> None:
    """Read the org, show what would change, and save the plan."""
    from reconciler.workflow import plan_org

    try:
        result = plan_org(_load(obj), obj.org, targets=targets, excludes=excludes)
        path = out or _default_plan_path(result.org.name)
        result.save(path)
    except ReconcilerError as exc:
        fail(exc, obj)
    _echo_plan(result, obj, as_json)
    if not as_json:
        click.echo(f"Saved the plan to {path}; apply it with: reconciler apply {path}")
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
        _echo_plan(plan, self.obj, False)

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
    if total > 36 and sys.stderr.isatty():
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
               + (f", {_count(result.status_polls, 'group status check')}"
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
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def show(obj: Context, plan_file: Path, as_json: bool) -> None:
    """Render a saved plan."""
    from reconciler.plan import load_plan

    try:
        saved = load_plan(plan_file)
    except ReconcilerError as exc:
        fail(exc, obj)
    _echo_plan(saved, obj, as_json)


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


@cli.command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--org", "org_name", default=None,
              help="Org to read (default: the global --org, else settings.default_org).")
@click.option("--user", "usernames", multiple=True, metavar="USERNAME",
              help="Import this user and what it holds; repeatable.")
@click.option("--permission-set", "set_names", multiple=True, metavar="NAME",
              help="Import this permission set; repeatable.")
@click.option("--integration-users", is_flag=True,
              help="Import every active user on the Salesforce Integration license or an "
                   "API-only profile.")
@click.option("--from-metadata", is_flag=True,
              help="Read PATHS instead of an org: SFDX *.permissionset-meta.xml and "
                   "*.permissionsetgroup-meta.xml files or directories of them.")
@click.option("--integration-candidates", is_flag=True,
              help="Only list full-license users that are API-only, and the integration "
                   "seats free; writes nothing.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None, metavar="DIR",
              help="Directory to write the YAML files into.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.pass_obj
def import_cmd(obj: Context, paths: tuple[Path, ...], org_name: str | None,
               usernames: tuple[str, ...], set_names: tuple[str, ...],
               integration_users: bool, from_metadata: bool, integration_candidates: bool,
               out: Path | None, force: bool) -> None:
    """Turn an org's users and permission sets, or SFDX permission files, into config.

    \b
    reconciler import --org prod --integration-users -o config/
    reconciler import --org prod --user api@acme.com --permission-set INT_X -o config/
    reconciler import --from-metadata force-app/main/default -o config/
    reconciler import --org prod --integration-candidates
    """
    from reconciler import importer

    from_org = bool(usernames or set_names or integration_users)
    modes = sum((from_org, from_metadata, integration_candidates))
    if modes != 1:
        raise click.UsageError("choose one of: --user/--permission-set/--integration-users, "
                               "--from-metadata PATH..., --integration-candidates")
    if paths and not from_metadata:
        raise click.UsageError("PATHS are read only with --from-metadata")
    if from_metadata and not paths:
        raise click.UsageError("--from-metadata needs at least one file or directory")
    if out is None and not integration_candidates:
        raise click.UsageError("say where to write the YAML files: -o DIR")
    try:
        if from_metadata:
            imported = importer.read_metadata(paths)
        else:
            from reconciler.org.connect import open_org

            config = _load(obj)
            with open_org(config, org_name or obj.org) as (org, client):
                if integration_candidates:
                    from reconciler.importer.render import candidates_lines
                    from reconciler.org.discover import integration_candidates as find

                    for line in candidates_lines(find(client)):
                        click.echo(line)
                    return
                imported = importer.import_from_org(
                    client, org_name=org.name, usernames=usernames, permission_sets=set_names,
                    integration_users=integration_users)
        assert out is not None
        written = importer.write_config(imported, out, force=force)
    except ReconcilerError as exc:
        fail(exc, obj)
    for warning in imported.warnings:
        click.echo(f"warning: {warning}", err=True)
    counts = {"permission_sets": len(imported.permission_sets),
              "permission_set_groups": len(imported.permission_set_groups),
              "users": len(imported.users)}
    nouns = {"permission_sets": "permission set", "permission_set_groups": "permission set group",
             "users": "user"}
    for path in written:
        kind = next(k for k, name in importer.FILE_NAMES.items() if name == path.name)
        click.echo(f"Wrote {path} ({_count(counts[kind], nouns[kind])})")
    if imported.warnings:
        click.echo(f"{_count(len(imported.warnings), 'warning')}: what the config language "
                   "does not model yet was left out (listed above).")


@cli.command("export")
@click.option("--to-metadata", "to_metadata", type=click.Path(path_type=Path), required=True,
              metavar="DIR", help="Where to write permissionsets/ and permissionsetgroups/.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.pass_obj
def export_cmd(obj: Context, to_metadata: Path, force: bool) -> None:
    """Write the config's permission sets and groups as SFDX source files."""
    from reconciler import importer

    try:
        config = _load(obj)
        written = importer.export_metadata(config, to_metadata, force=force)
    except ReconcilerError as exc:
        fail(exc, obj)
    for warning in importer.export_warnings(config):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Wrote {_count(len(written), 'file')} under {to_metadata}")


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
                                 color=obj.color and sys.stdout.isatty())
        code = drift_lib.run(lambda: _load(obj), obj.org, opts, _DriftConsole(obj))
    except ReconcilerError as exc:
        fail(exc, obj)
    sys.exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@click.pass_obj
def doctor(obj: Context, as_json: bool) -> None:
    """Check, read-only, that the org is ready: login, API version, My Domain, the
    running user's permissions, license seats, the audit trail, the config's objects
    and fields. Exit 0 when every check passes, 1 otherwise."""
    from reconciler import doctor as doctor_lib

    try:
        report = doctor_lib.examine(_load(obj), obj.org)
    except ReconcilerError as exc:
        fail(exc, obj)
    if as_json:
        click.echo(doctor_lib.as_json(report))
    else:
        click.echo(doctor_lib.text(report, color=obj.color and sys.stdout.isatty()))
    sys.exit(0 if report.ok else 1)


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


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="reconciler", standalone_mode=True)
