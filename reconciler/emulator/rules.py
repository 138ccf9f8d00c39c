"""Salesforce's rules for setup objects, enforced on every write the emulator takes.

Each rule cites its source in ``salesforce.md``: [doc] Salesforce documents it,
[community] public tools agree, [assumed] no source was found and we chose the
behaviour (and the error text) ourselves. The pipeline in ``org.py`` calls
``before_*`` (may refuse with an :class:`ApiFault`) and ``after_*`` (side effects:
derived records, seat counts, the audit trail) inside the request's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.emulator.apierror import ApiFault, bad_request
from reconciler.emulator.catalog import (
    FIELD_PERMISSION_FIELDS,
    OBJECT_PERMISSION_FIELDS,
    SObject,
    is_standard_data_object,
)
from reconciler.emulator.store import Record

if TYPE_CHECKING:
    from reconciler.emulator.org import Org

INTEGRATION_LICENSE = "Salesforce Integration"
API_PSL_NAMES = ("salesforceapiintegrationpsl", "salesforce api integration")
_DEV_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_DEV_NAME_MESSAGE = (
    "The {field} field can only contain underscores and alphanumeric characters. It must be "
    "unique, begin with a letter, not include spaces, not end with an underscore, and not "
    "contain two consecutive underscores."
)
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
_WORDS = {
    "PermissionsRead": "Read", "PermissionsCreate": "Create", "PermissionsEdit": "Edit",
    "PermissionsDelete": "Delete", "PermissionsViewAllRecords": "View All",
    "PermissionsModifyAllRecords": "Modify All",
}
# Verbs of Salesforce's "depends on permission(s)" errors: View All reads "Read All".
_DEPENDENCY_WORDS = {**_WORDS, "PermissionsViewAllRecords": "Read All"}
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
# Task and Event take no object permissions (activity access is the Edit Tasks / Edit
# Events system permission) and share their custom fields, which live on Activity.
ACTIVITY_PERMISSIONS = {"task": "PermissionsEditTask", "event": "PermissionsEditEvent"}
# Salesforce Help ("Remove a Permission Set License from a User"): no automatic PSL
# unassignment when this many assignments are removed at once.
BULK_UNASSIGN = 50
# Marks a PermissionSetLicenseAssign the platform made because a licensed set was
# assigned; internal to the emulator (no API field tells it).
AUTOMATIC = "__automatic"


@dataclass(frozen=True)
class Needs:
    """The system permission (no ``Permissions`` prefix) the running user needs for some
    operations on a setup object, and where Salesforce says so."""

    sobject: str
    operations: tuple[str, ...]
    permission: str
    source: str


_OBJECT_REFERENCE = "https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/" \
                    "object_reference/sforce_api_objects_"
_TOOLING_REFERENCE = "https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/" \
                     "api_tooling/tooling_api_objects_"
_WRITE = ("create", "edit", "delete")
_PERMISSION_SETS = "Manage Profiles and Permission Sets [doc: Help 000206679 for sets; " \
                   "assumed for their permission rows, which Setup edits on the set's page]"
# Who may do what to a setup object [doc unless the source says otherwise]. A setup
# object or operation without a row needs Modify All Data [assumed].
NEEDS: tuple[Needs, ...] = (
    Needs("User", ("create", "edit"), "ManageInternalUsers",
          f"{_TOOLING_REFERENCE}user.htm: \"To create or update a User record, you must "
          "have the Manage Internal Users permission\""),
    Needs("PermissionSetAssignment", _WRITE, "AssignPermissionSets",
          f"{_OBJECT_REFERENCE}permissionsetassignment.htm (special access rules)"),
    Needs("PermissionSetLicenseAssign", _WRITE, "ManageUsers",
          "https://help.salesforce.com/s/articleView?id=platform.users_permissionset_licenses_"
          "assign.htm: \"To assign a permission set license: Manage Users\""),
    Needs("PermissionSet", _WRITE, "ManageProfilesPermissionsets",
          "https://help.salesforce.com/apex/HTViewSolution?id=000206679 (create, edit, delete "
          "a permission set: Manage Profiles and Permission Sets)"),
    Needs("ObjectPermissions", _WRITE, "ManageProfilesPermissionsets", _PERMISSION_SETS),
    Needs("FieldPermissions", _WRITE, "ManageProfilesPermissionsets", _PERMISSION_SETS),
    Needs("SetupEntityAccess", _WRITE, "ManageProfilesPermissionsets", _PERMISSION_SETS),
    Needs("PermissionSetGroup", _WRITE, "ManageProfilesPermissionsets",
          f"{_TOOLING_REFERENCE}permissionsetgroup.htm: \"To edit this object, users must have "
          "the Manage Profiles and Permission Sets permission\""),
    Needs("PermissionSetGroupComponent", _WRITE, "ManageProfilesPermissionsets",
          f"{_TOOLING_REFERENCE}permissionsetgroup.htm (a component is part of its group)"),
    Needs("SetupAuditTrail", ("read",), "ViewSetup",
          f"{_OBJECT_REFERENCE}setupaudittrail.htm: View Setup and Configuration"),
)
# Permissions that carry others: Setup turns these on with them. Manage Users "depends
# on" Manage Internal Users, Assign Permission Sets and Manage Profiles and Permission Sets
# [community: the dependency error quoted in shared/real-salesforce/
# object-permission-dependencies.md], and on View Setup through View Roles [community];
# Modify All Data needs View Setup [community: salesforcehacker.com "Delegating Modify All
# Data"] and is taken to cover every setup write [assumed: an org's administrator holds
# all of these anyway].
_CARRIED_BY: dict[str, tuple[str, ...]] = {
    "ManageUsers": ("ModifyAllData",),
    "ManageInternalUsers": ("ManageUsers", "ModifyAllData"),
    "AssignPermissionSets": ("ManageUsers", "ModifyAllData"),
    "ManageProfilesPermissionsets": ("ManageUsers", "ModifyAllData"),
    "ViewSetup": ("ManageUsers", "ModifyAllData"),
    "ModifyAllData": (),
}
# What a real org answers a write the running user may not make [community: the
# INSUFFICIENT_ACCESS_OR_READONLY bodies quoted by public clients and issue threads; that
# setup objects answer the same: assumed].
_NO_ACCESS = ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")


# ---------------------------------------------------------------------------
# Lookups shared by the rules


def user_license(org: Org, user: Record) -> Record | None:
    got = org.get(user.get("ProfileId") or "")
    if got is None:
        return None
    lic = org.get(got[1].get("UserLicenseId") or "")
    return None if lic is None else lic[1]


def is_integration_license(lic: Record | None) -> bool:
    return lic is not None and str(lic.get("Name", "")).lower() == INTEGRATION_LICENSE.lower()


def is_api_psl(psl: Record | None) -> bool:
    if psl is None:
        return False
    return (str(psl.get("DeveloperName", "")).lower() in API_PSL_NAMES
            or str(psl.get("MasterLabel", "")).lower() in API_PSL_NAMES)


def sharing_custom_fields(sobject: str) -> tuple[str, ...]:
    """The objects a custom field declared on ``sobject`` appears on: both activity
    objects for Task or Event, else the object itself."""
    if sobject.lower() in ACTIVITY_PERMISSIONS:
        return ("Task", "Event")
    return (sobject,)


def _username(org: Org, user_id: str) -> str:
    got = org.get(user_id)
    return str(got[1].get("Username")) if got else user_id


def _user_name(org: Org, user_id: str) -> str:
    """How the Setup Audit Trail names a user: by full name ("assigned to user Jane Roe")."""
    got = org.get(user_id)
    return str(got[1].get("Name") or got[1].get("Username")) if got else user_id


def _set_name(org: Org, ps_id: str | None) -> str:
    got = org.get(ps_id or "")
    if got is None:
        return str(ps_id)
    rec = got[1]
    return str(rec.get("Label") or rec.get("MasterLabel") or rec.get("Name"))


def _user_of(org: Org, user_id: str) -> Record:
    got = org.get(user_id)
    if got is None or got[0] != "User":
        raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                          ["AssigneeId"])
    return got[1]


def held_psl_ids(org: Org, user_id: str) -> set[str]:
    return {r["PermissionSetLicenseId"]
            for r in org.where("PermissionSetLicenseAssign", AssigneeId=user_id)}


def _holds_api_psl(org: Org, user_id: str) -> bool:
    return any(is_api_psl(got[1]) for i in held_psl_ids(org, user_id)
               if (got := org.get(i)) is not None)


def assigned_sets(org: Org, user_id: str) -> list[Record]:
    """The permission sets assigned to a user directly (no profile or group sets)."""
    out = []
    for psa in org.where("PermissionSetAssignment", AssigneeId=user_id):
        if psa.get("PermissionSetGroupId"):
            continue
        got = org.get(psa.get("PermissionSetId") or "")
        if got is not None and not got[1].get("IsOwnedByProfile"):
            out.append(got[1])
    return out


def effective_sets(org: Org, user_id: str) -> list[Record]:
    """Every permission set whose permissions the user has: profile, direct, groups."""
    out = []
    for psa in org.where("PermissionSetAssignment", AssigneeId=user_id):
        if psa.get("IsRevoked"):
            continue  # a user access policy revoked it: the row stays, the access goes [doc]
        if psa.get("PermissionSetGroupId"):
            for comp in org.where("PermissionSetGroupComponent",
                                  PermissionSetGroupId=psa["PermissionSetGroupId"]):
                got = org.get(comp["PermissionSetId"])
                if got is not None:
                    out.append(got[1])
        else:
            got = org.get(psa.get("PermissionSetId") or "")
            if got is not None:
                out.append(got[1])
    return out


def _has_system_permission(org: Org, user_id: str, names: Iterable[str]) -> bool:
    wanted = tuple(names)
    return any(any(ps.get(n) for n in wanted) for ps in effective_sets(org, user_id))


def standard_object_grants(org: Org, ps_id: str) -> list[str]:
    """Standard-object permissions a set holds, as Setup words ("Read Accounts")."""
    out: list[str] = []
    for row in org.where("ObjectPermissions", ParentId=ps_id):
        if is_standard_data_object(str(row.get("SobjectType", ""))):
            out.extend(_grant_words(org, row))
    return out


def _grant_words(org: Org, row: Record) -> list[str]:
    """An object permission row as Setup names its permissions: "Read Accounts" (the
    object's plural label, as in the licence refusal of errors.txt §7)."""
    target = org.catalog.get(str(row["SobjectType"]))
    plural = target.label_plural if target is not None else str(row["SobjectType"])
    return [f"{_WORDS[p]} {plural}" for p in OBJECT_PERMISSION_FIELDS if row.get(p)]


def _component_sets(org: Org, group_id: str) -> list[Record]:
    out = []
    for comp in org.where("PermissionSetGroupComponent", PermissionSetGroupId=group_id):
        got = org.get(comp["PermissionSetId"])
        if got is not None:
            out.append(got[1])
    return out


def recount_licenses(org: Org) -> None:
    """Keep UsedLicenses true: active users per user license, assignments per PSL."""
    used: dict[str, int] = {}
    for user in org.records("User"):
        if user.get("IsActive"):
            lic = user_license(org, user)
            if lic is not None:
                used[lic["Id"]] = used.get(lic["Id"], 0) + 1
    for lic in org.records("UserLicense"):
        if lic.get("UsedLicenses") != used.get(lic["Id"], 0):
            org.store.update(lic["Id"], {"UsedLicenses": used.get(lic["Id"], 0)})
    for psl in org.records("PermissionSetLicense"):
        n = len(org.where("PermissionSetLicenseAssign", PermissionSetLicenseId=psl["Id"]))
        if psl.get("UsedLicenses") != n:
            org.store.update(psl["Id"], {"UsedLicenses": n})


def _seat_check(lic: Record, label: str) -> None:
    total = int(lic.get("TotalLicenses") or 0)
    used = int(lic.get("UsedLicenses") or 0)
    if used >= total:
        raise bad_request(
            "LICENSE_LIMIT_EXCEEDED",
            f"License Limit Exceeded: no {label} licenses are available "
            f"({used} of {total} in use)",
        )


# ---------------------------------------------------------------------------
# Access of the acting user


def needed_permission(sobject: str, operation: str) -> str | None:
    """The system permission an operation on a setup object needs (see :data:`NEEDS`);
    None for a read nothing restricts."""
    for row in NEEDS:
        if row.sobject == sobject and operation in row.operations:
            return row.permission
    return None if operation == "read" else "ModifyAllData"


def holds_permission(org: Org, user_id: str, permission: str) -> bool:
    """The user holds ``permission``, or one that carries it (profile, sets or groups)."""
    names = (permission, *_CARRIED_BY.get(permission, ("ModifyAllData",)))
    return _has_system_permission(org, user_id, ("Permissions" + n for n in names))


def check_write_access(org: Org, s: SObject, actor_id: str, op: str) -> None:
    """The acting user may write this object: setup objects by :data:`NEEDS`, data
    objects by its object permissions or Modify All Data [doc]."""
    if s.setup:
        needed = needed_permission(s.name, op)
        if needed is not None and not holds_permission(org, actor_id, needed):
            raise bad_request(*_NO_ACCESS)
        return
    if _has_system_permission(org, actor_id, ("PermissionsModifyAllData",)):
        return
    activity = ACTIVITY_PERMISSIONS.get(s.name.lower())
    if activity is not None:
        if not _has_system_permission(org, actor_id, (activity,)):
            raise bad_request("INSUFFICIENT_ACCESS_OR_READONLY",
                              f"insufficient access rights on object: {op} {s.name}")
        return
    flag = {"create": "PermissionsCreate", "edit": "PermissionsEdit",
            "delete": "PermissionsDelete"}[op]
    if not _object_flag(org, actor_id, s.name, flag):
        raise bad_request(*_NO_ACCESS)


def _object_flag(org: Org, user_id: str, sobject: str, flag: str) -> bool:
    for ps in effective_sets(org, user_id):
        for row in org.where("ObjectPermissions", ParentId=ps["Id"]):
            if str(row.get("SobjectType", "")).lower() == sobject.lower() and row.get(flag):
                return True
    return False


def check_query_access(org: Org, sobjects: Iterable[str], actor_id: str) -> None:
    """A user without Read on a data object does not see it at all [doc]; nor does a
    user without the permission :data:`NEEDS` names for reading a setup object
    [assumed: the same answer]."""
    for name in sobjects:
        s = org.catalog.get(name)
        if s is None:
            continue
        if s.setup:
            needed = needed_permission(s.name, "read")
            if needed is not None and not holds_permission(org, actor_id, needed):
                raise _not_supported(s.name)
            continue
        # Activities are visible through their parent records, not an object permission.
        if s.name.lower() in ACTIVITY_PERMISSIONS:
            continue
        if _has_system_permission(org, actor_id, ("PermissionsModifyAllData",
                                                   "PermissionsViewAllData")):
            continue
        if not _object_flag(org, actor_id, s.name, "PermissionsRead"):
            raise _not_supported(s.name)


def _not_supported(name: str) -> ApiFault:
    return bad_request(
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a "
        "custom object, be sure to append the '__c' after the entity name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
    )


# ---------------------------------------------------------------------------
# Permission rows that vanish


def vanishes(s: SObject, rec: Record) -> bool:
    """A permission row with every permission false is not kept [doc]."""
    if s.name == "ObjectPermissions":
        return not any(rec.get(p) for p in OBJECT_PERMISSION_FIELDS)
    if s.name == "FieldPermissions":
        return not any(rec.get(p) for p in FIELD_PERMISSION_FIELDS)
    return False


def _check_implications(rec: Record, implies: dict[str, tuple[str, ...]], what: str) -> None:
    for perm, needs in implies.items():
        if rec.get(perm):
            missing = [n for n in needs if not rec.get(n)]
            if missing:
                raise bad_request(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"Permission {_WORDS.get(perm, perm)} on {what} depends on permission(s): "
                    + ", ".join(_WORDS.get(m, m) for m in missing),
                    [perm],
                )


# ---------------------------------------------------------------------------
# Per-object rules


def _user_before_create(org: Org, rec: Record, actor_id: str) -> None:
    _user_common(org, rec, None)
    if rec.get("IsActive", True):
        lic = _license_of_profile(org, rec["ProfileId"])
        if lic is not None:
            _seat_check(lic, str(lic.get("Name")))


def _license_of_profile(org: Org, profile_id: str) -> Record | None:
    got = org.get(profile_id)
    if got is None:
        return None
    lic = org.get(got[1].get("UserLicenseId") or "")
    return None if lic is None else lic[1]


def _user_common(org: Org, rec: Record, old: Record | None) -> None:
    username = rec.get("Username")
    if username is not None:
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", str(username)):
            raise bad_request("INVALID_NEW_USERNAME" if old else "INVALID_EMAIL_ADDRESS",
                              f"Username: invalid email address: {username}", ["Username"])
        for other in org.records("User"):
            if (str(other.get("Username", "")).lower() == str(username).lower()
                    and (old is None or other["Id"] != old["Id"])):
                raise bad_request(
                    "DUPLICATE_USERNAME",
                    "Duplicate Username.<br>The username already exists in this or another "
                    "Salesforce organization. Usernames must be unique across all Salesforce "
                    f"organizations. To resolve, use a different username (it doesn't need to "
                    f"match the user's email address). : {username}",
                    ["Username"],
                )
    first = rec.get("FirstName", old.get("FirstName") if old else None)
    last = rec.get("LastName", old.get("LastName") if old else None)
    rec["Name"] = " ".join(p for p in (first, last) if p)
    if "ProfileId" in rec:
        prof = org.get(rec["ProfileId"])
        rec["UserType"] = prof[1].get("UserType") or "Standard" if prof else "Standard"


def _user_before_update(org: Org, old: Record, changes: Record, actor_id: str) -> None:
    _user_common(org, changes, old)
    new_profile = str(changes.get("ProfileId") or old["ProfileId"])
    activating = changes.get("IsActive") is True and not old.get("IsActive")
    deactivating = changes.get("IsActive") is False and old.get("IsActive")
    if deactivating and old["Id"] == actor_id:
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          "You can't deactivate your own user.", ["IsActive"])
    old_lic = _license_of_profile(org, old["ProfileId"])
    new_lic = _license_of_profile(org, new_profile)
    license_change = new_profile != old["ProfileId"] and (old_lic or {}).get("Id") != (
        new_lic or {}).get("Id")
    if license_change and old_lic is not None:
        # [assumed] A license change is refused while sets tied to the old license remain.
        tied = [ps for ps in assigned_sets(org, old["Id"]) if ps.get("LicenseId") == old_lic["Id"]]
        if tied:
            names = ", ".join(str(ps["Name"]) for ps in tied)
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Can't change the user license of {old['Username']}: permission sets that "
                f"require the {old_lic['Name']} license are assigned ({names}). Remove those "
                "assignments first.",
                ["ProfileId"],
            )
    will_be_active = changes.get("IsActive", old.get("IsActive"))
    if will_be_active and new_lic is not None and (activating or license_change):
        _seat_check(new_lic, str(new_lic.get("Name")))


