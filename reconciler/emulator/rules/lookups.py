"""What every family of setup-object rules shares: the org as the rules see it, the
hooks a family registers, and the lookups and checks more than one family makes.

The rules take an :class:`OrgView`, not the emulator's ``Org`` class, so they sit
below it: ``org.py`` calls the rules, never the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.emulator.apierror import bad_request
from reconciler.emulator.catalog import Catalog
from reconciler.emulator.sobjects import OBJECT_PERMISSION_FIELDS, is_standard_data_object
from reconciler.emulator.store import Record, Store


class OrgView(Protocol):
    """What the rules read and write of an org (the emulator's ``Org`` is one)."""

    catalog: Catalog
    store: Store
    #: Permission set assignments the current request removes together.
    assignments_removed_together: int

    def now(self) -> str: ...

    def timestamp(self) -> float: ...

    def get(self, record_id: str) -> tuple[str, Record] | None: ...

    def records(self, sobject: str) -> list[Record]: ...

    def where(self, sobject: str, **equals: Any) -> list[Record]: ...

    def insert_raw(self, sobject_name: str, values: Mapping[str, Any], actor_id: str
                   ) -> Record: ...

    def audit(self, action: str, section: str, display: str, actor_id: str) -> None: ...


Check = Callable[[OrgView, Record, str], None]
UpdateCheck = Callable[[OrgView, Record, Record, str], None]


@dataclass(frozen=True)
class Hooks:
    """One family's rules per sObject: ``before_*`` may refuse with an :class:`ApiFault`,
    ``after_*`` makes the side effects (derived records, seat counts, the audit trail)."""

    before_create: Mapping[str, Check] = field(default_factory=dict)
    after_create: Mapping[str, Check] = field(default_factory=dict)
    before_update: Mapping[str, UpdateCheck] = field(default_factory=dict)
    after_update: Mapping[str, UpdateCheck] = field(default_factory=dict)
    before_delete: Mapping[str, Check] = field(default_factory=dict)
    after_delete: Mapping[str, Check] = field(default_factory=dict)


INTEGRATION_LICENSE = "Salesforce Integration"
#: The key prefix of MutingPermissionSet Ids.
MUTING_PREFIX = "0QM"
API_PSL_NAMES = ("salesforceapiintegrationpsl", "salesforce api integration")
_DEV_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_DEV_NAME_MESSAGE = (
    "The {field} field can only contain underscores and alphanumeric characters. It must be "
    "unique, begin with a letter, not include spaces, not end with an underscore, and not "
    "contain two consecutive underscores."
)
WORDS = {
    "PermissionsRead": "Read", "PermissionsCreate": "Create", "PermissionsEdit": "Edit",
    "PermissionsDelete": "Delete", "PermissionsViewAllRecords": "View All",
    "PermissionsModifyAllRecords": "Modify All",
}
# Task and Event take no object permissions (activity access is the Edit Tasks / Edit
# Events system permission) and share their custom fields, which live on Activity.
ACTIVITY_PERMISSIONS = {"task": "PermissionsEditTask", "event": "PermissionsEditEvent"}


def user_license(org: OrgView, user: Record) -> Record | None:
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


def username_of(org: OrgView, user_id: str) -> str:
    got = org.get(user_id)
    return str(got[1].get("Username")) if got else user_id


def user_name(org: OrgView, user_id: str) -> str:
    """How the Setup Audit Trail names a user: by full name ("assigned to user Jane Roe")."""
    got = org.get(user_id)
    return str(got[1].get("Name") or got[1].get("Username")) if got else user_id


def set_name(org: OrgView, ps_id: str | None) -> str:
    got = org.get(ps_id or "")
    if got is None:
        return str(ps_id)
    rec = got[1]
    return str(rec.get("Label") or rec.get("MasterLabel") or rec.get("Name"))


def user_of(org: OrgView, user_id: str) -> Record:
    got = org.get(user_id)
    if got is None or got[0] != "User":
        raise bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                          ["AssigneeId"])
    return got[1]


def held_psl_ids(org: OrgView, user_id: str) -> set[str]:
    return {r["PermissionSetLicenseId"]
            for r in org.where("PermissionSetLicenseAssign", AssigneeId=user_id)}


def _holds_api_psl(org: OrgView, user_id: str) -> bool:
    return any(is_api_psl(got[1]) for i in held_psl_ids(org, user_id)
               if (got := org.get(i)) is not None)


def assigned_sets(org: OrgView, user_id: str) -> list[Record]:
    """The permission sets assigned to a user directly (no profile or group sets)."""
    out = []
    for psa in org.where("PermissionSetAssignment", AssigneeId=user_id):
        if psa.get("PermissionSetGroupId"):
            continue
        got = org.get(psa.get("PermissionSetId") or "")
        if got is not None and not got[1].get("IsOwnedByProfile"):
            out.append(got[1])
    return out


