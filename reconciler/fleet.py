"""Many orgs in one command: one run per org, at most ``jobs`` at a time, and a summary.

Each run's output is kept apart and printed whole, under a ``==> org <==`` line, once
every run has ended; a failing run is a row of the summary with its error, and never
stops the others. Threads are enough: the work is waiting on the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import ReconcilerError, UsageError

#: Exit codes from best to worst; a run over many orgs exits with the worst of its
#: runs: 0 nothing to report, 2 changes or drift, 3 drift that widens access, 1 error.
#: An error is worst: an org that could not be read may hide anything.
BEST_TO_WORST = (0, 2, 3, 1)

#: Replaced by the org's name in ``--out`` and ``--var-file`` paths.
PLACEHOLDER = "{org}"


@dataclass
class Run:
    """One org's run: what it printed (kept in order, stdout and stderr apart) and the
    figures of its summary row."""

    org: str
    code: int = 0
    lines: list[tuple[str, bool]] = field(default_factory=list)
    changes: str = "-"
    grade: str = "-"
    calls: int | None = None
    seconds: float = 0.0
    error: str | None = None

    def echo(self, text: str, err: bool = False) -> None:
        """Keep a line of output (for stderr when ``err``), as ``click.echo`` prints it."""
        self.lines.append((text, err))

    def out(self, text: str) -> None:
        """A line for standard output."""
        self.echo(text)

    def err(self, text: str) -> None:
        """A line for standard error."""
        self.echo(text, err=True)

    def stdout(self) -> str:
        """All the run printed on standard output."""
        return "\n".join(text for text, err in self.lines if not err)


def many(org_option: str | None, all_orgs: bool) -> bool:
    """Whether the command line asks for more than one org."""
    return all_orgs or "," in (org_option or "")


def chosen_orgs(org_option: str | None, all_orgs: bool, declared: Iterable[str]) -> list[str]:
    """The orgs to run, in the order given (``--all-orgs``: as the config declares them)."""
    if all_orgs:
        if org_option:
            raise UsageError("--all-orgs and --org name the orgs twice: give one of them")
        return list(declared)
    names = [n.strip() for n in (org_option or "").split(",")]
    if not all(names):
        raise UsageError(f"--org {org_option!r}: an empty org name in the list")
    return list(dict.fromkeys(names))


def for_org(path: Path, org: str | None) -> Path:
    """``path`` with ``{org}`` replaced by the org's name (unchanged without an org)."""
    return Path(str(path).replace(PLACEHOLDER, org)) if org is not None else path


def plan_path(out: Path | None, org: str) -> Path:
    """Where one org's plan goes when many are planned: ``--out`` with ``{org}``
    replaced, else a directory to hold ``<org>.plan.json`` (default ``plans/``)."""
    if out is not None and PLACEHOLDER in str(out):
        return for_org(out, org)
    return (out or Path("plans")) / f"{org}.plan.json"


def run_all(orgs: Sequence[str], job: Callable[[Run], None], *, jobs: int,
            code_for: Callable[[BaseException], int],
            report: Callable[[BaseException, Run], None]) -> list[Run]:
    """Run ``job`` once per org, ``jobs`` at a time; the runs in the order of ``orgs``.

    A :class:`ReconcilerError` ends only its own run: ``report`` writes it into the
    run's output, ``code_for`` gives its exit code.
    """
    def one(org: str) -> Run:
        run = Run(org)
        start = time.monotonic()
        try:
            job(run)
        except ReconcilerError as exc:
            report(exc, run)
            run.code = code_for(exc)
            run.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        run.seconds = time.monotonic() - start
        return run

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, orgs))


def worst(codes: Iterable[int]) -> int:
    """The worst of the exit codes, by :data:`BEST_TO_WORST` (an unknown one is worst)."""
    def rank(code: int) -> int:
        return BEST_TO_WORST.index(code) if code in BEST_TO_WORST else len(BEST_TO_WORST)

    return max(codes, key=rank, default=0)


_COLUMNS = ("org", "exit", "changes", "drift", "calls", "time", "error")


def _cells(run: Run) -> tuple[str, ...]:
    return (run.org, str(run.code), run.changes, run.grade,
            "-" if run.calls is None else str(run.calls), f"{run.seconds:.1f}s",
            run.error or "-")


def summary(runs: Sequence[Run], *, markdown: bool = False) -> str:
    """The summary table: one row per org (changes, drift grade, API calls, time, error)
    and the exit code the command ends with."""
    rows = [_COLUMNS, *(_cells(r) for r in runs)]
    end = f"{len(runs)} orgs, exit code {worst(r.code for r in runs)} (the worst of the runs)"
    if markdown:
        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines.insert(1, "|" + "---|" * len(_COLUMNS))
        return "\n".join(["", *lines, "", end])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    return "\n".join(["", *lines, end])
