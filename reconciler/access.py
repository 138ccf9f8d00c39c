"""Effective access: what a user can do, and through what.

Salesforce grants a user the union of its profile's own permissions (the permission set
the profile owns), every permission set assigned to it and every permission set group
assigned to it. A group grants the union of its member sets minus what its muting
permission set mutes; muting never reaches past its group. Object and field accesses
carry their implications already (:class:`~reconciler.model.ObjectAccess`), so a right
implied by another is granted by the same path.

Everything here is pure: :class:`OrgAccess` is read by :mod:`reconciler.org.access_read`
(or derived from a saved plan by :func:`after_plan`), and :func:`effective`,
:func:`holders` and the renderers work on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.actions import (
    Action,
    AddGroupComponent,
    AssignGroup,
    AssignPermissionSet,
    ChangeFieldAccess,
    ChangeObjectAccess,
    ChangeUserProfile,
    CreateGroup,
    CreatePermissionSet,
    CreateUser,
    DeleteGroup,
    DeletePermissionSet,
    GrantFieldAccess,
    GrantObjectAccess,
    GrantSetupEntityAccess,
    RemoveGroupComponent,
    RevokeFieldAccess,
    RevokeObjectAccess,
    RevokeSetupEntityAccess,
    SetSystemPermissions,
    UnassignGroup,
    UnassignPermissionSet,
)
from reconciler.errors import UsageError
from reconciler.model import (
    OBJECT_PERMISSIONS,
    SETUP_ENTITY_TYPES,
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    SetupEntity,
    User,
)

__all__ = [
    "Effective",
    "GroupAccess",
    "Muting",
    "OrgAccess",
    "Right",
    "after_plan",
    "effective",
    "holders",
    "parse_right",
    "path_text",
    "render_effective",
    "render_holders",
]

#: How a right reaches a user: ``("profile", name)``, ``("set", name)`` or
#: ``("group", group, set)``.
Path = tuple[str, ...]
#: Right → the paths granting it, in the order of :func:`_sources`.
Grants = dict[str, tuple[Path, ...]]


@dataclass(frozen=True)
class Muting:
    """What a group's muting permission set mutes, as its rows tick it: not closed under
    the implications (muting edit leaves read; muting read takes edit with it, which
    :func:`effective` works out)."""

    name: str
    objects: FrozenMap[str, frozenset[str]] = field(default_factory=FrozenMap)
    fields: FrozenMap[str, frozenset[str]] = field(default_factory=FrozenMap)
    system_permissions: frozenset[str] = frozenset()
    setup_entities: frozenset[SetupEntity] = frozenset()


@dataclass(frozen=True)
class GroupAccess:
    """A permission set group as access sees it: its members and its muting set."""

    name: str
    members: tuple[str, ...]
    muting: Muting | None = None


@dataclass(frozen=True)
class OrgAccess:
    """What decides the effective access of the users read: every key casefolded.

    ``sets`` holds the full content of each set a user holds or the config names,
    ``profiles`` each profile's own permission set, ``scope`` the usernames ``--who``
    answers for (the config's users found in the org).
    """

    users: FrozenMap[str, User]
    sets: FrozenMap[str, PermissionSet]
    profiles: FrozenMap[str, PermissionSet]
    groups: FrozenMap[str, GroupAccess]
    scope: tuple[str, ...]
    api_calls: int = 0


@dataclass(frozen=True)
class Effective:
    """One user's effective access, each right with the paths that grant it.

    ``objects`` and ``fields`` map an sObject (``Object.Field``) to permission word →
    paths; ``system_permissions`` a permission's name (no ``Permissions`` prefix) to
    paths; ``setup_entities`` a :class:`SetupEntity` to paths.
    """

    username: str
    profile: str
    objects: dict[str, Grants] = field(default_factory=dict)
    fields: dict[str, Grants] = field(default_factory=dict)
    system_permissions: Grants = field(default_factory=dict)
    setup_entities: dict[SetupEntity, tuple[Path, ...]] = field(default_factory=dict)


def _sources(org: OrgAccess, user: User) -> list[tuple[Path, PermissionSet, Muting | None]]:
    """(path, set, muting set of its group) for every holder of permissions the user has;
    a set or group the org lacks grants nothing."""
    out: list[tuple[Path, PermissionSet, Muting | None]] = []
    own = org.profiles.get(user.profile.casefold())
    if own is not None:
        out.append((("profile", user.profile), own, None))
    for name in sorted(user.permission_sets, key=str.casefold):
        ps = org.sets.get(name.casefold())
        if ps is not None:
            out.append((("set", ps.name), ps, None))
    for gname in sorted(user.permission_set_groups, key=str.casefold):
        group = org.groups.get(gname.casefold())
        if group is None:
            continue
        for member in group.members:
            ps = org.sets.get(member.casefold())
            if ps is not None:
                out.append((("group", group.name, ps.name), ps, group.muting))
    return out


def _unmuted(words: Sequence[str], muted: Iterable[str],
             closure: Callable[[Iterable[str]], Sequence[str]]) -> list[str]:
    """``words`` less the muted ones and those implying one (edit needs read: muting
    read mutes edit)."""
    gone = set(muted)
    return [w for w in words if not gone.intersection(closure([w]))]


def _object_words(words: Iterable[str]) -> Sequence[str]:
    return ObjectAccess.of(words).words


def _field_words(words: Iterable[str]) -> Sequence[str]:
    return FieldAccess.of(words).words


class _Collector:
    """Rights by casefolded key, each keeping the first spelling met."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.rights: dict[str, dict[str, list[Path]]] = {}

    def add(self, name: str, words: Sequence[str], path: Path) -> None:
        if not words:  # all of it muted: no right to name
            return
        key = name.casefold()
        self.names.setdefault(key, name)
        held = self.rights.setdefault(key, {})
        for word in words:
            paths = held.setdefault(word, [])
            if path not in paths:
                paths.append(path)

    def result(self, order: Sequence[str]) -> dict[str, Grants]:
        return {self.names[key]: {w: tuple(held[w]) for w in order if w in held}
                for key, held in sorted(self.rights.items())}


def effective(org: OrgAccess, username: str) -> Effective:
    """The effective access of ``username``; :class:`UsageError` if it wasn't read."""
    user = org.users.get(username.casefold())
    if user is None:
        raise UsageError(f"no user {username!r} in the org (or not read)")
    objects, fields, system, setup = _Collector(), _Collector(), _Collector(), _Collector()
    entities: dict[str, SetupEntity] = {}
    for path, ps, muting in _sources(org, user):
        muted_objects = _casefolded(muting.objects) if muting else {}
        muted_fields = _casefolded(muting.fields) if muting else {}
        for name, access in ps.objects.items():
            objects.add(name, _unmuted(access.words, muted_objects.get(name.casefold(), ()),
                                       _object_words), path)
        for name, faccess in ps.fields.items():
            fields.add(name, _unmuted(faccess.words, muted_fields.get(name.casefold(), ()),
                                      _field_words), path)
        muted_system = {p.casefold() for p in muting.system_permissions} if muting else set()
        for perm in ps.system_permissions:
            if perm.casefold() not in muted_system:
                system.add(perm, ("granted",), path)
        for entity in ps.setup_entities - (muting.setup_entities if muting else frozenset()):
            key = f"{entity.type}:{entity.name}"
            entities.setdefault(key.casefold(), entity)
            setup.add(key, ("granted",), path)
    return Effective(
        username=user.username, profile=user.profile,
        objects=objects.result(OBJECT_PERMISSIONS),
        fields=fields.result(("read", "edit")),
        system_permissions={n: g["granted"] for n, g in system.result(("granted",)).items()},
        setup_entities={entities[k.casefold()]: g["granted"]
                        for k, g in setup.result(("granted",)).items()},
    )


def _casefolded(mapping: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {k.casefold(): v for k, v in mapping.items()}


# -- the reverse question ---------------------------------------------------------------

_SETUP_KINDS = {**{k.casefold(): v for k, v in SETUP_ENTITY_TYPES.items()},
                **{v.casefold(): v for v in SETUP_ENTITY_TYPES.values()}}


@dataclass(frozen=True)
class Right:
    """One right ``--who`` asks about: ``kind`` is object, field, system or setup."""

    kind: str
    target: str
    word: str = ""

    def __str__(self) -> str:
        return f"{self.target}:{self.word}" if self.word else self.target


def parse_right(text: str) -> Right:
    """``Account:delete``, ``Account.Industry:edit``, ``ModifyAllData`` or
    ``apex_classes:MyClass`` (any ``SetupEntityType`` or config key before the colon)."""
    target, colon, word = text.strip().partition(":")
    if not colon:
        name = target.removeprefix("Permissions")
        if not name or "." in name:
            raise UsageError(f"--who {text!r}: say which right, e.g. {text}:read")
        return Right("system", name)
    setup = _SETUP_KINDS.get(target.casefold())
    if setup is not None and word:
        return Right("setup", f"{setup}:{word}")
    if "." in target:
        if word not in ("read", "edit"):
            raise UsageError(f"--who {text!r}: a field's right is read or edit")
        return Right("field", target, word)
    if word not in OBJECT_PERMISSIONS:
        raise UsageError(f"--who {text!r}: an object's right is one of "
                         + ", ".join(OBJECT_PERMISSIONS))
    return Right("object", target, word)


def _paths_for(eff: Effective, right: Right) -> tuple[Path, ...]:
    key = right.target.casefold()
    if right.kind == "system":
        return next((p for n, p in eff.system_permissions.items() if n.casefold() == key), ())
    if right.kind == "setup":
        return next((p for e, p in eff.setup_entities.items()
                     if f"{e.type}:{e.name}".casefold() == key), ())
    table: Mapping[str, Grants] = eff.objects if right.kind == "object" else eff.fields
    grants = next((g for n, g in table.items() if n.casefold() == key), {})
    return grants.get(right.word, ())


def holders(org: OrgAccess, right: Right) -> list[tuple[str, tuple[Path, ...]]]:
    """The users in scope holding ``right``, each with the paths that grant it."""
    out = []
    for username in org.scope:
        paths = _paths_for(effective(org, username), right)
        if paths:
            out.append((username, paths))
    return out


# -- the org as a saved plan would leave it ---------------------------------------------

def after_plan(org: OrgAccess, actions: Iterable[Action]) -> OrgAccess:
    """``org`` with ``actions`` applied: what the users could do once the plan ran."""
    users = dict(org.users)
    sets = dict(org.sets)
    groups = dict(org.groups)
    for action in actions:
        _apply(action, users, sets, groups)
    return replace(org, users=FrozenMap(users), sets=FrozenMap(sets), groups=FrozenMap(groups),
                   scope=tuple(sorted(set(org.scope) | {
                       u for u in users if u not in org.users})))


def _apply(action: Action, users: dict[str, User], sets: dict[str, PermissionSet],
           groups: dict[str, GroupAccess]) -> None:  # one branch per kind that moves access
    if isinstance(action, CreatePermissionSet):
        sets[action.name.casefold()] = PermissionSet(
            action.name, action.label, system_permissions=frozenset(action.system_permissions))
    elif isinstance(action, DeletePermissionSet):
        sets.pop(action.name.casefold(), None)
    elif isinstance(action, SetSystemPermissions):
        ps = _held(sets, action.name)
        sets[action.name.casefold()] = replace(ps, system_permissions=frozenset(
            (ps.system_permissions | set(action.enable)) - set(action.disable)))
    elif isinstance(action, GrantObjectAccess | ChangeObjectAccess | RevokeObjectAccess):
        ps = _held(sets, action.permission_set)
        objects = {k: v for k, v in ps.objects.items() if k.casefold() != action.sobject.casefold()}
        if action.after:
            objects[action.sobject] = ObjectAccess.of(action.after)
        sets[action.permission_set.casefold()] = replace(ps, objects=FrozenMap(objects))
    elif isinstance(action, GrantFieldAccess | ChangeFieldAccess | RevokeFieldAccess):
        ps = _held(sets, action.permission_set)
        fields = {k: v for k, v in ps.fields.items() if k.casefold() != action.field.casefold()}
        if action.after:
            fields[action.field] = FieldAccess.of(action.after)
        sets[action.permission_set.casefold()] = replace(ps, fields=FrozenMap(fields))
    elif isinstance(action, GrantSetupEntityAccess | RevokeSetupEntityAccess):
        ps = _held(sets, action.permission_set)
        entity = SetupEntity(action.entity_type, action.entity)
        sets[action.permission_set.casefold()] = replace(ps, setup_entities=(
            ps.setup_entities | {entity} if isinstance(action, GrantSetupEntityAccess)
            else ps.setup_entities - {entity}))
    elif isinstance(action, CreateGroup):
        groups[action.name.casefold()] = GroupAccess(action.name, ())
    elif isinstance(action, DeleteGroup):
        groups.pop(action.name.casefold(), None)
    elif isinstance(action, AddGroupComponent | RemoveGroupComponent):
        group = groups.get(action.group.casefold()) or GroupAccess(action.group, ())
        members = [m for m in group.members if m.casefold() != action.permission_set.casefold()]
        if isinstance(action, AddGroupComponent):
            members.append(action.permission_set)
        groups[action.group.casefold()] = replace(group, members=tuple(members))
    elif isinstance(action, CreateUser):
        users[action.username.casefold()] = User(action.username.casefold(), "", "", "",
                                                 action.profile)
    elif isinstance(action, ChangeUserProfile):
        users[action.username.casefold()] = replace(users[action.username.casefold()],
                                                    profile=action.after)
    elif isinstance(action, AssignPermissionSet | UnassignPermissionSet | AssignGroup
                    | UnassignGroup):
        _assign(action, users)


def _held(sets: dict[str, PermissionSet], name: str) -> PermissionSet:
    """The set as read, or an empty one: a plan older than the read may change a set
    deleted since, which the plan's own change then describes."""
    return sets.get(name.casefold()) or PermissionSet(name, name)


def _assign(action: AssignPermissionSet | UnassignPermissionSet | AssignGroup | UnassignGroup,
            users: dict[str, User]) -> None:
    user = users[action.username.casefold()]
    to_group = isinstance(action, AssignGroup | UnassignGroup)
    held = {n for n in (user.permission_set_groups if to_group else user.permission_sets)
            if n.casefold() != action.target.casefold()}
    if isinstance(action, AssignPermissionSet | AssignGroup):
        held.add(action.target)
    users[action.username.casefold()] = (
        replace(user, permission_set_groups=frozenset(held)) if to_group
        else replace(user, permission_sets=frozenset(held)))


# -- rendering -----------------------------------------------------------------------

def path_text(path: Path) -> str:
    """A path as the output shows it: ``profile P``, ``set S``, ``group G → S``."""
    if path[0] == "group":
        return f"group {path[1]} → {path[2]}"
    return f"{path[0]} {path[1]}"


def _path_json(path: Path) -> dict[str, str]:
    if path[0] == "group":
        return {"group": path[1], "permission_set": path[2]}
    return {"profile" if path[0] == "profile" else "permission_set": path[1]}


def _matches(name: str, wanted: str | None) -> bool:
    return wanted is None or name.casefold() == wanted.casefold()


def _narrowed(eff: Effective, sobject: str | None, field_name: str | None) -> Effective:
    """Only the object (its fields too) or the field asked about."""
    if sobject is None and field_name is None:
        return eff
    obj = sobject or (field_name or "").partition(".")[0]
    return replace(
        eff, system_permissions={}, setup_entities={},
        objects={n: g for n, g in eff.objects.items() if field_name is None and _matches(n, obj)},
        fields={n: g for n, g in eff.fields.items()
                if (_matches(n, field_name) if field_name else
                    _matches(n.partition(".")[0], obj))})


def render_effective(eff: Effective, api_calls: int, *, sobject: str | None = None,
                     field_name: str | None = None, as_json: bool = False) -> str:
    """The ``access USER`` answer, as text or JSON."""
    eff = _narrowed(eff, sobject, field_name)
    if as_json:
        return json.dumps({
            "user": eff.username, "profile": eff.profile, "api_calls": api_calls,
            "objects": _grants_json(eff.objects), "fields": _grants_json(eff.fields),
            "system_permissions": {n: [_path_json(p) for p in ps]
                                   for n, ps in sorted(eff.system_permissions.items())},
            "setup_entities": [{"type": e.type, "name": e.name,
                                "via": [_path_json(p) for p in ps]}
                               for e, ps in sorted(eff.setup_entities.items())],
        }, indent=2, ensure_ascii=False)
    lines = [f"{eff.username} (profile {eff.profile})"]
    for title, table in (("Objects", eff.objects), ("Fields", eff.fields)):
        if table:
            lines += ["", title]
            for name, grants in table.items():
                lines.append(f"  {name}: {' '.join(grants)}")
                lines += [f"    {word:<11}{_via(paths)}" for word, paths in grants.items()]
    if eff.system_permissions:
        lines += ["", "System permissions"]
        width = max(len(n) for n in eff.system_permissions) + 2
        lines += [f"  {n:<{width}}{_via(ps)}" for n, ps in sorted(eff.system_permissions.items())]
    if eff.setup_entities:
        lines += ["", "Setup entity access"]
        lines += [f"  {e.type} {e.name}  {_via(ps)}" for e, ps in
                  sorted(eff.setup_entities.items())]
    if len(lines) == 1:
        lines.append("No access" + (" to that." if sobject or field_name else "."))
    lines += ["", f"Read with {api_calls} API calls."]
    return "\n".join(lines)


def _via(paths: Iterable[Path]) -> str:
    return "; ".join(path_text(p) for p in paths)


def _grants_json(table: Mapping[str, Grants]) -> dict[str, dict[str, list[dict[str, str]]]]:
    return {n: {w: [_path_json(p) for p in ps] for w, ps in g.items()} for n, g in table.items()}


def render_holders(right: Right, found: list[tuple[str, tuple[Path, ...]]], scope: int,
                   api_calls: int, *, as_json: bool = False) -> str:
    """The ``access --who RIGHT`` answer, as text or JSON."""
    if as_json:
        return json.dumps({"right": str(right), "users_in_scope": scope, "api_calls": api_calls,
                           "holders": [{"user": u, "via": [_path_json(p) for p in ps]}
                                       for u, ps in found]}, indent=2, ensure_ascii=False)
    lines = [f"{len(found)} of {scope} users in scope hold {right}:" if found
             else f"None of the {scope} users in scope hold {right}."]
    lines += [f"  {u}  {_via(ps)}" for u, ps in found]
    lines += ["", f"Read with {api_calls} API calls."]
    return "\n".join(lines)