def effective_sets(org: OrgView, user_id: str) -> list[Record]:
    """Every permission set whose permissions the user has: profile, direct, groups."""
    out = []
    for psa in org.where("PermissionSetAssignment", AssigneeId=user_id):
        if psa.get("IsRevoked"):
            continue  # a user access policy revoked it: the row stays, the access goes [doc]
        if psa.get("PermissionSetGroupId"):
            out += _unmuted_sets(org, psa["PermissionSetGroupId"])
        else:
            got = org.get(psa.get("PermissionSetId") or "")
            if got is not None:
                out.append(got[1])
    return out


def standard_object_grants(org: OrgView, ps_id: str) -> list[str]:
    """Standard-object permissions a set holds, as Setup words ("Read Accounts")."""
    out: list[str] = []
    for row in org.where("ObjectPermissions", ParentId=ps_id):
        if is_standard_data_object(str(row.get("SobjectType", ""))):
            out.extend(grant_words(org, row))
    return out


def grant_words(org: OrgView, row: Record) -> list[str]:
    """An object permission row as Setup names its permissions: "Read Accounts" (the
    object's plural label, as in the licence refusal of errors.txt §7)."""
    target = org.catalog.get(str(row["SobjectType"]))
    plural = target.label_plural if target is not None else str(row["SobjectType"])
    return [f"{WORDS[p]} {plural}" for p in OBJECT_PERMISSION_FIELDS if row.get(p)]


def component_sets(org: OrgView, group_id: str) -> list[Record]:
    """A group's member permission sets (not its muting set, which grants nothing)."""
    out = []
    for comp in org.where("PermissionSetGroupComponent", PermissionSetGroupId=group_id):
        got = org.get(comp["PermissionSetId"])
        if got is not None and got[0] == "PermissionSet":
            out.append(got[1])
    return out


def _unmuted_sets(org: OrgView, group_id: str) -> list[Record]:
    """A group's member sets with the system permissions its muting set mutes turned
    off [doc]. Muted object and field permissions still count for the running user's
    own checks (not modelled)."""
    muted: dict[str, bool] = {}
    for comp in org.where("PermissionSetGroupComponent", PermissionSetGroupId=group_id):
        if str(comp["PermissionSetId"]).startswith(MUTING_PREFIX):
            got = org.get(comp["PermissionSetId"])
            muted = {k: False for k, v in (got[1] if got else {}).items()
                     if k.startswith("Permissions") and v}
    return [{**ps, **muted} for ps in component_sets(org, group_id)]


def recount_licenses(org: OrgView) -> None:
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


def seat_check(lic: Record, label: str) -> None:
    total = int(lic.get("TotalLicenses") or 0)
    used = int(lic.get("UsedLicenses") or 0)
    if used >= total:
        raise bad_request(
            "LICENSE_LIMIT_EXCEEDED",
            f"License Limit Exceeded: no {label} licenses are available "
            f"({used} of {total} in use)",
        )


def check_implications(rec: Record, implies: dict[str, tuple[str, ...]], what: str) -> None:
    for perm, needs in implies.items():
        if rec.get(perm):
            missing = [n for n in needs if not rec.get(n)]
            if missing:
                raise bad_request(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"Permission {WORDS.get(perm, perm)} on {what} depends on permission(s): "
                    + ", ".join(WORDS.get(m, m) for m in missing),
                    [perm],
                )


def license_of_profile(org: OrgView, profile_id: str) -> Record | None:
    got = org.get(profile_id)
    if got is None:
        return None
    lic = org.get(got[1].get("UserLicenseId") or "")
    return None if lic is None else lic[1]


def name_of(org: OrgView, record_id: str) -> str:
    got = org.get(record_id)
    return str(got[1].get("Name")) if got else record_id


def dev_name(org: OrgView, sobject: str, field: str, rec: Record, old: Record | None) -> None:
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


def not_platform_owned(ps: Record, verb: str) -> None:
    if ps.get("IsOwnedByProfile") or ps.get("PermissionSetGroupId"):
        owner = "a profile" if ps.get("IsOwnedByProfile") else "a permission set group"
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          f"You can't {verb} this permission set because it's owned by {owner}.")


def name_of_license(org: OrgView, lic_id: str | None) -> str:
    got = org.get(lic_id or "")
    if got is None:
        return "None"
    return str(got[1].get("MasterLabel") or got[1].get("Name"))


def license_allows(org: OrgView, ps: Record, user: Record,
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
