"""The order of actions: one table of dependency rules → a networkx DAG → a stable order.

Each :class:`Rule` says "actions of these kinds run before actions of those kinds
when they share a key". Keys are plain tuples (a set's name, a user and a licence…),
so edges come from a hash join, not from comparing every pair. Everything Salesforce
demands about order lives in :data:`RULES`; nothing else in the code decides it.

Ties between independent actions break on (kind order, address), so the same
actions always give the same, byte-identical order. A cycle is a
:class:`~reconciler.errors.CycleError` naming the actions in it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

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
    GrantFieldAccess,
    GrantObjectAccess,
    GrantSetupEntityAccess,
    ReactivateUser,
    RemoveGroupComponent,
    RevokeObjectAccess,
    RevokeSetupEntityAccess,
    SetSystemPermissions,
    UnassignGroup,
    UnassignPermissionSet,
    UnassignPermissionSetLicense,
    UpdateGroup,
    UpdatePermissionSet,
    UpdateUser,
    sort_key,
)
from reconciler.errors import CycleError
from reconciler.model import object_prerequisites

Key = Callable[[Action], Iterable[Hashable]]


def _fold(name: str | None) -> str:
    return (name or "").casefold()


def _set(a: Action) -> Iterable[Hashable]:
    """The permission set an action is about."""
    name = getattr(a, "permission_set", None) or getattr(a, "name", None)
    if isinstance(a, AssignPermissionSet | UnassignPermissionSet):
        name = a.target
    return [("set", _fold(name))]


def _group(a: Action) -> Iterable[Hashable]:
    name = a.target if isinstance(a, AssignGroup | UnassignGroup) else (
        getattr(a, "group", None) or getattr(a, "name", None))
    return [("group", _fold(name))]


def _user(a: Action) -> Iterable[Hashable]:
    return [("user", _fold(getattr(a, "username", "")))]


def _user_licenses(a: Action) -> Iterable[Hashable]:
    """(user, licence) for each licence the assigned thing needs, or the PSL itself."""
    user = _fold(getattr(a, "username", ""))
    if isinstance(a, AssignPermissionSetLicense | UnassignPermissionSetLicense):
        return [("user-license", user, _fold(a.target))]
    return [("user-license", user, _fold(lic)) for lic in getattr(a, "licenses", ())]


def _psl(a: Action) -> Iterable[Hashable]:
    """The permission set licence whose seats an action takes or frees."""
    if isinstance(a, AssignPermissionSetLicense | UnassignPermissionSetLicense):
        return [("psl", _fold(a.target))]
    lic = getattr(a, "license", None)
    return [("psl", _fold(lic))] if lic else []


def _members(a: Action) -> Iterable[Hashable]:
    assert isinstance(a, DeleteGroup)
    return [("set", _fold(m)) for m in a.members]


def _seat_freed(a: Action) -> Iterable[Hashable]:
    """The user licence a deactivation or a license change frees a seat of."""
    if isinstance(a, DeactivateUser):
        return [("seat", _fold(a.license))] if a.license else []
    if isinstance(a, ChangeUserProfile) and a.license_before != a.license_after:
        return [("seat", _fold(a.license_before))] if a.license_before else []
    return []


def _seat_taken(a: Action) -> Iterable[Hashable]:
    if isinstance(a, CreateUser) and a.active:
        return [("seat", _fold(a.license))] if a.license else []
    if isinstance(a, ReactivateUser):
        return [("seat", _fold(a.license))] if a.license else []
    if isinstance(a, ChangeUserProfile) and a.active and a.license_before != a.license_after:
        return [("seat", _fold(a.license_after))] if a.license_after else []
    return []


def _object_words(a: Action, *, added: bool) -> set[str]:
    """The object permission words an object access action adds (or removes)."""
    before, after = set(getattr(a, "before", ())), set(getattr(a, "after", ()))
    return after - before if added else before - after


def _access(a: Action, *, added: bool) -> Iterable[Hashable]:
    ps, sobject = _fold(getattr(a, "permission_set", "")), _fold(getattr(a, "sobject", ""))
    return [("object-access", ps, sobject, w) for w in _object_words(a, added=added)]


def _prerequisites(a: Action, *, added: bool) -> Iterable[Hashable]:
    """The other objects' access that the words this action adds (removes) depend on."""
    ps = _fold(getattr(a, "permission_set", ""))
    needs = object_prerequisites(getattr(a, "sobject", ""), _object_words(a, added=added),
                                 getattr(a, "masters", ()))
    return [("object-access", ps, _fold(other), need) for _, other, need in needs]


