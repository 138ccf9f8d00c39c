"""Reading the live org: a few batched SOQL queries → a :class:`~reconciler.live.Live`
snapshot.

Only what the config claims is read: its users, its permission sets and groups,
the sets and groups those users hold, the licences and profiles they name. Queries
take IN lists of names, split so that each request fits Salesforce's limit on its
size (see :mod:`reconciler.org.soql`); a permission set's hundreds of system permission
columns are read only for the sets the plan manages, spread over as few queries as
fit. The number of calls grows with the number of rows through paging, and with the
number of managed sets only as far as their Ids must be split. Their access to setup
entities (connected apps, Apex classes…) comes with them, and the entities are looked up
by :mod:`reconciler.org.entities`.

The module is facts, one group per sObject read: its SOQL (a constant, or a template
whose ``{in}`` takes the names), its record key, and a pure parse (``_parse_*``).
:func:`read` sends the queries in a fixed order and collects the raw records in
:class:`_Rows`; :func:`_live` turns them into the snapshot. Object and field
permissions, nearly all the rows of a large org, are parsed page by page as they arrive
(:mod:`reconciler.org.permission_rows`) rather than held raw. Raw records with their
``attributes`` never leave the reader. Profile-owned and group-owned permission sets,
and their assignments, are filtered out here. A managed package's set is named
``namespace__Name`` (its NamespacePrefix), so it is never the config's ``Name``. An
assignment revoked by a user access policy (``IsRevoked``) is not held.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from reconciler.live import (
    Claims,
    EntityInfo,
    License,
    Live,
    ObjectInfo,
    Querier,
    SetInfo,
    entity_key,
    license_label,
    qualified_name,
    record_key,
)
from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    SetupEntity,
    State,
    User,
)
from reconciler.org.entities import ACCESS_COLUMN, access_rows, read_entities
from reconciler.org.permission_rows import PermissionRows, RowKind, read_rows
from reconciler.org.soql import chunked_in, like_prefix, split_select

# Salesforce field ↔ permission word, for object and field permissions.
OBJECT_FIELDS = {
    "read": "PermissionsRead", "create": "PermissionsCreate", "edit": "PermissionsEdit",
    "delete": "PermissionsDelete", "view_all": "PermissionsViewAllRecords",
    "modify_all": "PermissionsModifyAllRecords",
}
FIELD_FIELDS = {"read": "PermissionsRead", "edit": "PermissionsEdit"}
SYSTEM_PREFIX = "Permissions"

# -- the queries, one per sObject (``{in}``: the names, split to fit) ------------------

USER_LICENSES = "SELECT Id, Name, MasterLabel, TotalLicenses, UsedLicenses FROM UserLicense"
PERMISSION_SET_LICENSES = ("SELECT Id, DeveloperName, MasterLabel, TotalLicenses, "
                           "UsedLicenses FROM PermissionSetLicense")
PROFILES = "SELECT Id, Name, UserLicense.Name FROM Profile"
#: Described besides the sObjects the config names: the system permissions are
#: PermissionSet's fields, and IsRevoked may or may not be PermissionSetAssignment's.
DESCRIBED = ("PermissionSet", "PermissionSetAssignment")
USERS = ("SELECT Id, Username, FirstName, LastName, Email, Alias, IsActive, Profile.Name, "
         "Profile.UserLicense.Name, TimeZoneSidKey, LocaleSidKey, LanguageLocaleKey, "
         "EmailEncodingKey, SystemModstamp FROM User WHERE Username IN {in}")
#: PermissionSetAssignment, read three ways: the one SELECT (see :func:`_assignments`),
#: then the users' own, those of sets the plan may delete, those of absent groups.
ASSIGNMENT_COLUMNS = ("Id", "AssigneeId", "Assignee.Username", "PermissionSetId",
                      "PermissionSet.Name", "PermissionSet.NamespacePrefix",
                      "PermissionSetGroupId", "PermissionSetGroup.DeveloperName",
                      "SystemModstamp")
USERS_ASSIGNMENTS = "PermissionSet.IsOwnedByProfile = false AND Assignee.Username IN {in}"
UNGROUPED_ASSIGNMENTS = "PermissionSetGroupId = null AND "
GROUP_ASSIGNMENTS = "PermissionSetGroup.DeveloperName IN {in}"
PSL_ASSIGNMENTS = ("SELECT Id, Assignee.Username, PermissionSetLicenseId, SystemModstamp "
                   "FROM PermissionSetLicenseAssign WHERE Assignee.Username IN {in}")
GROUPS = ("SELECT Id, DeveloperName, MasterLabel, Description, Status, SystemModstamp "
          "FROM PermissionSetGroup WHERE DeveloperName IN {in}")
COMPONENTS = ("SELECT Id, PermissionSetGroup.DeveloperName, PermissionSetId, "
              "PermissionSet.Name, PermissionSet.NamespacePrefix, SystemModstamp "
              "FROM PermissionSetGroupComponent WHERE PermissionSetGroup.DeveloperName IN {in}")
#: The key prefix of MutingPermissionSet Ids: a group's component with one is its muting
#: set, not a member (its ``PermissionSet`` reads null), so it is no component the plan
#: manages, whatever the org answers through the relationship.
MUTING_PREFIX = "0QM"
#: Groups holding a set about to be deleted (it must leave them first).
GROUPS_HOLDING = "SELECT PermissionSetGroup.DeveloperName FROM PermissionSetGroupComponent WHERE "
# Columns every permission set is read with (besides Id); the system permissions only
# for the sets whose content the plan manages.
SET_COLUMNS = ("Name", "NamespacePrefix", "Label", "Description", "LicenseId",
               "SystemModstamp")
_SET_WHERE = ("FROM PermissionSet WHERE IsOwnedByProfile = false AND "
              "PermissionSetGroupId = null AND ")
OBJECT_PERMISSIONS = ("SELECT Id, Parent.Name, Parent.NamespacePrefix, SobjectType, "
                      + ", ".join(OBJECT_FIELDS.values())
                      + ", SystemModstamp FROM ObjectPermissions WHERE Parent.Name IN {in}")
FIELD_PERMISSIONS = ("SELECT Id, Parent.Name, Parent.NamespacePrefix, Field, "
                     + ", ".join(FIELD_FIELDS.values())
                     + ", SystemModstamp FROM FieldPermissions WHERE Parent.Name IN {in}")

#: A record as the REST API returns it (with its ``attributes``).
Row = dict[str, Any]


@dataclass
class _Rows:
    """The raw records of one read, by sObject: what :func:`_live` parses."""

    user_licenses: list[Row] = field(default_factory=list)
    psls: list[Row] = field(default_factory=list)
    profiles: list[Row] = field(default_factory=list)
    described: Mapping[str, Row | None] = field(default_factory=dict)
    users: list[Row] = field(default_factory=list)
    assignments: list[Row] = field(default_factory=list)  # the users', held
    revoked: list[Row] = field(default_factory=list)  # the users', revoked by a policy
    others: list[Row] = field(default_factory=list)  # of doomed sets and absent groups
    psl_assignments: list[Row] = field(default_factory=list)
    groups: list[Row] = field(default_factory=list)
    components: list[Row] = field(default_factory=list)
    sets: list[Row] = field(default_factory=list)
    #: Ids and stamps by record key: those of the object and field permissions are
    #: noted as their pages arrive, the others by :func:`_live`.
    acc: _Acc = field(default_factory=lambda: _Acc())
    object_permissions: PermissionRows = field(default_factory=PermissionRows)
    field_permissions: PermissionRows = field(default_factory=PermissionRows)
    entity_access: list[Row] = field(default_factory=list)  # the managed sets' rows
    entities: list[EntityInfo] = field(default_factory=list)
    entity_names: dict[str, tuple[str, ...]] = field(default_factory=dict)


def read(client: Querier, claims: Claims) -> Live:
    """One snapshot of the claimed part of the org.

    The queries go out in this order, each after the reads it takes names from (the
    golden cases pin their number).
    """
    start = client.calls
    rows = _Rows()
    rows.user_licenses = client.query(USER_LICENSES)
    rows.psls = client.query(PERMISSION_SET_LICENSES)
    rows.profiles = client.query(PROFILES)
    rows.described = client.describe([*DESCRIBED, *sorted(set(claims.objects))])
    system_perms = system_permissions_of(rows.described.get("PermissionSet"))
    assignments = _assignments(rows.described.get("PermissionSetAssignment"))
    rows.users = query_in(client, USERS, claims.usernames)
    held = _qualified(query_in(client, assignments + USERS_ASSIGNMENTS, claims.usernames))
    rows.revoked = [r for r in held if r.get("IsRevoked")]
    rows.assignments = [r for r in held if not r.get("IsRevoked")]
    others = _about_doomed_sets(client, claims, assignments + UNGROUPED_ASSIGNMENTS)
    if claims.absent_groups:
        others += query_in(client, assignments + GROUP_ASSIGNMENTS, claims.absent_groups)
    rows.others = _qualified(others)
    rows.psl_assignments = query_in(client, PSL_ASSIGNMENTS, claims.usernames)
    holders = _about_doomed_sets(client, claims, GROUPS_HOLDING)
    rows.groups = query_in(client, GROUPS, _group_names(claims, rows.assignments, holders))
    rows.components = _qualified([c for c in query_in(
        client, COMPONENTS, sorted(str(g["DeveloperName"]) for g in rows.groups))
        if not str(c.get("PermissionSetId") or "").startswith(MUTING_PREFIX)])
    declared, managed = _managed(claims)
    rows.sets = _read_sets(client, _set_names(claims, rows.assignments, rows.components),
                           managed, claims.set_prefix, system_perms)
    content = [str(s["Name"]) for s in rows.sets if str(s["Name"]).casefold() in declared]
    # Sets only the org defines still matter to the plan's license checks: what
    # standard objects would a user get through them?
    inspected = [str(s["Name"]) for s in rows.sets if str(s["Name"]).casefold() not in managed]
    rows.object_permissions = _read_access(client, OBJECT_PERMISSIONS, content + inspected,
                                           _OBJECT_ROWS, rows.acc)
    rows.field_permissions = _read_access(client, FIELD_PERMISSIONS, content, _FIELD_ROWS,
                                          rows.acc)
    rows.entity_access = access_rows(client, [s for s in rows.sets
                                              if str(s["Name"]).casefold() in declared])
    rows.entities, rows.entity_names = read_entities(client, claims.setup_entities,
                                                     rows.entity_access)
    return _live(rows, claims, system_perms, client.calls - start)


def _live(rows: _Rows, claims: Claims, system_perms: set[str], api_calls: int) -> Live:
    """The snapshot the records of one read make (pure)."""
    acc = rows.acc
    user_licenses = {str(r["Name"]): _parse_user_license(r) for r in rows.user_licenses}
    psls = {str(r["DeveloperName"]): _parse_psl(r) for r in rows.psls}
    license_by_id = {lic.id: lic for lic in (*user_licenses.values(), *psls.values())}
    sets = _parse_sets(rows.sets, license_by_id, system_perms, _managed(claims)[1],
                       claims.set_prefix, rows.object_permissions.access,
                       rows.field_permissions.access, acc)
    _add_entity_access(sets, rows.entity_access, rows.entities,
                       {str(s["Id"]): str(s["Name"]) for s in rows.sets}, acc)
    groups, group_info = _parse_groups(rows.groups, rows.components, acc)
    users = _parse_users(rows.users, rows.assignments, rows.psl_assignments, license_by_id, acc)
    for r in rows.others:
        _assignment_seen(r, acc)
    standard = rows.object_permissions.standard
    return Live(
        state=State(users=FrozenMap(users), permission_sets=FrozenMap(sets),
                    permission_set_groups=FrozenMap(groups)),
        user_licenses=FrozenMap({k.casefold(): v for k, v in user_licenses.items()}),
        psls=FrozenMap({**{k.casefold(): v for k, v in psls.items()},
                        **{v.label.casefold(): v for v in psls.values()}}),
        profiles=FrozenMap({str(r["Name"]).casefold(): (
            str(r["Name"]), str((r.get("UserLicense") or {}).get("Name", "")))
            for r in rows.profiles}),
        profile_ids=FrozenMap({str(r["Name"]).casefold(): str(r["Id"]) for r in rows.profiles}),
        sets=FrozenMap({str(s["Name"]).casefold(): _set_info(
            s, license_by_id, standard.get(str(s["Name"]).casefold(), set()))
            for s in rows.sets}),
        groups=FrozenMap(group_info),
        ids=FrozenMap(acc.ids),
        fingerprint=FrozenMap(acc.stamps),
        objects=FrozenMap({name.casefold(): object_info(d) for name, d in rows.described.items()
                           if name not in DESCRIBED}),
        system_permissions=frozenset(system_perms),
        other_assignments=tuple(sorted(_assignment_of(r) for r in rows.others)),
        revoked=tuple(sorted(_assignment_of(r) for r in rows.revoked)),
        api_calls=api_calls,
        group_status=FrozenMap({str(g["DeveloperName"]).casefold(): str(g.get("Status") or "")
                                for g in rows.groups}),
        setup_entities=FrozenMap({entity_key(e.type, e.name): e for e in rows.entities}),
        entity_names=FrozenMap(rows.entity_names),
    )


@dataclass
class _Acc:
    """What the parses collect, by record key, for :attr:`Live.ids` and the fingerprint."""

    ids: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)

    def seen(self, key: str, record: Mapping[str, Any]) -> None:
        self.ids[key] = str(record["Id"])
        stamp = record.get("SystemModstamp")
        if stamp:
            self.stamps[key] = str(stamp)


def _assignments(describe: Mapping[str, Any] | None) -> str:
    """The SELECT every PermissionSetAssignment read starts with, up to its ``WHERE``.
    IsRevoked exists only where user access policies are enabled."""
    revoked = ("IsRevoked",) if _has_field(describe, "IsRevoked") else ()
    return ("SELECT " + ", ".join((*ASSIGNMENT_COLUMNS, *revoked))
            + " FROM PermissionSetAssignment WHERE ")


def _managed(claims: Claims) -> tuple[set[str], set[str]]:
    """Casefolded names of the sets declared present, and of all the sets declared."""
    declared = {n.casefold() for n in claims.permission_sets}
    return declared, declared | {n.casefold() for n in claims.absent_sets}


def _group_names(claims: Claims, held: list[Row], holders: list[Row]) -> list[str]:
    """The groups to read: claimed, held by the users, or holding a doomed set."""
    names = {*claims.groups, *claims.absent_groups, *claims.referenced_groups}
    names |= {str((r.get("PermissionSetGroup") or {}).get("DeveloperName"))
              for r in held if r.get("PermissionSetGroupId")}
    names |= {str((r.get("PermissionSetGroup") or {}).get("DeveloperName")) for r in holders}
    return sorted(names)


def _set_names(claims: Claims, held: list[Row], components: list[Row]) -> set[str]:
    """The sets to read: claimed, held by the users directly, or in a group read."""
    names = {*claims.permission_sets, *claims.absent_sets, *claims.referenced_sets}
    names |= {str((r.get("PermissionSet") or {}).get("Name")) for r in held
              if not r.get("PermissionSetGroupId")}
    names |= {str((c.get("PermissionSet") or {}).get("Name")) for c in components}
    return names


def _assignment_of(r: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, username, target) of a PermissionSetAssignment row."""
    return ("group" if r.get("PermissionSetGroupId") else "set",
            str((r.get("Assignee") or {}).get("Username", "")).casefold(),
            str((r.get("PermissionSetGroup") or {}).get("DeveloperName")
                if r.get("PermissionSetGroupId") else (r.get("PermissionSet") or {}).get("Name")))