def _user_after_create(org: Org, rec: Record, actor_id: str) -> None:
    assign_profile_set(org, rec, actor_id)
    recount_licenses(org)
    org.audit("createduser", "Manage Users",
              f"Created new user {_user_name(org, rec['Id'])}", actor_id)


def assign_profile_set(org: Org, user: Record, actor_id: str) -> None:
    """Every user has an assignment of its profile's own permission set [doc]."""
    owned = org.where("PermissionSet", ProfileId=user["ProfileId"])
    for psa in org.where("PermissionSetAssignment", AssigneeId=user["Id"]):
        got = org.get(psa.get("PermissionSetId") or "")
        if got is not None and got[1].get("IsOwnedByProfile"):
            org.store.delete(psa["Id"])
    if owned:
        org.insert_raw("PermissionSetAssignment", {
            "AssigneeId": user["Id"], "PermissionSetId": owned[0]["Id"],
            "PermissionSetGroupId": None, "IsActive": True, "ExpirationDate": None,
        }, actor_id)


def _user_after_update(org: Org, old: Record, new: Record, actor_id: str) -> None:
    who = _user_name(org, new["Id"])
    if old["ProfileId"] != new["ProfileId"]:
        assign_profile_set(org, new, actor_id)
        org.audit("changedprofileforuser", "Manage Users",
                  f"Changed profile for user {who} from {_name_of(org, old['ProfileId'])} "
                  f"to {_name_of(org, new['ProfileId'])}", actor_id)
    if old.get("IsActive") != new.get("IsActive"):
        verb = "Activated" if new.get("IsActive") else "Deactivated"
        org.audit("activateduser" if new.get("IsActive") else "deactivateduser",
                  "Manage Users", f"{verb} user {who}", actor_id)
    changed = [k for k in ("Username", "Email", "FirstName", "LastName", "Alias",
                           "TimeZoneSidKey", "LocaleSidKey", "LanguageLocaleKey",
                           "EmailEncodingKey", "Title", "Department")
               if old.get(k) != new.get(k)]
    if changed:
        org.audit("changedUserEmail" if changed == ["Email"] else "changedUser",
                  "Manage Users", f"Changed {', '.join(changed)} for user {who}", actor_id)
    recount_licenses(org)


