"""Which Salesforce record each action writes: sObject, operation, record.

The one table that ties action kinds to sObjects. The plan uses it to estimate what
apply will cost; the writer uses it to batch records into sObject Collections calls.
Several actions on one record in one layer (a profile change and a rename of the same
user) become one record update.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reconciler import actions as a
from reconciler.live import record_key

COLLECTION_SIZE = 200

# action kind → (sObject, operation)
WRITES: dict[type[a.Action], tuple[str, str]] = {
    a.CreatePermissionSet: ("PermissionSet", "create"),
    a.UpdatePermissionSet: ("PermissionSet", "update"),
    a.SetSystemPermissions: ("PermissionSet", "update"),
    a.DeletePermissionSet: ("PermissionSet", "delete"),
    a.GrantObjectAccess: ("ObjectPermissions", "create"),
    a.ChangeObjectAccess: ("ObjectPermissions", "update"),
    a.RevokeObjectAccess: ("ObjectPermissions", "delete"),
    a.GrantFieldAccess: ("FieldPermissions", "create"),
    a.ChangeFieldAccess: ("FieldPermissions", "update"),
    a.RevokeFieldAccess: ("FieldPermissions", "delete"),
    a.CreateGroup: ("PermissionSetGroup", "create"),
    a.UpdateGroup: ("PermissionSetGroup", "update"),
    a.DeleteGroup: ("PermissionSetGroup", "delete"),
    a.AddGroupComponent: ("PermissionSetGroupComponent", "create"),
    a.RemoveGroupComponent: ("PermissionSetGroupComponent", "delete"),
    a.CreateUser: ("User", "create"),
    a.UpdateUser: ("User", "update"),
    a.ChangeUserProfile: ("User", "update"),
    a.DeactivateUser: ("User", "update"),
    a.ReactivateUser: ("User", "update"),
    a.AssignPermissionSetLicense: ("PermissionSetLicenseAssign", "create"),
    a.UnassignPermissionSetLicense: ("PermissionSetLicenseAssign", "delete"),
    a.AssignPermissionSet: ("PermissionSetAssignment", "create"),
    a.UnassignPermissionSet: ("PermissionSetAssignment", "delete"),
    a.AssignGroup: ("PermissionSetAssignment", "create"),
    a.UnassignGroup: ("PermissionSetAssignment", "delete"),
}


def write_of(action: a.Action) -> tuple[str, str]:
    """(sObject, operation) of the record an action writes."""
    return WRITES[type(action)]


def record_of(action: a.Action) -> str:
    """The key of the record an action writes (see :func:`reader.record_key`)."""
    if isinstance(action, a.CreatePermissionSet | a.UpdatePermissionSet
                  | a.SetSystemPermissions | a.DeletePermissionSet):
        return record_key("set", action.name)
    if isinstance(action, a.GrantObjectAccess | a.ChangeObjectAccess | a.RevokeObjectAccess):
        return record_key("object", action.permission_set, action.sobject)
    if isinstance(action, a.GrantFieldAccess | a.ChangeFieldAccess | a.RevokeFieldAccess):
        return record_key("field", action.permission_set, action.field)
    if isinstance(action, a.CreateGroup | a.UpdateGroup | a.DeleteGroup):
        return record_key("group", action.name)
    if isinstance(action, a.AddGroupComponent | a.RemoveGroupComponent):
        return record_key("component", action.group, action.permission_set)
    if isinstance(action, a.CreateUser | a.UpdateUser | a.ChangeUserProfile
                  | a.DeactivateUser | a.ReactivateUser):
        return record_key("user", action.username)
    if isinstance(action, a.AssignPermissionSetLicense | a.UnassignPermissionSetLicense):
        return record_key("assign-psl", action.username, action.target)
    if isinstance(action, a.AssignPermissionSet | a.UnassignPermissionSet):
        return record_key("assign-set", action.username, action.target)
    if isinstance(action, a.AssignGroup | a.UnassignGroup):
        return record_key("assign-group", action.username, action.target)
    raise TypeError(f"no record for {type(action).__name__}")


def estimate_calls(layers: Sequence[Sequence[a.Action]]) -> int:
    """Write calls apply needs: per layer, ceil(records / 200) per sObject and operation."""
    total = 0
    for layer in layers:
        counts: dict[tuple[str, str], set[str]] = {}
        for action in layer:
            counts.setdefault(write_of(action), set()).add(record_of(action))
        total += sum(math.ceil(len(r) / COLLECTION_SIZE) for r in counts.values())
    return total