def _bare(name: str) -> str:
    """The Name field of a set written ``namespace__Name`` (or of a plain one)."""
    return name.rpartition("__")[2]


def _qualify(record: Row) -> None:
    if record.get("Name") is not None:
        record["Name"] = qualified_name(str(record["Name"]), record.get("NamespacePrefix"))


def _qualified(rows: list[Row]) -> list[Row]:
    """Rows whose ``PermissionSet`` names a managed set, named ``namespace__Name``."""
    for r in rows:
        if isinstance(r.get("PermissionSet"), dict):
            _qualify(r["PermissionSet"])
    return rows


def _named(rows: list[Row], names: Iterable[str]) -> list[Row]:
    """PermissionSet rows fetched by bare Name: those the (qualified) names mean."""
    wanted = {n.casefold() for n in names}
    for r in rows:
        _qualify(r)
    return [r for r in rows if str(r["Name"]).casefold() in wanted]


def _has_field(describe: Mapping[str, Any] | None, name: str) -> bool:
    return describe is not None and any(f.get("name") == name
                                        for f in describe.get("fields", ()))


def _content_managed(name: str, managed: set[str], prefix: str | None) -> bool:
    """Whether the plan manages what the set holds: declared (present or absent), or
    under the prefix scope."""
    return name.casefold() in managed or (prefix is not None and name.startswith(prefix))