def _access_added(a: Action) -> Iterable[Hashable]:
    return _access(a, added=True)


def _access_removed(a: Action) -> Iterable[Hashable]:
    return _access(a, added=False)


def _prerequisites_added(a: Action) -> Iterable[Hashable]:
    return _prerequisites(a, added=True)


def _prerequisites_removed(a: Action) -> Iterable[Hashable]:
    return _prerequisites(a, added=False)


@dataclass(frozen=True)
class Rule:
    """Actions of kinds ``before`` run before actions of kinds ``after`` sharing a key."""

    why: str
    before: tuple[type[Action], ...]
    after: tuple[type[Action], ...]
    before_key: Key
    after_key: Key


_SET_CONTENT = (GrantObjectAccess, ChangeObjectAccess, GrantFieldAccess, ChangeFieldAccess,
                SetSystemPermissions, UpdatePermissionSet, GrantSetupEntityAccess)
_USER_ASSIGN = (AssignPermissionSetLicense, AssignPermissionSet, AssignGroup)
_USER_UNASSIGN = (UnassignPermissionSet, UnassignGroup, UnassignPermissionSetLicense)

RULES: tuple[Rule, ...] = (
    # Building up: a set, then what it grants, then groups and users that get it.
    Rule("a permission set exists before its permissions are set",
         (CreatePermissionSet,), _SET_CONTENT, _set, _set),
    Rule("a permission set exists before it joins a group or is assigned",
         (CreatePermissionSet,), (AddGroupComponent, AssignPermissionSet), _set, _set),
    Rule("a set's access is in place before the set reaches a group or a user",
         _SET_CONTENT, (AddGroupComponent, AssignPermissionSet), _set, _set),
    Rule("a group exists before its components, updates and assignments",
         (CreateGroup,), (AddGroupComponent, AssignGroup, UpdateGroup), _group, _group),
    Rule("an object's access is in place before access that depends on it "
         "(Contract on Account, a detail object on its master)",
         (GrantObjectAccess, ChangeObjectAccess), (GrantObjectAccess, ChangeObjectAccess),
         _access_added, _prerequisites_added),
    Rule("a group holds its sets before it is assigned",
         (AddGroupComponent,), (AssignGroup,), _group, _group),
    Rule("a user exists before anything is assigned to it or changed on it",
         (CreateUser,), (*_USER_ASSIGN, UpdateUser), _user, _user),
    Rule("a user's profile (= user license) is right before its assignments",
         (ChangeUserProfile,), _USER_ASSIGN, _user, _user),
    Rule("a set licensed by a PSL is assigned only after the user holds that PSL",
         (AssignPermissionSetLicense,), (AssignPermissionSet, AssignGroup),
         _user_licenses, _user_licenses),
    Rule("a set licensed by a PSL joins an assigned group only after assignees hold the PSL",
         (AssignPermissionSetLicense,), (AddGroupComponent,), _psl, _psl),
    # Tearing down runs the other way round.
    Rule("assignments tied to the old user license go before the profile changes",
         _USER_UNASSIGN, (ChangeUserProfile,), _user, _user),
    Rule("access that depends on an object's access goes before that access",
         (RevokeObjectAccess, ChangeObjectAccess), (RevokeObjectAccess, ChangeObjectAccess),
         _prerequisites_removed, _access_removed),
    Rule("a set's users and groups leave it before it loses access to a setup entity",
         (UnassignPermissionSet, RemoveGroupComponent), (RevokeSetupEntityAccess,), _set, _set),
    Rule("a set's assignments go before the PSL it needs",
         (UnassignPermissionSet, UnassignGroup), (UnassignPermissionSetLicense,),
         _user_licenses, _user_licenses),
    Rule("every assignment of a set goes before the set is deleted",
         (UnassignPermissionSet, RemoveGroupComponent), (DeletePermissionSet,), _set, _set),
    Rule("a group goes before the sets it holds are deleted",
         (DeleteGroup,), (DeletePermissionSet,), _members, _set),
    Rule("a group's assignments and components go before the group",
         (UnassignGroup, RemoveGroupComponent), (DeleteGroup,), _group, _group),
    # Seats: what frees one runs before what takes one.
    Rule("a deactivation or license move frees a seat before a create or reactivation takes it",
         (DeactivateUser, ChangeUserProfile), (CreateUser, ReactivateUser),
         _seat_freed, _seat_taken),
    Rule("a deactivation frees a seat before a profile change takes it",
         (DeactivateUser,), (ChangeUserProfile,), _seat_freed, _seat_taken),
    Rule("a PSL Salesforce may take away with a set is assigned again after the set goes",
         (UnassignPermissionSet, UnassignGroup), (AssignPermissionSetLicense,),
         _user_licenses, _user_licenses),
    Rule("a PSL taken from one user is free before it is given to another",
         (UnassignPermissionSetLicense,), (AssignPermissionSetLicense,), _psl, _psl),
)


