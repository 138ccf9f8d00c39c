"""Drift: how the org differs from the config, graded, attributed, reported and alerted.

Drift is the plan seen from the other side. The org is read exactly as ``plan`` reads
it, diffed against the config, and every action the plan would take becomes a drift
item: an action that *removes* access (unassign, revoke, narrow, disable, deactivate)
means the org holds *more* than the config, which is **widening** drift; one that
would add access means the org holds less (**narrowing**); labels, descriptions and
user attributes are **metadata**. :data:`RULES` is the one table that grades each
action kind, says what the org has in words, and knows what Setup writes in its
audit trail for it. Nothing here ever writes to the org: fixing drift is ``apply``.

Each item is attributed from one query of the Setup Audit Trail over the window since
the last run (or ``--since``): the rows whose Display names the change and every party
to it, with who and when. No matching row means "unknown", never a guess. An item
that persists keeps the attribution an earlier run found.

Exit codes (mapped by the CLI): 0 no drift, 2 drift, 3 drift that widens access.

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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import requests

from reconciler import actions as a
from reconciler.actions import Action
from reconciler.checks import Checker, group_status_warnings, license_changes, location_of
from reconciler.config import Config
from reconciler.config.interpolate import env_reference
from reconciler.diff import diff
from reconciler.errors import ApiError, PlanRejected, ReconcilerError, UsageError
from reconciler.files import FileLock, private_dir, write_private
from reconciler.org import audit
from reconciler.org.audit import AuditEntry, Clue, iso
from reconciler.org.connect import data_dir_for, open_org
from reconciler.org.reader import Live, read
from reconciler.plan import OrgReader, OrgRef, claims_for

REPORT_FORMAT = "reconciler-drift"
REPORT_VERSION = 1
#: The audit-trail window of a first run (or when the last run's report is unusable).
DEFAULT_SINCE = timedelta(days=7)
#: How far a window reaches back before the last run: Setup may write its row a moment
#: after the change, and clocks differ.
OVERLAP = timedelta(minutes=5)
#: The scheduler waits ``every`` ± this fraction, so many schedulers spread out.
JITTER = 0.1
#: Audit rows kept per item (newest first).
MAX_EVIDENCE = 3
FORMATS = ("text", "json", "markdown")

Severity = Literal["widening", "narrowing", "metadata"]
SEVERITIES: tuple[Severity, ...] = ("widening", "narrowing", "metadata")


# -- the names Setup may use for a set, group or licence ------------------------------------


@dataclass(frozen=True)
class Labels:
    """Every name a set, group, licence or user goes by: API name and labels, org and
    config; username and full name."""

    config: Config
    live: Live

    def set(self, name: str) -> tuple[str, ...]:
        found = [name]
        info = self.live.sets.get(name.casefold())
        if info is not None:
            found += [info.name, info.label]
        have = self.live.state.permission_sets.get(name)
        declared = self.config.permission_sets.get(name)
        found += [x.label for x in (have, declared) if x is not None]
        return _unique(found)

    def group(self, name: str) -> tuple[str, ...]:
        found = [name]
        for known, group in self.live.state.permission_set_groups.items():
            if known.casefold() == name.casefold():
                found += [known, group.label]
        declared = self.config.permission_set_groups.get(name)
        if declared is not None:
            found.append(declared.label)
        return _unique(found)

    def user(self, username: str) -> tuple[str, ...]:
        """A user's username and full name, which is what Setup writes."""
        have = self.live.state.users.get(username.lower())
        full = " ".join(p for p in (have.first_name, have.last_name) if p) if have else ""
        return _unique([username, full])

    def psl(self, name: str) -> tuple[str, ...]:
        lic = self.live.psls.get(name.casefold())
        return _unique([name, *((lic.name, lic.label) if lic else ())])


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


# -- the one table: action kind → severity, words, audit clue -------------------------------


@dataclass(frozen=True)
class Rule:
    """How drift reads one action kind of the plan."""

    severity: Callable[[Any], Severity]
    #: What the org has, against the config, in a line.
    describe: Callable[[Any], str]
    #: What Setup writes when somebody makes the org look like this (None: nothing).
    clue: Callable[[Any, Labels], Clue | None]


def _is(severity: Severity) -> Callable[[Any], Severity]:
    return lambda _action: severity


