"""Evaluating a policy on effective access: violations, each at the config line that
grants the access; waived violations; the waivers in force.

The access is an :class:`~reconciler.access.OrgAccess`: read from the org (drift,
``policy check``), as a plan would leave it (:func:`~reconciler.access.after_plan`), or
as the config alone describes it (:func:`config_access`, for ``validate``). Pure: the
day that decides whether a waiver has expired is passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from reconciler.access import Effective, GroupAccess, OrgAccess, effective, path_text
from reconciler.checks import location_of
from reconciler.config import Config, Location
from reconciler.errors import Problem
from reconciler.model import (
    INTEGRATION_PROFILES,
    SETUP_ENTITY_TYPES,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    User,
)
from reconciler.policy.rules import Policy, Rule, Waiver, matches

__all__ = ["Evaluation", "Violation", "config_access", "evaluate"]

Path = tuple[str, ...]
_ENTITY_KEYS = {t: key for key, t in SETUP_ENTITY_TYPES.items()}
#: What the integration profiles grant whatever an admin edits: API access, API only
#: (docs/salesforce-behaviour.md, "Policy").
_INTEGRATION_PROFILE_GRANTS = frozenset({"ApiEnabled", "ApiUserOnly"})


@dataclass(frozen=True)
class Violation:
    """One breach of a rule by one user (or set), with what grants it and where."""

    rule: str
    subject: str
    right: str
    message: str
    address: str | None = None
    location: Location | None = None
    paths: tuple[Path, ...] = ()
    #: The waiver that switches it off, for a waived violation.
    waiver: Waiver | None = None

    def problem(self) -> Problem:
        """The violation as a located problem (validate's and plan's refusals)."""
        return (self.location.problem(self.message) if self.location is not None
                else Problem(self.message))


@dataclass(frozen=True)
class Evaluation:
    """A policy evaluated at one point (``config``, ``plan`` or ``org``)."""

    point: str
    rules: tuple[Rule, ...]
    violations: tuple[Violation, ...]
    waived: tuple[Violation, ...]
    #: The waivers in force (not expired, naming a rule in force).
    waivers: tuple[Waiver, ...]

    def problems(self) -> list[Problem]:
        """Every violation as a located problem."""
        return [v.problem() for v in self.violations]


def config_access(config: Config) -> OrgAccess:
    """The access the config alone describes: its users, sets and groups; the integration
    profiles with what they always grant. Sets and profiles only the org knows grant
    nothing here (``plan`` and ``drift`` see them)."""
    sets = {name.casefold(): ps for name, ps in config.permission_sets.items() if not ps.absent}
    groups = {name.casefold(): GroupAccess(g.name, tuple(sorted(g.permission_sets,
                                                                key=str.casefold)))
              for name, g in config.permission_set_groups.items() if not g.absent}
    profiles = {p.casefold(): PermissionSet(p, p, system_permissions=_INTEGRATION_PROFILE_GRANTS)
                for p in INTEGRATION_PROFILES}
    return OrgAccess(users=config.users, sets=FrozenMap(sets), profiles=FrozenMap(profiles),
                     groups=FrozenMap(groups), scope=tuple(sorted(config.users)))


def evaluate(policy: Policy, org: OrgAccess, config: Config, today: date, *,
             point: str) -> Evaluation:
    """Every rule of ``policy`` on every active user of ``org`` (and the config's sets),
    waivers applied; an expired waiver, or one naming no rule in force, is a violation."""
    found: list[Violation] = []
    for username in sorted(org.users):
        user = org.users[username]
        if not user.active:
            continue
        eff = effective(org, username)
        for rule in policy.rules:
            if rule.scope.covers(user):
                found += _Check(rule, user, eff, config).run()
    for rule in policy.rules:
        if rule.require_description:
            found += _descriptions(rule, config)
    known = {r.id for r in policy.rules}
    in_force = tuple(w for w in policy.waivers if w.rule in known and not w.expired(today))
    violations, waived = [], []
    for violation in found:
        waiver = next((w for w in in_force if _waives(w, violation)), None)
        if waiver is None:
            violations.append(violation)
        else:
            waived.append(replace(violation, waiver=waiver))
    violations += _bad_waivers(policy.waivers, known, today)
    return Evaluation(point, policy.rules, tuple(violations), tuple(waived), in_force)


def _waives(waiver: Waiver, violation: Violation) -> bool:
    if waiver.rule != violation.rule:
        return False
    if waiver.kind == "user":
        return violation.subject.casefold() == waiver.name.casefold()
    if violation.subject.casefold() == waiver.name.casefold():  # a set's own violation
        return True
    # Waived for a set: every path granting the right goes through that set.
    return bool(violation.paths) and all(
        p[0] != "profile" and p[-1].casefold() == waiver.name.casefold() for p in violation.paths)


def _bad_waivers(waivers: tuple[Waiver, ...], known: set[str], today: date) -> list[Violation]:
    out = []
    for w in waivers:
        if w.rule not in known:
            message = f"waiver for {w.subject()} names no rule in force: {w.rule}"
        elif w.expired(today):
            message = (f"policy {w.rule}: the waiver for {w.subject()} expired on {w.expires} "
                       "(renew it with a new date, or remove it)")
        else:
            continue
        out.append(Violation(rule=w.rule, subject=w.name, right="waiver", message=message,
                             location=w.location))
    return out


def _descriptions(rule: Rule, config: Config) -> Iterator[Violation]:
    for name, ps in sorted(config.permission_sets.items()):
        if ps.absent or ps.description.strip() or not rule.scope.counts(name):
            continue
        address = f"permission_sets.{name}"
        yield Violation(rule=rule.id, subject=name, right="description",
                        message=f"policy {rule.id}: permission set {name} has no description "
                                f"({rule.reason})",
                        address=address, location=location_of(config, address))


class _Check:
    """One rule on one user's effective access."""

    def __init__(self, rule: Rule, user: User, eff: Effective, config: Config) -> None:
        self.rule = rule
        self.user = user
        self.eff = eff
        self.config = config
        self.found: list[Violation] = []

    def counted(self, paths: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(p for p in paths if self.rule.scope.counts(p[-1]))

    def run(self) -> list[Violation]:
        self.system()
        self.objects()
        self.fields()
        self.setup()
        self.edit_count()
        return self.found

    def add(self, right: str, what: str, paths: tuple[Path, ...], grant: str) -> None:
        """``grant`` is the right's address inside a set (``system_permissions["X"]``)."""
        # The line to point at: a set the config declares, where the right can be taken
        # away, before an assignment or the profile.
        primary = next((p for p in paths if p[0] != "profile" and self.declared(p[-1])),
                       paths[0] if paths else None)
        address = self.address(primary, grant) if primary else (
            f"{self.config.address('users', self.user.username)}.profile")
        via = f" through {'; '.join(path_text(p) for p in paths)}" if paths else ""
        message = f"policy {self.rule.id}: {self.user.username} {what}{via} ({self.rule.title})"
        self.found.append(Violation(
            rule=self.rule.id, subject=self.user.username, right=right, message=message,
            address=address, location=location_of(self.config, address), paths=paths))

    def declared(self, name: str) -> str | None:
        """The config's spelling of the set ``name``, if it declares it."""
        return next((n for n in self.config.permission_sets if n.casefold() == name.casefold()),
                    None)

    def address(self, path: Path, grant: str) -> str:
        """The config line granting through ``path``: the right in a declared set, else
        the assignment of the set (or group), else the user's profile."""
        user = self.config.address("users", self.user.username)
        if path[0] == "profile":
            return f"{user}.profile"
        declared = self.declared(path[-1])
        if declared is not None:
            return f"permission_sets.{declared}.{grant}"
        if path[0] == "group":
            group = next((n for n in self.config.permission_set_groups
                          if n.casefold() == path[1].casefold()), None)
            if group is not None:
                return f'permission_set_groups.{group}.permission_sets["{path[2]}"]'
            return f'{user}.permission_set_groups["{path[1]}"]'
        return f'{user}.permission_sets["{path[1]}"]'

    def system(self) -> None:
        rule = self.rule
        for name, all_paths in sorted(self.eff.system_permissions.items()):
            paths = self.counted(all_paths)
            grant = f'system_permissions["{name}"]'
            if paths and matches(name, rule.deny_system):
                self.add(name, f"holds {name}", paths, grant)
            elif paths and rule.allow_system is not None and not matches(name, rule.allow_system):
                self.add(name, f"holds {name}, which is not allowed", paths, grant)
        held = {n.casefold() for n in self.eff.system_permissions}
        for name in rule.require_system:
            if name.casefold() not in held:
                self.add(name, f"lacks {name} (profile {self.user.profile})", (), "")

    def objects(self) -> None:
        rule = self.rule
        for sobject, grants in self.eff.objects.items():
            counted = {w: self.counted(p) for w, p in grants.items() if self.counted(p)}
            if not counted:
                continue
            exempt = matches(sobject, rule.except_objects)
            denied = [w for w in counted if not exempt and any(
                matches(sobject, (pattern,)) and w in words
                for pattern, words in rule.deny_objects)]
            if rule.allow_objects is not None:
                allowed = {w for pattern, words in rule.allow_objects
                           if matches(sobject, (pattern,)) for w in ObjectAccess.of(words).words}
                denied += [w for w in counted if w not in allowed and w not in denied]
            if denied:
                paths = tuple(dict.fromkeys(p for w in denied for p in counted[w]))
                self.add(f"{sobject}:{'+'.join(denied)}",
                         f"holds {', '.join(denied)} on {sobject}", paths,
                         f'objects["{sobject}"]')

    def fields(self) -> None:
        for name, grants in self.eff.fields.items():
            paths = self.counted(grants.get("edit", ()))
            if paths and matches(name, self.rule.deny_field_edit):
                self.add(f"{name}:edit", f"can edit {name}", paths, f'fields["{name}"]')

    def setup(self) -> None:
        rule = self.rule
        for entity, all_paths in sorted(self.eff.setup_entities.items()):
            paths = self.counted(all_paths)
            if not paths:
                continue
            hit = any(t == entity.type and matches(entity.name, names)
                      for t, names in rule.deny_setup)
            if not hit and rule.allow_setup is not None:
                hit = not any(t == entity.type and matches(entity.name, names)
                              for t, names in rule.allow_setup)
            if hit:
                self.add(f"{entity.type}:{entity.name}",
                         f"has access to {entity.type} {entity.name}", paths,
                         f'{_ENTITY_KEYS.get(entity.type, "setup")}["{entity.name}"]')

    def edit_count(self) -> None:
        limit = self.rule.max_objects_with_edit
        if limit is None:
            return
        editable = sorted(o for o, g in self.eff.objects.items() if self.counted(g.get("edit", ())))
        if len(editable) > limit:
            address = self.config.address("users", self.user.username)
            self.found.append(Violation(
                rule=self.rule.id, subject=self.user.username, right="objects with edit",
                message=f"policy {self.rule.id}: {self.user.username} can edit "
                        f"{len(editable)} objects, more than {limit} "
                        f"({', '.join(editable)})",
                address=address, location=location_of(self.config, address)))
