"""Rules for User: usernames, licence seats, and the profile's permission set."""

from __future__ import annotations

import re

from reconciler.emulator.apierror import bad_request
from reconciler.emulator.rules.lookups import (
    Hooks,
    OrgView,
    assigned_sets,
    license_of_profile,
    name_of,
    recount_licenses,
    seat_check,
    user_name,
)
from reconciler.emulator.store import Record


def _user_before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    _user_common(org, rec, None)
    if rec.get("IsActive", True):
        lic = license_of_profile(org, rec["ProfileId"])
        if lic is not None:
            seat_check(lic, str(lic.get("Name")))


def _user_common(org: OrgView, rec: Record, old: Record | None) -> None:
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


def _user_before_update(org: OrgView, old: Record, changes: Record, actor_id: str) -> None:
    _user_common(org, changes, old)
    new_profile = str(changes.get("ProfileId") or old["ProfileId"])
    activating = changes.get("IsActive") is True and not old.get("IsActive")
    deactivating = changes.get("IsActive") is False and old.get("IsActive")
    if deactivating and old["Id"] == actor_id:
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          "You can't deactivate your own user.", ["IsActive"])
    old_lic = license_of_profile(org, old["ProfileId"])
    new_lic = license_of_profile(org, new_profile)
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
        seat_check(new_lic, str(new_lic.get("Name")))


def _user_after_create(org: OrgView, rec: Record, actor_id: str) -> None:
    assign_profile_set(org, rec, actor_id)
    recount_licenses(org)
    org.audit("createduser", "Manage Users",
              f"Created new user {user_name(org, rec['Id'])}", actor_id)


def assign_profile_set(org: OrgView, user: Record, actor_id: str) -> None:
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


def _user_after_update(org: OrgView, old: Record, new: Record, actor_id: str) -> None:
    who = user_name(org, new["Id"])
    if old["ProfileId"] != new["ProfileId"]:
        assign_profile_set(org, new, actor_id)
        org.audit("changedprofileforuser", "Manage Users",
                  f"Changed profile for user {who} from {name_of(org, old['ProfileId'])} "
                  f"to {name_of(org, new['ProfileId'])}", actor_id)
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


HOOKS = Hooks(
    before_create={"User": _user_before_create},
    after_create={"User": _user_after_create},
    before_update={"User": _user_before_update},
    after_update={"User": _user_after_update},
)