def _name_of(org: Org, record_id: str) -> str:
    got = org.get(record_id)
    return str(got[1].get("Name")) if got else record_id


def _ps_before_create(org: Org, rec: Record, actor_id: str) -> None:
    _dev_name(org, "PermissionSet", "Name", rec, None)
    lic_id = rec.get("LicenseId")
    if lic_id:
        got = org.get(lic_id)
        if got is None or got[0] not in ("PermissionSetLicense", "UserLicense"):
            raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                              ["LicenseId"])
    rec.update(IsOwnedByProfile=False, IsCustom=True, Type="Regular", ProfileId=None,
               PermissionSetGroupId=None, NamespacePrefix=None)


def _dev_name(org: Org, sobject: str, field: str, rec: Record, old: Record | None) -> None:
    name = rec.get(field)
    if name is None:
        return
    if not _DEV_NAME_RE.match(str(name)):
        raise bad_request("FIELD_INTEGRITY_EXCEPTION", _DEV_NAME_MESSAGE.format(field=field),
                          [field])
    for other in org.records(sobject):
        if (str(other.get(field, "")).lower() == str(name).lower()
                and (old is None or other["Id"] != old["Id"])
                and not other.get("IsOwnedByProfile")
                # A managed package's component lives in its own namespace [doc].
                and not other.get("NamespacePrefix")):
            raise bad_request("DUPLICATE_DEVELOPER_NAME",
                              f"The {field} \"{name}\" is already in use. Enter a unique name.",
                              [field])