def _read_sets(client: Querier, names: set[str], managed: set[str], prefix: str | None,
               system_perms: set[str]) -> list[Row]:
    """The permission sets named (``namespace__Name`` for a managed package's), and the
    org's own sets under the prefix scope.

    Sets whose content the plan manages are read with every system permission, so one
    enabled in the org and not in the config shows as a change (and as drift); the
    others, with the base columns only. Hundreds of permission columns don't fit in one
    request: they are spread over as few queries as fit, and the rows merged by Id.
    """
    base = "SELECT Id, " + ", ".join(SET_COLUMNS) + " " + _SET_WHERE
    perm_columns = [SYSTEM_PREFIX + p for p in sorted(system_perms)]
    wide = sorted(n for n in names if n.casefold() in managed)
    narrow = sorted(n for n in names if n.casefold() not in managed)
    rows = _named(_wide(client, "SELECT Id, {columns} " + _SET_WHERE + "Name IN {in}",
                        [*SET_COLUMNS, ACCESS_COLUMN, *perm_columns],
                        sorted({_bare(n) for n in wide})),
                  wide)
    rows += _named(query_in(client, base + "Name IN {in}", map(_bare, narrow)), narrow)
    if prefix:
        known = {str(r["Name"]).casefold() for r in rows}
        # The prefix scope deletes the org's own sets only, never a managed package's.
        under = [r for r in client.query(base + f"Name LIKE {like_prefix(prefix)}")
                 if str(r["Name"]).casefold() not in known and not r.get("NamespacePrefix")]
        by_id = {str(r["Id"]): r for r in under}
        for extra in _wide(client, "SELECT Id, {columns} FROM PermissionSet WHERE Id IN {in}",
                           perm_columns, sorted(by_id)):
            by_id[str(extra["Id"])].update(extra)
        rows += under
    return rows


