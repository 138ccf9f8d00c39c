"""Drift's one table: each action kind of the plan → severity, words, audit-trail clue.

Drift is the plan seen from the other side: an action that *removes* access (unassign,
revoke, narrow, disable, deactivate) means the org holds *more* than the config, which
is **widening** drift; one that would add access means the org holds less
(**narrowing**); labels, descriptions and user attributes are **metadata**.
:data:`RULES` grades each action kind, says what the org has in words, and knows what
Setup writes in its audit trail for it (:mod:`reconciler.trail`). Pure: values in,
values out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reconciler import actions as a
from reconciler import trail
from reconciler.actions import Action
from reconciler.config import Config
from reconciler.live import Live
from reconciler.trail import Clue

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
    return "; ".join(f"{k}: the org has {_value(have.get(k))}, the config {_value(want.get(k))}"
                     for k in sorted(want))


def _value(value: object) -> str:
    """A value as a summary shows it: quoted, or ``none`` when there is none."""
    return "none" if value is None or value == "" else repr(value)


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
    return trail.system_permissions(n.set(x.name), (*x.disable, *x.enable), enabled=enabled)


RULES: dict[type[Action], Rule] = {
    a.CreatePermissionSet: Rule(
        _is("narrowing"), lambda x: "the org lacks this permission set",
        lambda x, n: trail.set_deleted(n.set(x.name))),
    a.UpdatePermissionSet: Rule(
        _is("metadata"), lambda x: _values(x.before, x.after),
        lambda x, n: trail.set_attributes(n.set(x.name), dict(x.after))),
    a.SetSystemPermissions: Rule(
        lambda x: "widening" if x.disable else "narrowing", _system, _system_clue),
    a.DeletePermissionSet: Rule(
        _is("metadata"),
        lambda x: f"the org has this permission set; the config: {x.reason or 'absent'}",
        lambda x, n: trail.set_created(n.set(x.name))),
    a.GrantObjectAccess: Rule(
        _is("narrowing"), lambda x: _access((), x.after),
        lambda x, n: trail.object_access(n.set(x.permission_set), x.sobject)),
    a.ChangeObjectAccess: Rule(
        lambda x: _wider(x.before, x.after), lambda x: _access(x.before, x.after),
        lambda x, n: trail.object_access(n.set(x.permission_set), x.sobject)),
    a.RevokeObjectAccess: Rule(
        _is("widening"), lambda x: _access(x.before, ()),
        lambda x, n: trail.object_access(n.set(x.permission_set), x.sobject)),
    a.GrantFieldAccess: Rule(
        _is("narrowing"), lambda x: _access((), x.after),
        lambda x, n: trail.field_access(n.set(x.permission_set), x.field)),
    a.ChangeFieldAccess: Rule(
        lambda x: _wider(x.before, x.after), lambda x: _access(x.before, x.after),
        lambda x, n: trail.field_access(n.set(x.permission_set), x.field)),
    a.RevokeFieldAccess: Rule(
        _is("widening"), lambda x: _access(x.before, ()),
        lambda x, n: trail.field_access(n.set(x.permission_set), x.field)),
    a.GrantSetupEntityAccess: Rule(
        _is("narrowing"), lambda x: f"the set lacks access to {x.list_name} {x.entity}",
        lambda x, n: trail.setup_entity_access(n.set(x.permission_set), x.entity)),
    a.RevokeSetupEntityAccess: Rule(
        _is("widening"),
        lambda x: f"the set also gives access to {x.list_name} {x.entity}, which the "
                  "config does not list",
        lambda x, n: trail.setup_entity_access(n.set(x.permission_set), x.entity)),
    a.CreateGroup: Rule(
        _is("narrowing"), lambda x: "the org lacks this permission set group",
        lambda x, n: trail.group_deleted(n.group(x.name))),
    a.UpdateGroup: Rule(
        _is("metadata"), lambda x: _values(x.before, x.after),
        lambda x, n: trail.group_attributes(n.group(x.name), dict(x.after))),
    a.DeleteGroup: Rule(
        _is("metadata"),
        lambda x: f"the org has this permission set group; the config: "
                  f"{x.reason or 'absent'}",
        lambda x, n: trail.group_created(n.group(x.name))),
    a.AddGroupComponent: Rule(
        _is("narrowing"), lambda x: f"the group lacks permission set {x.permission_set}",
        lambda x, n: trail.group_component(n.group(x.group), n.set(x.permission_set),
                                           added=False)),
    a.RemoveGroupComponent: Rule(
        _is("widening"),
        lambda x: f"the group also holds permission set {x.permission_set}, which the "
                  "config does not put in it",
        lambda x, n: trail.group_component(n.group(x.group), n.set(x.permission_set),
                                           added=True)),
    a.CreateUser: Rule(
        _is("narrowing"), lambda x: "the org lacks this user", lambda x, n: None),
    a.UpdateUser: Rule(
        _is("metadata"), lambda x: _values(x.before, x.after),
        lambda x, n: trail.user_attributes(n.user(x.username), dict(x.after))),
    # Another license, or another profile of the same one: a profile carries
    # permissions of its own that the reconciler doesn't compare, so either widens.
    a.ChangeUserProfile: Rule(
        _is("widening"),
        lambda x: f"profile: the org has {x.before} (license {x.license_before}); the "
                  f"config {x.after} (license {x.license_after})",
        lambda x, n: trail.user_profile(n.user(x.username), (x.before,))),
    # The plan would deactivate: the org has the user active (re-activated).
    a.DeactivateUser: Rule(
        _is("widening"), lambda x: "the user is active in the org; the config says "
                                   "active: false",
        lambda x, n: trail.user_activity(n.user(x.username), activated=True)),
    a.ReactivateUser: Rule(
        _is("narrowing"), lambda x: "the user is inactive in the org; the config says "
                                    "active: true",
        lambda x, n: trail.user_activity(n.user(x.username), activated=False)),
    a.AssignPermissionSetLicense: Rule(
        _is("narrowing"), lambda x: f"the user lacks permission set license {x.target}",
        lambda x, n: trail.psl_assignment(n.psl(x.target), n.user(x.username), added=False)),
    a.UnassignPermissionSetLicense: Rule(
        _is("widening"),
        lambda x: f"the user also holds permission set license {x.target}, which the "
                  "config does not give",
        lambda x, n: trail.psl_assignment(n.psl(x.target), n.user(x.username), added=True)),
    a.AssignPermissionSet: Rule(
        _is("narrowing"), lambda x: f"the user lacks permission set {x.target}",
        lambda x, n: trail.set_assignment(n.set(x.target), n.user(x.username), added=False)),
    a.UnassignPermissionSet: Rule(
        _is("widening"),
        lambda x: f"the user also holds permission set {x.target}, which the config "
                  "does not give",
        lambda x, n: trail.set_assignment(n.set(x.target), n.user(x.username), added=True)),
    a.AssignGroup: Rule(
        _is("narrowing"), lambda x: f"the user lacks permission set group {x.target}",
        lambda x, n: trail.group_assignment(n.group(x.target), n.user(x.username), added=False)),
    a.UnassignGroup: Rule(
        _is("widening"),
        lambda x: f"the user also holds permission set group {x.target}, which the "
                  "config does not give",
        lambda x, n: trail.group_assignment(n.group(x.target), n.user(x.username), added=True)),
}
#: A managed set whose license differs: apply can't fix it in place (Salesforce sets a
#: license at creation), so it is not a plan action; it widens (another licence).
LICENSE_KIND = "permission_set_license_changed"

#: The kind of a drift item that is a policy violation in the org: always widening (the
#: org grants what the policy forbids); apply can't fix it, the config or the org must.
POLICY_KIND = "policy_violation"
