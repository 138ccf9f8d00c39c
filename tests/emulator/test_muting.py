"""Muting permission sets: created through the API, their rows, their place in a group.

A MutingPermissionSet (key prefix 0QM) ticks what it mutes: its own ``Permissions*``
booleans for system permissions, ObjectPermissions and FieldPermissions rows whose
ParentId is its Id. It joins a group as a PermissionSetGroupComponent, at most one per
group, and a client tells it from the group's members by its Id only: the component's
``PermissionSet`` relationship reads null for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import (
    admin,
    client,
    grant,
    http_session,
    make_set,
    one,
    sf_error,
)

PLAIN = "Minimum Access - Salesforce"
SEED: dict[str, Any] = {
    "custom_objects": [{"name": "Invoice__c", "label": "Invoice",
                        "fields": {"Amount__c": "currency"}}],
    "connected_apps": [{"name": "Runner app", "client_id": "runner-id",
                        "client_secret": "runner-secret", "run_as": "runner@acme.example"}],
    "permission_sets": [{"name": "Runner_Api", "system_permissions": ["ApiEnabled"]},
                        {"name": "Runner_Designer",
                         "system_permissions": ["ManageProfilesPermissionsets"]}],
    "users": [{"username": "runner@acme.example", "last_name": "Runner", "profile": PLAIN,
               "permission_sets": ["Runner_Api"]}],
}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "org", SEED) as emulator:
        yield emulator


def refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(SalesforceError) as info:
        call(*args)
    return sf_error(info.value)


def muting(sf: Salesforce, name: str, **perms: bool) -> str:
    return str(sf.MutingPermissionSet.create({"DeveloperName": name, "MasterLabel": name,
                                              **perms})["id"])


def group_of(sf: Salesforce, name: str, *member_ids: str) -> str:
    group = str(sf.PermissionSetGroup.create({"DeveloperName": name, "MasterLabel": name})["id"])
    for member in member_ids:
        sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                               "PermissionSetId": member})
    return group


def test_a_muting_set_is_created_by_name_and_carries_system_permissions(sf: Salesforce) -> None:
    mid = muting(sf, "Bundle_Muted", PermissionsModifyAllData=True)
    assert mid.startswith("0QM")
    row = one(sf, "SELECT DeveloperName, MasterLabel, PermissionsModifyAllData, "
                  "PermissionsApiEnabled FROM MutingPermissionSet")
    assert (row["DeveloperName"], row["MasterLabel"]) == ("Bundle_Muted", "Bundle_Muted")
    assert (row["PermissionsModifyAllData"], row["PermissionsApiEnabled"]) == (True, False)
    assert refused(sf.MutingPermissionSet.create, {"DeveloperName": "bundle_muted",
                                                   "MasterLabel": "Again"})[0] == \
        "DUPLICATE_DEVELOPER_NAME"
    assert refused(sf.MutingPermissionSet.create, {"DeveloperName": "Bad Name",
                                                   "MasterLabel": "Bad"})[0] == \
        "FIELD_INTEGRITY_EXCEPTION"
    # It names no group: the group names it, through a component.
    with pytest.raises(SalesforceError) as info:
        sf.query("SELECT Id, PermissionSetGroupId FROM MutingPermissionSet")
    assert sf_error(info.value)[0] == "INVALID_FIELD"


def test_its_rows_tick_what_they_mute_with_no_implied_permission(sf: Salesforce) -> None:
    mid = muting(sf, "Bundle_Muted")
    # Muting Edit alone leaves Read: a set's row could not hold Edit without Read.
    grant(sf, mid, "Account", Edit=True)
    sf.FieldPermissions.create({"ParentId": mid, "SobjectType": "Account",
                                "Field": "Account.Industry", "PermissionsEdit": True})
    ps = make_set(sf, "Plain")
    assert "Read" in refused(lambda: grant(sf, ps, "Account", Edit=True))[1]
    rows = sf.query(f"SELECT ParentId, Parent.Name, SobjectType, PermissionsRead, "
                    f"PermissionsEdit FROM ObjectPermissions WHERE ParentId = '{mid}'")
    assert [(r["SobjectType"], r["PermissionsRead"], r["PermissionsEdit"], r["Parent"])
            for r in rows["records"]] == [("Account", False, True, None)]
    fields = sf.query(f"SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                      f"WHERE ParentId = '{mid}'")
    assert [(r["Field"], r["PermissionsRead"], r["PermissionsEdit"])
            for r in fields["records"]] == [("Account.Industry", False, True)]
    # Setup-entity access names a permission set as its parent, never a muting set.
    app = one(sf, "SELECT Id FROM ConnectedApplication WHERE Name = 'Reconciler Local'")
    assert refused(sf.SetupEntityAccess.create, {"ParentId": mid, "SetupEntityId": app["Id"]})[
        0] == "INVALID_CROSS_REFERENCE_KEY"


def test_a_group_takes_one_muting_set_which_reads_as_no_permission_set(
        sf: Salesforce) -> None:
    first, second = make_set(sf, "First"), make_set(sf, "Second")
    mid = muting(sf, "Bundle_Muted")
    group = group_of(sf, "Bundle", first, second, mid)
    rows = sf.query("SELECT PermissionSetId, PermissionSet.Name, PermissionSet.NamespacePrefix "
                    f"FROM PermissionSetGroupComponent WHERE PermissionSetGroupId = '{group}' "
                    "ORDER BY PermissionSet.Name")["records"]
    # Nulls first, as SOQL sorts them ascending.
    assert [(r["PermissionSet"] and r["PermissionSet"]["Name"], r["PermissionSetId"][:3])
            for r in rows] == [(None, "0QM"), ("First", "0PS"), ("Second", "0PS")]
    named = sf.query("SELECT PermissionSet.Name FROM PermissionSetGroupComponent WHERE "
                     "PermissionSet.Name IN ('First', 'Second', 'Bundle_Muted')")
    assert named["totalSize"] == 2
    code, message = refused(sf.PermissionSetGroupComponent.create, {
        "PermissionSetGroupId": group, "PermissionSetId": muting(sf, "Other_Muted")})
    assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                               "A permission set group can have only one muting permission set.")
    assert refused(sf.PermissionSetGroupComponent.create, {
        "PermissionSetGroupId": group, "PermissionSetId": mid})[0] == "DUPLICATE_VALUE"


def test_a_change_to_the_muting_set_recalculates_its_group(emu: Emulator,
                                                           sf: Salesforce) -> None:
    mid = muting(sf, "Bundle_Muted")
    group = group_of(sf, "Bundle", make_set(sf, "First"), mid)
    admin(emu, "POST", "groups", {"seconds": 30})
    sf.MutingPermissionSet.update(mid, {"PermissionsApiEnabled": True})
    assert one(sf, f"SELECT Status FROM PermissionSetGroup WHERE Id = '{group}'")[
        "Status"] == "Updating"


def test_a_muting_set_in_a_group_is_removed_from_it_before_it_goes(sf: Salesforce) -> None:
    mid = muting(sf, "Bundle_Muted")
    grant(sf, mid, "Account", Read=True)
    group = group_of(sf, "Bundle", make_set(sf, "First"), mid)
    assert refused(sf.MutingPermissionSet.delete, mid)[0] == "DELETE_FAILED"
    component = one(sf, "SELECT Id FROM PermissionSetGroupComponent WHERE "
                        f"PermissionSetGroupId = '{group}' AND PermissionSetId = '{mid}'")
    sf.PermissionSetGroupComponent.delete(component["Id"])
    sf.MutingPermissionSet.delete(mid)
    assert sf.query(f"SELECT Id FROM ObjectPermissions WHERE ParentId = '{mid}'")[
        "totalSize"] == 0


def test_a_muted_system_permission_is_not_the_running_users(emu: Emulator,
                                                           sf: Salesforce) -> None:
    designer = one(sf, "SELECT Id FROM PermissionSet WHERE Name = 'Runner_Designer'")["Id"]
    mid = muting(sf, "Designer_Muted")
    group = group_of(sf, "Designers", designer, mid)
    runner_id = one(sf, "SELECT Id FROM User WHERE Username = 'runner@acme.example'")["Id"]
    sf.PermissionSetAssignment.create({"AssigneeId": runner_id, "PermissionSetGroupId": group})
    resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                  data={"grant_type": "client_credentials"},
                                  auth=("runner-id", "runner-secret"))
    runner = client(emu, resp.json()["access_token"])
    # Manage Profiles and Permission Sets writes sets and muting sets alike.
    runner.PermissionSet.create({"Name": "Made_Through_Group", "Label": "Made"})
    runner.MutingPermissionSet.create({"DeveloperName": "Runners_Own", "MasterLabel": "Own"})
    sf.MutingPermissionSet.update(mid, {"PermissionsManageProfilesPermissionsets": True})
    assert refused(runner.PermissionSet.create, {"Name": "Muted_Now", "Label": "Muted"})[0] \
        == "INSUFFICIENT_ACCESS_OR_READONLY"