def _not_platform_owned(ps: Record, verb: str) -> None:
    if ps.get("IsOwnedByProfile") or ps.get("PermissionSetGroupId"):
        owner = "a profile" if ps.get("IsOwnedByProfile") else "a permission set group"
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          f"You can't {verb} this permission set because it's owned by {owner}.")


def _ps_before_update(org: Org, old: Record, changes: Record, actor_id: str) -> None:
    _not_platform_owned(old, "edit")
    _dev_name(org, "PermissionSet", "Name", changes, old)
    granted = [k for k, v in changes.items() if k.startswith("Permissions") and v]
    if granted:
        _no_widening_past_license(org, old, "system permissions " + ", ".join(granted))


def _ps_after_create(org: Org, rec: Record, actor_id: str) -> None:
    if rec.get("LicenseId"):
        org.audit("PermSetCreate", "Permission Sets",
                  f"Created permission set {rec['Label']}: with license "
                  f"{_name_of_license(org, rec.get('LicenseId'))}", actor_id)
    else:
        org.audit("PermSetCreateNoLicense", "Permission Sets",
                  f"Created permission set {rec['Label']}: with no license", actor_id)
    perms = [k[len("Permissions"):] for k, v in rec.items() if k.startswith("Permissions") and v]
    if perms:
        org.audit("PermSetEnableUserPerm", "Permission Sets",
                  f"Permission set {rec['Label']}: enabled system permissions "
                  f"{', '.join(perms)}", actor_id)


def _name_of_license(org: Org, lic_id: str | None) -> str:
    got = org.get(lic_id or "")
    if got is None:
        return "None"
    return str(got[1].get("MasterLabel") or got[1].get("Name"))


def _ps_after_update(org: Org, old: Record, new: Record, actor_id: str) -> None:
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


def _ps_before_delete(org: Org, rec: Record, actor_id: str) -> None:
    _not_platform_owned(rec, "delete")
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


def _ps_after_delete(org: Org, rec: Record, actor_id: str) -> None:
    for child in ("ObjectPermissions", "FieldPermissions", "SetupEntityAccess"):
        for row in org.where(child, ParentId=rec["Id"]):
            org.store.delete(row["Id"])
    org.audit("PermSetDelete", "Permission Sets", f"Deleted permission set {rec['Label']}",
              actor_id)


def _no_widening_past_license(org: Org, ps: Record, what: str) -> None:
    """[assumed] Adding access an assignee's license can't hold is refused."""
    del what
    for psa in org.where("PermissionSetAssignment", PermissionSetId=ps["Id"]):
        user = org.get(psa["AssigneeId"])
        if user is not None:
            _license_allows(org, ps, user[1], extra_grants=None)


def _license_allows(org: Org, ps: Record, user: Record,
                    extra_grants: list[str] | None) -> None:
    """Can ``ps`` (with ``extra_grants`` about to be added) be held by ``user``?"""
    lic = user_license(org, user)
    ps_lic = org.get(ps.get("LicenseId") or "")
    prefix = f"Can't assign permission set {ps.get('Label') or ps.get('Name')} to user " \
             f"{user['Username']}."
    if ps_lic is not None and ps_lic[0] == "UserLicense" and (
            lic is None or lic["Id"] != ps_lic[1]["Id"]):
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{prefix} The permission set license {ps_lic[1]['Name']} doesn't match the "
                f"user license {lic['Name'] if lic else 'None'}.",
            )
    if ps_lic is not None and ps_lic[0] == "PermissionSetLicense" and (
            ps_lic[1]["Id"] not in held_psl_ids(org, user["Id"])):
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{prefix} The user doesn't have the permission set license "
                f"{ps_lic[1]['MasterLabel']}.",
            )
    if is_integration_license(lic) and not (ps_lic and is_api_psl(ps_lic[1])):
        if ps_lic is None and _holds_api_psl(org, user["Id"]):
            # A set with no licence grants standard objects to an integration user who
            # holds the Salesforce API Integration PSL [community] (salesforce.md §1.3).
            return
        grants = standard_object_grants(org, ps["Id"]) + (extra_grants or [])
        if grants:
            raise bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{prefix} The user license doesn't allow the permission: {grants[0]}",
            )