def build_graph(actions: Sequence[Action], rules: Sequence[Rule] = RULES) -> nx.DiGraph:
    """The dependency DAG over action ids; edges carry the rule that made them."""
    graph = nx.DiGraph()
    dupes = sorted(k for k, n in Counter(a.id for a in actions).items() if n > 1)
    if dupes:
        raise ValueError(f"duplicate actions: {', '.join(dupes)}")
    for a in actions:
        graph.add_node(a.id, action=a)
    by_kind: dict[type[Action], list[Action]] = defaultdict(list)
    for a in actions:
        by_kind[type(a)].append(a)
    for rule in rules:
        index: dict[Hashable, list[str]] = defaultdict(list)
        for kind in rule.before:
            for a in by_kind.get(kind, ()):
                for key in rule.before_key(a):
                    index[key].append(a.id)
        if not index:
            continue
        for kind in rule.after:
            for b in by_kind.get(kind, ()):
                for key in rule.after_key(b):
                    for before_id in index.get(key, ()):
                        if before_id != b.id:
                            graph.add_edge(before_id, b.id, why=rule.why)
    return graph


def order(actions: Sequence[Action],
          rules: Sequence[Rule] = RULES) -> tuple[list[Action], nx.DiGraph]:
    """Actions in dependency order with the deterministic tie-break, and their graph."""
    graph = build_graph(actions, rules)
    try:
        ids = list(nx.lexicographical_topological_sort(
            graph, key=lambda node: sort_key(graph.nodes[node]["action"])))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        path = " → ".join([cycle[0][0], *(edge[1] for edge in cycle)])
        raise CycleError(f"the actions depend on each other in a cycle: {path}") from None
    return [graph.nodes[i]["action"] for i in ids], graph


def layers(graph: nx.DiGraph, ordered: Sequence[Action]) -> list[list[Action]]:
    """Groups of actions that can run together: each depends only on earlier layers."""
    position = {a.id: i for i, a in enumerate(ordered)}
    out = []
    for generation in nx.topological_generations(graph):
        out.append(sorted((graph.nodes[n]["action"] for n in generation),
                          key=lambda a: position[a.id]))
    return out


def select(actions: Sequence[Action], graph: nx.DiGraph, *, targets: Sequence[str] = (),
           excludes: Sequence[str] = ()) -> list[Action]:
    """Keep the targeted actions and what they depend on; drop excluded ones and what
    depends on them. An address matches itself and everything below it."""

    def matches(action: Action, patterns: Sequence[str]) -> bool:
        return any(action.address == p or action.address.startswith(p + ".")
                   or action.resource == p for p in patterns)

    keep = {a.id for a in actions}
    if targets:
        chosen = {a.id for a in actions if matches(a, targets)}
        for node in list(chosen):
            chosen |= nx.ancestors(graph, node)
        keep &= chosen
    if excludes:
        dropped = {a.id for a in actions if matches(a, excludes)}
        for node in list(dropped):
            dropped |= nx.descendants(graph, node)
        keep -= dropped
    return [a for a in actions if a.id in keep]


def dependencies(graph: nx.DiGraph, action: Action) -> list[str]:
    """Ids of the actions this one waits for, sorted."""
    return sorted(graph.predecessors(action.id))
