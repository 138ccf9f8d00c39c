"""Rules for permission sets and what they grant: ObjectPermissions (implications and
cross-object dependencies) and FieldPermissions (mirrored on Task and Event); and the
permission rows that vanish when they grant nothing. SetupEntityAccess is ``entities``."""

from __future__ import annotations

from reconciler.emulator.apierror import bad_request
from reconciler.emulator.catalog import SObject
from reconciler.emulator.rules.lookups import (
    ACTIVITY_PERMISSIONS,
    WORDS,
    Hooks,
    OrgView,
    check_implications,
    dev_name,
    grant_words,
    is_integration_license,
    license_allows,
    license_of_profile,
    name_of_license,
    not_platform_owned,
    set_name,
    sharing_custom_fields,
)
from reconciler.emulator.sobjects import (
    FIELD_PERMISSION_FIELDS,
    OBJECT_PERMISSION_FIELDS,
    is_standard_data_object,
)
from reconciler.emulator.store import Record

# Implications Setup enforces [doc]: permission → the ones it needs.
OBJECT_IMPLIES: dict[str, tuple[str, ...]] = {
    "PermissionsCreate": ("PermissionsRead",),
    "PermissionsEdit": ("PermissionsRead",),
    "PermissionsDelete": ("PermissionsRead", "PermissionsEdit"),
    "PermissionsViewAllRecords": ("PermissionsRead",),
    "PermissionsModifyAllRecords": ("PermissionsRead", "PermissionsEdit", "PermissionsDelete",
                                    "PermissionsViewAllRecords"),
}
FIELD_IMPLIES: dict[str, tuple[str, ...]] = {"PermissionsEdit": ("PermissionsRead",)}
# Verbs of Salesforce's "depends on permission(s)" errors: View All reads "Read All".
_DEPENDENCY_WORDS = {**WORDS, "PermissionsViewAllRecords": "Read All"}
_CRUD = ("PermissionsRead", "PermissionsCreate", "PermissionsEdit", "PermissionsDelete")
# Object permissions that depend on another object's permission in the same set, as
# (object, its permissions, the object they depend on, the permission needed there).
# Sources and confidence: docs/salesforce-behaviour.md §3.
CROSS_OBJECT_DEPENDENCIES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("Contract", _CRUD, "Account", "PermissionsRead"),
    ("Contract", ("PermissionsViewAllRecords",), "Account", "PermissionsViewAllRecords"),
    ("Asset", ("PermissionsViewAllRecords",), "Account", "PermissionsViewAllRecords"),
)
# A detail object's permissions depend on its master's the same way: (its
# permissions, the master's permission they need).
MASTER_DEPENDENCIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (_CRUD, "PermissionsRead"),
    (("PermissionsViewAllRecords",), "PermissionsViewAllRecords"),
)


def vanishes(s: SObject, rec: Record) -> bool:
    """A permission row with every permission false is not kept [doc]."""
    if s.name == "ObjectPermissions":
        return not any(rec.get(p) for p in OBJECT_PERMISSION_FIELDS)
    if s.name == "FieldPermissions":
        return not any(rec.get(p) for p in FIELD_PERMISSION_FIELDS)
    return False


def _ps_before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    dev_name(org, "PermissionSet", "Name", rec, None)
    lic_id = rec.get("LicenseId")
    if lic_id:
        got = org.get(lic_id)
        if got is None or got[0] not in ("PermissionSetLicense", "UserLicense"):
            raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                              ["LicenseId"])
    rec.update(IsOwnedByProfile=False, IsCustom=True, Type="Regular", ProfileId=None,
               PermissionSetGroupId=None, NamespacePrefix=None)


def _ps_before_update(org: OrgView, old: Record, changes: Record, actor_id: str) -> None:
    not_platform_owned(old, "edit")
    dev_name(org, "PermissionSet", "Name", changes, old)


def _ps_after_create(org: OrgView, rec: Record, actor_id: str) -> None:
    if rec.get("LicenseId"):
        org.audit("PermSetCreate", "Permission Sets",
                  f"Created permission set {rec['Label']}: with license "
                  f"{name_of_license(org, rec.get('LicenseId'))}", actor_id)
    else:
        org.audit("PermSetCreateNoLicense", "Permission Sets",
                  f"Created permission set {rec['Label']}: with no license", actor_id)
    perms = [k[len("Permissions"):] for k, v in rec.items() if k.startswith("Permissions") and v]
    if perms:
        org.audit("PermSetEnableUserPerm", "Permission Sets",
                  f"Permission set {rec['Label']}: enabled system permissions "
                  f"{', '.join(perms)}", actor_id)