def _wide(client: Querier, template: str, columns: Sequence[str],
          values: Sequence[str]) -> list[Row]:
    """Rows of ``template`` (see :func:`~reconciler.org.soql.split_select`) for every
    column and value, each row merged from the queries that read its columns."""
    if not columns:
        return []
    merged: dict[str, dict[str, Any]] = {}
    for soql in split_select(template, columns, values):
        for row in client.query(soql):
            one = merged.setdefault(str(row["Id"]), {})
            one.update(row)
            one.pop("attributes", None)
    return list(merged.values())


def _about_doomed_sets(client: Querier, claims: Claims,
                       select_where: str) -> list[Row]:
    """Rows about the sets the plan may delete (declared absent, or undeclared under
    the prefix scope): ``select_where`` ends in ``WHERE`` (or ``AND``)."""
    # A managed package's sets are never the plan's to delete.
    where = []
    if claims.absent_sets:
        where.append("PermissionSet.Name IN {in}")
    if claims.set_prefix:
        where.append(f"PermissionSet.Name LIKE {like_prefix(claims.set_prefix)}")
    if not where:
        return []
    soql = select_where + "PermissionSet.NamespacePrefix = null AND (" + " OR ".join(where) + ")"
    return query_in(client, soql, claims.absent_sets) if claims.absent_sets else client.query(soql)


