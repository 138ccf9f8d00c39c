"""One drift check: read the org exactly as ``plan`` reads it, plus one Setup Audit
Trail query, and make the report. The shell step of drift: it talks to the org (read
only, never a write) and reads the clock; the rest is the pure modules beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.config import Config
from reconciler.drift.attribute import Previous, attribute, window_start
from reconciler.drift.find import find_drift, policy_items
from reconciler.drift.report import ApiCalls, AuditWindow, ConfigRef, Report
from reconciler.errors import ApiError
from reconciler.org import audit
from reconciler.org.reader import read
from reconciler.plan import claims_for
from reconciler.policy import evaluate, policy_of
from reconciler.policy.render import waiver_line
from reconciler.trail import iso
from reconciler.workflow import OrgReader, config_users_access, org_ref


def check(config: Config, client: OrgReader, *, org_name: str, since: timedelta | None = None,
          previous: Previous | None = None, now: datetime | None = None) -> Report:
    """Read the org as ``plan`` does, plus one audit-trail query: the drift report."""
    now = now or datetime.now(UTC)
    live = read(client, claims_for(config))
    org = org_ref(client, org_name)
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
    policy_calls = 0
    if config.policies is not None:
        access = config_users_access(config, client, live=live)
        policy_calls = access.api_calls
        checked = evaluate(policy_of(config), access, config, now.date(), point="org")
        items += policy_items(checked)
        notes += [f"policy: {waiver_line(w)}" for w in checked.waivers]
    items = attribute(items, entries, running_user=org.running_user,
                      earlier=previous.attribution if previous else None)
    return Report(org=org, config=ConfigRef(path=str(config.path), digest=config.digest),
                  checked_at=iso(now), items=tuple(items), notes=tuple(notes),
                  audit_trail=AuditWindow(since=iso(start), rows=len(entries)),
                  api_calls=ApiCalls(read=live.api_calls + policy_calls,
                                    audit_trail=audit_calls))