def _ps_after_update(org: OrgView, old: Record, new: Record, actor_id: str) -> None:
    label = new["Label"]
    for key in sorted(new):
        if key.startswith("Permissions") and bool(old.get(key)) != bool(new.get(key)):
            state = "enabled" if new.get(key) else "disabled"
            org.audit("PermSetEnableUserPerm" if new.get(key) else "PermSetDisableUserPerm",
                      "Permission Sets",
                      f"Permission set {label}: {state} system permission "
                      f"{key[len('Permissions'):]}", actor_id)
    for key in ("Name", "Label", "Description"):
        if old.get(key) != new.get(key):
            org.audit("PermSetChanged", "Permission Sets",
                      f"Permission set {label}: changed {key} from \"{old.get(key)}\" to "
                      f"\"{new.get(key)}\"", actor_id)


def _ps_before_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    not_platform_owned(rec, "delete")
    n = len(org.where("PermissionSetAssignment", PermissionSetId=rec["Id"]))
    if n:
        raise bad_request(
            "DELETE_FAILED",
            f"Can't delete permission set {rec['Name']}: it is assigned to {n} "
            f"user{'s' if n != 1 else ''}. Remove the assignments first.",
        )
    if org.where("PermissionSetGroupComponent", PermissionSetId=rec["Id"]):
        raise bad_request(
            "DELETE_FAILED",
            f"Can't delete permission set {rec['Name']}: it is included in a permission set "
            "group. Remove it from the group first.",
        )


def _ps_after_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    for child in ("ObjectPermissions", "FieldPermissions", "SetupEntityAccess"):
        for row in org.where(child, ParentId=rec["Id"]):
            org.store.delete(row["Id"])
    org.audit("PermSetDelete", "Permission Sets", f"Deleted permission set {rec['Label']}",
              actor_id)


def _parent_set(org: OrgView, rec: Record) -> Record:
    got = org.get(rec["ParentId"])
    assert got is not None
    return got[1]


def _mutes(org: OrgView, row: Record) -> bool:
    """The row is a muting permission set's: what it ticks is muted, so it needs
    nothing else ticked (muting Edit alone leaves Read) [assumed]."""
    got = org.get(row["ParentId"])
    return got is not None and got[0] == "MutingPermissionSet"


def _objperm_check(org: OrgView, rec: Record, old: Record | None) -> None:
    merged = {**(old or {}), **rec}
    ps = _parent_set(org, merged)
    mutes = _mutes(org, merged)
    sobject = str(merged["SobjectType"])
    target = org.catalog.get(sobject)
    if target is None or target.setup or target.name.lower() in ACTIVITY_PERMISSIONS:
        raise bad_request("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"Sobject Type Name: bad value for restricted picklist field: {sobject}",
                          ["SobjectType"])
    merged["SobjectType"] = target.name
    rec["SobjectType"] = target.name
    if ps.get("PermissionSetGroupId"):
        not_platform_owned(ps, "edit")
    if not mutes:
        _check_dependencies(org, merged)
    if old is not None and not mutes:
        _check_dependents(org, merged)
    if old is None and org.where("ObjectPermissions", ParentId=ps["Id"], SobjectType=target.name):
        raise bad_request("DUPLICATE_VALUE",
                          f"duplicate value found: ParentId, SobjectType duplicates value on "
                          f"record with id: {ps['Id']}", [])
    if mutes or not is_standard_data_object(target.name):
        return
    granted = grant_words(org, merged)
    if not granted:
        return
    if ps.get("IsOwnedByProfile"):
        prof = org.get(ps.get("ProfileId") or "")
        lic = license_of_profile(org, str(prof[1]["Id"])) if prof else None
        if is_integration_license(lic):
            raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                              f"The user license doesn't allow the permission: {granted[0]}")
        return
    ps_lic = org.get(ps.get("LicenseId") or "")
    if ps_lic is not None and ps_lic[0] == "UserLicense" and is_integration_license(ps_lic[1]):
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          f"The user license doesn't allow the permission: {granted[0]}")
    for psa in org.where("PermissionSetAssignment", PermissionSetId=ps["Id"]):
        user = org.get(psa["AssigneeId"])
        if user is not None:
            license_allows(org, ps, user[1], granted)


def _objperm_before_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    if _mutes(org, rec):
        return
    _check_dependents(org, {**rec, **dict.fromkeys(OBJECT_PERMISSION_FIELDS, False)})


