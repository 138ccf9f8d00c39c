"""Reading the live org: a few batched SOQL queries → a :class:`Live` snapshot.

Only what the config claims is read: its users, its permission sets and groups,
the sets and groups those users hold, the licences and profiles they name. Queries
take IN lists of names, split so that each request fits Salesforce's limit on its
size (see :mod:`reconciler.org.soql`); a permission set's hundreds of system permission
columns are read only for the sets the plan manages, spread over as few queries as
fit. The number of calls grows with the number of rows through paging, and with the
number of managed sets only as far as their Ids must be split.

Each read is a query plus a pure parse (``_parse_*``); raw records with their
``attributes`` never leave this module. Profile-owned and group-owned permission
sets, and their assignments, are filtered out here. A managed package's set is named
``namespace__Name`` (its NamespacePrefix), so it is never the config's ``Name``. An
assignment revoked by a user access policy (``IsRevoked``) is not held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    State,
    User,
    is_standard_object,
)
from reconciler.org.soql import chunked_in, quote, split_select

# Salesforce field ↔ permission word, for object and field permissions.
OBJECT_FIELDS = {
    "read": "PermissionsRead", "create": "PermissionsCreate", "edit": "PermissionsEdit",
    "delete": "PermissionsDelete", "view_all": "PermissionsViewAllRecords",
    "modify_all": "PermissionsModifyAllRecords",
}
FIELD_FIELDS = {"read": "PermissionsRead", "edit": "PermissionsEdit"}
SYSTEM_PREFIX = "Permissions"
# Columns every permission set is read with (besides Id); the system permissions only
# for the sets whose content the plan manages.
SET_COLUMNS = ("Name", "NamespacePrefix", "Label", "Description", "LicenseId",
               "SystemModstamp")


class Querier(Protocol):
    """What the reader needs from the org client."""

    @property
    def calls(self) -> int: ...

    def query(self, soql: str) -> list[dict[str, Any]]: ...

    def describe(self, sobjects: Sequence[str]) -> Mapping[str, dict[str, Any] | None]: ...


@dataclass(frozen=True)
class License:
    """A user license or a permission set licence, with its seats."""

    id: str
    name: str  # UserLicense.Name, or the PSL's DeveloperName
    label: str  # MasterLabel
    total: int
    used: int
    kind: str  # "user_license" | "psl"

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


@dataclass(frozen=True)
class SetInfo:
    """What the plan needs to know of any permission set it touches."""

    id: str
    name: str
    license: str | None  # the licence's display name (user license Name or PSL label)
    license_kind: str | None  # "user_license" | "psl" | None
    #: Standard objects the set grants any access to (read for sets the config
    #: doesn't declare, so license checks can see what a user would get).
    standard_objects: tuple[str, ...] = ()
    #: Its label, as Setup shows it (and names it in the audit trail).
    label: str = ""


@dataclass(frozen=True)
class ObjectInfo:
    """An sObject as describe() tells it: its fields, and which are permissionable."""

    name: str
    fields: FrozenMap[str, bool]  # lower-case field name → permissionable
    field_names: FrozenMap[str, str]  # lower-case → canonical
    #: Fields field permissions can grant read on only: lower-case → "formula" or
    #: "auto-number" (describe's ``calculated`` / ``autoNumber``).
    read_only: FrozenMap[str, str] = field(default_factory=FrozenMap)
    #: The objects this one is a detail of: targets of its master-detail fields (those
    #: with a ``relationshipOrder``).
    masters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Live:
    """The org as far as the config claims it, plus the catalogue the plan checks against."""

    state: State
    user_licenses: FrozenMap[str, License]  # casefolded name → License
    psls: FrozenMap[str, License]  # casefolded developer name AND label → License
    profiles: FrozenMap[str, tuple[str, str]]  # casefolded name → (name, user license name)
    profile_ids: FrozenMap[str, str]  # casefolded name → Id
    sets: FrozenMap[str, SetInfo]  # casefolded name → every set touched
    groups: FrozenMap[str, tuple[str, tuple[str, ...]]]  # casefolded → (id, member names)
    #: Ids of the records actions will write, by record key (see :func:`record_key`).
    ids: FrozenMap[str, str]
    #: SystemModstamp of every record the plan depends on, plus each user's assignments.
    fingerprint: FrozenMap[str, str]
    objects: FrozenMap[str, ObjectInfo | None]  # casefolded sObject → describe, None: unknown
    system_permissions: frozenset[str]  # names the org's PermissionSet has (no prefix)
    #: Assignments of absent sets and groups to users the config does not declare.
    other_assignments: tuple[tuple[str, str, str], ...] = ()  # (kind, username, target)
    #: Assignments of declared users whose rows a user access policy revoked: not held,
    #: and not assignable again over the API while the row stays.
    revoked: tuple[tuple[str, str, str], ...] = ()  # (kind, username, target)
    api_calls: int = 0
    #: Each group's recalculation Status (Updated, Outdated, Updating, Failed), by
    #: casefolded DeveloperName.
    group_status: FrozenMap[str, str] = field(default_factory=FrozenMap)


def record_key(kind: str, *parts: str) -> str:
    """The key of a record in :attr:`Live.ids` and :attr:`Live.fingerprint`."""
    return kind + ":" + ":".join(p.casefold() for p in parts)


@dataclass
class _Acc:
    """What the reads collect before the snapshot is frozen."""

    ids: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)

    def seen(self, key: str, record: Mapping[str, Any]) -> None:
        self.ids[key] = str(record["Id"])
        stamp = record.get("SystemModstamp")
        if stamp:
            self.stamps[key] = str(stamp)


@dataclass(frozen=True)
class Claims:
    """What the config claims, by natural key, for the reader to fetch."""

    usernames: tuple[str, ...]
    permission_sets: tuple[str, ...]  # declared (present) sets: content is read
    absent_sets: tuple[str, ...] = ()
    referenced_sets: tuple[str, ...] = ()  # named by users or groups, not declared
    groups: tuple[str, ...] = ()
    absent_groups: tuple[str, ...] = ()
    referenced_groups: tuple[str, ...] = ()
    set_prefix: str | None = None
    objects: tuple[str, ...] = ()  # sObjects named in object or field access


def read(client: Querier, claims: Claims) -> Live:
    """One snapshot of the claimed part of the org."""
    start = client.calls
    acc = _Acc()
    user_licenses, psls = _licenses(client)
    profile_rows = client.query("SELECT Id, Name, UserLicense.Name FROM Profile")
    described = client.describe(["PermissionSet", "PermissionSetAssignment",
                                 *sorted(set(claims.objects))])
    system_perms = system_permissions_of(described.get("PermissionSet"))
    objects = {name.casefold(): object_info(d) for name, d in described.items()
               if name not in ("PermissionSet", "PermissionSetAssignment")}
    # IsRevoked exists only where user access policies are enabled.
    psa_select = ("SELECT Id, AssigneeId, Assignee.Username, PermissionSetId, "
                  "PermissionSet.Name, PermissionSet.NamespacePrefix, PermissionSetGroupId, "
                  "PermissionSetGroup.DeveloperName, SystemModstamp"
                  + (", IsRevoked" if _has_field(described.get("PermissionSetAssignment"),
                                                 "IsRevoked") else "")
                  + " FROM PermissionSetAssignment WHERE ")

    users_raw = query_in(
        client, "SELECT Id, Username, FirstName, LastName, Email, Alias, IsActive, "
                "Profile.Name, Profile.UserLicense.Name, TimeZoneSidKey, LocaleSidKey, "
                "LanguageLocaleKey, EmailEncodingKey, SystemModstamp "
                "FROM User WHERE Username IN {in}", claims.usernames)
    psas = _qualified(query_in(client, psa_select + "PermissionSet.IsOwnedByProfile = false "
                                    "AND Assignee.Username IN {in}", claims.usernames))
    revoked = [r for r in psas if r.get("IsRevoked")]
    psas = [r for r in psas if not r.get("IsRevoked")]
    others = _about_doomed_sets(client, claims, psa_select + "PermissionSetGroupId = null AND ")
    if claims.absent_groups:
        others += query_in(client, psa_select + "PermissionSetGroup.DeveloperName IN {in}",
                           claims.absent_groups)
    others = _qualified(others)
    pslas = query_in(client, "SELECT Id, Assignee.Username, PermissionSetLicenseId, "
                             "SystemModstamp FROM PermissionSetLicenseAssign WHERE "
                             "Assignee.Username IN {in}", claims.usernames)

    group_names = {*claims.groups, *claims.absent_groups, *claims.referenced_groups}
    group_names |= {str((r.get("PermissionSetGroup") or {}).get("DeveloperName"))
                    for r in psas if r.get("PermissionSetGroupId")}
    # Groups holding a set about to be deleted: it must leave them first.
    holders = _about_doomed_sets(client, claims, "SELECT PermissionSetGroup.DeveloperName "
                                                 "FROM PermissionSetGroupComponent WHERE ")
    group_names |= {str((r.get("PermissionSetGroup") or {}).get("DeveloperName"))
                    for r in holders}
    groups_raw = query_in(client, "SELECT Id, DeveloperName, MasterLabel, Description, Status, "
                                  "SystemModstamp FROM PermissionSetGroup WHERE DeveloperName "
                                  "IN {in}", sorted(group_names))
    components = _qualified(query_in(
        client, "SELECT Id, PermissionSetGroup.DeveloperName, PermissionSet.Name, "
                "PermissionSet.NamespacePrefix, SystemModstamp FROM PermissionSetGroupComponent "
                "WHERE PermissionSetGroup.DeveloperName IN {in}",
        sorted(str(g["DeveloperName"]) for g in groups_raw)))

    set_names = {*claims.permission_sets, *claims.absent_sets, *claims.referenced_sets}
    set_names |= {str((r.get("PermissionSet") or {}).get("Name")) for r in psas
                  if not r.get("PermissionSetGroupId")}
    set_names |= {str((c.get("PermissionSet") or {}).get("Name")) for c in components}
    declared = {n.casefold() for n in claims.permission_sets}
    managed = declared | {n.casefold() for n in claims.absent_sets}
    sets_raw = _read_sets(client, set_names, managed, claims.set_prefix, system_perms)
    content_sets = [str(s["Name"]) for s in sets_raw if str(s["Name"]).casefold() in declared]
    # Sets only the org defines still matter to the plan's license checks: what
    # standard objects would a user get through them?
    inspected = [str(s["Name"]) for s in sets_raw if str(s["Name"]).casefold() not in managed]
    obj_rows = _parented(query_in(
        client, "SELECT Id, Parent.Name, Parent.NamespacePrefix, SobjectType, "
                + ", ".join(OBJECT_FIELDS.values())
                + ", SystemModstamp FROM ObjectPermissions WHERE Parent.Name IN {in}",
        map(_bare, content_sets + inspected)), content_sets + inspected)
    field_rows = _parented(query_in(
        client, "SELECT Id, Parent.Name, Parent.NamespacePrefix, Field, "
                + ", ".join(FIELD_FIELDS.values())
                + ", SystemModstamp FROM FieldPermissions WHERE Parent.Name IN {in}",
        map(_bare, content_sets)), content_sets)

    license_by_id = {lic.id: lic for lic in (*user_licenses.values(), *psls.values())}
    sets = _parse_sets(sets_raw, license_by_id, system_perms, managed, claims.set_prefix,
                       obj_rows, field_rows, acc)
    standard: dict[str, set[str]] = {}
    for row in obj_rows:
        if any(row.get(f) for f in OBJECT_FIELDS.values()) and is_standard_object(
                str(row["SobjectType"])):
            parent = str((row.get("Parent") or {}).get("Name", "")).casefold()
            standard.setdefault(parent, set()).add(str(row["SobjectType"]))
    groups = _parse_groups(groups_raw, components, acc)
    users = _parse_users(users_raw, psas, pslas, license_by_id, acc)
    other = tuple(sorted(_assignment_of(r) for r in others))
    for r in others:
        _assignment_seen(r, acc)

    set_info = {str(s["Name"]).casefold(): _set_info(
        s, license_by_id, standard.get(str(s["Name"]).casefold(), set())) for s in sets_raw}
    psl_index = {**{k.casefold(): v for k, v in psls.items()},
                 **{v.label.casefold(): v for v in psls.values()}}
    return Live(
        state=State(users=FrozenMap(users), permission_sets=FrozenMap(sets),
                    permission_set_groups=FrozenMap(groups[0])),
        user_licenses=FrozenMap({k.casefold(): v for k, v in user_licenses.items()}),
        psls=FrozenMap(psl_index),
        profiles=FrozenMap({str(r["Name"]).casefold(): (
            str(r["Name"]), str((r.get("UserLicense") or {}).get("Name", "")))
            for r in profile_rows}),
        profile_ids=FrozenMap({str(r["Name"]).casefold(): str(r["Id"]) for r in profile_rows}),
        sets=FrozenMap(set_info),
        groups=FrozenMap(groups[1]),
        ids=FrozenMap(acc.ids),
        fingerprint=FrozenMap(acc.stamps),
        objects=FrozenMap(objects),
        system_permissions=frozenset(system_perms),
        other_assignments=other,
        revoked=tuple(sorted(_assignment_of(r) for r in revoked)),
        api_calls=client.calls - start,
        group_status=FrozenMap({str(g["DeveloperName"]).casefold(): str(g.get("Status") or "")
                                for g in groups_raw}),
    )


def _assignment_of(r: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, username, target) of a PermissionSetAssignment row."""
    return ("group" if r.get("PermissionSetGroupId") else "set",
            str((r.get("Assignee") or {}).get("Username", "")).casefold(),
            str((r.get("PermissionSetGroup") or {}).get("DeveloperName")
                if r.get("PermissionSetGroupId") else (r.get("PermissionSet") or {}).get("Name")))


