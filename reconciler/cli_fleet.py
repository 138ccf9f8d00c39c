"""``--org dev,uat,prod`` and ``--all-orgs`` for ``plan``, ``drift``, ``doctor`` and
``access``: each org's run as the one-org command makes it, printed under ``==> org <==``,
then the summary table of :mod:`reconciler.fleet`, and the worst exit code.

:mod:`reconciler.cli` hands over its error reporter and exit-code mapping, so errors
read and exit the same with one org or many.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click

from reconciler import fleet
from reconciler.cli_setup import chosen_format
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.config import Config

Command = Callable[..., Any]


class Options(Protocol):
    """The global options a run needs (``cli.Context``)."""

    config: Path
    org: str | None
    variables: dict[str, str]
    var_files: list[Path]

    def paint(self) -> bool: ...


def load(obj: Options, org: str | None) -> Config:
    """The config as ``org`` sees it: ``{org}`` in a ``--var-file`` path is its name."""
    from reconciler.config import load_config

    return load_config(obj.config, variables=obj.variables,
                       var_files=[fleet.for_org(p, org) for p in obj.var_files])


class Configs:
    """The configs one command over many orgs needs, each loaded once: orgs whose
    ``--var-file`` paths are the same (no ``{org}`` in them) see the same config, and
    parsing it again for each of a hundred orgs would cost more than reading them."""

    def __init__(self, obj: Options) -> None:
        self.obj = obj
        self._loaded: dict[tuple[Path, ...], Config] = {}
        self._lock = threading.Lock()

    def __call__(self, org: str) -> Config:
        """The config as ``org`` sees it (see :func:`load`)."""
        files = tuple(fleet.for_org(p, org) for p in self.obj.var_files)
        with self._lock:  # one load, not one per job that asks at the same time
            if files not in self._loaded:
                self._loaded[files] = load(self.obj, org)
            return self._loaded[files]


def _plan(obj: Options, configs: Configs, run: fleet.Run, out: Path | None, fmt: str,
          as_json: bool,
          detailed_exitcode: bool, targets: tuple[str, ...],
          excludes: tuple[str, ...]) -> None:
    from reconciler import render
    from reconciler.workflow import plan_org

    fmt = chosen_format(fmt, as_json)
    result = plan_org(configs(run.org), run.org, targets=targets, excludes=excludes)
    path = fleet.plan_path(out, run.org)
    result.save(path)
    add, change, remove = result.counts()
    run.changes, run.calls = f"+{add} ~{change} -{remove}", result.read_calls
    run.out(render.as_json(result) if fmt == "json" else render.markdown(result)
            if fmt == "markdown" else render.text(result, color=obj.paint()))
    if fmt != "json":
        run.echo(f"Saved the plan to {path}; apply it with: reconciler --org {run.org} "
                 f"apply {path}", err=fmt == "markdown")
    run.code = 2 if detailed_exitcode and not result.empty else 0


def _drift(obj: Options, configs: Configs, run: fleet.Run, fmt: str, since: str | None,
           notify: str | None, every: str | None, runs: int | None) -> None:
    from reconciler import drift as drift_lib
    from reconciler.drift.report import load_report
    from reconciler.drift.state import State
    from reconciler.org.connect import data_dir_for

    opts = drift_lib.options(fmt=fmt, since=since, notify=notify, every=every, runs=runs,
                             color=obj.paint())
    config = configs(run.org)
    run.code = drift_lib.run(lambda: config, run.org, opts, _DriftConsole(run))
    state = State(data_dir_for(config, config.org(run.org)) / "drift")
    report = load_report(json.loads(state.report_path.read_text()))
    if report is not None:
        run.changes, run.grade = f"{len(report.items)} drifted", report.status
        run.calls = report.api_calls.total


class _DriftConsole:
    """Drift's console for one org's run: its output is the run's."""

    def __init__(self, run: fleet.Run) -> None:
        self.out, self.err = run.out, run.err

    def error(self, exc: ReconcilerError) -> None:
        # Only a schedule reports an error and goes on, and --every runs one org.
        raise exc


def _doctor(obj: Options, configs: Configs, run: fleet.Run, fmt: str, as_json: bool) -> None:
    from reconciler import doctor as doctor_lib

    fmt = chosen_format(fmt, as_json)
    report = doctor_lib.examine(configs(run.org), run.org)
    run.out(doctor_lib.as_json(report) if fmt == "json"
            else doctor_lib.text(report, color=obj.paint()))
    run.calls, run.code = report.api_calls, 0 if report.ok else 1
    failed = sum(c.status == "fail" for c in report.checks)
    run.error = f"{failed} check{'s' if failed != 1 else ''} failed" if failed else None


