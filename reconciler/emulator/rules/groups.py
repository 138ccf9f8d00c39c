"""Rules for permission set groups, their components and muting permission sets, and
group recalculation.

Muting [doc: Help "Muting Permission Sets": up to one muting permission set per group;
what it enables is turned off for that group only]: a MutingPermissionSet joins its
group as a PermissionSetGroupComponent whose PermissionSetId is its 0QM Id.

Recalculation [doc: Help "Permission Set Group Considerations": adding, removing or
editing a set in a group recalculates the group; Status is Updating until it ends
Updated or Failed]. How long it takes and which groups fail are the emulator's settings
(seed ``org.group_recalculation``, admin path ``groups``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from reconciler.emulator.apierror import bad_request
from reconciler.emulator.catalog import SObject
from reconciler.emulator.rules.lookups import (
    MUTING_PREFIX,
    Hooks,
    OrgView,
    dev_name,
    license_allows,
    not_platform_owned,
    set_name,
)
from reconciler.emulator.store import Record


def _group_before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    dev_name(org, "PermissionSetGroup", "DeveloperName", rec, None)
    rec["Status"] = "Updated"


def _group_after_create(org: OrgView, rec: Record, actor_id: str) -> None:
    # Every group owns an aggregate permission set [doc].
    org.insert_raw("PermissionSet", {
        "Name": f"PSG_{rec['Id'][:15]}", "Label": rec["MasterLabel"], "Type": "Group",
        "IsOwnedByProfile": False, "IsCustom": False, "PermissionSetGroupId": rec["Id"],
        "LicenseId": None, "ProfileId": None,
    }, actor_id)
    org.audit("PermSetGroupCreate", "Permission Set Groups",
              f"Created permission set group {rec['MasterLabel']}", actor_id)


def _group_before_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    n = len(org.where("PermissionSetAssignment", PermissionSetGroupId=rec["Id"]))
    if n:
        raise bad_request("DELETE_FAILED",
                          f"Can't delete permission set group {rec['DeveloperName']}: it is "
                          f"assigned to {n} user{'s' if n != 1 else ''}. Remove the "
                          "assignments first.")


def _group_after_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    for comp in org.where("PermissionSetGroupComponent", PermissionSetGroupId=rec["Id"]):
        org.store.delete(comp["Id"])
    for ps in org.where("PermissionSet", PermissionSetGroupId=rec["Id"]):
        org.store.delete(ps["Id"])
    org.audit("PermSetGroupDelete", "Permission Set Groups",
              f"Deleted permission set group {rec['MasterLabel']}", actor_id)


def _group_before_update(org: OrgView, old: Record, changes: Record, actor_id: str) -> None:
    dev_name(org, "PermissionSetGroup", "DeveloperName", changes, old)


def _group_after_update(org: OrgView, old: Record, new: Record, actor_id: str) -> None:
    for key in ("DeveloperName", "MasterLabel", "Description"):
        if old.get(key) != new.get(key):
            org.audit("PermSetGroupChanged", "Permission Set Groups",
                      f"Permission set group {new['MasterLabel']}: changed {key} from "
                      f"\"{old.get(key)}\" to \"{new.get(key)}\"", actor_id)


def _component_before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    ps = org.get(rec["PermissionSetId"])
    assert ps is not None
    if ps[0] == "PermissionSet":
        not_platform_owned(ps[1], "add to a group")
    if org.where("PermissionSetGroupComponent", PermissionSetGroupId=rec["PermissionSetGroupId"],
                 PermissionSetId=rec["PermissionSetId"]):
        raise bad_request("DUPLICATE_VALUE",
                          "duplicate value found: the permission set is already in the group",
                          [])
    if ps[0] == "MutingPermissionSet":
        _second_muting_set(org, rec)
    for psa in org.where("PermissionSetAssignment",
                         PermissionSetGroupId=rec["PermissionSetGroupId"]):
        user = org.get(psa["AssigneeId"])
        if user is not None and ps[0] == "PermissionSet":
            license_allows(org, ps[1], user[1], None)


def _second_muting_set(org: OrgView, rec: Record) -> None:
    """A group takes one muting permission set [doc]; the refusal's wording is ours
    [assumed]."""
    for comp in org.where("PermissionSetGroupComponent",
                          PermissionSetGroupId=rec["PermissionSetGroupId"]):
        if str(comp["PermissionSetId"]).startswith(MUTING_PREFIX):
            raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                              "A permission set group can have only one muting permission "
                              "set.", ["PermissionSetId"])


def _muting_before_write(org: OrgView, rec: Record, old: Record | None) -> None:
    dev_name(org, "MutingPermissionSet", "DeveloperName", rec, old)


def _muting_before_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    """As a set in a group, a muting set in its group can't go [assumed]."""
    if org.where("PermissionSetGroupComponent", PermissionSetId=rec["Id"]):
        raise bad_request("DELETE_FAILED",
                          f"Can't delete muting permission set {rec['DeveloperName']}: it is "
                          "included in a permission set group. Remove it from the group "
                          "first.")