def _psa_before_create(org: Org, rec: Record, actor_id: str) -> None:
    user = _user_of(org, rec["AssigneeId"])
    group_id = rec.get("PermissionSetGroupId")
    if group_id:
        aggregate = org.where("PermissionSet", PermissionSetGroupId=group_id)
        if rec.get("PermissionSetId") and (not aggregate
                                           or rec["PermissionSetId"] != aggregate[0]["Id"]):
            raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                              "Specify either a permission set or a permission set group, "
                              "not both.", ["PermissionSetId", "PermissionSetGroupId"])
        if org.where("PermissionSetAssignment", AssigneeId=user["Id"],
                     PermissionSetGroupId=group_id):
            raise _duplicate_psa(user["Id"], group_id)
        components = _component_sets(org, group_id)
        _assign_needed_psls(org, user, components, actor_id)
        for ps in components:
            _license_allows(org, ps, user, None)
        rec["PermissionSetId"] = aggregate[0]["Id"] if aggregate else None
    else:
        ps_id = rec.get("PermissionSetId")
        if not ps_id:
            raise bad_request("REQUIRED_FIELD_MISSING",
                              "Required fields are missing: [PermissionSetId]",
                              ["PermissionSetId"])
        target = org.get(ps_id)
        assert target is not None  # the reference was checked by the pipeline
        _not_platform_owned(target[1], "assign")
        if org.where("PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=ps_id,
                     PermissionSetGroupId=None):
            raise _duplicate_psa(user["Id"], ps_id)
        _assign_needed_psls(org, user, [target[1]], actor_id)
        _license_allows(org, target[1], user, None)
    rec["IsActive"] = True


def _assign_needed_psls(org: Org, user: Record, sets: Iterable[Record], actor_id: str) -> None:
    """Assigning a set licensed to a PSL assigns that PSL to a user who lacks it [doc:
    Salesforce Help, "Create a Permission Set Associated with a Permission Set License"],
    with the PSL's own rules (seats, who may hold it). The row is marked automatic."""
    held = held_psl_ids(org, user["Id"])
    for ps in sets:
        lic_id = ps.get("LicenseId")
        got = org.get(lic_id or "")
        if got is None or got[0] != "PermissionSetLicense" or lic_id in held:
            continue
        values: Record = {"AssigneeId": user["Id"], "PermissionSetLicenseId": lic_id}
        _psla_before_create(org, values, actor_id)
        stored = org.insert_raw("PermissionSetLicenseAssign", {**values, AUTOMATIC: True},
                                actor_id)
        _psla_after_create(org, stored, actor_id)
        held.add(str(lic_id))


def _duplicate_psa(user_id: str, target_id: str) -> ApiFault:
    return bad_request("DUPLICATE_VALUE",
                       f"Duplicate PermissionSetAssignment. Assignee: {user_id}; "
                       f"Permission Set: {target_id}", [])


def _psa_after_create(org: Org, rec: Record, actor_id: str) -> None:
    target = rec.get("PermissionSetGroupId") or rec.get("PermissionSetId")
    kind = "Permission set group" if rec.get("PermissionSetGroupId") else "Permission set"
    org.audit("PermSetGroupAssign" if rec.get("PermissionSetGroupId") else "PermSetAssign",
              "Manage Users",
              f"{kind} {_set_name(org, target)}: assigned to user "
              f"{_user_name(org, rec['AssigneeId'])}", actor_id)


def _psa_before_update(org: Org, old: Record, changes: Record, actor_id: str) -> None:
    # IsRevoked is updateable (doc-reference-v65); user access policies set it.
    extra = set(changes) - {"ExpirationDate", "IsRevoked"}
    if extra:
        raise bad_request("INVALID_FIELD_FOR_INSERT_UPDATE",
                          "Unable to update fields: " + ", ".join(sorted(extra)), sorted(extra))


def _psa_before_delete(org: Org, rec: Record, actor_id: str) -> None:
    ps = org.get(rec.get("PermissionSetId") or "")
    if ps is not None and ps[1].get("IsOwnedByProfile"):
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          "You can't unassign a permission set that's owned by a profile.")


def _psa_after_delete(org: Org, rec: Record, actor_id: str) -> None:
    if org.assignments_removed_together < BULK_UNASSIGN:
        _release_automatic_psls(org, rec, actor_id)
    target = rec.get("PermissionSetGroupId") or rec.get("PermissionSetId")
    kind = "Permission set group" if rec.get("PermissionSetGroupId") else "Permission set"
    org.audit("PermSetGroupUnassign" if rec.get("PermissionSetGroupId") else "PermSetUnassign",
              "Manage Users",
              f"{kind} {_set_name(org, target)}: unassigned from user "
              f"{_user_name(org, rec['AssigneeId'])}", actor_id)


def _psla_before_create(org: Org, rec: Record, actor_id: str) -> None:
    user = _user_of(org, rec["AssigneeId"])
    psl = org.get(rec["PermissionSetLicenseId"])
    assert psl is not None
    if org.where("PermissionSetLicenseAssign", AssigneeId=user["Id"],
                 PermissionSetLicenseId=psl[1]["Id"]):
        raise bad_request("DUPLICATE_VALUE",
                          f"duplicate value found: the user {user['Username']} already has the "
                          f"permission set license {psl[1]['MasterLabel']}", [])
    if is_api_psl(psl[1]) and not is_integration_license(user_license(org, user)):
        raise bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            f"The permission set license {psl[1]['MasterLabel']} can only be assigned to users "
            f"with the {INTEGRATION_LICENSE} user license; {user['Username']} has "
            f"{(user_license(org, user) or {}).get('Name', 'none')}.",
        )
    _seat_check(psl[1], str(psl[1].get("MasterLabel")))


def _psla_after_create(org: Org, rec: Record, actor_id: str) -> None:
    recount_licenses(org)
    org.audit("PermSetLicenseAssigned", "Manage Users",
              f"Permission set license {_name_of_license(org, rec['PermissionSetLicenseId'])}: "
              f"assigned to user {_user_name(org, rec['AssigneeId'])}", actor_id)


def _release_automatic_psls(org: Org, removed: Record, actor_id: str) -> None:
    """Unassigning the last set that needs an automatically assigned PSL removes that PSL
    [doc: Salesforce Help, "Remove a Permission Set License from a User"; not when 50 or
    more assignments go at once, nor for a set leaving a group]."""
    group_id = removed.get("PermissionSetGroupId")
    if group_id:
        sets = _component_sets(org, group_id)
    else:
        got = org.get(removed.get("PermissionSetId") or "")
        sets = [got[1]] if got is not None else []
    licences = {ps.get("LicenseId") for ps in sets}
    for psla in org.where("PermissionSetLicenseAssign", AssigneeId=removed["AssigneeId"]):
        if (psla.get(AUTOMATIC) and psla["PermissionSetLicenseId"] in licences
                and not _sets_needing_psl(org, psla)):
            org.store.delete(psla["Id"])
            _psla_after_delete(org, psla, actor_id)


