"""The drift report for people: a terminal or a log (text), a ticket (Markdown), and the
JSON document. Pure: a report in, a string out.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from reconciler.drift.report import Evidence, Report
from reconciler.drift.rules import SEVERITIES

FORMATS = ("text", "json", "markdown")
_COLOURS = {"widening": "31", "narrowing": "33", "metadata": "36", "bold": "1", "dim": "2"}


def _paint(color: bool) -> Callable[[str, str], str]:
    def paint(text: str, what: str) -> str:
        return f"\x1b[{_COLOURS[what]}m{text}\x1b[0m" if color else text
    return paint


def _calls_line(report: Report) -> str:
    return (f"API calls: {report.api_calls.read} to read the org (as plan) + "
            f"{report.api_calls.audit_trail} audit-trail query = "
            f"{report.api_calls.total}")


def _audit_line(report: Report) -> str:
    rows = f"{report.audit_trail.rows} row{'' if report.audit_trail.rows == 1 else 's'}"
    return f"Setup Audit Trail: {rows} since {report.audit_trail.since}"


def counts(report: Report) -> str:
    """``2 items (1 widening, 1 narrowing, 0 metadata)``."""
    n = len(report.items)
    return (f"{n} item{'' if n == 1 else 's'} (" + ", ".join(
        f"{report.count(s)} {s}" for s in SEVERITIES) + ")")


def _who(e: Evidence) -> str:
    by = e.by or "an unknown user"
    if e.delegate:
        by += f" ({e.delegate}, logged in as that user)"
    if e.by_reconciler:
        by += " (the reconciler's own user)"
    seen = " [found by an earlier run]" if e.source == "previous_report" else ""
    return f"{by} at {e.at}{seen}"


def text(report: Report, *, color: bool = False) -> str:
    """The report for a terminal or a log."""
    paint = _paint(color)
    where = (f"org {report.org.name} ({report.org.instance_url}, org {report.org.org_id}), "
             f"checked {report.checked_at} as {report.org.running_user}")
    lines: list[str] = []
    if not report.items:
        lines.append(f"No drift in {where}: the org matches the config.")
    else:
        lines.append(paint(f"Drift in {where}", "bold"))
        lines.append("")
        width = max(len(s) for s in SEVERITIES)
        pad = " " * (width + 4)
        for item in report.items:
            lines.append("  " + paint(item.severity.ljust(width), item.severity)
                         + f"  {item.address}")
            lines.append(f"{pad}{item.summary}")
            if item.attribution:
                for e in item.attribution:
                    lines.append(f"{pad}changed by {_who(e)}: {e.display}")
            else:
                lines.append(f"{pad}changed by: unknown (no audit-trail row names this "
                             "change)")
    if report.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  ! {note}" for note in report.notes)
    lines.append("")
    if report.items:
        lines.append(paint(f"Drift: {counts(report)} · exit {report.exit_code}", "bold"))
    lines.append(f"{_audit_line(report)}. {_calls_line(report)}.")
    if report.items:
        lines.append("Drift never changes the org: to fix it, run `reconciler plan`, review "
                     "it, then `reconciler apply`.")
    return "\n".join(lines)


def _cell(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """The report for a ticket or a pull-request comment (GitHub-flavoured Markdown)."""
    org = f"`{report.org.name}`"
    title = {"clean": f"No drift in org {org}",
             "drift": f"Drift in org {org}",
             "widening": f"Access-widening drift in org {org}"}[report.status]
    lines = [f"### {title}", "",
             f"Checked {report.checked_at} as `{report.org.running_user}` against "
             f"{report.org.instance_url} (org `{report.org.org_id}`)."]
    if report.items:
        lines[-1] += f" {counts(report)}, exit {report.exit_code}."
        lines += ["", "| Severity | Address | In the org | Changed by | When (UTC) |",
                  "|---|---|---|---|---|"]
        for item in report.items:
            latest = item.attribution[0] if item.attribution else None
            by = _cell(latest.by or "?") if latest else "unknown"
            if latest is not None and latest.by_reconciler:
                by += " (reconciler)"
            when = latest.at if latest else ""
            lines.append(f"| **{item.severity}** | `{_cell(item.address)}` | "
                         f"{_cell(item.summary)} | {by} | {when} |")
        evidence = [(i, e) for i in report.items for e in i.attribution]
        if evidence:
            lines += ["", "<details><summary>What the Setup Audit Trail says</summary>", ""]
            lines += [f"- `{_cell(i.address)}`: {_cell(_who(e))}: {_cell(e.display)}"
                      for i, e in evidence]
            lines += ["", "</details>"]
    else:
        lines[-1] += " The org matches the config."
    if report.notes:
        lines += ["", "**Notes**", ""]
        lines += [f"- {_cell(note)}" for note in report.notes]
    if report.items:
        lines += ["", "Drift never changes the org: fix it with `reconciler plan`, then "
                      "`reconciler apply`."]
    lines += ["", f"<sub>{_audit_line(report)} · {_calls_line(report)}</sub>"]
    return "\n".join(lines)


def as_json(report: Report, *, compact: bool = False) -> str:
    """The documented JSON report (one line when ``compact``)."""
    data = report.model_dump(mode="json")
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, indent=2, ensure_ascii=False)


def render(report: Report, fmt: str, *, color: bool = False, compact: bool = False) -> str:
    """The report in one of :data:`FORMATS` (``compact``: JSON on one line, for a log)."""
    if fmt == "json":
        return as_json(report, compact=compact)
    if fmt == "markdown":
        return markdown(report)
    return text(report, color=color)
