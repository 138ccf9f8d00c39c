"""Org names as the org spells them: a PSL written by label or by developer name, a
profile in any case, ``account.industry``, an Apex class in any case… The diff compares
the desired state only after :func:`canonical` has spelled every name the org's way, so
that spelling never shows up as a change. Pure: names from a :class:`Live` snapshot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.live import Live, entity_key, license_label
from reconciler.model import FrozenMap, PermissionSetGroup, SetupEntity, State

__all__ = ["Names", "canonical"]


class Names:
    """Canonical spelling of org names, from the live catalogue."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self._fields: dict[str, str] = {}

    def license(self, name: str | None) -> str | None:
        """A user license's Name or a PSL's label, whichever ``name`` designates."""
        if name is None:
            return None
        key = name.casefold()
        lic = self.live.psls.get(key) or self.live.user_licenses.get(key)
        return license_label(lic) if lic else name

    def profile(self, name: str) -> str:
        found = self.live.profiles.get(name.casefold())
        return found[0] if found else name

    def profile_license(self, profile: str) -> str | None:
        found = self.live.profiles.get(profile.casefold())
        return found[1] if found else None

    def set(self, name: str) -> str:
        info = self.live.sets.get(name.casefold())
        return info.name if info else name

    def group(self, name: str, declared: Mapping[str, PermissionSetGroup]) -> str:
        for known in (*declared, *self.live.state.permission_set_groups):
            if known.casefold() == name.casefold():
                return known
        return name

    def sobject(self, name: str) -> str:
        info = self.live.objects.get(name.casefold())
        return info.name if info else name

    def entity(self, entity: SetupEntity) -> SetupEntity:
        info = self.live.setup_entities.get(entity_key(entity.type, entity.name))
        return SetupEntity(entity.type, info.name) if info else entity

    def field(self, name: str) -> str:
        # Once per name: every set of a large config names the same fields, and they
        # then share one string.
        known = self._fields.get(name)
        if known is None:
            known = self._fields[name] = self._field(name)
        return known

    def _field(self, name: str) -> str:
        obj, _, fname = name.partition(".")
        info = self.live.objects.get(obj.casefold())
        if info is None:
            return name
        return f"{info.name}.{info.field_names.get(fname.casefold(), fname)}"


def canonical(desired: State, names: Names) -> State:
    """``desired`` with every org name spelled as the org spells it."""
    sets = {}
    for key, ps in desired.permission_sets.items():
        sets[key] = dataclasses.replace(
            ps,
            license=names.license(ps.license),
            objects=FrozenMap({names.sobject(o): a for o, a in ps.objects.items()}),
            fields=FrozenMap({names.field(f): a for f, a in ps.fields.items()}),
            setup_entities=frozenset(names.entity(e) for e in ps.setup_entities),
        )
    groups = {}
    for key, group in desired.permission_set_groups.items():
        groups[key] = dataclasses.replace(
            group, permission_sets=frozenset(
                s if s in desired.permission_sets else names.set(s)
                for s in group.permission_sets))
    users = {}
    for key, user in desired.users.items():
        users[key] = dataclasses.replace(
            user,
            profile=names.profile(user.profile),
            license=names.license(user.license),
            permission_set_licenses=frozenset(
                names.license(p) or p for p in user.permission_set_licenses),
            permission_sets=frozenset(
                s if s in desired.permission_sets else names.set(s)
                for s in user.permission_sets),
            permission_set_groups=frozenset(
                names.group(g, desired.permission_set_groups)
                for g in user.permission_set_groups),
        )
    return State(users=FrozenMap(users), permission_sets=FrozenMap(sets),
                 permission_set_groups=FrozenMap(groups))