def qualified_name(name: str, namespace: str | None) -> str:
    """A set's name as config and plans write it: ``namespace__Name`` for a managed
    package's set (a set's own name never holds a double underscore)."""
    return f"{namespace}__{name}" if namespace else name


def is_managed(name: str) -> bool:
    """Whether a set name (as :func:`qualified_name` writes it) is a managed package's."""
    return "__" in name


def _bare(name: str) -> str:
    """The Name field of a set written ``namespace__Name`` (or of a plain one)."""
    return name.rpartition("__")[2]


def _qualify(record: dict[str, Any]) -> None:
    if record.get("Name") is not None:
        record["Name"] = qualified_name(str(record["Name"]), record.get("NamespacePrefix"))


def _qualified(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose ``PermissionSet`` names a managed set, named ``namespace__Name``."""
    for r in rows:
        if isinstance(r.get("PermissionSet"), dict):
            _qualify(r["PermissionSet"])
    return rows


def _named(rows: list[dict[str, Any]], names: Iterable[str]) -> list[dict[str, Any]]:
    """PermissionSet rows fetched by bare Name: those the (qualified) names mean."""
    wanted = {n.casefold() for n in names}
    for r in rows:
        _qualify(r)
    return [r for r in rows if str(r["Name"]).casefold() in wanted]


def _parented(rows: list[dict[str, Any]], names: Iterable[str]) -> list[dict[str, Any]]:
    """Permission rows fetched by their set's bare Name: those of the sets meant."""
    wanted = {n.casefold() for n in names}
    for r in rows:
        if isinstance(r.get("Parent"), dict):
            _qualify(r["Parent"])
    return [r for r in rows if str((r.get("Parent") or {}).get("Name", "")).casefold() in wanted]


def _has_field(describe: Mapping[str, Any] | None, name: str) -> bool:
    return describe is not None and any(f.get("name") == name
                                        for f in describe.get("fields", ()))


def _content_managed(name: str, managed: set[str], prefix: str | None) -> bool:
    """Whether the plan manages what the set holds: declared (present or absent), or
    under the prefix scope."""
    return name.casefold() in managed or (prefix is not None and name.startswith(prefix))


_SET_WHERE = ("FROM PermissionSet WHERE IsOwnedByProfile = false AND "
              "PermissionSetGroupId = null AND ")


def _read_sets(client: Querier, names: set[str], managed: set[str], prefix: str | None,
               system_perms: set[str]) -> list[dict[str, Any]]:
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
                        [*SET_COLUMNS, *perm_columns], sorted({_bare(n) for n in wide})),
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
          values: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of ``template`` (see :func:`~reconciler.org.soql.split_select`) for every
    column and value, each row merged from the queries that read its columns."""
    if not columns:
        return []
    merged: dict[str, dict[str, Any]] = {}
    for soql in split_select(template, columns, values):
        for row in client.query(soql):
            merged.setdefault(str(row["Id"]), {}).update(
                (k, v) for k, v in row.items() if k != "attributes")
    return list(merged.values())


def _about_doomed_sets(client: Querier, claims: Claims,
                       select_where: str) -> list[dict[str, Any]]:
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


def like_prefix(prefix: str) -> str:
    """A LIKE pattern literal matching names that start with ``prefix`` (its own ``%``
    and ``_`` matched literally)."""
    literal = quote(prefix)[:-1].replace("%", "\\%").replace("_", "\\_")
    return literal + "%'"


def query_in(client: Querier, template: str, values: Iterable[str]) -> list[dict[str, Any]]:
    """Every row of ``template`` with its ``{in}`` filled by ``values``, in as many
    queries as fit (see :func:`~reconciler.org.soql.chunked_in`)."""
    rows: list[dict[str, Any]] = []
    for soql in chunked_in(template, sorted(set(values))):
        rows.extend(client.query(soql))
    return rows


def _licenses(client: Querier) -> tuple[dict[str, License], dict[str, License]]:
    users = {str(r["Name"]): License(str(r["Id"]), str(r["Name"]),
                                     str(r.get("MasterLabel") or r["Name"]),
                                     int(r.get("TotalLicenses") or 0),
                                     int(r.get("UsedLicenses") or 0), "user_license")
             for r in client.query("SELECT Id, Name, MasterLabel, TotalLicenses, UsedLicenses "
                                   "FROM UserLicense")}
    psls = {str(r["DeveloperName"]): License(str(r["Id"]), str(r["DeveloperName"]),
                                             str(r["MasterLabel"]),
                                             int(r.get("TotalLicenses") or 0),
                                             int(r.get("UsedLicenses") or 0), "psl")
            for r in client.query("SELECT Id, DeveloperName, MasterLabel, TotalLicenses, "
                                  "UsedLicenses FROM PermissionSetLicense")}
    return users, psls


def system_permissions_of(describe: Mapping[str, Any] | None) -> set[str]:
    if not describe:
        return set()
    return {f["name"][len(SYSTEM_PREFIX):] for f in describe.get("fields", ())
            if f.get("type") == "boolean" and str(f["name"]).startswith(SYSTEM_PREFIX)
            and f.get("updateable")}


def object_info(describe: Mapping[str, Any] | None) -> ObjectInfo | None:
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


def license_label(lic: License | None) -> str | None:
    """How a licence is named in config and plans: a user license's Name, a PSL's label."""
    if lic is None:
        return None
    return lic.name if lic.kind == "user_license" else lic.label


def _set_info(raw: Mapping[str, Any], licenses: Mapping[str, License],
              standard: set[str]) -> SetInfo:
    lic = licenses.get(str(raw.get("LicenseId") or ""))
    return SetInfo(str(raw["Id"]), str(raw["Name"]), license_label(lic),
                   lic.kind if lic else None, tuple(sorted(standard)),
                   label=str(raw.get("Label") or ""))


def _parse_sets(raw: list[dict[str, Any]], licenses: Mapping[str, License],
                system_perms: set[str], declared: set[str], prefix: str | None,
                obj_rows: list[dict[str, Any]], field_rows: list[dict[str, Any]],
                acc: _Acc) -> dict[str, PermissionSet]:
    objects: dict[str, dict[str, ObjectAccess]] = {}
    for row in obj_rows:
        parent = str((row.get("Parent") or {}).get("Name", "")).casefold()
        words = [w for w, f in OBJECT_FIELDS.items() if row.get(f)]
        objects.setdefault(parent, {})[str(row["SobjectType"])] = ObjectAccess.of(words)
        acc.seen(record_key("object", parent, str(row["SobjectType"])), row)
    fields: dict[str, dict[str, FieldAccess]] = {}
    for row in field_rows:
        parent = str((row.get("Parent") or {}).get("Name", "")).casefold()
        words = [w for w, f in FIELD_FIELDS.items() if row.get(f)]
        fields.setdefault(parent, {})[str(row["Field"])] = FieldAccess.of(words)
        acc.seen(record_key("field", parent, str(row["Field"])), row)
    out: dict[str, PermissionSet] = {}
    # Hundreds of permissions per set: build each column name once, not once per set.
    columns = [(SYSTEM_PREFIX + p, p) for p in system_perms]
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
            system_permissions=frozenset(p for column, p in columns if r.get(column)),
            objects=FrozenMap(objects.get(key, {})),
            fields=FrozenMap(fields.get(key, {})),
        )
    return out


def _parse_groups(raw: list[dict[str, Any]], components: list[dict[str, Any]], acc: _Acc,
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


def _parse_users(raw: list[dict[str, Any]], psas: list[dict[str, Any]],
                 pslas: list[dict[str, Any]], licenses: Mapping[str, License],
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
