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
    "clerk": ["ApiEnabled"],
    "viewer": ["ApiEnabled", "ViewAllData"],
    "grouped": [],
}
SEED: dict[str, Any] = {
    "connected_apps": [{"name": f"{name} app", "client_id": f"{name}-id",
                        "client_secret": f"{name}-secret", "run_as": f"{name}@acme.example"}
                       for name in RUNNERS],
    "permission_sets": [
        *({"name": f"Runner_{name}", "system_permissions": perms}
          for name, perms in RUNNERS.items()),
        {"name": "Target", "label": "Target"},
        {"name": "Accounts_Clerk", "label": "Accounts Clerk",
         "objects": {"Account": ["read", "create", "edit"]}},
        {"name": "Designer_Rights", "system_permissions": ["ApiEnabled",
                                                           "ManageProfilesPermissionsets"]},
        # Held by nobody: a grant on someone else's set gives the clerk nothing.
        {"name": "Contacts_Reader", "label": "Contacts Reader",
         "objects": {"Contact": ["read"]}},
    ],
    "permission_set_groups": [{"name": "Designers", "permission_sets": ["Designer_Rights"]}],
    "users": [
        *({"username": f"{name}@acme.example", "last_name": name, "profile": PLAIN,
           "permission_sets": [f"Runner_{name}", *(["Accounts_Clerk"] if name == "clerk"
                                                    else [])],
           "permission_set_groups": ["Designers"] if name == "grouped" else []}
          for name in RUNNERS),
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


def test_each_audit_row_names_the_runner_who_made_the_change(emu: Emulator) -> None:
    """Creations, updates, deletions and the licence assigned along with a set are each
    audited as made by the user the call ran as, not the org's admin or nobody."""
    sf = as_runner(emu, "owner")
    user = make_user(sf, "audited@acme.example", PLAIN, LastName="Audited")
    sf.User.update(user, {"ProfileId": one(sf, "SELECT Id FROM Profile WHERE Name = "
                                               "'Minimum Access - API Only Integrations'")["Id"]})
    ps = make_set(sf, "Audited_Set", api_psl_id(sf))
    psa = sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    sf.PermissionSetAssignment.delete(psa["id"])
    sf.PermissionSet.delete(ps)
    rows = [r for r in sf.query_all("SELECT Action, Display, CreatedBy.Username FROM "
                                    "SetupAuditTrail")["records"]
            if "Audited" in r["Display"]]
    assert {r["Action"] for r in rows} >= {
        "createduser", "changedprofileforuser", "PermSetCreate", "PermSetLicenseAssigned",
        "PermSetAssign", "PermSetUnassign", "PermSetLicenseUnassigned", "PermSetDelete"}, rows
    assert {r["CreatedBy"]["Username"] for r in rows} == {"owner@acme.example"}, rows


def test_object_permissions_let_a_user_write_data_as_far_as_they_go(emu: Emulator) -> None:
    """Without Modify All Data a user writes a data object as its object permissions
    allow: create and edit Accounts, not delete them, and no Contacts at all."""
    sf = as_runner(emu, "clerk")
    account = sf.Account.create({"Name": "Clerked"})["id"]
    assert sf.Account.update(account, {"Name": "Clerked again"}) == 204
    assert refused(sf.Account.delete, account) == ("INSUFFICIENT_ACCESS_OR_READONLY",
                                                   "insufficient access rights on object id")
    code, _ = refused(sf.Contact.create, {"LastName": "Nobody"})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_an_object_permission_given_between_two_writes_lets_the_second_through(
        emu: Emulator) -> None:
    admin = client(emu)
    sf = as_runner(emu, "clerk")
    code, _ = refused(sf.Opportunity.create, {"Name": "Deal", "StageName": "Prospecting",
                                              "CloseDate": "2026-12-31"})
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
    clerk_set = one(admin, "SELECT Id FROM PermissionSet WHERE Name = 'Accounts_Clerk'")["Id"]
    row = admin.ObjectPermissions.create({"ParentId": clerk_set, "SobjectType": "Opportunity",
                                          "PermissionsRead": True, "PermissionsCreate": True,
                                          "PermissionsEdit": True, "PermissionsDelete": True})
    deal = sf.Opportunity.create({"Name": "Deal", "StageName": "Prospecting",
                                  "CloseDate": "2026-12-31"})["id"]
    assert sf.Opportunity.delete(deal) == 204
    admin.ObjectPermissions.delete(row["id"])


NOT_SUPPORTED = ("sObject type 'Contact' is not supported. If you are attempting to use a "
                 "custom object, be sure to append the '__c' after the entity name. Please "
                 "reference your WSDL or the describe call for the appropriate names.")


def test_a_data_object_without_read_is_not_there_for_the_user(emu: Emulator) -> None:
    """The clerk reads Accounts; Contacts, which only a set it doesn't hold grants, are
    unknown to it, in the words of a real org. View All Data and Modify All Data read them
    without a grant; activities are seen through their parents, with no grant of their
    own."""
    admin = client(emu)
    admin.Contact.create({"LastName": "Seen"})
    sf = as_runner(emu, "clerk")
    assert sf.query("SELECT Id FROM Account")["done"]
    assert refused(sf.query, "SELECT Id FROM Contact") == ("INVALID_TYPE", NOT_SUPPORTED)
    assert sf.query("SELECT Id FROM Task")["done"]
    for runner in ("viewer", "owner"):
        assert as_runner(emu, runner).query("SELECT Id FROM Contact")["totalSize"] >= 1


def test_rights_held_through_a_group_count_like_a_sets(emu: Emulator) -> None:
    sf = as_runner(emu, "grouped")
    assert make_set(sf, "Grouped_Made")
    code, _ = refused(make_user, sf, "nope@acme.example", PLAIN)
    assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