def query_in(client: Querier, template: str, values: Iterable[str]) -> list[Row]:
    """Every row of ``template`` with its ``{in}`` filled by ``values``, in as many
    queries as fit (see :func:`~reconciler.org.soql.chunked_in`)."""
    rows: list[Row] = []
    for soql in chunked_in(template, sorted(set(values))):
        rows.extend(client.query(soql))
    return rows


#: How the permission rows of each kind are parsed.
_OBJECT_ROWS = RowKind("object", "SobjectType", OBJECT_FIELDS, ObjectAccess.of)
_FIELD_ROWS = RowKind("field", "Field", FIELD_FIELDS, FieldAccess.of)


def _read_access(client: Querier, template: str, names: Sequence[str], kind: RowKind,
                 acc: _Acc) -> PermissionRows:
    """The permission rows of the sets ``names`` (``namespace__Name`` for a managed
    package's), fetched by bare Name, parsed page by page."""
    return read_rows(client, chunked_in(template, sorted({_bare(n) for n in names})),
                     {n.casefold() for n in names}, kind, acc.ids, acc.stamps)


def _parse_user_license(r: Row) -> License:
    """A UserLicense row."""
    return License(str(r["Id"]), str(r["Name"]), str(r.get("MasterLabel") or r["Name"]),
                   int(r.get("TotalLicenses") or 0), int(r.get("UsedLicenses") or 0),
                   "user_license")