def _wider(before: Sequence[str], after: Sequence[str]) -> Severity:
    """The org holds ``before``, the config wants ``after``: any extra word widens."""
    return "widening" if set(before) - set(after) else "narrowing"


def _words(words: Sequence[str]) -> str:
    return ", ".join(words) if words else "nothing"


def _values(before: a.Values, after: a.Values) -> str:
    have, want = dict(before), dict(after)
    return "; ".join(f"{k}: the org has {have.get(k)!r}, the config {want.get(k)!r}"
                     for k in sorted(want))


def _access(before: Sequence[str], after: Sequence[str]) -> str:
    return f"the org grants {_words(before)}; the config {_words(after)}"


def _system(x: a.SetSystemPermissions) -> str:
    parts = []
    if x.disable:
        parts.append(f"the org also enables {', '.join(x.disable)}")
    if x.enable:
        parts.append(f"the org lacks {', '.join(x.enable)}")
    return "system permissions: " + "; ".join(parts)


def _system_clue(x: a.SetSystemPermissions, n: Labels) -> Clue:
    # The org enabled what the plan would disable, and disabled what it would enable.
    enabled = None if x.enable and x.disable else bool(x.disable)
    return audit.system_permissions(n.set(x.name), (*x.disable, *x.enable), enabled=enabled)


RULES: dict[type[Action], Rule] = {
    a.CreatePermissionSet: Rule(
        _is("narrowing"), lambda x: "the org lacks this permission set",
        lambda x, n: audit.set_deleted(n.set(x.name))),
    a.UpdatePermissionSet: Rule(
        _is("metadata"), lambda x: _values(x.before, x.after),
        lambda x, n: audit.set_attributes(n.set(x.name), dict(x.after))),
    a.SetSystemPermissions: Rule(
        lambda x: "widening" if x.disable else "narrowing", _system, _system_clue),
    a.DeletePermissionSet: Rule(
        _is("metadata"),
        lambda x: f"the org has this permission set; the config: {x.reason or 'absent'}",
        lambda x, n: audit.set_created(n.set(x.name))),
    a.GrantObjectAccess: Rule(
        _is("narrowing"), lambda x: _access((), x.after),
        lambda x, n: audit.object_access(n.set(x.permission_set), x.sobject)),
    a.ChangeObjectAccess: Rule(
        lambda x: _wider(x.before, x.after), lambda x: _access(x.before, x.after),
        lambda x, n: audit.object_access(n.set(x.permission_set), x.sobject)),
    a.RevokeObjectAccess: Rule(
        _is("widening"), lambda x: _access(x.before, ()),
        lambda x, n: audit.object_access(n.set(x.permission_set), x.sobject)),
    a.GrantFieldAccess: Rule(
        _is("narrowing"), lambda x: _access((), x.after),
        lambda x, n: audit.field_access(n.set(x.permission_set), x.field)),
    a.ChangeFieldAccess: Rule(
        lambda x: _wider(x.before, x.after), lambda x: _access(x.before, x.after),
        lambda x, n: audit.field_access(n.set(x.permission_set), x.field)),
    a.RevokeFieldAccess: Rule(
        _is("widening"), lambda x: _access(x.before, ()),
        lambda x, n: audit.field_access(n.set(x.permission_set), x.field)),
    a.CreateGroup: Rule(
        _is("narrowing"), lambda x: "the org lacks this permission set group",
        lambda x, n: audit.group_deleted(n.group(x.name))),
    a.UpdateGroup: Rule(
        _is("metadata"), lambda x: _values(x.before, x.after),
        lambda x, n: audit.group_attributes(n.group(x.name), dict(x.after))),
    a.DeleteGroup: Rule(
        _is("metadata"),
        lambda x: f"the org has this permission set group; the config: "
                  f"{x.reason or 'absent'}",
        lambda x, n: audit.group_created(n.group(x.name))),
    a.AddGroupComponent: Rule(
        _is("narrowing"), lambda x: f"the group lacks permission set {x.permission_set}",
        lambda x, n: audit.group_component(n.group(x.group), n.set(x.permission_set),
                                           added=False)),
    a.RemoveGroupComponent: Rule(
        _is("widening"),
        lambda x: f"the group also holds permission set {x.permission_set}, which the "
                  "config does not put in it",
        lambda x, n: audit.group_component(n.group(x.group), n.set(x.permission_set),
                                           added=True)),
    a.CreateUser: Rule(
        _is("narrowing"), lambda x: "the org lacks this user", lambda x, n: None),
    a.UpdateUser: Rule(
        _is("metadata"), lambda x: _values(x.before, x.after),
        lambda x, n: audit.user_attributes(n.user(x.username), dict(x.after))),
    # Another license, or another profile of the same one: a profile carries
    # permissions of its own that the reconciler doesn't compare, so either widens.
    a.ChangeUserProfile: Rule(
        _is("widening"),
        lambda x: f"profile: the org has {x.before} (license {x.license_before}); the "
                  f"config {x.after} (license {x.license_after})",
        lambda x, n: audit.user_profile(n.user(x.username), (x.before,))),
    # The plan would deactivate: the org has the user active (re-activated).
    a.DeactivateUser: Rule(
        _is("widening"), lambda x: "the user is active in the org; the config says "
                                   "active: false",
        lambda x, n: audit.user_activity(n.user(x.username), activated=True)),
    a.ReactivateUser: Rule(
        _is("narrowing"), lambda x: "the user is inactive in the org; the config says "
                                    "active: true",
        lambda x, n: audit.user_activity(n.user(x.username), activated=False)),
    a.AssignPermissionSetLicense: Rule(
        _is("narrowing"), lambda x: f"the user lacks permission set license {x.target}",
        lambda x, n: audit.psl_assignment(n.psl(x.target), n.user(x.username), added=False)),
    a.UnassignPermissionSetLicense: Rule(
        _is("widening"),
        lambda x: f"the user also holds permission set license {x.target}, which the "
                  "config does not give",
        lambda x, n: audit.psl_assignment(n.psl(x.target), n.user(x.username), added=True)),
    a.AssignPermissionSet: Rule(
        _is("narrowing"), lambda x: f"the user lacks permission set {x.target}",
        lambda x, n: audit.set_assignment(n.set(x.target), n.user(x.username), added=False)),
    a.UnassignPermissionSet: Rule(
        _is("widening"),
        lambda x: f"the user also holds permission set {x.target}, which the config "
                  "does not give",
        lambda x, n: audit.set_assignment(n.set(x.target), n.user(x.username), added=True)),
    a.AssignGroup: Rule(
        _is("narrowing"), lambda x: f"the user lacks permission set group {x.target}",
        lambda x, n: audit.group_assignment(n.group(x.target), n.user(x.username), added=False)),
    a.UnassignGroup: Rule(
        _is("widening"),
        lambda x: f"the user also holds permission set group {x.target}, which the "
                  "config does not give",
        lambda x, n: audit.group_assignment(n.group(x.target), n.user(x.username), added=True)),
}
#: A managed set whose license differs: apply can't fix it in place (Salesforce sets a
#: license at creation), so it is not a plan action; it widens (another licence).
LICENSE_KIND = "permission_set_license_changed"


