"""The built-in rule set ``integration-baseline``: least privilege for users on the
Salesforce Integration license, each rule with its reason and where it comes from.

Every system permission named here is a real ``PermissionSet`` field (the 628 listed in
``shared/real-salesforce/permissionset-fields.txt``; a test keeps it so). The reference
users read is ``docs/policy.md``.
"""

from __future__ import annotations

from reconciler.policy.rules import Rule, Scope

__all__ = ["BASELINE", "DENIED_PERMISSIONS", "INTERACTIVE_PERMISSIONS", "baseline"]

BASELINE = "integration-baseline"
_INTEGRATION_HELP = ("https://help.salesforce.com/s/articleView?"
                     "id=platform.integration_user.htm&language=en_US&type=5")
_MODIFY_ALL_DATA_HELP = ("https://help.salesforce.com/s/articleView?id=000321298"
                         "&language=en_US&type=1")
_RISKY_PERMISSIONS = ("https://www.salesforceben.com/"
                      "crucial-salesforce-permissions-you-should-not-assign-to-users/")
_API_ONLY_HELP = "https://help.salesforce.com/apex/HTViewSolution?id=000003819&language=en_US"
_LIGHTNING_HELP = ("https://help.salesforce.com/s/articleView?id=xcloud.lex_enable_users.htm"
                   "&language=en_US&type=5")

# id suffix, permission, title, reason, source
_DENIED: tuple[tuple[str, str, str, str, str], ...] = (
    ("modify-all-data", "ModifyAllData", "no Modify All Data",
     "Modify All Data reads, edits and deletes every record whatever the sharing, and turns "
     "on dozens of other permissions with it; a leaked integration login would own the org.",
     _MODIFY_ALL_DATA_HELP),
    ("view-all-data", "ViewAllData", "no View All Data",
     "View All Data reads every record whatever the sharing: an integration should read only "
     "the objects it was given.", _MODIFY_ALL_DATA_HELP),
    ("manage-users", "ManageUsers", "no Manage Users",
     "Manage Users creates users, resets passwords and assigns permission sets and licenses: "
     "an integration holding it can grant itself anything.", _RISKY_PERMISSIONS),
    ("customize-application", "CustomizeApplication", "no Customize Application",
     "Customize Application changes the org's configuration (objects, fields, layouts, "
     "flows); an integration exchanges data, it does not reconfigure the org.",
     _RISKY_PERMISSIONS),
    ("author-apex", "AuthorApex", "no Author Apex",
     "Author Apex writes and runs Apex, which runs in system mode past object and field "
     "permissions.", _RISKY_PERMISSIONS),
    ("modify-metadata", "ModifyMetadata", "no Modify Metadata Through Metadata API Functions",
     "Modify Metadata deploys metadata through the Metadata API: the configuration of the "
     "org, not its data.", _RISKY_PERMISSIONS),
    ("view-setup", "ViewSetup", "no View Setup and Configuration",
     "View Setup and Configuration shows the org's whole configuration and its audit trail, "
     "which an attacker maps before moving on.", _RISKY_PERMISSIONS),
    ("assign-permission-sets", "AssignPermissionSets", "no Assign Permission Sets",
     "Assign Permission Sets lets the holder give permission sets, itself included: a "
     "way round every other rule here.", _RISKY_PERMISSIONS),
)

# Permissions that only matter to someone at a screen (permission, why): an API-only
# user holding one has either been cloned from a human's access or is being prepared
# for interactive logins.
_INTERACTIVE: tuple[tuple[str, str], ...] = (
    ("LightningExperienceUser", "Lightning Experience User opens the Lightning user interface"),
    ("LightningConsoleAllowedForUser", "Lightning Console User opens console apps"),
    ("SalesConsole", "Sales Console opens the Sales Console app"),
    ("AllowLightningLogin", "Allow Lightning Login lets the user log in to the UI without "
                            "a password"),
    ("BypassMFAForUiLogins", "Waive Multi-Factor Authentication for Exempt Users exempts "
                             "the user's UI logins from MFA"),
)
#: The permissions :data:`_INTERACTIVE` denies, for the tests and the docs.
INTERACTIVE_PERMISSIONS = tuple(p for p, _ in _INTERACTIVE)
DENIED_PERMISSIONS = tuple(p for _, p, *_ in _DENIED)


def baseline(allow_view_all: tuple[str, ...] = (), scope: Scope | None = None) -> list[Rule]:
    """The rules of ``integration-baseline``; View All and Modify All stay allowed on the
    objects ``allow_view_all`` matches. ``scope`` defaults to the integration license."""
    scope = scope or Scope(licenses=("Salesforce Integration",))
    rules = [Rule(id=f"{BASELINE}.{suffix}", title=title, reason=reason, sources=(source,),
                  scope=scope, deny_system=(permission,))
             for suffix, permission, title, reason, source in _DENIED]
    rules.append(Rule(
        id=f"{BASELINE}.object-view-all", title="no View All or Modify All on objects",
        reason="View All and Modify All on an object read (and change) every record of it "
               "past sharing; allow them per object in rule_sets.integration-baseline."
               "allow_view_all where the integration really needs it.",
        sources=(_RISKY_PERMISSIONS,), scope=scope,
        deny_objects=(("*", ("view_all", "modify_all")),), except_objects=allow_view_all))
    rules.append(Rule(
        id=f"{BASELINE}.api-only", title="the API Only User permission (an API-only profile)",
        reason="The integration user logs in through the API only: the Minimum Access - API "
               "Only Integrations profile grants API Only User and it can't be turned off, so "
               "a user without it has been moved to a profile a person could log in with.",
        sources=(_INTEGRATION_HELP, _API_ONLY_HELP), scope=scope, require_system=("ApiUserOnly",)))
    rules.append(Rule(
        id=f"{BASELINE}.interactive-use", title="no permission that implies interactive use",
        reason="; ".join(why for _, why in _INTERACTIVE) + ": none of them has a use for a "
               "user that never sits at a screen, and each widens what a stolen login can do.",
        sources=(_LIGHTNING_HELP,), scope=scope, deny_system=INTERACTIVE_PERMISSIONS))
    return rules
