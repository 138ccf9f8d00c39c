"""The drift report: one check of one org, as a pydantic document.

The JSON report (``--format json``, the webhook's ``report``, and the last report kept
under ``.reconciler/<org>/drift/``), format ``reconciler-drift`` version 1::

    {"format": "reconciler-drift", "version": 1, "checked_at": "…Z",
     "status": "clean" | "drift" | "widening", "exit_code": 0 | 2 | 3,
     "digest": "…",                       # of the items; "" when clean
     "org": {"name", "org_id", "instance_url", "running_user"},
     "config": {"path", "digest"},
     "summary": {"items", "widening", "narrowing", "metadata"},
     "items": [{"id", "kind", "address", "resource",
                "severity": "widening" | "narrowing" | "metadata",
                "summary",                # what the org has, against the config
                "config_location",        # file:line:col, or null
                "fix",                    # the action apply would take, or null
                "attribution": {"status": "found" | "unknown",
                                "changes": [{"at", "by", "action", "section", "display",
                                             "delegate", "by_reconciler", "source"}]}}],
     "notes": ["…"],                      # left alone by scope; what apply would refuse
     "audit_trail": {"since", "rows"},
     "api_calls": {"read", "audit_trail", "total"}}

``status``, ``exit_code``, ``digest``, ``summary``, an item's ``id``, an attribution's
``status`` and the ``total`` of API calls are derived from the rest: written, never
read back. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_serializer,
    field_validator,
    model_serializer,
)

from reconciler.actions import AnyAction
from reconciler.drift.rules import SEVERITIES, Severity
from reconciler.plan import OrgRef
from reconciler.trail import AuditEntry, Clue

REPORT_FORMAT: Final = "reconciler-drift"
REPORT_VERSION: Final = 1




class _Document(BaseModel):
    # Keys the report derives (status, id…) are ignored when a report is read back.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Evidence(_Document):
    """A Setup Audit Trail row that explains a drift item."""

    at: str
    by: str
    action: str
    section: str
    display: str
    delegate: str | None = None
    #: Made by the user the reconciler runs as (an apply, or someone using its login).
    by_reconciler: bool = False
    #: ``audit_trail`` (this run's query) or ``previous_report`` (an earlier run's).
    source: Literal["audit_trail", "previous_report"] = "audit_trail"

    @classmethod
    def of(cls, entry: AuditEntry, running_user: str) -> Evidence:
        """The evidence of one row, as seen by ``running_user``."""
        return cls(at=entry.when, by=entry.by, action=entry.action, section=entry.section,
                   display=entry.display, delegate=entry.delegate,
                   by_reconciler=bool(entry.by) and entry.by.casefold()
                   == running_user.casefold())


class DriftItem(_Document):
    """One difference between the org and the config."""

    kind: str
    address: str
    resource: str
    severity: Severity
    summary: str
    config_location: str | None = None
    #: What apply would do about it (None: apply can't, see the summary).
    fix: AnyAction | None = None
    #: How to recognise its audit-trail row; not part of the document.
    clue: Clue | None = Field(default=None, exclude=True, repr=False)
    attribution: tuple[Evidence, ...] = ()

    @property
    def id(self) -> str:
        """Kind and address: unique within a report."""
        return f"{self.kind}:{self.address}"

    @property
    def key(self) -> str:
        """Identity for deduplication: the same key is the same drift."""
        return f"{self.severity}|{self.id}|{self.summary}"

    @field_validator("attribution", mode="before")
    @classmethod
    def _changes(cls, value: Any) -> Any:
        return value.get("changes", ()) if isinstance(value, dict) else value

    @field_serializer("attribution")
    def _attribution(self, changes: tuple[Evidence, ...]) -> dict[str, Any]:
        return {"status": "found" if changes else "unknown", "changes": list(changes)}

    @model_serializer(mode="wrap")
    def _id_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {"id": self.id, **handler(self)}


class ConfigRef(_Document):
    """Which config was compared: its directory and the digest of its files."""

    path: str
    digest: str


class AuditWindow(_Document):
    """The Setup Audit Trail read: since when, and how many rows came."""

    since: str = ""
    rows: int = 0


class ApiCalls(_Document):
    """The API calls a check took: to read the org (as plan does), and the audit trail."""

    read: int = 0
    audit_trail: int = 0

    @model_serializer(mode="wrap")
    def _with_total(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {**handler(self), "total": self.total}

    @property
    def total(self) -> int:
        return self.read + self.audit_trail


#: The report's keys in their documented order (derived ones among them).
_KEYS = ("format", "version", "checked_at", "status", "exit_code", "digest", "org", "config",
         "summary", "items", "notes", "audit_trail", "api_calls")


class Report(_Document):
    """One drift check of one org."""

    format: Literal["reconciler-drift"] = REPORT_FORMAT
    version: Literal[1] = REPORT_VERSION
    checked_at: str
    org: OrgRef
    config: ConfigRef
    items: tuple[DriftItem, ...]
    notes: tuple[str, ...] = ()
    audit_trail: AuditWindow = AuditWindow()
    api_calls: ApiCalls = ApiCalls()

    def count(self, severity: Severity) -> int:
        """How many items have ``severity``."""
        return sum(1 for i in self.items if i.severity == severity)

    @property
    def exit_code(self) -> int:
        """0 no drift, 2 drift, 3 drift that widens access."""
        if self.count("widening"):
            return 3
        return 2 if self.items else 0

    @property
    def status(self) -> str:
        return {0: "clean", 2: "drift", 3: "widening"}[self.exit_code]

    @property
    def digest(self) -> str:
        """Of the items (not of who or when): equal digests are the same drift."""
        if not self.items:
            return ""
        text = "\n".join(sorted(i.key for i in self.items))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @model_serializer(mode="wrap")
    def _document(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = {**handler(self), "status": self.status, "exit_code": self.exit_code,
                "digest": self.digest,
                "summary": {"items": len(self.items), **{s: self.count(s) for s in SEVERITIES}}}
        return {key: data[key] for key in _KEYS}


def load_report(data: Any) -> Report | None:
    """A report read back from its JSON data; None when it is not one (another format or
    version, or damaged): then it is as if there were none."""
    try:
        return Report.model_validate(data)
    except ValidationError:
        return None