def _parse_psl(r: Row) -> License:
    """A PermissionSetLicense row."""
    return License(str(r["Id"]), str(r["DeveloperName"]), str(r["MasterLabel"]),
                   int(r.get("TotalLicenses") or 0), int(r.get("UsedLicenses") or 0), "psl")


def system_permissions_of(describe: Mapping[str, Any] | None) -> set[str]:
    """The system permissions PermissionSet's describe offers (its updateable boolean
    ``Permissions*`` fields), named without the prefix."""
    if not describe:
        return set()
    return {f["name"][len(SYSTEM_PREFIX):] for f in describe.get("fields", ())
            if f.get("type") == "boolean" and str(f["name"]).startswith(SYSTEM_PREFIX)
            and f.get("updateable")}


def object_info(describe: Mapping[str, Any] | None) -> ObjectInfo | None:
    """An sObject's describe as the plan checks against it; None for one the org lacks."""
    if describe is None:
        return None
    fields = describe.get("fields", ())
    return ObjectInfo(
        name=str(describe.get("name")),
        fields=FrozenMap({str(f["name"]).casefold(): bool(f.get("permissionable"))
                          for f in fields}),
        field_names=FrozenMap({str(f["name"]).casefold(): str(f["name"]) for f in fields}),
        read_only=FrozenMap({str(f["name"]).casefold(): "formula" if f.get("calculated")
                             else "auto-number" for f in fields
                             if f.get("calculated") or f.get("autoNumber")}),
        masters=tuple(sorted({str(t) for f in fields if f.get("relationshipOrder") is not None
                              for t in f.get("referenceTo") or ()})),
    )


def _set_info(raw: Mapping[str, Any], licenses: Mapping[str, License],
              standard: set[str]) -> SetInfo:
    lic = licenses.get(str(raw.get("LicenseId") or ""))
    return SetInfo(str(raw["Id"]), str(raw["Name"]), license_label(lic),
                   lic.kind if lic else None, tuple(sorted(standard)),
                   label=str(raw.get("Label") or ""))


def _parse_sets(raw: list[Row], licenses: Mapping[str, License],
                system_perms: set[str], declared: set[str], prefix: str | None,
                objects: Mapping[str, dict[str, ObjectAccess]],
                fields: Mapping[str, dict[str, FieldAccess]],
                acc: _Acc) -> dict[str, PermissionSet]:
    out: dict[str, PermissionSet] = {}
    # Hundreds of permissions per set: build each column name once, not once per set.
    perms = list(system_perms)
    columns = [SYSTEM_PREFIX + p for p in perms]
    for r in raw:
        name = str(r["Name"])
        key = name.casefold()
        acc.seen(record_key("set", name), r)
        if not _content_managed(name, declared, prefix):
            continue
        out[name] = PermissionSet(
            name=name,
            label=str(r.get("Label") or ""),
            description=str(r.get("Description") or ""),
            license=license_label(licenses.get(str(r.get("LicenseId") or ""))),
            system_permissions=frozenset(compress(perms, map(r.get, columns))),
            objects=FrozenMap(objects.get(key, {})),
            fields=FrozenMap(fields.get(key, {})),
        )
    return out


def _add_entity_access(sets: dict[str, PermissionSet], access: list[Row],
                       entities: list[EntityInfo], set_names: Mapping[str, str],
                       acc: _Acc) -> None:
    """Each managed set's access to setup entities, named as the org names them (by Id
    where the entity could not be read)."""
    by_id = {e.id: e for e in entities}
    held: dict[str, set[SetupEntity]] = {}
    for row in access:
        info = by_id.get(str(row["SetupEntityId"]))
        entity = SetupEntity(str(row["SetupEntityType"]),
                             info.name if info else str(row["SetupEntityId"]))
        parent = set_names.get(str(row["ParentId"]), "")
        held.setdefault(parent.casefold(), set()).add(entity)
        acc.seen(record_key("entity", parent, entity.type, entity.name), row)
    for name, ps in sets.items():
        sets[name] = dataclasses.replace(ps, setup_entities=frozenset(
            held.get(name.casefold(), ())))


