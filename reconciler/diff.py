"""Desired × live → actions, per natural key. Pure: no network, no ordering.

Names are first made canonical against the live org (:mod:`reconciler.names`: a PSL
written by label or by developer name, a profile in any case, ``account.industry``…), so
that spelling never shows up as a change. Then each resource is compared by its natural
key:

- permission sets and groups by API name: create, update, or delete when declared
  ``absent`` (or undeclared under ``settings.scope.permission_sets.name_prefix``); their access
  entries by (set, object) and (set, field), its setup-entity access by (set, kind,
  name);
- users by username: create, update, profile change, (de)activation; assignments by
  (user, target), revoked only under ``scope.assignments: authoritative``. A PSL that
  a user's sets are licensed to is wanted whether or not the config lists it: Salesforce
  assigns it with the set anyway, and it must not be taken away while the set stays.

``lifecycle.ignore_changes`` keeps the live value of the attributes it names. The
plan checks (``checks.py``) and the order (``graph.py``) come after this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar, cast

from reconciler.actions import (
    Action,
    AddGroupComponent,
    AssignGroup,
    AssignPermissionSet,
    AssignPermissionSetLicense,
    ChangeFieldAccess,
    ChangeObjectAccess,
    ChangeUserProfile,
    CreateGroup,
    CreatePermissionSet,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeletePermissionSet,
    EntityType,
    GrantFieldAccess,
    GrantObjectAccess,
    GrantSetupEntityAccess,
    ReactivateUser,
    RemoveGroupComponent,
    RevokeFieldAccess,
    RevokeObjectAccess,
    RevokeSetupEntityAccess,
    SetSystemPermissions,
    UnassignGroup,
    UnassignPermissionSet,
    UnassignPermissionSetLicense,
    UpdateGroup,
    UpdatePermissionSet,
    UpdateUser,
    values,
)
from reconciler.config import Config
from reconciler.live import Live
from reconciler.model import (
    INTEGRATION_PSL_LABEL,
    SETUP_ENTITY_TYPES,
    PermissionSet,
    PermissionSetGroup,
    SetupEntity,
    State,
    User,
    field_key,
    is_integration_user_license,
)
from reconciler.names import Names, canonical

T = TypeVar("T")

# User attributes an UpdateUser can change (the profile and activity have actions of
# their own).
USER_ATTRIBUTES = ("first_name", "last_name", "email", "alias", "time_zone", "locale",
                   "language", "email_encoding")


@dataclass
class Diff:
    """The actions that make live look like desired, and what to tell the user."""

    #: The desired state with every org name spelled as the org spells it
    #: (:func:`canonical`): what the checks after the diff compare with the org.
    desired: State
    actions: list[Action] = field(default_factory=list)
    #: Differences that scope says to leave alone: (address, message).
    observed: list[tuple[str, str]] = field(default_factory=list)
    #: Actions for no difference: they keep what matches matching through the apply
    #: (a plan runs them after ``actions``; drift has nothing to report about them).
    kept: list[Action] = field(default_factory=list)


# -- the diff ---------------------------------------------------------------------------


def diff(config: Config, live: Live) -> Diff:
    """What to do so that the claimed part of the org matches the config."""
    names = Names(live)
    desired = canonical(config.state, names)
    out = Diff(desired)
    ctx = _Context(config, desired, live, names)
    for name, ps in sorted(desired.permission_sets.items()):
        out.actions += ctx.permission_set(name, ps)
    prefix = config.settings.scope.permission_set_prefix
    if prefix:
        prefixed = [n for n in live.state.permission_sets if n.startswith(prefix)]
        for name in keyed(desired.permission_sets, prefixed).only_held:
            out.actions += ctx.delete_set(name, "not in config (settings.scope."
                                                f"permission_sets.name_prefix {prefix!r})")
    for name, group in sorted(desired.permission_set_groups.items()):
        out.actions += ctx.group(name, group)
    for key, user in sorted(desired.users.items()):
        actions, observed = ctx.user(key, user)
        out.actions += actions
        out.observed += observed
    out.kept = ctx.kept
    return _dedupe(out)


def _dedupe(out: Diff) -> Diff:
    seen: dict[str, Action] = {}
    for action in out.actions:
        seen.setdefault(action.id, action)
    out.actions = list(seen.values())
    return out


@dataclass
class _Context:
    config: Config
    desired: State
    live: Live
    names: Names
    kept: list[Action] = field(default_factory=list)

    # -- helpers --

    def ignored(self, address: str, attribute: str) -> bool:
        return attribute in self.config.lifecycle(address).ignore_changes

    def changed(self, address: str, want: object, have: object, attributes: Iterable[str],
                *, written_only: bool = False) -> tuple[dict[str, object], dict[str, object]]:
        """(before, after) of the attributes that differ and the config manages."""
        before: dict[str, object] = {}
        after: dict[str, object] = {}
        for attr in attributes:
            w, h = getattr(want, attr), getattr(have, attr)
            if w == h or self.ignored(address, attr):
                continue
            if written_only and not self.written(address, attr):
                continue
            before[attr], after[attr] = h, w
        return before, after

    def holders(self, kind: str, name: str) -> list[str]:
        """Usernames holding a set (``kind`` "set") or group ("group") in the org."""
        out = []
        for username, user in sorted(self.live.state.users.items()):
            held = user.permission_sets if kind == "set" else user.permission_set_groups
            if name in held:
                out.append(username)
        out += [username for k, username, target in self.live.other_assignments
                if k == kind and target == name and username not in self.live.state.users]
        return out

    def written(self, address: str, attribute: str) -> bool:
        """Whether the config states this user attribute (directly or as a setting).

        A derived alias or a built-in default fills in a new user; it never overrides
        what an existing user already has.
        """
        if self.config.locate(f"{address}.{attribute}") is not None:
            return True
        return self.config.locate(f"settings.user_defaults.{attribute}") is not None

    def set_license(self, name: str) -> str | None:
        declared = self.desired.permission_sets.get(name)
        if declared is not None:
            return declared.license
        info = self.live.sets.get(name.casefold())
        return info.license if info else None

    def group_members(self, name: str) -> Iterable[str]:
        declared = self.desired.permission_set_groups.get(name)
        # A group declared absent lists no sets: its members are the org's until it goes.
        if declared is not None and not declared.absent:
            return declared.permission_sets
        info = self.live.groups.get(name.casefold())
        return info[1] if info else ()

    def group_licenses(self, name: str) -> tuple[str, ...]:
        return tuple(sorted({lic for s in self.group_members(name)
                             if (lic := self.set_license(s))}))

    def standard_objects(self, name: str) -> tuple[str, ...]:
        """Standard objects a declared or org-only set grants access to."""
        declared = self.desired.permission_sets.get(name)
        if declared is not None:
            return declared.standard_objects
        info = self.live.sets.get(name.casefold())
        return info.standard_objects if info else ()

    def needs(self, sets: Iterable[str], user_license: str | None) -> tuple[str, ...]:
        """Licences a user must hold to be given these sets: each one's own licence, and
        for an integration user the API PSL behind a set with no licence that grants
        standard objects (salesforce.md §1.3)."""
        out = set()
        for s in sets:
            lic = self.set_license(s)
            if lic:
                out.add(lic)
            elif is_integration_user_license(user_license) and self.standard_objects(s):
                out.add(self.names.license(INTEGRATION_PSL_LABEL) or INTEGRATION_PSL_LABEL)
        return tuple(sorted(out))

    def list_needs(self, list_name: str, target: str,
                   user_license: str | None) -> tuple[str, ...]:
        """Licences a user must hold to be given ``target`` from one of its lists."""
        if list_name == "permission_sets":
            return self.needs((target,), user_license)
        if list_name == "permission_set_groups":
            return self.needs(self.group_members(target), user_license)
        return ()

    def implied_psls(self, user: User) -> dict[str, str]:
        """PSL → the set or group that brings it: Salesforce assigns a set's PSL with the
        set, so the config need not list it (and authoritative scope must not remove it)."""
        out: dict[str, str] = {}
        for s in sorted(user.permission_sets):
            lic = self.set_license(s)
            if lic and lic.casefold() in self.live.psls:
                out.setdefault(lic, f"permission set {s}")
        for g in sorted(user.permission_set_groups):
            for s in sorted(self.group_members(g)):
                lic = self.set_license(s)
                if lic and lic.casefold() in self.live.psls:
                    out.setdefault(lic, f"permission set {s} (through group {g})")
        return out

    def user_key(self, username: str) -> str:
        return self.config.address("users", username).split(".", 1)[1]

    # -- permission sets --

    def permission_set(self, name: str, ps: PermissionSet) -> list[Action]:
        address = f"permission_sets.{name}"
        live = _folded(self.live.state.permission_sets, name)
        if ps.absent:
            return self.delete_set(live.name, "declared absent") if live is not None else []
        if live is None:
            actions: list[Action] = [CreatePermissionSet(
                name=name, label=ps.label, description=ps.description, license=ps.license,
                system_permissions=tuple(sorted(ps.system_permissions)))]
            actions += [GrantObjectAccess(permission_set=name, sobject=o, after=a.words)
                        for o, a in sorted(ps.objects.items()) if not a.empty]
            # An activity field's Task and Event rows are one field: granting one grants both.
            fields = {field_key(f): (f, a) for f, a in sorted(ps.fields.items())}
            actions += [GrantFieldAccess(permission_set=name, field=f, after=a.words)
                        for f, a in sorted(fields.values()) if not a.empty]
            actions += self.entity_access(name, ps.setup_entities, frozenset())
            return [self.with_masters(a) for a in actions]
        actions = []
        before, after = self.changed(address, ps, live, ("label", "description"))
        if after:
            actions.append(UpdatePermissionSet(name=name, before=values(before),
                                               after=values(after)))
        if not self.ignored(address, "system_permissions"):
            match = keyed(ps.system_permissions, live.system_permissions, key=_exact)
            if match.only_wanted or match.only_held:
                actions.append(SetSystemPermissions(name=name, enable=match.only_wanted,
                                                    disable=match.only_held))
        if not self.ignored(address, "objects"):
            actions += _access_changes(name, ps.objects, live.objects, GrantObjectAccess,
                                       ChangeObjectAccess, RevokeObjectAccess, "sobject")
        if not self.ignored(address, "fields"):
            actions += _access_changes(name, ps.fields, live.fields, GrantFieldAccess,
                                       ChangeFieldAccess, RevokeFieldAccess, "field",
                                       key=field_key)
        actions += self.entity_access(name, ps.setup_entities, live.setup_entities)
        return [self.with_masters(a) for a in actions]

    def entity_access(self, name: str, want: frozenset[SetupEntity],
                      have: frozenset[SetupEntity]) -> list[Action]:
        """Grant and revoke setup-entity access, per kind the config doesn't ignore;
        names compare as Salesforce compares them, ignoring case."""
        actions: list[Action] = []
        for key, entity_type in SETUP_ENTITY_TYPES.items():
            if self.ignored(f"permission_sets.{name}", key):
                continue
            match = keyed([e.name for e in want if e.type == entity_type],
                          [e.name for e in have if e.type == entity_type])
            kind = cast(EntityType, entity_type)
            actions += [GrantSetupEntityAccess(permission_set=name, entity_type=kind, entity=e)
                        for e in match.only_wanted]
            actions += [RevokeSetupEntityAccess(permission_set=name, entity_type=kind, entity=e,
                                                reason="not in config") for e in match.only_held]
        return actions

    def with_masters(self, action: Action) -> Action:
        """An object access action with the masters its object depends on (describe)."""
        if not isinstance(action, GrantObjectAccess | ChangeObjectAccess | RevokeObjectAccess):
            return action
        info = self.live.objects.get(action.sobject.casefold())
        return action.model_copy(update={"masters": info.masters}) if info else action

    def delete_set(self, name: str, reason: str) -> list[Action]:
        actions: list[Action] = [DeletePermissionSet(name=name, reason=reason)]
        lic = (self.live.sets.get(name.casefold()) or None)
        licenses = (lic.license,) if lic and lic.license else ()
        actions += [UnassignPermissionSet(user=self.user_key(username), username=username,
                                          target=name, licenses=licenses,
                                          reason=f"permission set {name} is being deleted")
                    for username in self.holders("set", name)]
        for group, (_, members) in sorted(self.live.groups.items()):
            # live.groups is keyed by the casefolded name, the config by its spelling
            declared_group = _folded(self.desired.permission_set_groups, group)
            if name in members and not (declared_group and declared_group.absent):
                group_name = self.names.group(group, self.desired.permission_set_groups)
                actions.append(RemoveGroupComponent(group=group_name, permission_set=name,
                                                    license=licenses[0] if licenses else None,
                                                    reason=f"permission set {name} is being "
                                                           "deleted"))
        return actions

    # -- groups --

    def group(self, name: str, group: PermissionSetGroup) -> list[Action]:
        address = f"permission_set_groups.{name}"
        live = _folded(self.live.state.permission_set_groups, name)
        if group.absent:
            if live is None:
                return []
            actions: list[Action] = [DeleteGroup(name=name, members=tuple(
                sorted(live.permission_sets)), reason="declared absent")]
            actions += [UnassignGroup(user=self.user_key(username), username=username,
                                      target=name, licenses=self.group_licenses(name),
                                      reason=f"group {name} is being deleted")
                        for username in self.holders("group", name)]
            return actions
        if live is None:
            actions = [CreateGroup(name=name, label=group.label, description=group.description)]
            actions += [AddGroupComponent(group=name, permission_set=s,
                                          license=self.set_license(s))
                        for s in sorted(group.permission_sets)]
            return actions
        actions = []
        before, after = self.changed(address, group, live, ("label", "description"))
        if after:
            actions.append(UpdateGroup(name=name, before=values(before), after=values(after)))
        if not self.ignored(address, "permission_sets"):
            match = keyed(group.permission_sets, live.permission_sets, key=_exact)
            actions += [AddGroupComponent(group=name, permission_set=s,
                                          license=self.set_license(s))
                        for s in match.only_wanted]
            actions += [RemoveGroupComponent(group=name, permission_set=s,
                                             license=self.set_license(s), reason="not in config")
                        for s in match.only_held]
        return actions

    # -- users --

    def user(self, username: str, user: User) -> tuple[list[Action], list[tuple[str, str]]]:
        key = self.user_key(username)
        live = self.live.state.users.get(username)
        license_next = self.names.profile_license(user.profile) or user.license
        actions = self.user_record(key, username, user, live, license_next)
        held = live or User(username=username, last_name="", email="", alias="", profile="",
                            active=user.active)
        implied = self.implied_psls(user)
        assignments, observed = self.assignments(key, username, user, held, implied,
                                                 license_next)
        actions += assignments
        self.kept += self.kept_psls(key, username, user, held, implied, actions)
        return actions, observed

    def user_record(self, key: str, username: str, user: User, live: User | None,
                    license_next: str | None) -> list[Action]:
        """Create the user, or change its attributes, profile and activity."""
        address = f"users.{key}"
        if live is None:
            attrs = {a: getattr(user, a) for a in USER_ATTRIBUTES}
            return [CreateUser(user=key, username=username, profile=user.profile,
                               license=license_next, attributes=values(attrs),
                               active=user.active)]
        actions: list[Action] = []
        before, after = self.changed(address, user, live, USER_ATTRIBUTES, written_only=True)
        if after:
            actions.append(UpdateUser(user=key, username=username, before=values(before),
                                      after=values(after)))
        keeps_activity = self.ignored(address, "active")
        if (user.profile.casefold() != live.profile.casefold()
                and not self.ignored(address, "profile")):
            actions.append(ChangeUserProfile(
                user=key, username=username, before=live.profile, after=user.profile,
                license_before=live.license, license_after=license_next,
                active=live.active if keeps_activity else user.active))
        if user.active != live.active and not keeps_activity:
            if user.active:
                actions.append(ReactivateUser(user=key, username=username, license=license_next,
                                              reason="declared active: true"))
            else:
                actions.append(DeactivateUser(user=key, username=username, license=live.license,
                                              reason="declared active: false"))
        return actions

    def assignments(self, key: str, username: str, user: User, live: User,
                    implied: Mapping[str, str], license_next: str | None,
                    ) -> tuple[list[Action], list[tuple[str, str]]]:
        """Assign what the user lacks and, under authoritative scope, unassign what the
        config doesn't list; what scope leaves alone is observed."""
        address = f"users.{key}"
        scope = self.config.settings.scope.assignments
        listed = {p.casefold() for p in user.permission_set_licenses}
        why_implied = {k.casefold(): f"needed by {why}" for k, why in implied.items()
                       if k.casefold() not in listed}
        actions: list[Action] = []
        observed: list[tuple[str, str]] = []
        for list_name, want, have, assign, unassign in (
            ("permission_set_licenses", user.permission_set_licenses | frozenset(implied),
             live.permission_set_licenses, AssignPermissionSetLicense,
             UnassignPermissionSetLicense),
            ("permission_sets", user.permission_sets, live.permission_sets,
             AssignPermissionSet, UnassignPermissionSet),
            ("permission_set_groups", user.permission_set_groups, live.permission_set_groups,
             AssignGroup, UnassignGroup),
        ):
            if self.ignored(address, list_name):
                continue
            match = keyed(want, have)
            for target in match.only_wanted:
                if scope == "observe":
                    observed.append((f"{address}.{list_name}",
                                     f"{username} lacks {target} (scope: observe)"))
                    continue
                reason = (why_implied.get(target.casefold(), "")
                          if list_name == "permission_set_licenses" else "")
                actions.append(assign(user=key, username=username, target=target,
                                      licenses=self.list_needs(list_name, target, license_next),
                                      reason=reason))
            for target in match.only_held:
                if scope != "authoritative":
                    observed.append((f"{address}.{list_name}",
                                     f"{username} also holds {target}, not in config "
                                     f"(scope: {scope})"))
                    continue
                actions.append(unassign(user=key, username=username, target=target,
                                        licenses=self.list_needs(list_name, target,
                                                                 license_next),
                                        reason="not in config (scope: authoritative)"))
        return actions, observed

    def kept_psls(self, key: str, username: str, user: User, live: User,
                  implied: Mapping[str, str], actions: list[Action]) -> list[Action]:
        """Salesforce removes a PSL it assigned with a set when the last set that needs it
        goes, and no API field says which PSLs it assigned that way. A PSL the config
        keeps is therefore assigned again after such a removal; where it stayed, the
        assignment answers DUPLICATE_VALUE and counts as done."""
        if self.ignored(f"users.{key}", "permission_set_licenses"):
            return []
        leaving = {lic.casefold() for a in actions
                   if isinstance(a, UnassignPermissionSet | UnassignGroup) for lic in a.licenses}
        still_needed = {k.casefold() for k in implied}
        return [AssignPermissionSetLicense(
                    user=key, username=username, target=psl,
                    reason="kept: Salesforce takes away a PSL it assigned with a set when "
                           "the last set that needs it goes")
                for psl in sorted(user.permission_set_licenses)
                if psl.casefold() in leaving and psl.casefold() not in still_needed
                and psl.casefold() in {p.casefold() for p in live.permission_set_licenses}]