def access_answer(config: Config, org: str | None, username: str | None, right: str | None,
                  sobject: str | None, field_name: str | None, plan_file: Path | None,
                  as_json: bool) -> tuple[str, int]:
    """``access``'s answer for one org, as printed, and the API calls it took."""
    from reconciler import access as lib
    from reconciler.errors import UsageError
    from reconciler.plan import load_plan
    from reconciler.workflow import org_access

    if (username is None) == (right is None):
        raise UsageError("give a USERNAME or --who RIGHT (one of them)")
    wanted = lib.parse_right(right) if right else None
    snapshot = org_access(config, org, [username] if username else [],
                          load_plan(plan_file) if plan_file else None)
    head = f"As the plan {plan_file} would leave the org:\n\n" \
        if plan_file is not None and not as_json else ""
    if wanted is not None:
        return head + lib.render_holders(wanted, lib.holders(snapshot, wanted),
                                         len(snapshot.scope), snapshot.api_calls,
                                         as_json=as_json), snapshot.api_calls
    return head + lib.render_effective(lib.effective(snapshot, str(username)),
                                       snapshot.api_calls, sobject=sobject,
                                       field_name=field_name,
                                       as_json=as_json), snapshot.api_calls


def _access(obj: Options, configs: Configs, run: fleet.Run, username: str | None, right: str | None,
            sobject: str | None, field_name: str | None, plan_file: Path | None,
            fmt: str, as_json: bool) -> None:
    text, run.calls = access_answer(configs(run.org), run.org, username, right, sobject,
                                    field_name, plan_file, chosen_format(fmt, as_json) == "json")
    run.out(text)


_JOBS: dict[str, Callable[..., None]] = {"plan": _plan, "drift": _drift, "doctor": _doctor,
                                         "access": _access}


class ManyOrgs:
    """The decorator that gives a command ``--all-orgs`` and ``--jobs``, and runs it
    once per org when ``--org`` lists several (or ``--all-orgs``)."""

    def __init__(self, code_for: Callable[[BaseException], int],
                 report: Callable[..., None]) -> None:
        self.code_for = code_for
        self.report = report

    def __call__(self, name: str) -> Callable[[Command], Command]:
        def decorate(callback: Command) -> Command:
            @functools.wraps(callback)
            def command(*args: Any, all_orgs: bool, jobs: int, **kwargs: Any) -> Any:
                obj = click.get_current_context().obj
                if not fleet.many(obj.org, all_orgs):
                    return callback(*args, **kwargs)
                self.run(name, obj, all_orgs, jobs, kwargs)

            command = click.option(
                "--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True,
                help="With several orgs: how many to run at once.")(command)
            return click.option(
                "--all-orgs", is_flag=True,
                help="Run once per org of the config (or list them: --org dev,uat,prod); "
                     "a summary table ends the output, and the exit code is the worst of "
                     "the runs: 1 error, then 3 widening drift, 2 changes or drift, 0.")(command)
        return decorate

    def run(self, name: str, obj: Any, all_orgs: bool, jobs: int,
            kwargs: dict[str, Any]) -> None:
        """Every org's run, its output, the summary, and exit with the worst code."""
        if kwargs.get("every") is not None:
            raise click.UsageError("--every runs one org: schedule each org on its own")
        from reconciler.config import declared_orgs

        try:
            declared = declared_orgs(obj.config) if all_orgs else ()
            orgs = fleet.chosen_orgs(obj.org, all_orgs, declared)
        except ReconcilerError as exc:
            self.report(exc, obj)
            sys.exit(self.code_for(exc))
        configs = Configs(obj)
        runs = fleet.run_all(orgs, lambda run: _JOBS[name](obj, configs, run, **kwargs),
                             jobs=jobs,
                             code_for=self.code_for,
                             report=lambda exc, run: self.report(exc, obj, run.echo))
        fmt = "json" if kwargs.get("as_json") else kwargs.get("fmt", "text")
        if fmt == "json":
            click.echo(json.dumps({"format": "reconciler-orgs", "version": 1,
                                   "exit_code": fleet.worst(r.code for r in runs),
                                   "runs": [_as_json(r) for r in runs]}, indent=2))
        for run in runs:
            if fmt != "json":
                click.echo(f"==> {run.org} <==")
            for text, err in run.lines:
                if err or fmt != "json":
                    click.echo(text, err=err)
        click.echo(fleet.summary(runs, markdown=fmt == "markdown"), err=fmt == "json")
        sys.exit(fleet.worst(r.code for r in runs))


def _as_json(run: fleet.Run) -> dict[str, Any]:
    out = run.stdout()
    return {"org": run.org, "exit_code": run.code, "changes": run.changes,
            "drift": run.grade, "api_calls": run.calls, "seconds": round(run.seconds, 3),
            "error": run.error, "report": json.loads(out) if out.strip() else None}