def _sets_needing_psl(org: Org, psla: Record) -> list[str]:
    """The user's sets (direct or through groups) that need this PSL assignment: those
    licensed to it and, for the API PSL of an integration user, those with no licence
    that grant standard objects."""
    user_id, psl_id = psla["AssigneeId"], psla["PermissionSetLicenseId"]
    psl, user = org.get(psl_id), org.get(user_id)
    api = (psl is not None and is_api_psl(psl[1]) and user is not None
           and is_integration_license(user_license(org, user[1])))
    needing: list[str] = []
    for psa in org.where("PermissionSetAssignment", AssigneeId=user_id):
        if psa.get("IsRevoked"):
            continue
        if psa.get("PermissionSetGroupId"):
            sets = _component_sets(org, psa["PermissionSetGroupId"])
        else:
            got = org.get(psa.get("PermissionSetId") or "")
            sets = [got[1]] if got is not None and not got[1].get("IsOwnedByProfile") else []
        needing += [str(ps["Name"]) for ps in sets if ps.get("LicenseId") == psl_id or (
            api and not ps.get("LicenseId") and standard_object_grants(org, ps["Id"]))]
    return needing


def _psla_before_delete(org: Org, rec: Record, actor_id: str) -> None:
    # [assumed] A PSL can't be taken away while assigned sets still need it.
    needing = _sets_needing_psl(org, rec)
    if needing:
        raise bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Can't remove the permission set license "
            f"{_name_of_license(org, rec['PermissionSetLicenseId'])} from user "
            f"{_username(org, rec['AssigneeId'])}: assigned permission sets need it "
            f"({', '.join(sorted(needing))}). Remove those assignments first.",
        )


def _psla_after_delete(org: Org, rec: Record, actor_id: str) -> None:
    recount_licenses(org)
    org.audit("PermSetLicenseUnassigned", "Manage Users",
              f"Permission set license {_name_of_license(org, rec['PermissionSetLicenseId'])}: "
              f"unassigned from user {_user_name(org, rec['AssigneeId'])}", actor_id)


def _parent_set(org: Org, rec: Record) -> Record:
    got = org.get(rec["ParentId"])
    assert got is not None
    return got[1]


def _objperm_check(org: Org, rec: Record, old: Record | None) -> None:
    merged = {**(old or {}), **rec}
    ps = _parent_set(org, merged)
    sobject = str(merged["SobjectType"])
    target = org.catalog.get(sobject)
    if target is None or target.setup or target.name.lower() in ACTIVITY_PERMISSIONS:
        raise bad_request("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          f"Sobject Type Name: bad value for restricted picklist field: {sobject}",
                          ["SobjectType"])
    merged["SobjectType"] = target.name
    rec["SobjectType"] = target.name
    if ps.get("PermissionSetGroupId"):
        _not_platform_owned(ps, "edit")
    _check_dependencies(org, merged)
    if old is not None:
        _check_dependents(org, merged)
    if old is None and org.where("ObjectPermissions", ParentId=ps["Id"], SobjectType=target.name):
        raise bad_request("DUPLICATE_VALUE",
                          f"duplicate value found: ParentId, SobjectType duplicates value on "
                          f"record with id: {ps['Id']}", [])
    if not is_standard_data_object(target.name):
        return
    granted = _grant_words(org, merged)
    if not granted:
        return
    if ps.get("IsOwnedByProfile"):
        prof = org.get(ps.get("ProfileId") or "")
        lic = _license_of_profile(org, str(prof[1]["Id"])) if prof else None
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
            _license_allows(org, ps, user[1], granted)


def _objperm_before_delete(org: Org, rec: Record, actor_id: str) -> None:
    _check_dependents(org, {**rec, **dict.fromkeys(OBJECT_PERMISSION_FIELDS, False)})


def _object_needs(org: Org, sobject: str) -> list[tuple[tuple[str, ...], str, str]]:
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


def _dependency_label(org: Org, sobject: str) -> str:
    """How the error names an object: a standard one by plural label, a custom one by
    API name (as the errors in shared/real-salesforce quote them)."""
    s = org.catalog.get(sobject)
    return s.label + "s" if s is not None and not s.custom else sobject


def _row_of(org: Org, parent_id: str, sobject: str) -> Record:
    rows = [r for r in org.where("ObjectPermissions", ParentId=parent_id)
            if str(r.get("SobjectType", "")).lower() == sobject.lower()]
    return rows[0] if rows else {}


def _dependency_failures(org: Org, row: Record, others: dict[str, Record]) -> list[str]:
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


def _check_dependencies(org: Org, row: Record) -> None:
    """A row needs its own implied permissions and its prerequisites in other objects
    of the same set [doc / observed errors]; several failures are joined with "; "."""
    failures = _dependency_failures(org, row, {})
    if failures:
        raise bad_request("FIELD_INTEGRITY_EXCEPTION", "; ".join(failures), [])


def _check_dependents(org: Org, row: Record) -> None:
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


def _objperm_audit(org: Org, old: Record | None, new: Record | None, actor_id: str) -> None:
    row = new or old
    assert row is not None
    ps = org.get(row["ParentId"])
    label = ps[1].get("Label") if ps else row["ParentId"]
    before = [_WORDS[p] for p in OBJECT_PERMISSION_FIELDS if old and old.get(p)]
    after = [_WORDS[p] for p in OBJECT_PERMISSION_FIELDS if new and new.get(p)]
    org.audit("PermSetEntityPermChanged", "Permission Sets",
              f"Changed {row['SobjectType']} object permissions for permission set {label}: "
              f"from [{', '.join(before)}] to [{', '.join(after)}]", actor_id)


def _fieldperm_check(org: Org, rec: Record, old: Record | None) -> None:
    merged = {**(old or {}), **rec}
    ps = _parent_set(org, merged)
    if ps.get("PermissionSetGroupId"):
        _not_platform_owned(ps, "edit")
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
    _check_implications(merged, FIELD_IMPLIES, rec["Field"])
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


def _fieldperm_mirror(org: Org, row: Record, actor_id: str, *, deleted: bool) -> None:
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


def _fieldperm_after_write(org: Org, old: Record | None, new: Record | None,
                           actor_id: str) -> None:
    row = new or old
    assert row is not None
    _fieldperm_mirror(org, row, actor_id, deleted=new is None)
    _fieldperm_audit(org, old, new, actor_id)


def _fieldperm_audit(org: Org, old: Record | None, new: Record | None, actor_id: str) -> None:
    row = new or old
    assert row is not None
    ps = org.get(row["ParentId"])
    label = ps[1].get("Label") if ps else row["ParentId"]

    def words(r: Record | None) -> str:
        if r is None:
            return "No Access"
        return "Read/Edit" if r.get("PermissionsEdit") else (
            "Read Only" if r.get("PermissionsRead") else "No Access")

    org.audit("PermSetFlsChanged", "Permission Sets",
              f"Changed permission set {label}: field-level security for {row['Field']} was "
              f"changed from {words(old)} to {words(new)}", actor_id)


def _group_before_create(org: Org, rec: Record, actor_id: str) -> None:
    _dev_name(org, "PermissionSetGroup", "DeveloperName", rec, None)
    rec["Status"] = "Updated"