def _folded(mapping: Mapping[str, T], name: str) -> T | None:
    """``mapping[name]``, matching the name as Salesforce does: ignoring case."""
    found = mapping.get(name)
    if found is not None:
        return found
    folded = name.casefold()
    return next((v for k, v in mapping.items() if k.casefold() == folded), None)


def _exact(name: str) -> str:
    return name


class Keyed(NamedTuple):
    """Two collections of names matched by key: what only one side has, and the pairs."""

    only_wanted: tuple[str, ...]
    only_held: tuple[str, ...]
    both: tuple[tuple[str, str], ...]


def keyed(want: Iterable[str], have: Iterable[str],
          key: Callable[[str], str] = str.casefold) -> Keyed:
    """``want`` and ``have`` matched by ``key`` (by default as Salesforce matches names:
    ignoring case), each part in key order. Names one key makes one compare as one."""
    wanted, held = {key(n): n for n in want}, {key(n): n for n in have}
    return Keyed(tuple(wanted[k] for k in sorted(wanted.keys() - held.keys())),
                 tuple(held[k] for k in sorted(held.keys() - wanted.keys())),
                 tuple((wanted[k], held[k]) for k in sorted(wanted.keys() & held.keys())))


def _access_changes(set_name: str, want: Mapping[str, object], have: Mapping[str, object],
                    grant: Callable[..., Action], change: Callable[..., Action],
                    revoke: Callable[..., Action], key_field: str,
                    key: Callable[[str], str] = str.casefold) -> list[Action]:
    """Grant, change or revoke per object (or field), keyed case-insensitively (or by
    ``key``, under which names that are one record in the org compare as one)."""
    wanted = {key(n): (n, a) for n, a in want.items()}
    held = {key(n): (n, a) for n, a in have.items()}
    rows: list[tuple[str, object, object]] = [
        (*wanted[k], None) for k in sorted(wanted.keys() - held.keys())]
    rows += [(held[k][0], None, held[k][1]) for k in sorted(held.keys() - wanted.keys())]
    # Nearly every pair is one access object on both sides (accesses are interned):
    # only the others are sorted and compared.
    rows += [(wanted[k][0], wanted[k][1], held[k][1]) for k in sorted(
        k for k in wanted.keys() & held.keys() if wanted[k][1] is not held[k][1])]
    actions: list[Action] = []
    for name, w, h in rows:
        w_words = tuple(getattr(w, "words", ()))
        h_words = tuple(getattr(h, "words", ()))
        if w_words == h_words:
            continue
        kwargs = {"permission_set": set_name, key_field: name}
        if not h_words:
            actions.append(grant(**kwargs, after=w_words))
        elif not w_words:
            actions.append(revoke(**kwargs, before=h_words, reason="not in config"))
        else:
            actions.append(change(**kwargs, before=h_words, after=w_words))
    return actions
