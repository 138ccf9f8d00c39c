"""Reading what effective access needs: the plan's snapshot plus every holder's content.

:func:`reconciler.org.reader.read` reads what the config claims, and the content (system
permissions, object and field access) of the sets the config declares only. Effective
access needs the content of everything a user holds: each set assigned or in an assigned
group, each profile's own permission set (``IsOwnedByProfile = true``) and each group's
muting permission set. Those the snapshot lacks are read here in the same batched way,
by Id once the snapshot has named them: a few wide queries for the system permissions,
then one query per permission sObject (split only where a request would be too long).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.access import GroupAccess, Muting, OrgAccess
from reconciler.live import Claims, Live, Querier, qualified_name
from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    SetupEntity,
)
from reconciler.org.reader import (
    FIELD_FIELDS,
    MUTING_PREFIX,
    OBJECT_FIELDS,
    SYSTEM_PREFIX,
    Row,
    query_in,
    read,
    system_permissions_of,
)
from reconciler.org.soql import split_select

SETS = ("SELECT Id, {columns} FROM PermissionSet WHERE IsOwnedByProfile = false AND "
        "PermissionSetGroupId = null AND Name IN {in}")
PROFILE_SETS = ("SELECT Id, {columns} FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                "Profile.Name IN {in}")
MUTING_SETS = "SELECT Id, {columns} FROM MutingPermissionSet WHERE Id IN {in}"
COMPONENT_IDS = ("SELECT PermissionSetGroup.DeveloperName, PermissionSetId FROM "
                 "PermissionSetGroupComponent WHERE PermissionSetGroup.DeveloperName IN {in}")
OBJECTS = ("SELECT ParentId, SobjectType, " + ", ".join(OBJECT_FIELDS.values())
           + " FROM ObjectPermissions WHERE ParentId IN {in}")
FIELDS = ("SELECT ParentId, Field, " + ", ".join(FIELD_FIELDS.values())
          + " FROM FieldPermissions WHERE ParentId IN {in}")
SETUP = ("SELECT ParentId, SetupEntityType, SetupEntity.Name FROM SetupEntityAccess "
         "WHERE ParentId IN {in}")


def read_access(client: Querier, claims: Claims, profiles: Iterable[str] = (),
                scope: Iterable[str] = (), live: Live | None = None) -> OrgAccess:
    """Effective access of the users ``claims`` names, read from the org; ``profiles``
    are read besides the users' (those the config gives them), ``scope`` are the
    usernames ``--who`` answers for. ``live`` is the plan's snapshot of ``claims`` when
    it was read already (only what it lacks is read then)."""
    start = client.calls
    live = live or read(client, claims)
    columns = [SYSTEM_PREFIX + p for p in sorted(live.system_permissions)]
    # The snapshot holds the content of the sets the config declares already.
    known = {name.casefold(): ps for name, ps in live.state.permission_sets.items()}
    unread = {n for n in _set_names(live, claims.permission_sets, claims.referenced_sets)
              if n.casefold() not in known}
    sets = _wide(client, SETS, ["Name", "NamespacePrefix", "Label", *columns],
                 sorted({n.rpartition("__")[2] for n in unread}))
    for row in sets:
        row["Name"] = qualified_name(str(row["Name"]), row.get("NamespacePrefix"))
    owned = _wide(client, PROFILE_SETS, ["Profile.Name", *columns], sorted(
        {u.profile for u in live.state.users.values()} | set(profiles)))
    # A group's muting set is the component with a 0QM Id (its PermissionSet reads null).
    muting_of = {str(c["PermissionSetGroup"]["DeveloperName"]).casefold(): str(
        c["PermissionSetId"]) for c in query_in(client, COMPONENT_IDS,
                                                list(live.state.permission_set_groups))
        if str(c["PermissionSetId"]).startswith(MUTING_PREFIX)}
    muting = _wide(client, MUTING_SETS, ["DeveloperName", *_muting_columns(
        client, live.system_permissions, bool(muting_of))], sorted(set(muting_of.values())))
    content = _Content(client, [str(r["Id"]) for r in (*sets, *owned, *muting)],
                       live.system_permissions)
    by_name = {**known, **{str(r["Name"]).casefold(): content.of(r, str(r["Name"]))
                           for r in sets}}
    by_id = {str(r["Id"]): content.muting(r) for r in muting}
    return OrgAccess(
        users=live.state.users,
        sets=FrozenMap(by_name),
        profiles=FrozenMap({str(r["Profile"]["Name"]).casefold(): content.of(
            r, str(r["Profile"]["Name"])) for r in owned}),
        groups=FrozenMap({g.name.casefold(): GroupAccess(
            g.name, tuple(sorted(g.permission_sets, key=str.casefold)),
            by_id.get(muting_of.get(g.name.casefold(), "")))
            for g in live.state.permission_set_groups.values()}),
        scope=tuple(sorted(u.casefold() for u in scope if u.casefold() in live.state.users)),
        api_calls=client.calls - start,
    )


def _muting_columns(client: Querier, system_permissions: frozenset[str],
                    needed: bool) -> list[str]:
    """The system permission columns to read of the muting sets: those MutingPermissionSet
    has of the ones PermissionSet has (one describe, and only when a group has one)."""
    if not needed:
        return []
    muting = system_permissions_of(client.describe(["MutingPermissionSet"]).get(
        "MutingPermissionSet"))
    return [SYSTEM_PREFIX + p for p in sorted(muting & system_permissions)]


def _set_names(live: Live, *named: Sequence[str]) -> set[str]:
    """Every set a user read holds, directly or in a group, and every set the config
    names."""
    names = {n for claimed in named for n in claimed}
    for user in live.state.users.values():
        names |= user.permission_sets
    for group in live.state.permission_set_groups.values():
        names |= group.permission_sets
    return names


def _wide(client: Querier, template: str, columns: Sequence[str],
          values: Sequence[str]) -> list[Row]:
    """Rows of ``template`` for every column and value, merged by Id from the queries
    the columns were spread over."""
    merged: dict[str, Row] = {}
    for soql in split_select(template, columns, values):
        for row in client.query(soql):
            merged.setdefault(str(row["Id"]), {}).update(
                (k, v) for k, v in row.items() if k != "attributes")
    return list(merged.values())


class _Content:
    """The object, field and setup-entity access of the holders read, by parent Id."""

    def __init__(self, client: Querier, ids: Sequence[str],
                 system_permissions: frozenset[str]) -> None:
        self.system = system_permissions
        # The words each row ticks: a muting set's are not closed under implications.
        self.objects: dict[str, dict[str, frozenset[str]]] = {}
        for r in query_in(client, OBJECTS, ids):
            self.objects.setdefault(str(r["ParentId"]), {})[str(r["SobjectType"])] = frozenset(
                w for w, f in OBJECT_FIELDS.items() if r.get(f))
        self.fields: dict[str, dict[str, frozenset[str]]] = {}
        for r in query_in(client, FIELDS, ids):
            self.fields.setdefault(str(r["ParentId"]), {})[str(r["Field"])] = frozenset(
                w for w, f in FIELD_FIELDS.items() if r.get(f))
        self.setup: dict[str, set[SetupEntity]] = {}
        for r in query_in(client, SETUP, ids):
            entity = r.get("SetupEntity") or {}
            self.setup.setdefault(str(r["ParentId"]), set()).add(
                SetupEntity(str(r["SetupEntityType"]), str(entity.get("Name") or "")))

    def of(self, row: dict[str, Any], name: str) -> PermissionSet:
        """The holder ``row`` with its content, as a set named ``name``."""
        ident = str(row["Id"])
        return PermissionSet(
            name=name, label=str(row.get("Label") or ""),
            system_permissions=frozenset(p for p in self.system
                                         if row.get(SYSTEM_PREFIX + p)),
            objects=FrozenMap({k: ObjectAccess.of(v)
                               for k, v in self.objects.get(ident, {}).items()}),
            fields=FrozenMap({k: FieldAccess.of(v) for k, v in self.fields.get(ident, {}).items()}),
            setup_entities=frozenset(self.setup.get(ident, ())))

    def muting(self, row: dict[str, Any]) -> Muting:
        """The muting set ``row`` with what it mutes."""
        ident = str(row["Id"])
        return Muting(
            name=str(row["DeveloperName"]),
            objects=FrozenMap(self.objects.get(ident, {})),
            fields=FrozenMap(self.fields.get(ident, {})),
            system_permissions=frozenset(p for p in self.system if row.get(SYSTEM_PREFIX + p)),
            setup_entities=frozenset(self.setup.get(ident, ())))