# -- finding drift (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
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
    source: str = "audit_trail"

    @classmethod
    def of(cls, entry: AuditEntry, running_user: str) -> Evidence:
        return cls(at=entry.when, by=entry.by, action=entry.action, section=entry.section,
                   display=entry.display, delegate=entry.delegate,
                   by_reconciler=bool(entry.by) and entry.by.casefold()
                   == running_user.casefold())

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "by": self.by, "action": self.action, "section": self.section,
                "display": self.display, "delegate": self.delegate,
                "by_reconciler": self.by_reconciler, "source": self.source}

    @classmethod
    def from_json(cls, data: Any) -> Evidence | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(at=str(data["at"]), by=str(data["by"]), action=str(data["action"]),
                       section=str(data["section"]), display=str(data["display"]),
                       delegate=data.get("delegate"),
                       by_reconciler=bool(data.get("by_reconciler")),
                       source="previous_report")
        except KeyError:
            return None


@dataclass(frozen=True)
class DriftItem:
    """One difference between the org and the config."""

    kind: str
    address: str
    resource: str
    severity: Severity
    summary: str
    config_location: str | None = None
    #: What apply would do about it (None: apply can't, see the summary).
    fix: Action | None = None
    clue: Clue | None = field(default=None, compare=False, repr=False)
    attribution: tuple[Evidence, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.address}"

    @property
    def key(self) -> str:
        """Identity for deduplication: the same key is the same drift."""
        return f"{self.severity}|{self.id}|{self.summary}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "address": self.address,
            "resource": self.resource, "severity": self.severity, "summary": self.summary,
            "config_location": self.config_location,
            "fix": self.fix.to_json() if self.fix is not None else None,
            "attribution": {"status": "found" if self.attribution else "unknown",
                            "changes": [e.to_json() for e in self.attribution]},
        }