def _object_needs(org: OrgView, sobject: str) -> list[tuple[tuple[str, ...], str, str]]:
    """What ``sobject``'s permissions depend on in other objects: (its permissions,
    the other object, the permission needed there)."""
    out = [(perms, other, need) for obj, perms, other, need in CROSS_OBJECT_DEPENDENCIES
           if obj.lower() == sobject.lower()]
    s = org.catalog.get(sobject)
    for f in s or ():
        if f.relationship_order is not None:
            out += [(perms, master, need) for master in f.reference_to
                    for perms, need in MASTER_DEPENDENCIES]
    return out


def _dependency_label(org: OrgView, sobject: str) -> str:
    """How the error names an object: a standard one by plural label, a custom one by
    API name (as the errors in shared/real-salesforce quote them)."""
    s = org.catalog.get(sobject)
    return s.label + "s" if s is not None and not s.custom else sobject


def _row_of(org: OrgView, parent_id: str, sobject: str) -> Record:
    rows = [r for r in org.where("ObjectPermissions", ParentId=parent_id)
            if str(r.get("SobjectType", "")).lower() == sobject.lower()]
    return rows[0] if rows else {}


def _dependency_failures(org: OrgView, row: Record, others: dict[str, Record]) -> list[str]:
    """One "Permission X depends on permission(s): …" per permission of ``row`` whose
    prerequisites are missing; ``others`` overrides rows of other objects."""
    sobject = str(row["SobjectType"])
    label = _dependency_label(org, sobject)
    needs = _object_needs(org, sobject)
    failures = []
    for perm in OBJECT_PERMISSION_FIELDS:
        if not row.get(perm):
            continue
        missing = [f"{_DEPENDENCY_WORDS[n]} {label}" for n in OBJECT_IMPLIES.get(perm, ())
                   if not row.get(n)]
        for perms, other, need in needs:
            have = others.get(other.lower()) or _row_of(org, row["ParentId"], other)
            if perm in perms and not have.get(need):
                missing.append(f"{_DEPENDENCY_WORDS[need]} {_dependency_label(org, other)}")
        if missing:
            failures.append(f"Permission {_DEPENDENCY_WORDS[perm]} {label} depends on "
                            f"permission(s): {', '.join(missing)}")
    return failures


def _check_dependencies(org: OrgView, row: Record) -> None:
    """A row needs its own implied permissions and its prerequisites in other objects
    of the same set [doc / observed errors]; several failures are joined with "; "."""
    failures = _dependency_failures(org, row, {})
    if failures:
        raise bad_request("FIELD_INTEGRITY_EXCEPTION", "; ".join(failures), [])


def _check_dependents(org: OrgView, row: Record) -> None:
    """A prerequisite can't be taken away while a permission that needs it remains
    [assumed: the dependent's own error]."""
    failures = []
    changed = {str(row["SobjectType"]).lower(): row}
    for other in org.where("ObjectPermissions", ParentId=row["ParentId"]):
        if str(other.get("SobjectType", "")).lower() in changed:
            continue
        if any(o.lower() in changed for _, o, _ in _object_needs(org, str(other["SobjectType"]))):
            failures += _dependency_failures(org, other, changed)
    if failures:
        raise bad_request("FIELD_INTEGRITY_EXCEPTION", "; ".join(failures), [])


def _objperm_audit(org: OrgView, old: Record | None, new: Record | None, actor_id: str) -> None:
    row = new or old
    assert row is not None
    label = set_name(org, row["ParentId"])
    before = [WORDS[p] for p in OBJECT_PERMISSION_FIELDS if old and old.get(p)]
    after = [WORDS[p] for p in OBJECT_PERMISSION_FIELDS if new and new.get(p)]
    org.audit("PermSetEntityPermChanged", "Permission Sets",
              f"Changed {row['SobjectType']} object permissions for permission set {label}: "
              f"from [{', '.join(before)}] to [{', '.join(after)}]", actor_id)


def _fieldperm_check(org: OrgView, rec: Record, old: Record | None) -> None:
    merged = {**(old or {}), **rec}
    ps = _parent_set(org, merged)
    if ps.get("PermissionSetGroupId"):
        not_platform_owned(ps, "edit")
    field_name = str(merged["Field"])
    obj_name, _, fname = field_name.partition(".")
    target = org.catalog.get(obj_name)
    f = target.field(fname) if target is not None else None
    if target is None or f is None or not f.permissionable:
        raise bad_request("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"Field Name: bad value for restricted picklist field: {field_name}",
                          ["Field"])
    if str(merged["SobjectType"]).lower() != target.name.lower():
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          f"Field {field_name} does not belong to {merged['SobjectType']}",
                          ["Field"])
    rec["Field"] = f"{target.name}.{f.name}"
    rec["SobjectType"] = target.name
    if not _mutes(org, merged):
        check_implications(merged, FIELD_IMPLIES, rec["Field"])
    if merged.get("PermissionsEdit") and (f.calculated or f.auto_number):
        # [assumed wording] Setup offers only Read for formula and auto-number fields.
        kind = "a formula" if f.calculated else "an auto-number"
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          f"Permission Edit {rec['Field']}: {kind} field is read-only; only "
                          "Read can be granted", ["PermissionsEdit"])
    if old is None and org.where("FieldPermissions", ParentId=ps["Id"], Field=rec["Field"]):
        raise bad_request("DUPLICATE_VALUE",
                          f"duplicate value found: ParentId, Field duplicates value on record "
                          f"with id: {ps['Id']}", [])