def _group_after_create(org: Org, rec: Record, actor_id: str) -> None:
    # Every group owns an aggregate permission set [doc].
    org.insert_raw("PermissionSet", {
        "Name": f"PSG_{rec['Id'][:15]}", "Label": rec["MasterLabel"], "Type": "Group",
        "IsOwnedByProfile": False, "IsCustom": False, "PermissionSetGroupId": rec["Id"],
        "LicenseId": None, "ProfileId": None,
    }, actor_id)
    org.audit("PermSetGroupCreate", "Permission Set Groups",
              f"Created permission set group {rec['MasterLabel']}", actor_id)


def _group_before_delete(org: Org, rec: Record, actor_id: str) -> None:
    n = len(org.where("PermissionSetAssignment", PermissionSetGroupId=rec["Id"]))
    if n:
        raise bad_request("DELETE_FAILED",
                          f"Can't delete permission set group {rec['DeveloperName']}: it is "
                          f"assigned to {n} user{'s' if n != 1 else ''}. Remove the "
                          "assignments first.")


def _group_after_delete(org: Org, rec: Record, actor_id: str) -> None:
    for comp in org.where("PermissionSetGroupComponent", PermissionSetGroupId=rec["Id"]):
        org.store.delete(comp["Id"])
    for ps in org.where("PermissionSet", PermissionSetGroupId=rec["Id"]):
        org.store.delete(ps["Id"])
    org.audit("PermSetGroupDelete", "Permission Set Groups",
              f"Deleted permission set group {rec['MasterLabel']}", actor_id)


def _group_before_update(org: Org, old: Record, changes: Record, actor_id: str) -> None:
    _dev_name(org, "PermissionSetGroup", "DeveloperName", changes, old)


def _group_after_update(org: Org, old: Record, new: Record, actor_id: str) -> None:
    for key in ("DeveloperName", "MasterLabel", "Description"):
        if old.get(key) != new.get(key):
            org.audit("PermSetGroupChanged", "Permission Set Groups",
                      f"Permission set group {new['MasterLabel']}: changed {key} from "
                      f"\"{old.get(key)}\" to \"{new.get(key)}\"", actor_id)


def _component_before_create(org: Org, rec: Record, actor_id: str) -> None:
    ps = org.get(rec["PermissionSetId"])
    assert ps is not None
    _not_platform_owned(ps[1], "add to a group")
    if org.where("PermissionSetGroupComponent", PermissionSetGroupId=rec["PermissionSetGroupId"],
                 PermissionSetId=rec["PermissionSetId"]):
        raise bad_request("DUPLICATE_VALUE",
                          "duplicate value found: the permission set is already in the group",
                          [])
    for psa in org.where("PermissionSetAssignment",
                         PermissionSetGroupId=rec["PermissionSetGroupId"]):
        user = org.get(psa["AssigneeId"])
        if user is not None:
            _license_allows(org, ps[1], user[1], None)


def _component_audit(verb: str) -> Callable[[Org, Record, str], None]:
    def audit(org: Org, rec: Record, actor_id: str) -> None:
        org.audit(f"PermSetGroup{verb}", "Permission Set Groups",
                  f"Permission set group {_set_name(org, rec['PermissionSetGroupId'])}: "
                  f"{'added' if verb == 'AddPermSet' else 'removed'} permission set "
                  f"{_set_name(org, rec['PermissionSetId'])}", actor_id)
    return audit


def _sea_before_create(org: Org, rec: Record, actor_id: str) -> None:
    target = org.get(rec["SetupEntityId"])
    assert target is not None
    rec["SetupEntityType"] = "ConnectedApplication" if target[0] == "ConnectedApplication" \
        else target[0]
    if org.where("SetupEntityAccess", ParentId=rec["ParentId"],
                 SetupEntityId=rec["SetupEntityId"]):
        raise bad_request("DUPLICATE_VALUE", "duplicate value found: SetupEntityId", [])


def _sea_audit(verb: str) -> Callable[[Org, Record, str], None]:
    def audit(org: Org, rec: Record, actor_id: str) -> None:
        org.audit(f"PermSetSetupEntity{verb}", "Permission Sets",
                  f"Permission set {_set_name(org, rec['ParentId'])}: {verb.lower()} access to "
                  f"{rec['SetupEntityType']} {_name_of(org, rec['SetupEntityId'])}", actor_id)
    return audit


# ---------------------------------------------------------------------------
# Permission set group recalculation [doc: Help "Permission Set Group Considerations":
# adding, removing or editing a set in a group recalculates the group; Status is Updating
# until it ends Updated or Failed]. How long it takes and which groups fail are the
# emulator's settings (seed ``org.group_recalculation``, admin path ``groups``).

#: Store meta key of the settings: {"seconds": float, "failing": [DeveloperName, ...]}.
RECALCULATION = "group_recalculation"
_DUE = "group_recalculation_due"  # group Id → when its recalculation ends (epoch seconds)
_NOT_UPDATED = ('You can only assign users to permission set groups that have the "Updated" '
                "status.")


def group_recalculation(org: Org) -> dict[str, Any]:
    """The recalculation settings: seconds it takes (default 0), groups that fail."""
    stored = org.store.meta(RECALCULATION) or {}
    return {"seconds": float(stored.get("seconds", 0.0)),
            "failing": list(stored.get("failing", []))}


def set_group_recalculation(org: Org, *, seconds: Any = None, failing: Any = None,
                            ) -> dict[str, Any]:
    """Change the settings given (ValueError when malformed); the settings now."""
    settings = group_recalculation(org)
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("group recalculation 'seconds' must be a number of at least 0")
        settings["seconds"] = float(seconds)
    if failing is not None:
        if not isinstance(failing, list) or not all(isinstance(n, str) for n in failing):
            raise ValueError("group recalculation 'failing' must be a list of group names")
        settings["failing"] = list(failing)
    org.store.set_meta(RECALCULATION, settings)
    return settings


def recalculate(org: Org, group_id: str) -> None:
    """A group's content changed: it is Updating until the set time has passed. The
    platform writes Status: SystemModstamp stays as it was [assumed]."""
    seconds = group_recalculation(org)["seconds"]
    if seconds <= 0:
        _end_recalculation(org, group_id)
        return
    if org.get(group_id) is None:
        return
    org.store.update(group_id, {"Status": "Updating"})
    due = dict(org.store.meta(_DUE) or {})
    due[group_id] = org.timestamp() + seconds
    org.store.set_meta(_DUE, due)


def settle_groups(org: Org) -> None:
    """End the recalculations whose time has come (called before the org is read)."""
    due = org.store.meta(_DUE)
    if not due:
        return
    now = org.timestamp()
    ended = [group_id for group_id, at in due.items() if at <= now]
    if not ended:
        return
    for group_id in ended:
        _end_recalculation(org, group_id)
    org.store.set_meta(_DUE, {k: v for k, v in due.items() if k not in ended})


def fail_seeded_groups(org: Org) -> None:
    """Groups the settings name as failing start Failed, as if their last
    recalculation had failed."""
    for name in group_recalculation(org)["failing"]:
        for group in org.records("PermissionSetGroup"):
            if str(group["DeveloperName"]).lower() == name.lower():
                org.store.update(group["Id"], {"Status": "Failed"})