def find_drift(config: Config, live: Live, running_user: str) -> tuple[list[DriftItem],
                                                                       list[str]]:
    """Every difference between the org and the config, graded; and notes.

    Raises :class:`PlanRejected` when the config can't be compared with this org (a
    name the org lacks…). A changed set license is drift, not an error; what apply
    would refuse (seats, lifecycle, our own user) becomes a note.
    """
    changes = diff(config, live)
    desired = changes.desired
    checker = Checker(config, desired, live, changes.actions, running_user)
    problems = checker.comparable()
    if problems:
        raise PlanRejected(problems)
    refusals = checker.applicable()
    labels = Labels(config, live)
    items = [_item(config, action, labels) for action in changes.actions]
    for change in license_changes(config, desired, live):
        address = f"permission_sets.{change.name}.license"
        items.append(DriftItem(
            kind=LICENSE_KIND, address=address, resource=f"permission_sets.{change.name}",
            severity="widening",
            summary=(f"license: the org has {change.live or 'none'}, the config "
                     f"{change.wanted or 'none'} (a license is set at creation: apply "
                     "can't change it; delete the set or give the new one another name)"),
            config_location=_where(config, address),
            clue=audit.set_created(labels.set(change.name), change.live)))
    items.sort(key=lambda i: (SEVERITIES.index(i.severity), i.address, i.kind))
    notes = [f"{address}: {message}" for address, message in changes.observed]
    notes += [f"apply would refuse: {problem}" for problem in refusals]
    notes += group_status_warnings(desired, live)
    return items, notes


def _where(config: Config, address: str) -> str | None:
    where = location_of(config, address)
    return str(where) if where is not None else None


def _item(config: Config, action: Action, labels: Labels) -> DriftItem:
    rule = RULES[type(action)]
    return DriftItem(kind=action.kind, address=action.address, resource=action.resource,
                     severity=rule.severity(action), summary=rule.describe(action),
                     config_location=_where(config, action.address), fix=action,
                     clue=rule.clue(action, labels))


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
        out.append(replace(item, attribution=evidence))
    return out


# -- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One drift check of one org."""

    org: OrgRef
    config_path: str
    config_digest: str
    checked_at: str
    items: tuple[DriftItem, ...]
    notes: tuple[str, ...] = ()
    audit_since: str = ""
    audit_rows: int = 0
    read_calls: int = 0
    audit_calls: int = 0

    def count(self, severity: Severity) -> int:
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

    def to_json(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "checked_at": self.checked_at,
            "status": self.status,
            "exit_code": self.exit_code,
            "digest": self.digest,
            "org": {"name": self.org.name, "org_id": self.org.org_id,
                    "instance_url": self.org.instance_url,
                    "running_user": self.org.running_user},
            "config": {"path": self.config_path, "digest": self.config_digest},
            "summary": {"items": len(self.items),
                        **{s: self.count(s) for s in SEVERITIES}},
            "items": [i.to_json() for i in self.items],
            "notes": list(self.notes),
            "audit_trail": {"since": self.audit_since, "rows": self.audit_rows},
            "api_calls": {"read": self.read_calls, "audit_trail": self.audit_calls,
                          "total": self.read_calls + self.audit_calls},
        }


@dataclass(frozen=True)
class Previous:
    """What a new run needs of the last report: when, which org, who did what."""

    checked_at: datetime | None
    org_id: str
    attribution: dict[str, tuple[Evidence, ...]]

    @classmethod
    def from_json(cls, data: Any) -> Previous | None:
        if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT or data.get(
                "version") != REPORT_VERSION:
            return None
        attribution: dict[str, tuple[Evidence, ...]] = {}
        for item in data.get("items") or ():
            if not isinstance(item, dict):
                continue
            key = f"{item.get('severity')}|{item.get('id')}|{item.get('summary')}"
            changes = (item.get("attribution") or {}).get("changes") or ()
            found = tuple(e for e in map(Evidence.from_json, changes) if e is not None)
            if found:
                attribution[key] = found
        return cls(checked_at=audit.parse_datetime(data.get("checked_at")),
                   org_id=str((data.get("org") or {}).get("org_id", "")),
                   attribution=attribution)