def _muting_after_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    for child in ("ObjectPermissions", "FieldPermissions"):
        for row in org.where(child, ParentId=rec["Id"]):
            org.store.delete(row["Id"])


def _component_audit(verb: str, org: OrgView, rec: Record, actor_id: str) -> None:
    org.audit(f"PermSetGroup{verb}", "Permission Set Groups",
              f"Permission set group {set_name(org, rec['PermissionSetGroupId'])}: "
              f"{'added' if verb == 'AddPermSet' else 'removed'} permission set "
              f"{set_name(org, rec['PermissionSetId'])}", actor_id)

#: Store meta key of the settings: {"seconds": float, "failing": [DeveloperName, ...]}.
RECALCULATION = "group_recalculation"
_DUE = "group_recalculation_due"  # group Id → when its recalculation ends (epoch seconds)
_NOT_UPDATED = ('You can only assign users to permission set groups that have the "Updated" '
                "status.")


def group_recalculation(org: OrgView) -> dict[str, Any]:
    """The recalculation settings: seconds it takes (default 0), groups that fail."""
    stored = org.store.meta(RECALCULATION) or {}
    return {"seconds": float(stored.get("seconds", 0.0)),
            "failing": list(stored.get("failing", []))}


def set_group_recalculation(org: OrgView, *, seconds: Any = None, failing: Any = None,
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


def recalculate(org: OrgView, group_id: str) -> None:
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


def settle_groups(org: OrgView) -> None:
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


def fail_seeded_groups(org: OrgView) -> None:
    """Groups the settings name as failing start Failed, as if their last
    recalculation had failed."""
    for name in group_recalculation(org)["failing"]:
        for group in org.records("PermissionSetGroup"):
            if str(group["DeveloperName"]).lower() == name.lower():
                org.store.update(group["Id"], {"Status": "Failed"})


def _end_recalculation(org: OrgView, group_id: str) -> None:
    got = org.get(group_id)
    if got is None:
        return
    failing = {n.lower() for n in group_recalculation(org)["failing"]}
    status = "Failed" if str(got[1]["DeveloperName"]).lower() in failing else "Updated"
    if got[1].get("Status") != status:
        org.store.update(group_id, {"Status": status})


def group_assignable(org: OrgView, group_id: str) -> None:
    """Only an Updated group takes new assignments [community: the refusal quoted in
    trailheadapps/multiframework-recipes#100; errorCode assumed]."""
    settle_groups(org)
    got = org.get(group_id)
    if got is not None and got[1].get("Status") != "Updated":
        raise bad_request("INVALID_CROSS_REFERENCE_KEY", _NOT_UPDATED, ["PermissionSetGroupId"])


def _groups_holding(org: OrgView, ps_id: str) -> list[str]:
    return [str(c["PermissionSetGroupId"])
            for c in org.where("PermissionSetGroupComponent", PermissionSetId=ps_id)]


# sObject → the groups a write of one of its records makes Salesforce recalculate.
_RECALCULATES: dict[str, Callable[[OrgView, Record], list[str]]] = {
    "PermissionSetGroupComponent": lambda org, rec: [str(rec["PermissionSetGroupId"])],
    "PermissionSet": lambda org, rec: _groups_holding(org, str(rec["Id"])),
    "MutingPermissionSet": lambda org, rec: _groups_holding(org, str(rec["Id"])),
    "ObjectPermissions": lambda org, rec: _groups_holding(org, str(rec["ParentId"])),
    "FieldPermissions": lambda org, rec: _groups_holding(org, str(rec["ParentId"])),
    "SetupEntityAccess": lambda org, rec: _groups_holding(org, str(rec["ParentId"])),
}


def recalculate_after(org: OrgView, s: SObject, rec: Record) -> None:
    holder = _RECALCULATES.get(s.name)
    if holder is not None:
        for group_id in holder(org, rec):
            recalculate(org, group_id)


HOOKS = Hooks(
    before_create={
        "PermissionSetGroup": _group_before_create,
        "PermissionSetGroupComponent": _component_before_create,
        "MutingPermissionSet": lambda org, rec, actor_id: _muting_before_write(org, rec, None),
    },
    after_create={
        "PermissionSetGroup": _group_after_create,
        "PermissionSetGroupComponent": partial(_component_audit, "AddPermSet"),
    },
    before_update={
        "PermissionSetGroup": _group_before_update,
        "MutingPermissionSet": lambda org, old, changes, actor_id: _muting_before_write(
            org, changes, old),
    },
    after_update={"PermissionSetGroup": _group_after_update},
    before_delete={
        "PermissionSetGroup": _group_before_delete,
        "MutingPermissionSet": _muting_before_delete,
    },
    after_delete={
        "PermissionSetGroup": _group_after_delete,
        "MutingPermissionSet": _muting_after_delete,
        "PermissionSetGroupComponent": partial(_component_audit, "RemovePermSet"),
    },
)