def _end_recalculation(org: Org, group_id: str) -> None:
    got = org.get(group_id)
    if got is None:
        return
    failing = {n.lower() for n in group_recalculation(org)["failing"]}
    status = "Failed" if str(got[1]["DeveloperName"]).lower() in failing else "Updated"
    if got[1].get("Status") != status:
        org.store.update(group_id, {"Status": status})


def _group_assignable(org: Org, group_id: str) -> None:
    """Only an Updated group takes new assignments [community: the refusal quoted in
    trailheadapps/multiframework-recipes#100; errorCode assumed]."""
    settle_groups(org)
    got = org.get(group_id)
    if got is not None and got[1].get("Status") != "Updated":
        raise bad_request("INVALID_CROSS_REFERENCE_KEY", _NOT_UPDATED, ["PermissionSetGroupId"])


def _groups_holding(org: Org, ps_id: str) -> list[str]:
    return [str(c["PermissionSetGroupId"])
            for c in org.where("PermissionSetGroupComponent", PermissionSetId=ps_id)]


# sObject → the groups a write of one of its records makes Salesforce recalculate.
_RECALCULATES: dict[str, Callable[[Org, Record], list[str]]] = {
    "PermissionSetGroupComponent": lambda org, rec: [str(rec["PermissionSetGroupId"])],
    "PermissionSet": lambda org, rec: _groups_holding(org, str(rec["Id"])),
    "ObjectPermissions": lambda org, rec: _groups_holding(org, str(rec["ParentId"])),
    "FieldPermissions": lambda org, rec: _groups_holding(org, str(rec["ParentId"])),
    "SetupEntityAccess": lambda org, rec: _groups_holding(org, str(rec["ParentId"])),
}


def _recalculate_after(org: Org, s: SObject, rec: Record) -> None:
    holder = _RECALCULATES.get(s.name)
    if holder is not None:
        for group_id in holder(org, rec):
            recalculate(org, group_id)


# ---------------------------------------------------------------------------
# Dispatch: one row per object, so the pipeline stays generic.

Check = Callable[["Org", Record, str], None]
UpdateCheck = Callable[["Org", Record, Record, str], None]


def _objperm_create(org: Org, rec: Record, actor_id: str) -> None:
    _objperm_check(org, rec, None)


def _objperm_update(org: Org, old: Record, changes: Record, actor_id: str) -> None:
    _objperm_check(org, changes, old)


def _fieldperm_create(org: Org, rec: Record, actor_id: str) -> None:
    _fieldperm_check(org, rec, None)


def _fieldperm_update(org: Org, old: Record, changes: Record, actor_id: str) -> None:
    _fieldperm_check(org, changes, old)


_BEFORE_CREATE: dict[str, Check] = {
    "User": _user_before_create,
    "PermissionSet": _ps_before_create,
    "PermissionSetGroup": _group_before_create,
    "PermissionSetGroupComponent": _component_before_create,
    "PermissionSetAssignment": _psa_before_create,
    "PermissionSetLicenseAssign": _psla_before_create,
    "ObjectPermissions": _objperm_create,
    "FieldPermissions": _fieldperm_create,
    "SetupEntityAccess": _sea_before_create,
}
_AFTER_CREATE: dict[str, Check] = {
    "User": _user_after_create,
    "PermissionSet": _ps_after_create,
    "PermissionSetGroup": _group_after_create,
    "PermissionSetGroupComponent": _component_audit("AddPermSet"),
    "PermissionSetAssignment": _psa_after_create,
    "PermissionSetLicenseAssign": _psla_after_create,
    "ObjectPermissions": lambda org, rec, a: _objperm_audit(org, None, rec, a),
    "FieldPermissions": lambda org, rec, a: _fieldperm_after_write(org, None, rec, a),
    "SetupEntityAccess": _sea_audit("Added"),
}
_BEFORE_UPDATE: dict[str, UpdateCheck] = {
    "User": _user_before_update,
    "PermissionSet": _ps_before_update,
    "PermissionSetGroup": _group_before_update,
    "PermissionSetAssignment": _psa_before_update,
    "ObjectPermissions": _objperm_update,
    "FieldPermissions": _fieldperm_update,
}
_AFTER_UPDATE: dict[str, UpdateCheck] = {
    "User": _user_after_update,
    "PermissionSet": _ps_after_update,
    "PermissionSetGroup": _group_after_update,
    "ObjectPermissions": _objperm_audit,
    "FieldPermissions": _fieldperm_after_write,
}
_BEFORE_DELETE: dict[str, Check] = {
    "PermissionSet": _ps_before_delete,
    "PermissionSetGroup": _group_before_delete,
    "PermissionSetAssignment": _psa_before_delete,
    "PermissionSetLicenseAssign": _psla_before_delete,
    "ObjectPermissions": _objperm_before_delete,
}
_AFTER_DELETE: dict[str, Check] = {
    "PermissionSet": _ps_after_delete,
    "PermissionSetGroup": _group_after_delete,
    "PermissionSetGroupComponent": _component_audit("RemovePermSet"),
    "PermissionSetAssignment": _psa_after_delete,
    "PermissionSetLicenseAssign": _psla_after_delete,
    "ObjectPermissions": lambda org, rec, a: _objperm_audit(org, rec, None, a),
    "FieldPermissions": lambda org, rec, a: _fieldperm_after_write(org, rec, None, a),
    "SetupEntityAccess": _sea_audit("Removed"),
}


def before_create(org: Org, s: SObject, rec: Record, actor_id: str) -> None:
    if s.name == "PermissionSetAssignment" and rec.get("PermissionSetGroupId"):
        _group_assignable(org, str(rec["PermissionSetGroupId"]))
    rule = _BEFORE_CREATE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)


def after_create(org: Org, s: SObject, rec: Record, actor_id: str) -> None:
    rule = _AFTER_CREATE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)
    _recalculate_after(org, s, rec)


def before_update(org: Org, s: SObject, old: Record, changes: Record, actor_id: str) -> None:
    rule = _BEFORE_UPDATE.get(s.name)
    if rule is not None:
        rule(org, old, changes, actor_id)


def after_update(org: Org, s: SObject, old: Record, new: Record, actor_id: str) -> None:
    rule = _AFTER_UPDATE.get(s.name)
    if rule is not None:
        rule(org, old, new, actor_id)
    _recalculate_after(org, s, new)


def before_delete(org: Org, s: SObject, rec: Record, actor_id: str) -> None:
    rule = _BEFORE_DELETE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)


def after_delete(org: Org, s: SObject, rec: Record, actor_id: str, *, vanished: bool) -> None:
    del vanished  # a vanished row is audited like a removal
    rule = _AFTER_DELETE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)
    _recalculate_after(org, s, rec)


__all__: list[str] = [
    "after_create", "after_delete", "after_update", "before_create", "before_delete",
    "before_update", "check_query_access", "check_write_access", "recount_licenses",
    "settle_groups", "vanishes",
]
