"""Rules for PermissionSetAssignment and PermissionSetLicenseAssign: who may hold which
set, the licences assigned and released with them, and duplicates."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.emulator.apierror import ApiFault, bad_request
from reconciler.emulator.rules.lookups import (
    INTEGRATION_LICENSE,
    Hooks,
    OrgView,
    component_sets,
    held_psl_ids,
    is_api_psl,
    is_integration_license,
    license_allows,
    name_of_license,
    not_platform_owned,
    recount_licenses,
    seat_check,
    set_name,
    standard_object_grants,
    user_license,
    user_name,
    user_of,
    username_of,
)
from reconciler.emulator.store import Record

# Salesforce Help ("Remove a Permission Set License from a User"): no automatic PSL
# unassignment when this many assignments are removed at once.
BULK_UNASSIGN = 50
# Marks a PermissionSetLicenseAssign the platform made because a licensed set was
# assigned; internal to the emulator (no API field tells it).
AUTOMATIC = "__automatic"


def _psa_before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    user = user_of(org, rec["AssigneeId"])
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
        components = component_sets(org, group_id)
        _assign_needed_psls(org, user, components, actor_id)
        for ps in components:
            license_allows(org, ps, user, None)
        rec["PermissionSetId"] = aggregate[0]["Id"] if aggregate else None
    else:
        ps_id = rec.get("PermissionSetId")
        if not ps_id:
            raise bad_request("REQUIRED_FIELD_MISSING",
                              "Required fields are missing: [PermissionSetId]",
                              ["PermissionSetId"])
        target = org.get(ps_id)
        assert target is not None  # the reference was checked by the pipeline
        not_platform_owned(target[1], "assign")
        if org.where("PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=ps_id,
                     PermissionSetGroupId=None):
            raise _duplicate_psa(user["Id"], ps_id)
        _assign_needed_psls(org, user, [target[1]], actor_id)
        license_allows(org, target[1], user, None)
    rec["IsActive"] = True


def _assign_needed_psls(org: OrgView, user: Record, sets: Iterable[Record], actor_id: str) -> None:
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


def _psa_after_create(org: OrgView, rec: Record, actor_id: str) -> None:
    target = rec.get("PermissionSetGroupId") or rec.get("PermissionSetId")
    kind = "Permission set group" if rec.get("PermissionSetGroupId") else "Permission set"
    org.audit("PermSetGroupAssign" if rec.get("PermissionSetGroupId") else "PermSetAssign",
              "Manage Users",
              f"{kind} {set_name(org, target)}: assigned to user "
              f"{user_name(org, rec['AssigneeId'])}", actor_id)


def _psa_before_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    ps = org.get(rec.get("PermissionSetId") or "")
    if ps is not None and ps[1].get("IsOwnedByProfile"):
        raise bad_request("FIELD_INTEGRITY_EXCEPTION",
                          "You can't unassign a permission set that's owned by a profile.")


def _psa_after_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    if org.assignments_removed_together < BULK_UNASSIGN:
        _release_automatic_psls(org, rec, actor_id)
    target = rec.get("PermissionSetGroupId") or rec.get("PermissionSetId")
    kind = "Permission set group" if rec.get("PermissionSetGroupId") else "Permission set"
    org.audit("PermSetGroupUnassign" if rec.get("PermissionSetGroupId") else "PermSetUnassign",
              "Manage Users",
              f"{kind} {set_name(org, target)}: unassigned from user "
              f"{user_name(org, rec['AssigneeId'])}", actor_id)


def _psla_before_create(org: OrgView, rec: Record, actor_id: str) -> None:
    user = user_of(org, rec["AssigneeId"])
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
    seat_check(psl[1], str(psl[1].get("MasterLabel")))


def _psla_after_create(org: OrgView, rec: Record, actor_id: str) -> None:
    recount_licenses(org)
    org.audit("PermSetLicenseAssigned", "Manage Users",
              f"Permission set license {name_of_license(org, rec['PermissionSetLicenseId'])}: "
              f"assigned to user {user_name(org, rec['AssigneeId'])}", actor_id)


def _release_automatic_psls(org: OrgView, removed: Record, actor_id: str) -> None:
    """Unassigning the last set that needs an automatically assigned PSL removes that PSL
    [doc: Salesforce Help, "Remove a Permission Set License from a User"; not when 50 or
    more assignments go at once, nor for a set leaving a group]."""
    group_id = removed.get("PermissionSetGroupId")
    if group_id:
        sets = component_sets(org, group_id)
    else:
        got = org.get(removed.get("PermissionSetId") or "")
        sets = [got[1]] if got is not None else []
    licences = {ps.get("LicenseId") for ps in sets}
    for psla in org.where("PermissionSetLicenseAssign", AssigneeId=removed["AssigneeId"]):
        if (psla.get(AUTOMATIC) and psla["PermissionSetLicenseId"] in licences
                and not _sets_needing_psl(org, psla)):
            org.store.delete(psla["Id"])
            _psla_after_delete(org, psla, actor_id)


def _sets_needing_psl(org: OrgView, psla: Record) -> list[str]:
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
            sets = component_sets(org, psa["PermissionSetGroupId"])
        else:
            got = org.get(psa.get("PermissionSetId") or "")
            sets = [got[1]] if got is not None and not got[1].get("IsOwnedByProfile") else []
        needing += [str(ps["Name"]) for ps in sets if ps.get("LicenseId") == psl_id or (
            api and not ps.get("LicenseId") and standard_object_grants(org, ps["Id"]))]
    return needing


def _psla_before_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    # [assumed] A PSL can't be taken away while assigned sets still need it.
    needing = _sets_needing_psl(org, rec)
    if needing:
        raise bad_request(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Can't remove the permission set license "
            f"{name_of_license(org, rec['PermissionSetLicenseId'])} from user "
            f"{username_of(org, rec['AssigneeId'])}: assigned permission sets need it "
            f"({', '.join(sorted(needing))}). Remove those assignments first.",
        )


def _psla_after_delete(org: OrgView, rec: Record, actor_id: str) -> None:
    recount_licenses(org)
    org.audit("PermSetLicenseUnassigned", "Manage Users",
              f"Permission set license {name_of_license(org, rec['PermissionSetLicenseId'])}: "
              f"unassigned from user {user_name(org, rec['AssigneeId'])}", actor_id)


HOOKS = Hooks(
    before_create={
        "PermissionSetAssignment": _psa_before_create,
        "PermissionSetLicenseAssign": _psla_before_create,
    },
    after_create={
        "PermissionSetAssignment": _psa_after_create,
        "PermissionSetLicenseAssign": _psla_after_create,
    },
    before_delete={
        "PermissionSetAssignment": _psa_before_delete,
        "PermissionSetLicenseAssign": _psla_before_delete,
    },
    after_delete={
        "PermissionSetAssignment": _psa_after_delete,
        "PermissionSetLicenseAssign": _psla_after_delete,
    },
)
