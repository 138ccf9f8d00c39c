"""Who changed it: each drift item with the Setup Audit Trail rows that explain it.

Each item is attributed from one query of the Setup Audit Trail over the window since
the last run (or ``--since``): the rows whose Display names the change and every party
to it, with who and when. No matching row means "unknown", never a guess. An item
that persists keeps the attribution an earlier run found. Pure: the rows, the last
report and the time come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.drift.report import DriftItem, Evidence, Report
from reconciler.trail import AuditEntry, parse_datetime

#: The audit-trail window of a first run (or when the last run's report is unusable).
DEFAULT_SINCE = timedelta(days=7)
#: How far a window reaches back before the last run: Setup may write its row a moment
#: after the change, and clocks differ.
OVERLAP = timedelta(minutes=5)
#: Audit rows kept per item (newest first).
MAX_EVIDENCE = 3


def attribute(items: Sequence[DriftItem], entries: Sequence[AuditEntry], *, running_user: str,
              earlier: Mapping[str, tuple[Evidence, ...]] | None = None) -> list[DriftItem]:
    """Each item with the audit rows (``entries`` newest first) that explain it.

    The newest matching row explains the state the org is in; older ones are kept
    (up to :data:`MAX_EVIDENCE`) back to a row of the reconciler's own user, which
    set the item as configured and so ends its history. An item no row of this window
    explains keeps what an earlier report found for the very same drift (``earlier``,
    by :attr:`DriftItem.key`); otherwise it stays unknown.
    """
    out = []
    for item in items:
        found: list[Evidence] = []
        for entry in entries:
            if item.clue is None or not item.clue.explains(entry):
                continue
            evidence_ = Evidence.of(entry, running_user)
            if found and evidence_.by_reconciler:
                break
            found.append(evidence_)
            if evidence_.by_reconciler or len(found) >= MAX_EVIDENCE:
                break
        evidence = tuple(found)
        if not evidence and earlier:
            evidence = earlier.get(item.key, ())
        out.append(item.model_copy(update={"attribution": evidence}))
    return out


@dataclass(frozen=True)
class Previous:
    """What a new run needs of the last report: when, which org, who did what."""

    checked_at: datetime | None
    org_id: str
    attribution: dict[str, tuple[Evidence, ...]]

    @classmethod
    def of(cls, report: Report) -> Previous:
        """The last report's findings, its evidence marked as an earlier run's."""
        attribution = {
            item.key: tuple(e.model_copy(update={"source": "previous_report"})
                            for e in item.attribution)
            for item in report.items if item.attribution}
        return cls(checked_at=parse_datetime(report.checked_at), org_id=report.org.org_id,
                   attribution=attribution)


def window_start(now: datetime, since: timedelta | None, previous: Previous | None) -> datetime:
    """Where the audit-trail window opens: ``--since``, else the last run, else 7 days."""
    if since is not None:
        return now - since
    if previous is not None and previous.checked_at is not None:
        return min(previous.checked_at - OVERLAP, now)
    return now - DEFAULT_SINCE
