"""Permission set groups recalculate after a change: Updating, then Updated or Failed.

How long it takes and which groups fail are emulator settings (admin path ``groups``,
seed ``org.group_recalculation``); an assignment waits for Updated.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import admin, client, make_set, make_user, one, sf_error

NOT_UPDATED = ('You can only assign users to permission set groups that have the "Updated" '
               "status.")


def status(sf: Salesforce, group: str) -> str:
    return str(one(sf, f"SELECT Status FROM PermissionSetGroup WHERE Id = '{group}'")["Status"])


def group_with(sf: Salesforce, name: str, *set_ids: str) -> str:
    group = str(sf.PermissionSetGroup.create({"DeveloperName": name, "MasterLabel": name})["id"])
    for ps in set_ids:
        sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                               "PermissionSetId": ps})
    return group


def refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(SalesforceError) as info:
        call(*args)
    return sf_error(info.value)


def wait_for(sf: Salesforce, group: str, wanted: str, within: float = 5.0) -> float:
    start = time.monotonic()
    while status(sf, group) != wanted:
        assert time.monotonic() - start < within, f"{group} never became {wanted}"
        time.sleep(0.05)
    return time.monotonic() - start


def test_by_default_a_change_is_recalculated_at_once(sf: Salesforce) -> None:
    ps = make_set(sf, "Quick")
    group = group_with(sf, "Quick_Group", ps)
    assert status(sf, group) == "Updated"
    user = make_user(sf, "int@acme.example")
    assert sf.PermissionSetAssignment.create({"AssigneeId": user,
                                              "PermissionSetGroupId": group})["success"]


def test_an_added_component_leaves_the_group_updating_for_the_set_time(
        emu: Emulator, sf: Salesforce) -> None:
    assert admin(emu, "POST", "groups", {"seconds": 0.4}).json() == {"seconds": 0.4,
                                                                      "failing": []}
    ps = make_set(sf, "Slow")
    group = str(sf.PermissionSetGroup.create({"DeveloperName": "Slow_Group",
                                              "MasterLabel": "Slow"})["id"])
    assert status(sf, group) == "Updated"  # an empty new group has nothing to calculate
    sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                           "PermissionSetId": ps})
    assert status(sf, group) == "Updating"
    stamp = sf.PermissionSetGroup.get(group)["SystemModstamp"]
    user = make_user(sf, "int@acme.example")
    assert refused(sf.PermissionSetAssignment.create,
                   {"AssigneeId": user, "PermissionSetGroupId": group}) == (
        "INVALID_CROSS_REFERENCE_KEY", NOT_UPDATED)
    waited = wait_for(sf, group, "Updated")
    assert 0.1 < waited < 2.0
    assert sf.PermissionSetAssignment.create({"AssigneeId": user,
                                              "PermissionSetGroupId": group})["success"]
    # A single record read settles the status too; the platform's own status change
    # leaves SystemModstamp alone, so plans made meanwhile don't go stale.
    assert sf.PermissionSetGroup.get(group)["Status"] == "Updated"
    assert sf.PermissionSetGroup.get(group)["SystemModstamp"] == stamp


def test_a_member_set_whose_permissions_change_recalculates_its_groups(
        emu: Emulator, sf: Salesforce) -> None:
    member, other = make_set(sf, "Member"), make_set(sf, "Other")
    holding, elsewhere = group_with(sf, "Holding", member), group_with(sf, "Elsewhere", other)
    admin(emu, "POST", "groups", {"seconds": 0.3})
    row = sf.ObjectPermissions.create({"ParentId": member, "SobjectType": "Account",
                                       "PermissionsRead": True})["id"]
    assert (status(sf, holding), status(sf, elsewhere)) == ("Updating", "Updated")
    wait_for(sf, holding, "Updated")
    sf.ObjectPermissions.delete(row)
    assert status(sf, holding) == "Updating"
    wait_for(sf, holding, "Updated")
    sf.PermissionSet.update(member, {"PermissionsApiEnabled": True})
    assert status(sf, holding) == "Updating"


def test_a_failing_group_ends_failed_and_takes_no_assignments(
        emu: Emulator, sf: Salesforce) -> None:
    first, second = make_set(sf, "First"), make_set(sf, "Second")
    group = group_with(sf, "Fragile", first)
    admin(emu, "POST", "groups", {"failing": ["fragile"]})
    sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                           "PermissionSetId": second})
    assert status(sf, group) == "Failed"
    user = make_user(sf, "int@acme.example")
    assert refused(sf.PermissionSetAssignment.create,
                   {"AssigneeId": user, "PermissionSetGroupId": group}) == (
        "INVALID_CROSS_REFERENCE_KEY", NOT_UPDATED)
    # Once the cause is gone, the next change recalculates it cleanly.
    admin(emu, "POST", "groups", {"failing": []})
    component = one(sf, "SELECT Id FROM PermissionSetGroupComponent WHERE "
                        f"PermissionSetGroupId = '{group}' AND PermissionSetId = '{second}'")
    sf.PermissionSetGroupComponent.delete(component["Id"])
    assert status(sf, group) == "Updated"
    assert sf.PermissionSetAssignment.create({"AssigneeId": user,
                                              "PermissionSetGroupId": group})["success"]


def test_the_settings_come_from_the_seed_and_are_checked(tmp_path: Any) -> None:
    seed = {"org": {"group_recalculation": {"seconds": 30, "failing": ["Broken"]}},
            "permission_sets": [{"name": "Inside"}],
            "permission_set_groups": [{"name": "Broken", "permission_sets": ["Inside"]},
                                      {"name": "Fine", "permission_sets": ["Inside"]}],
            "users": [{"username": "int@acme.example", "last_name": "Int",
                       "permission_set_groups": ["Broken"]}]}
    with start_emulator(tmp_path / "org", seed) as emu:
        sf = client(emu)
        rows = sf.query("SELECT DeveloperName, Status FROM PermissionSetGroup "
                        "ORDER BY DeveloperName")["records"]
        assert [(r["DeveloperName"], r["Status"]) for r in rows] == [("Broken", "Failed"),
                                                                    ("Fine", "Updated")]
        assert admin(emu, "GET", "groups").json() == {"seconds": 30.0, "failing": ["Broken"]}
        bad = admin(emu, "POST", "groups", {"seconds": -1})
        assert bad.status_code == 400
        assert bad.json()[0]["errorCode"] == "INVALID_SETTING"
        assert admin(emu, "POST", "groups", {"later": 1}).status_code == 400