def window_start(now: datetime, since: timedelta | None, previous: Previous | None) -> datetime:
    """Where the audit-trail window opens: ``--since``, else the last run, else 7 days."""
    if since is not None:
        return now - since
    if previous is not None and previous.checked_at is not None:
        return min(previous.checked_at - OVERLAP, now)
    return now - DEFAULT_SINCE


def check(config: Config, client: OrgReader, *, org_name: str, since: timedelta | None = None,
          previous: Previous | None = None, now: datetime | None = None) -> Report:
    """Read the org as ``plan`` does, plus one audit-trail query: the drift report."""
    now = now or datetime.now(UTC)
    live = read(client, claims_for(config))
    org = OrgRef(org_name, client.org_id, client.instance_url, client.username)
    items, notes = find_drift(config, live, org.running_user)
    if previous is not None and previous.org_id != org.org_id:
        previous = None  # another org under the same name: its history is not ours
    start = window_start(now, since, previous)
    before = client.calls
    try:
        entries = audit.read_audit_trail(client, start)
    except ApiError as exc:
        # Only users with View Setup and Configuration see the audit trail at all.
        if exc.error_code != "INVALID_TYPE":
            raise
        entries = []
        notes.append(f"the running user {org.running_user} can't read the Setup Audit Trail "
                     "(it needs the View Setup and Configuration permission): no change is "
                     "attributed")
    audit_calls = client.calls - before
    items = attribute(items, entries, running_user=org.running_user,
                      earlier=previous.attribution if previous else None)
    return Report(org=org, config_path=str(config.path), config_digest=config.digest,
                  checked_at=iso(now), items=tuple(items), notes=tuple(notes),
                  audit_since=iso(start), audit_rows=len(entries),
                  read_calls=live.api_calls, audit_calls=audit_calls)


# -- rendering ---------------------------------------------------------------------------------

_COLOURS = {"widening": "31", "narrowing": "33", "metadata": "36", "bold": "1", "dim": "2"}


def _paint(color: bool) -> Callable[[str, str], str]:
    def paint(text: str, what: str) -> str:
        return f"\x1b[{_COLOURS[what]}m{text}\x1b[0m" if color else text
    return paint


def _calls_line(report: Report) -> str:
    return (f"API calls: {report.read_calls} to read the org (as plan) + "
            f"{report.audit_calls} audit-trail query = "
            f"{report.read_calls + report.audit_calls}")


def _audit_line(report: Report) -> str:
    rows = f"{report.audit_rows} row{'' if report.audit_rows == 1 else 's'}"
    return f"Setup Audit Trail: {rows} since {report.audit_since}"


def _counts(report: Report) -> str:
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
        lines.append(paint(f"Drift: {_counts(report)} · exit {report.exit_code}", "bold"))
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
        lines[-1] += f" {_counts(report)}, exit {report.exit_code}."
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
    if compact:
        return json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)


def render(report: Report, fmt: str, *, color: bool = False, compact: bool = False) -> str:
    if fmt == "json":
        return as_json(report, compact=compact)
    if fmt == "markdown":
        return markdown(report)
    return text(report, color=color)


# -- notifications --------------------------------------------------------------------------

Event = Literal["drift", "changed", "resolved"]


