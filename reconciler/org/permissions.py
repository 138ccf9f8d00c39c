"""Which system permissions the running user needs for each kind of write, in one table.

Every row names a kind of work the reconciler does in an org, the action kinds of a
plan that are that work (see :mod:`reconciler.actions`), the system permissions
(``PermissionSet.Permissions<Name>`` without the prefix) that allow it, and where
that comes from. Any one permission of a row is enough. ``ModifyAllData`` is in every
row: a set can't hold Modify All Data without the setup permissions it depends on
(Salesforce saves a permission only with its dependencies, and Manage Users itself
depends on Assign Permission Sets and Manage Profiles and Permission Sets), which is
why a System Administrator can do all of this.

``doctor`` reads the running user's effective permissions and grades them against
this table; the emulator keeps its own table (it shares nothing with the reconciler).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MODIFY_ALL_DATA", "NEEDS", "Need", "need_for_action", "permission_fields"]

#: The permission that covers every row (see the module docstring).
MODIFY_ALL_DATA = "ModifyAllData"

_MAD_SOURCE = ("Modify All Data depends on View All Data \"and other permissions\": "
               "https://developer.salesforce.com/docs/atlas.en-us.236.0.api_tooling.meta/"
               "api_tooling/tooling_api_objects_permissiondependency.htm; what it allows: "
               "https://www.salesforcehacker.com/2013/01/what-can-modify-all-data-do.html; "
               "Manage Users depends on AssignPermissionSets, ManageProfilesPermissionsets "
               "(observed error, ../shared/real-salesforce/object-permission-dependencies.md)")


@dataclass(frozen=True)
class Need:
    """One kind of work and the system permissions that allow it (any one suffices)."""

    kind: str
    #: What the work is, as a checklist line says it.
    what: str
    #: The permissions, as Setup labels them, for messages.
    label: str
    permissions: tuple[str, ...]
    #: Plan action kinds that are this work (none for reads).
    actions: tuple[str, ...]
    source: str

    def allowed(self, held: Iterable[str]) -> bool:
        """Whether a user holding ``held`` (permission names, any case) may do this."""
        have = {p.casefold() for p in held}
        return any(p.casefold() in have for p in self.permissions)


NEEDS: tuple[Need, ...] = (
    Need("read", "read permission sets, their object and field permissions",
         "View Setup and Configuration", ("ViewSetup", MODIFY_ALL_DATA), (),
         "ObjectPermissions, Special Access Rules: only users with View Setup and "
         "Configuration can access this object: https://developer.salesforce.com/docs/"
         "platform/object-reference/references/standard-objects/object-objectpermissions.html"),
    # Manage Users depends on Manage Internal Users (same observed error), so either does.
    Need("users", "create and update users", "Manage Users (or Manage Internal Users)",
         ("ManageUsers", "ManageInternalUsers", MODIFY_ALL_DATA),
         ("create_user", "update_user", "change_user_profile", "deactivate_user",
          "reactivate_user"),
         "Salesforce Help, Add a Single User: \"To create users: Manage Internal Users\": "
         "https://help.salesforce.com/apex/HTViewHelpDoc?id=adding_new_users.htm"),
    Need("psl_assignments", "assign permission set licenses", "Manage Users",
         ("ManageUsers", MODIFY_ALL_DATA),
         ("assign_permission_set_license", "unassign_permission_set_license"),
         "Salesforce Help, Assign a Permission Set License to a User: \"To assign a "
         "permission set license: Manage Users\": https://help.salesforce.com/s/"
         "articleView?id=platform.users_permissionset_licenses_assign.htm"),
    Need("assignments", "assign permission sets and groups", "Assign Permission Sets",
         ("AssignPermissionSets", MODIFY_ALL_DATA),
         ("assign_permission_set", "unassign_permission_set", "assign_group",
          "unassign_group"),
         "Salesforce Help, Create a Permission Set Associated with a Permission Set "
         "License: \"To assign a permission set to users: Assign Permission Sets\": "
         "https://help.salesforce.com/s/articleView?id=platform."
         "users_permissionset_licenses_and_perm_sets.htm"),
    # SetupEntityAccess rows (connected apps, Apex classes…) are edited on the set's page:
    # the same permission (assumed, docs/salesforce-behaviour.md).
    Need("permission_sets", "create, change and delete permission sets and their object "
         "and field permissions", "Manage Profiles and Permission Sets",
         ("ManageProfilesPermissionsets", MODIFY_ALL_DATA),
         ("create_permission_set", "update_permission_set", "set_system_permissions",
          "delete_permission_set", "grant_object_access", "change_object_access",
          "revoke_object_access", "grant_field_access", "change_field_access",
          "revoke_field_access", "grant_setup_entity_access", "revoke_setup_entity_access"),
         "Salesforce Help, Create Permission Sets: \"To create permission sets: Manage "
         "Profiles and Permission Sets\": https://help.salesforce.com/s/articleView?id="
         "platform.perm_sets_create.htm"),
    Need("groups", "create, change and delete permission set groups",
         "Manage Profiles and Permission Sets",
         ("ManageProfilesPermissionsets", MODIFY_ALL_DATA),
         ("create_group", "update_group", "delete_group", "add_group_component",
          "remove_group_component"),
         "PermissionSetGroup, Special Access Rules: \"To edit this object, users must "
         "have the Manage Profiles and Permission Sets permission\": https://"
         "developer.salesforce.com/docs/platform/object-reference/references/"
         "standard-objects/object-permissionsetgroup.html"),
    Need("audit_trail", "read the Setup Audit Trail (drift attribution)",
         "View Setup and Configuration", ("ViewSetup", MODIFY_ALL_DATA), (),
         "Monitor Setup Changes with Setup Audit Trail: \"To view audit trail history: View "
         "Setup and Configuration\": https://developer.salesforce.com/docs/atlas.en-us."
         "securityImplGuide.meta/securityImplGuide/admin_monitorsetup.htm"),
)
_BY_ACTION = {action: need for need in NEEDS for action in need.actions}


def need_for_action(action_kind: str) -> Need:
    """The row of a plan action kind; KeyError for a kind the table lacks."""
    return _BY_ACTION[action_kind]


def permission_fields() -> tuple[str, ...]:
    """Every permission the table names, each once, sorted: what to read of a user."""
    return tuple(sorted({p for need in NEEDS for p in need.permissions}))