def _fieldperm_mirror(org: OrgView, row: Record, actor_id: str, *, deleted: bool) -> None:
    """An activity custom field is one field on Task and Event: its permission row on
    one object is written, changed and removed on the other too."""
    obj, _, fname = str(row["Field"]).partition(".")
    twins = [o for o in sharing_custom_fields(obj) if o.lower() != obj.lower()]
    target = org.catalog.get(twins[0]) if twins else None
    f = target.field(fname) if target is not None else None
    if target is None or f is None or not f.custom:
        return
    twin = f"{target.name}.{f.name}"
    existing = org.where("FieldPermissions", ParentId=row["ParentId"], Field=twin)
    perms = {p: bool(row.get(p)) for p in FIELD_PERMISSION_FIELDS}
    if deleted:
        for r in existing:
            org.store.delete(r["Id"])
    elif existing:
        now = org.now()
        org.store.update(existing[0]["Id"], {**perms, "LastModifiedDate": now,
                                             "LastModifiedById": actor_id,
                                             "SystemModstamp": now})
    else:
        org.insert_raw("FieldPermissions", {"ParentId": row["ParentId"],
                                            "SobjectType": target.name, "Field": twin,
                                            **perms}, actor_id)


def _fieldperm_after_write(org: OrgView, old: Record | None, new: Record | None,
                           actor_id: str) -> None:
    row = new or old
    assert row is not None
    _fieldperm_mirror(org, row, actor_id, deleted=new is None)
    _fieldperm_audit(org, old, new, actor_id)


def _fieldperm_audit(org: OrgView, old: Record | None, new: Record | None, actor_id: str) -> None:
    row = new or old
    assert row is not None
    label = set_name(org, row["ParentId"])

    def words(r: Record | None) -> str:
        if r is None:
            return "No Access"
        return "Read/Edit" if r.get("PermissionsEdit") else (
            "Read Only" if r.get("PermissionsRead") else "No Access")

    org.audit("PermSetFlsChanged", "Permission Sets",
              f"Changed permission set {label}: field-level security for {row['Field']} was "
              f"changed from {words(old)} to {words(new)}", actor_id)


def _objperm_create(org: OrgView, rec: Record, actor_id: str) -> None:
    _objperm_check(org, rec, None)


def _objperm_update(org: OrgView, old: Record, changes: Record, actor_id: str) -> None:
    _objperm_check(org, changes, old)


def _fieldperm_create(org: OrgView, rec: Record, actor_id: str) -> None:
    _fieldperm_check(org, rec, None)


def _fieldperm_update(org: OrgView, old: Record, changes: Record, actor_id: str) -> None:
    _fieldperm_check(org, changes, old)


HOOKS = Hooks(
    before_create={
        "PermissionSet": _ps_before_create,
        "ObjectPermissions": _objperm_create,
        "FieldPermissions": _fieldperm_create,
    },
    after_create={
        "PermissionSet": _ps_after_create,
        "ObjectPermissions": lambda org, rec, a: _objperm_audit(org, None, rec, a),
        "FieldPermissions": lambda org, rec, a: _fieldperm_after_write(org, None, rec, a),
    },
    before_update={
        "PermissionSet": _ps_before_update,
        "ObjectPermissions": _objperm_update,
        "FieldPermissions": _fieldperm_update,
    },
    after_update={
        "PermissionSet": _ps_after_update,
        "ObjectPermissions": _objperm_audit,
        "FieldPermissions": _fieldperm_after_write,
    },
    before_delete={
        "PermissionSet": _ps_before_delete,
        "ObjectPermissions": _objperm_before_delete,
    },
    after_delete={
        "PermissionSet": _ps_after_delete,
        "ObjectPermissions": lambda org, rec, a: _objperm_audit(org, rec, None, a),
        "FieldPermissions": lambda org, rec, a: _fieldperm_after_write(org, rec, None, a),
    },
)