def mask_url(url: str) -> str:
    """A webhook URL safe to print: scheme and host only (``https://hooks.slack.com/…``).

    Webhook URLs carry their secret in the path or query, so that is never shown.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host += f":{parts.port}"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme or '?'}://{host}{hidden}"


def _scrub(text: str, url: str) -> str:
    parts = urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    text = text.replace(url, mask_url(url))
    for piece in (secret, parts.path, parts.query):
        if piece and piece != "/":
            text = text.replace(piece, "/…")
    return text


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str = ""


@dataclass(frozen=True)
class Webhook:
    """A URL that takes a JSON POST (Slack's incoming webhooks, or anything else)."""

    url: str
    timeout: float = 10.0
    attempts: int = 3
    backoff: float = 0.5

    def __repr__(self) -> str:
        return f"Webhook({mask_url(self.url)!r})"

    @property
    def shown(self) -> str:
        return mask_url(self.url)

    def post(self, body: Mapping[str, Any]) -> Delivery:
        """POST ``body`` as JSON; retry drops, timeouts, 429 and 5xx with backoff
        (``Retry-After`` honoured up to 30 s). Never raises."""
        error = ""
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            try:
                resp = requests.post(self.url, json=body,
                                     timeout=(min(5.0, self.timeout), self.timeout))
            except requests.RequestException as exc:
                error = _scrub(f"{type(exc).__name__}: {_innermost(exc)}", self.url)
            else:
                if resp.status_code < 300:
                    return Delivery(True, attempt)
                error = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
                if resp.status_code != 429 and resp.status_code < 500:
                    return Delivery(False, attempt, error)
                after = _retry_after(resp.headers.get("Retry-After"))
                if after is not None:
                    wait = min(after, 30.0)
            if attempt < self.attempts:
                time.sleep(wait)
        return Delivery(False, self.attempts, error)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _innermost(exc: BaseException) -> str:
    seen: BaseException = exc
    while True:
        inner = seen.__cause__ or seen.__context__
        reason = getattr(seen, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else inner
        if nxt is None or nxt is seen:
            break
        seen = nxt
    return re.sub(r"^<[^>]*>: ", "", str(seen) or type(seen).__name__)


def webhook(value: str) -> Webhook:
    """``--notify``: a URL, or ``${env.NAME}`` naming the variable that holds it."""
    name = env_reference(value)
    url = value
    if name is not None:
        url = os.environ.get(name, "")
        if not url:
            raise UsageError(f"--notify: the environment variable {name} is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--notify needs an http(s) URL, got {mask_url(url)!r}")
    return Webhook(url)


def notification_due(report: Report, last: Notified | None) -> Event | None:
    """What to send: new drift, changed drift, resolved drift, or nothing (the same
    drift as last notified, or still clean)."""
    if report.items:
        if last is None or not last.digest:
            return "drift"
        return None if last.digest == report.digest else "changed"
    return "resolved" if last is not None and last.digest else None


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
        lines = [f"{head} in org {org} {verb} {_counts(report)}, exit {report.exit_code}"]
        for item in report.items[:limit]:
            e = item.attribution[0] if item.attribution else None
            who = f"{e.by or 'unknown user'} at {e.at}" if e else "who: unknown"
            lines.append(f"• [{item.severity}] `{_slack(item.address)}`: "
                         f"{_slack(item.summary)} ({_slack(who)})")
        if len(report.items) > limit:
            lines.append(f"…and {len(report.items) - limit} more")
        lines.append("Fix with `reconciler plan` + `reconciler apply`.")
        text_ = "\n".join(lines)
    return {"text": text_, "event": event, "report": report.to_json()}


# -- state under .reconciler/<org>/drift -------------------------------------------------------


@dataclass(frozen=True)
class Notified:
    """The last notification delivered: of which drift (digest; "" = resolved)."""

    org_id: str
    digest: str
    event: str
    at: str


class State:
    """A drift run's memory, per org, beside the config: the last report, the last
    notification, and the lock that keeps runs from overlapping."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.report_path = path / "last-report.json"
        self.notified_path = path / "notified.json"
        self.lock_path = path / "lock"

    def previous(self) -> Previous | None:
        return Previous.from_json(_read_json(self.report_path))

    def save_report(self, report: Report) -> None:
        _write_json(self.report_path, report.to_json())

    def notified(self, org_id: str) -> Notified | None:
        data = _read_json(self.notified_path)
        if not isinstance(data, dict) or data.get("org_id") != org_id:
            return None
        return Notified(org_id, str(data.get("digest") or ""), str(data.get("event") or ""),
                        str(data.get("at") or ""))

    def save_notified(self, notified: Notified) -> None:
        _write_json(self.notified_path, {"org_id": notified.org_id, "digest": notified.digest,
                                         "event": notified.event, "at": notified.at})

    def lock(self, org_name: str) -> FileLock:
        """The org's drift lock, to hold for a run or a schedule; refused if it is held."""
        return FileLock(self.lock_path, f"drift for org {org_name} is already running")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    """Write atomically and privately: a reader (or a killed run) never sees half a file."""
    try:
        private_dir(path.parent)
        write_private(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ReconcilerError(f"can't save drift state to {path}: "
                              f"{exc.strerror or exc}") from None


# -- running: once, or on a schedule -----------------------------------------------------------


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(value: str, option: str) -> float:
    """``30s``, ``15m``, ``1h``, ``1h30m``, ``0.5s``, ``7d`` → seconds (> 0)."""
    text = value.strip().lower()
    if not text or _DURATION.sub("", text) != "":
        raise UsageError(f"{option}: {value!r} is not a duration (like 30s, 15m, 1h, 7d)")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    if seconds <= 0:
        raise UsageError(f"{option}: the duration must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


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
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
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


class Console(Protocol):
    """Where a run's output goes (the CLI prints; tests may collect)."""

    def out(self, text: str) -> None: ...

    def err(self, text: str) -> None: ...

    def error(self, exc: ReconcilerError) -> None: ...


class RunAbandoned(BaseException):
    """A stop signal arrived while a run was only reading: it is dropped (internal).

    A BaseException, so that no ``except Exception`` on the way swallows it.
    """


class Stopper:
    """SIGTERM/SIGINT for a scheduler: stop between runs; abandon a run that is only
    reading (nothing written, nothing sent); let one that is reporting finish."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._abandonable = False
        self.signal = ""

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when a stop was asked for."""
        return self._event.wait(max(0.0, seconds))

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.signal = signal.Signals(signum).name
        self._event.set()
        if self._abandonable:
            self._abandonable = False
            raise RunAbandoned(self.signal)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextlib.contextmanager
    def abandonable(self) -> Iterator[Callable[[], None]]:
        """A block a stop signal may cut short; it yields ``settle()``, which ends that."""
        if self.stopped:
            raise RunAbandoned(self.signal)
        self._abandonable = True
        try:
            yield self._settle
        finally:
            self._abandonable = False

    def _settle(self) -> None:
        self._abandonable = False


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
            return _once(config, org.name, opts, state, console, _uninterruptible)
        return _schedule(load, org.name, opts, state, console)


Reading = Callable[[], contextlib.AbstractContextManager[Callable[[], None]]]


@contextlib.contextmanager
def _uninterruptible() -> Iterator[Callable[[], None]]:
    yield lambda: None


def _once(config: Config, org_name: str, opts: Options, state: State, console: Console,
          reading: Reading) -> int:
    previous = state.previous()
    with reading() as settle, open_org(config, org_name) as (org, client):
        report = check(config, client, org_name=org.name, since=opts.since, previous=previous)
        settle()  # the report is made: closing the connection is not to be cut short
    # From here on the run finishes whatever happens: output, notification, state.
    scheduled = opts.every is not None
    shown = render(report, opts.fmt, color=opts.color, compact=scheduled)
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
        state.save_notified(Notified(report.org.org_id, report.digest, event,
                                     report.checked_at))
        console.err(f"Notified {hook.shown} ({event}).")
    else:
        console.err(f"Warning: the notification to {hook.shown} failed after "
                    f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}: "
                    f"{delivery.error}; the next run tries again.")


def _schedule(load: Callable[[], Config], org_name: str, opts: Options, state: State,
              console: Console) -> int:
    assert opts.every is not None
    stopper = Stopper()
    code, done = 0, 0
    with stopper.installed():
        while True:
            started = time.monotonic()
            try:
                code = _once(load(), org_name, opts, state, console, stopper.abandonable)
            except RunAbandoned:
                console.err(f"Stopped by {stopper.signal}: the run in progress was abandoned "
                            "(it had only been reading; nothing was sent or saved).")
                return 0
            except ReconcilerError as exc:
                console.error(exc)
                code = 1
            done += 1
            if stopper.stopped:
                console.err(f"Stopped by {stopper.signal} after {done} "
                            f"run{'s' if done != 1 else ''}.")
                return 0
            if opts.runs is not None and done >= opts.runs:
                return code
            delay = opts.every * random.uniform(1 - JITTER, 1 + JITTER)
            delay = max(0.0, delay - (time.monotonic() - started))
            at = iso(datetime.now(UTC) + timedelta(seconds=delay))
            console.err(f"Next drift run in {format_duration(delay)} (at {at}).")
            if stopper.wait(delay):
                console.err(f"Stopped by {stopper.signal} after {done} "
                            f"run{'s' if done != 1 else ''}.")
                return 0
