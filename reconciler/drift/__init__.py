"""Drift: how the org differs from the config, graded, attributed, reported and alerted.

``reconciler drift`` calls :func:`options` and :func:`run`; the work is in the modules
of this package, one job each:

- :mod:`~reconciler.drift.rules`: the grading table, action kind → severity, words, clue;
- :mod:`~reconciler.drift.find`: the pure finding, config and the org's snapshot → items;
- :mod:`~reconciler.drift.attribute`: who changed each item, from audit-trail rows;
- :mod:`~reconciler.drift.report`: the report, a pydantic document (its JSON is there);
- :mod:`~reconciler.drift.render`: text, Markdown and JSON for people;
- :mod:`~reconciler.drift.check`: one check, reading the org (the only part that does);
- :mod:`~reconciler.drift.notify` and :mod:`~reconciler.drift.webhook`: when to alert,
  what, and the delivery;
- :mod:`~reconciler.drift.state`: the last report, the last notification, the lock;
- :mod:`~reconciler.drift.schedule`: ``--every``, with jitter and stop signals.

Nothing here ever writes to the org: fixing drift is ``apply``. Exit codes (mapped by
the CLI): 0 no drift, 2 drift, 3 drift that widens access.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from reconciler.config import Config
from reconciler.drift import check, render, schedule
from reconciler.drift.notify import Notified, notification, notification_due
from reconciler.drift.report import Report
from reconciler.drift.schedule import Console, Reading, parse_duration
from reconciler.drift.state import State
from reconciler.drift.webhook import Webhook, webhook
from reconciler.errors import UsageError
from reconciler.org.connect import data_dir_for, open_org


@dataclass(frozen=True)
class Options:
    """How to run drift."""

    fmt: str = "text"
    since: timedelta | None = None
    notify: Webhook | None = None
    every: float | None = None  # seconds
    runs: int | None = None
    color: bool = False


def options(*, fmt: str = "text", since: str | None = None, notify: str | None = None,
            every: str | None = None, runs: int | None = None,
            color: bool = False) -> Options:
    """:class:`Options` from the command line's strings; :class:`UsageError` when wrong."""
    if fmt not in render.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(render.FORMATS)}, not {fmt!r}")
    if runs is not None and every is None:
        raise UsageError("--runs needs --every (a single run is the default)")
    if runs is not None and runs < 1:
        raise UsageError("--runs must be at least 1")
    return Options(
        fmt=fmt,
        since=timedelta(seconds=parse_duration(since, "--since")) if since else None,
        notify=webhook(notify) if notify else None,
        every=parse_duration(every, "--every") if every else None,
        runs=runs, color=color)


def run(load: Callable[[], Config], org_name: str | None, opts: Options,
        console: Console) -> int:
    """``reconciler drift``: one run, or runs every ``opts.every`` until stopped.

    Returns the exit code: the run's (0, 2, 3), the last run's with ``--runs``, 0 when
    a signal stopped the scheduler. One-shot errors raise; a scheduled run's error is
    reported and the schedule goes on.
    """
    config = load()
    org = config.org(org_name)
    state = State(data_dir_for(config, org) / "drift")
    with state.lock(org.name):
        if opts.every is None:
            return _once(config, org.name, opts, state, console, schedule.uninterruptible)
        return schedule.every(
            opts.every, opts.runs,
            lambda reading: _once(load(), org.name, opts, state, console, reading), console)


def _once(config: Config, org_name: str, opts: Options, state: State, console: Console,
          reading: Reading) -> int:
    previous = state.previous()
    with reading() as settle, open_org(config, org_name) as (org, client):
        report = check.check(config, client, org_name=org.name, since=opts.since,
                             previous=previous)
        settle()  # the report is made: closing the connection is not to be cut short
    # From here on the run finishes whatever happens: output, notification, state.
    scheduled = opts.every is not None
    shown = render.render(report, opts.fmt, color=opts.color, compact=scheduled)
    # Scheduled reports follow each other in one log: JSON one per line, others spaced.
    console.out(shown + "\n" if scheduled and opts.fmt != "json" else shown)
    if opts.notify is not None:
        _notify(report, opts.notify, state, console)
    state.save_report(report)
    return report.exit_code


def _notify(report: Report, hook: Webhook, state: State, console: Console) -> None:
    last = state.notified(report.org.org_id)
    event = notification_due(report, last)
    if event is None:
        if report.items and last is not None:
            console.err(f"Not notifying {hook.shown}: the same drift was notified at "
                        f"{last.at}.")
        return
    delivery = hook.post(notification(report, event))
    if delivery.ok:
        state.save_notified(Notified.sent(report, event))
        console.err(f"Notified {hook.shown} ({event}).")
    else:
        console.err(f"Warning: the notification to {hook.shown} failed after "
                    f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}: "
                    f"{delivery.error}; the next run tries again.")
