"""What the acting user may do: the system permission each setup write needs, and the
object permissions that let a user write or even see a data object."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.emulator.apierror import ApiFault, bad_request
from reconciler.emulator.catalog import SObject
from reconciler.emulator.rules.lookups import ACTIVITY_PERMISSIONS, OrgView, effective_sets


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
    Needs("MutingPermissionSet", _WRITE, "ManageProfilesPermissionsets",
          "https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/"
          "meta_mutingpermissionset.htm (access rules: Manage Profiles and Permission Sets; "
          "that writing needs it: assumed, as for a group)"),
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


# What a user's system permissions are read from (``effective_sets``): a write to any of
# these may change them, and nothing else can.
_GRANTED_BY = ("PermissionSetAssignment", "PermissionSet", "PermissionSetGroupComponent",
               "MutingPermissionSet")


def _has_system_permission(org: OrgView, user_id: str, names: Iterable[str]) -> bool:
    wanted = tuple(names)
    return org.store.memo(
        ("system permission", user_id, wanted), _GRANTED_BY,
        lambda: any(any(ps.get(n) for n in wanted) for ps in effective_sets(org, user_id)))


def needed_permission(sobject: str, operation: str) -> str | None:
    """The system permission an operation on a setup object needs (see :data:`NEEDS`);
    None for a read nothing restricts."""
    for row in NEEDS:
        if row.sobject == sobject and operation in row.operations:
            return row.permission
    return None if operation == "read" else "ModifyAllData"


def holds_permission(org: OrgView, user_id: str, permission: str) -> bool:
    """The user holds ``permission``, or one that carries it (profile, sets or groups)."""
    names = (permission, *_CARRIED_BY[permission])
    return _has_system_permission(org, user_id, ("Permissions" + n for n in names))


def check_write_access(org: OrgView, s: SObject, actor_id: str, op: str) -> None:
    """The acting user may write this object: setup objects by :data:`NEEDS`, data
    objects by its object permissions or Modify All Data [doc]. Worked out once per user,
    object and operation until a write changes what the user holds."""
    sources = _GRANTED_BY if s.setup else (*_GRANTED_BY, "ObjectPermissions")
    refusal = org.store.memo(("write", actor_id, s.name, op), sources,
                             lambda: _write_refusal(org, s, actor_id, op))
    if refusal is not None:
        raise bad_request(*refusal)


def _write_refusal(org: OrgView, s: SObject, actor_id: str, op: str) -> tuple[str, str] | None:
    if s.setup:
        needed = needed_permission(s.name, op)
        if needed is not None and not holds_permission(org, actor_id, needed):
            return _NO_ACCESS
        return None
    if _has_system_permission(org, actor_id, ("PermissionsModifyAllData",)):
        return None
    activity = ACTIVITY_PERMISSIONS.get(s.name.lower())
    if activity is not None:
        if not _has_system_permission(org, actor_id, (activity,)):
            return ("INSUFFICIENT_ACCESS_OR_READONLY",
                    f"insufficient access rights on object: {op} {s.name}")
        return None
    flag = {"create": "PermissionsCreate", "edit": "PermissionsEdit",
            "delete": "PermissionsDelete"}[op]
    return None if _object_flag(org, actor_id, s.name, flag) else _NO_ACCESS


def _object_flag(org: OrgView, user_id: str, sobject: str, flag: str) -> bool:
    for ps in effective_sets(org, user_id):
        for row in org.where("ObjectPermissions", ParentId=ps["Id"]):
            if str(row.get("SobjectType", "")).lower() == sobject.lower() and row.get(flag):
                return True
    return False


def check_query_access(org: OrgView, sobjects: Iterable[str], actor_id: str) -> None:
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
