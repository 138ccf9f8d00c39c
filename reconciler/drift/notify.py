"""When to notify, and what: the drift found since the last notification, as a webhook body.

The same drift is sent once: again only when it changes (an item new, changed or
resolved), and once more, as ``resolved``, when the org matches the config again.
What changed is the difference, computed by deepdiff, between the findings last
notified (kept in the state as :class:`Notified`) and the report's. A delivery that
failed is not recorded, so the next run tries again. Pure: reports and state in, a
decision and a body out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff
from pydantic import BaseModel, ConfigDict

from reconciler.drift.render import counts
from reconciler.drift.report import Report
from reconciler.drift.rules import Severity

Event = Literal["drift", "changed", "resolved"]


class Finding(BaseModel):
    """What identifies one item's drift, beside its id: how bad, and what the org has."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    summary: str


def findings(report: Report) -> dict[str, Finding]:
    """The report's drift, keyed by item id (who changed it and when left out)."""
    return {item.id: Finding(severity=item.severity, summary=item.summary)
            for item in report.items}


class Notified(BaseModel):
    """The last notification delivered: of which drift (digest; "" = resolved) and its
    findings (None in a state written before they were kept)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    org_id: str
    digest: str = ""
    event: str = ""
    at: str = ""
    findings: dict[str, Finding] | None = None

    @classmethod
    def sent(cls, report: Report, event: Event) -> Notified:
        """The record of ``report`` notified as ``event``."""
        return cls(org_id=report.org.org_id, digest=report.digest, event=event,
                   at=report.checked_at, findings=findings(report))


@dataclass(frozen=True)
class Changes:
    """Item ids whose drift is new, changed (another severity or summary), or resolved."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.resolved)


# deepdiff's report → which list an item id goes to.
_CHANGES = {"dictionary_item_added": "new", "dictionary_item_removed": "resolved",
            "values_changed": "changed", "type_changes": "changed"}


def compare(before: dict[str, Finding], after: dict[str, Finding]) -> Changes:
    """What changed between two sets of findings, item by item."""
    # threshold 0: always item by item, never "the whole set changed" (deepdiff's
    # shortcut when few keys are shared, which would hide which items moved).
    tree = DeepDiff({k: f.model_dump() for k, f in before.items()},
                    {k: f.model_dump() for k, f in after.items()},
                    view="tree", threshold_to_diff_deeper=0)
    ids: dict[str, set[str]] = {"new": set(), "changed": set(), "resolved": set()}
    for report_type, levels in tree.items():
        for level in levels:
            ids[_CHANGES[report_type]].add(str(level.path(output_format="list")[0]))
    return Changes(**{name: tuple(sorted(found)) for name, found in ids.items()})


def notification_due(report: Report, last: Notified | None) -> Event | None:
    """What to send: new drift, changed drift, resolved drift, or nothing (the same
    drift as last notified, or still clean)."""
    if last is not None and last.findings is None and last.digest:
        # A state from before findings were kept: its digest tells same from changed.
        if not report.items:
            return "resolved"
        return None if last.digest == report.digest else "changed"
    before = (last.findings or {}) if last is not None else {}
    changes = compare(before, findings(report))
    if not report.items:
        return "resolved" if changes.resolved else None
    if not before:
        return "drift"
    return "changed" if changes else None


def _slack(text_: str) -> str:
    return text_.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notification(report: Report, event: Event, *, limit: int = 15) -> dict[str, Any]:
    """The webhook body: a Slack-compatible ``text`` summary and the structured report."""
    org = f"`{_slack(report.org.name)}`"
    if event == "resolved":
        text_ = (f":white_check_mark: Drift resolved in org {org}: the org matches the "
                 f"config again (checked {report.checked_at}).")
    else:
        head = {"widening": ":rotating_light: *Access-widening drift*",
                "drift": ":warning: *Drift*"}[report.status]
        verb = "changed: now" if event == "changed" else "found:"
        lines = [f"{head} in org {org} {verb} {counts(report)}, exit {report.exit_code}"]
        for item in report.items[:limit]:
            e = item.attribution[0] if item.attribution else None
            who = f"{e.by or 'unknown user'} at {e.at}" if e else "who: unknown"
            lines.append(f"• [{item.severity}] `{_slack(item.address)}`: "
                         f"{_slack(item.summary)} ({_slack(who)})")
        if len(report.items) > limit:
            lines.append(f"…and {len(report.items) - limit} more")
        lines.append("Fix with `reconciler plan` + `reconciler apply`.")
        text_ = "\n".join(lines)
    return {"text": text_, "event": event, "report": report.model_dump(mode="json")}
