"""Reading the Setup Audit Trail: one SOQL query (paged like any other) over a window of
time, parsed into :class:`~reconciler.trail.AuditEntry` values; raw records never
leave this module. What the rows say is :mod:`reconciler.trail`'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from reconciler.trail import AuditEntry, iso, parse_datetime

AUDIT_FIELDS = "Action, Section, Display, CreatedDate, CreatedBy.Username, DelegateUser"


class Querier(Protocol):
    """What reading the trail needs from the org client."""

    @property
    def calls(self) -> int: ...

    def query(self, soql: str) -> list[dict[str, Any]]: ...


def datetime_literal(moment: datetime) -> str:
    """A SOQL dateTime literal (UTC, to the second, no quotes)."""
    return iso(moment)


def audit_query(since: datetime) -> str:
    """The one query: every row since ``since``, newest first."""
    return (f"SELECT {AUDIT_FIELDS} FROM SetupAuditTrail WHERE CreatedDate >= "
            f"{datetime_literal(since)} ORDER BY CreatedDate DESC")


def read_audit_trail(client: Querier, since: datetime) -> list[AuditEntry]:
    """Every Setup Audit Trail row since ``since``, newest first."""
    return parse_entries(client.query(audit_query(since)))


def parse_entries(records: Iterable[Mapping[str, Any]]) -> list[AuditEntry]:
    """Raw SetupAuditTrail records → entries (rows without a readable date are skipped)."""
    out = []
    for r in records:
        at = parse_datetime(r.get("CreatedDate"))
        if at is None:
            continue
        by = (r.get("CreatedBy") or {}).get("Username")
        delegate = r.get("DelegateUser")
        out.append(AuditEntry(at=at, by=str(by or ""), action=str(r.get("Action") or ""),
                              section=str(r.get("Section") or ""),
                              display=str(r.get("Display") or ""),
                              delegate=str(delegate) if delegate else None))
    return out
