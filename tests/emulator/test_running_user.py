"""What the running user may write and read, by the system permissions it holds.

Each user here logs in through a connected app that runs as it (client credentials), the
way an integration does, and talks to the org through plain simple-salesforce.
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
    api_psl_id,
    client,
    http_session,
    make_set,
    make_user,
    one,
    sf_error,
)

PLAIN = "Minimum Access - Salesforce"
# Each runner holds only the system permissions in its set (its profile has none).
RUNNERS = {
    "assigner": ["ApiEnabled", "AssignPermissionSets"],
    "auditor": ["ApiEnabled", "ViewSetup"],
    "manager": ["ApiEnabled", "ManageUsers"],
    "designer": ["ApiEnabled", "ManageProfilesPermissionsets"],
    "owner": ["ApiEnabled", "ModifyAllData"],
}
SEED: dict[str, Any] = {
    "connected_apps": [{"name": f"{name} app", "client_id": f"{name}-id",
                        "client_secret": f"{name}-secret", "run_as": f"{name}@acme.example"}
                       for name in RUNNERS],
    "permission_sets": [
        *({"name": f"Runner_{name}", "system_permissions": perms}
          for name, perms in RUNNERS.items()),
        {"name": "Target", "label": "Target"},
    ],
    "users": [
        *({"username": f"{name}@acme.example", "last_name": name, "profile": PLAIN,
           "permission_sets": [f"Runner_{name}"]} for name in RUNNERS),
        {"username": "int@acme.example", "last_name": "Int",
         "profile": "Minimum Access - API Only Integrations"},
    ],
}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(Path(tmp_path_factory.mktemp("org")), SEED) as emulator:
        yield emulator


def as_runner(emu: Emulator, name: str) -> Salesforce:
    resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                  data={"grant_type": "client_credentials"},
                                  auth=(f"{name}-id", f"{name}-secret"))
    assert resp.status_code == 200, resp.text
    return client(emu, resp.json()["access_token"])


def refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(SalesforceError) as info:
        call(*args)
    return sf_error(info.value)


def ids(sf: Salesforce) -> tuple[str, str]:
    return (str(one(sf, "SELECT Id FROM User WHERE Username = 'int@acme.example'")["Id"]),
            str(one(sf, "SELECT Id FROM PermissionSet WHERE Name = 'Target'")["Id"]))


def test_assign_permission_sets_alone_assigns_but_cannot_create_a_set(emu: Emulator) -> None:
    sf = as_runner(emu, "assigner")
    user, target = ids(sf)
    psa = sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": target})
    assert psa["success"]
    # Permission set licence assignments take Manage Users, which the assigner lacks.
    code, _ = refused(sf.PermissionSetLicenseAssign.create,
                      {"AssigneeId": user, "PermissionSetLicenseId": api_psl_id(sf)})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    sf.PermissionSetAssignment.delete(psa["id"])

    assert refused(make_set, sf, "Sneaky") == ("INSUFFICIENT_ACCESS_OR_READONLY",
                                               "insufficient access rights on object id")
    code, _ = refused(sf.PermissionSet.update, target, {"Label": "Renamed"})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    code, _ = refused(make_user, sf, "new@acme.example", PLAIN)
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    code, _ = refused(sf.PermissionSetGroup.create, {"DeveloperName": "G", "MasterLabel": "G"})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_view_setup_is_needed_to_read_the_audit_trail(emu: Emulator) -> None:
    code, message = refused(as_runner(emu, "assigner").query,
                            "SELECT Action FROM SetupAuditTrail")
    assert code == "INVALID_TYPE"
    assert message.startswith("sObject type 'SetupAuditTrail' is not supported.")
    rows = as_runner(emu, "auditor").query("SELECT Action, Display FROM SetupAuditTrail")
    assert rows["totalSize"] > 0


def test_view_setup_alone_writes_nothing(emu: Emulator) -> None:
    sf = as_runner(emu, "auditor")
    user, target = ids(sf)
    code, _ = refused(sf.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetId": target})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_manage_profiles_and_permission_sets_edits_sets_and_groups_only(emu: Emulator) -> None:
    sf = as_runner(emu, "designer")
    user, target = ids(sf)
    ps = make_set(sf, "Designed")
    sf.ObjectPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                 "PermissionsRead": True})
    group = sf.PermissionSetGroup.create({"DeveloperName": "Designed_Group",
                                          "MasterLabel": "Designed"})["id"]
    sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                           "PermissionSetId": ps})
    code, _ = refused(sf.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetId": target})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    code, _ = refused(sf.User.update, user, {"Title": "Robot"})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_manage_users_carries_the_permissions_it_depends_on(emu: Emulator) -> None:
    sf = as_runner(emu, "manager")
    _, target = ids(sf)
    created = make_user(sf, "made@acme.example", PLAIN)
    ps = make_set(sf, "Managed")
    for set_id in (ps, target):
        assert sf.PermissionSetAssignment.create({"AssigneeId": created,
                                                  "PermissionSetId": set_id})["success"]
    assert sf.query("SELECT Id FROM SetupAuditTrail")["totalSize"] > 0


def test_modify_all_data_covers_every_setup_write_and_the_audit_trail(emu: Emulator) -> None:
    sf = as_runner(emu, "owner")
    created = make_user(sf, "owned@acme.example", PLAIN)
    ps = make_set(sf, "Owned")
    sf.ObjectPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                 "PermissionsRead": True})
    assert sf.PermissionSetAssignment.create({"AssigneeId": created,
                                              "PermissionSetId": ps})["success"]
    assert sf.query("SELECT Id FROM SetupAuditTrail")["totalSize"] > 0


def test_a_permission_taken_away_is_gone_from_the_next_write(emu: Emulator) -> None:
    """The runner's permissions are worked out afresh once its set or its assignment
    changes: taken away between two writes, the second is refused; given back, allowed."""
    admin = client(emu)
    runner = as_runner(emu, "assigner")
    user, target = ids(admin)
    runner_set = str(one(admin, "SELECT Id FROM PermissionSet "
                                "WHERE Name = 'Runner_assigner'")["Id"])
    first = runner.PermissionSetAssignment.create({"AssigneeId": user,
                                                   "PermissionSetId": target})
    runner.PermissionSetAssignment.delete(first["id"])
    admin.PermissionSet.update(runner_set, {"PermissionsAssignPermissionSets": False})
    code, _ = refused(runner.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetId": target})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    admin.PermissionSet.update(runner_set, {"PermissionsAssignPermissionSets": True})
    again = runner.PermissionSetAssignment.create({"AssigneeId": user,
                                                   "PermissionSetId": target})
    runner.PermissionSetAssignment.delete(again["id"])
    held = one(admin, "SELECT Id FROM PermissionSetAssignment WHERE "
                      "Assignee.Username = 'assigner@acme.example' "
                      f"AND PermissionSetId = '{runner_set}'")
    admin.PermissionSetAssignment.delete(held["Id"])
    code, _ = refused(runner.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetId": target})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    admin.PermissionSetAssignment.create({"AssigneeId": one(
        admin, "SELECT Id FROM User WHERE Username = 'assigner@acme.example'")["Id"],
        "PermissionSetId": runner_set})