def _parse_groups(raw: list[Row], components: list[Row], acc: _Acc,
                  ) -> tuple[dict[str, PermissionSetGroup], dict[str, tuple[str, tuple[str, ...]]]]:
    members: dict[str, list[str]] = {}
    for c in components:
        group = str((c.get("PermissionSetGroup") or {}).get("DeveloperName", ""))
        member = str((c.get("PermissionSet") or {}).get("Name", ""))
        members.setdefault(group.casefold(), []).append(member)
        acc.seen(record_key("component", group, member), c)
    out: dict[str, PermissionSetGroup] = {}
    info: dict[str, tuple[str, tuple[str, ...]]] = {}
    for r in raw:
        name = str(r["DeveloperName"])
        acc.seen(record_key("group", name), r)
        held = tuple(sorted(members.get(name.casefold(), []), key=str.casefold))
        out[name] = PermissionSetGroup(name=name, label=str(r.get("MasterLabel") or ""),
                                       description=str(r.get("Description") or ""),
                                       permission_sets=frozenset(held))
        info[name.casefold()] = (str(r["Id"]), held)
    return out, info


def _assignment_seen(r: Mapping[str, Any], acc: _Acc) -> None:
    user = str((r.get("Assignee") or {}).get("Username", ""))
    if r.get("PermissionSetGroupId"):
        acc.seen(record_key("assign-group", user,
                            str((r.get("PermissionSetGroup") or {}).get("DeveloperName"))), r)
    else:
        acc.seen(record_key("assign-set", user, str((r.get("PermissionSet") or {}).get("Name"))),
                 r)


def _parse_users(raw: list[Row], psas: list[Row],
                 pslas: list[Row], licenses: Mapping[str, License],
                 acc: _Acc) -> dict[str, User]:
    sets: dict[str, set[str]] = {}
    groups: dict[str, set[str]] = {}
    held: dict[str, set[str]] = {}
    for r in psas:
        user = str((r.get("Assignee") or {}).get("Username", "")).casefold()
        _assignment_seen(r, acc)
        if r.get("PermissionSetGroupId"):
            groups.setdefault(user, set()).add(
                str((r.get("PermissionSetGroup") or {}).get("DeveloperName")))
        else:
            sets.setdefault(user, set()).add(str((r.get("PermissionSet") or {}).get("Name")))
    for r in pslas:
        user = str((r.get("Assignee") or {}).get("Username", "")).casefold()
        lic = licenses.get(str(r.get("PermissionSetLicenseId")))
        label = license_label(lic) or str(r.get("PermissionSetLicenseId"))
        held.setdefault(user, set()).add(label)
        acc.seen(record_key("assign-psl", user, label), r)
    out: dict[str, User] = {}
    for r in raw:
        username = str(r["Username"]).casefold()
        acc.seen(record_key("user", username), r)
        profile = r.get("Profile") or {}
        out[username] = User(
            username=username,
            first_name=str(r.get("FirstName") or ""),
            last_name=str(r.get("LastName") or ""),
            email=str(r.get("Email") or ""),
            alias=str(r.get("Alias") or ""),
            profile=str(profile.get("Name") or ""),
            license=str((profile.get("UserLicense") or {}).get("Name") or "") or None,
            permission_set_licenses=frozenset(held.get(username, ())),
            permission_sets=frozenset(sets.get(username, ())),
            permission_set_groups=frozenset(groups.get(username, ())),
            active=bool(r.get("IsActive")),
            time_zone=str(r.get("TimeZoneSidKey") or ""),
            locale=str(r.get("LocaleSidKey") or ""),
            language=str(r.get("LanguageLocaleKey") or ""),
            email_encoding=str(r.get("EmailEncodingKey") or ""),
        )
        acc.stamps[record_key("assignments", username)] = "|".join(sorted(
            [f"set:{s}" for s in sets.get(username, ())]
            + [f"group:{g}" for g in groups.get(username, ())]
            + [f"psl:{p}" for p in held.get(username, ())], key=str.casefold))
    return out
