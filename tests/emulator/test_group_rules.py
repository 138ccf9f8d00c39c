"""Permission set groups' own rules as a client meets them: the group's name, the
permission set it owns, which sets it takes and when, the refusals of a delete, muting
sets in and out of a group, and the recalculation settings of the admin surface. Each
refusal is compared whole (errorCode, fields, message), as a client parses it."""

from __future__ import annotations

from simple_salesforce import Salesforce

from reconciler.emulator import Emulator
from tests.emulator.helpers import (
    INTEGRATION_PROFILE,
    admin,
    error_body,
    grant,
    make_set,
    make_user,
    one,
    profile_id,
)


def group(sf: Salesforce, name: str, *member_ids: str, label: str | None = None) -> str:
    gid = str(sf.PermissionSetGroup.create({"DeveloperName": name,
                                            "MasterLabel": label or name})["id"])
    for member in member_ids:
        sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": gid,
                                               "PermissionSetId": member})
    return gid


def muting(sf: Salesforce, name: str) -> str:
    return str(sf.MutingPermissionSet.create({"DeveloperName": name, "MasterLabel": name})["id"])


def component(group_id: str, set_id: str) -> dict[str, str]:
    return {"PermissionSetGroupId": group_id, "PermissionSetId": set_id}


def test_a_group_name_is_an_api_name_unique_among_groups(sf: Salesforce) -> None:
    assert error_body(sf.PermissionSetGroup.create, {"DeveloperName": "Two__Underscores",
                                               "MasterLabel": "Bad"}) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["DeveloperName"],
        "message": "The DeveloperName field can only contain underscores and alphanumeric "
                   "characters. It must be unique, begin with a letter, not include spaces, "
                   "not end with an underscore, and not contain two consecutive "
                   "underscores."}]
    group(sf, "Sales_Bundle")
    assert error_body(sf.PermissionSetGroup.create, {"DeveloperName": "sales_bundle",
                                               "MasterLabel": "Again"}) == [{
        "errorCode": "DUPLICATE_DEVELOPER_NAME", "fields": ["DeveloperName"],
        "message": 'The DeveloperName "sales_bundle" is already in use. Enter a unique name.'}]
    assert sf.query("SELECT Id FROM PermissionSetGroup WHERE DeveloperName = 'Sales_Bundle'"
                    )["totalSize"] == 1


def test_a_group_owns_a_set_labelled_as_the_group_that_no_group_may_take(
        sf: Salesforce) -> None:
    ops = group(sf, "Ops_Bundle", label="Operations Bundle")
    owned = one(sf, "SELECT Id, Label, Type FROM PermissionSet "
                    f"WHERE PermissionSetGroupId = '{ops}'")
    assert (owned["Label"], owned["Type"]) == ("Operations Bundle", "Group")
    other = group(sf, "Other_Bundle")
    assert error_body(sf.PermissionSetGroupComponent.create, component(other, owned["Id"])) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "You can't add to a group this permission set because it's owned by a "
                   "permission set group."}]
    profiles_own = one(sf, "SELECT Id FROM PermissionSet WHERE ProfileId = "
                           f"'{profile_id(sf, INTEGRATION_PROFILE)}'")["Id"]
    assert error_body(sf.PermissionSetGroupComponent.create, component(other, profiles_own)) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "You can't add to a group this permission set because it's owned by a "
                   "profile."}]
    assert sf.query("SELECT Id FROM PermissionSetGroupComponent "
                    f"WHERE PermissionSetGroupId = '{other}'")["totalSize"] == 0


def test_a_set_is_in_a_group_once(sf: Salesforce) -> None:
    member = make_set(sf, "Member")
    bundle = group(sf, "Bundle", member)
    assert error_body(sf.PermissionSetGroupComponent.create, component(bundle, member)) == [{
        "errorCode": "DUPLICATE_VALUE", "fields": [],
        "message": "duplicate value found: the permission set is already in the group"}]


def test_a_group_with_users_takes_only_sets_their_licence_allows(sf: Salesforce) -> None:
    """An integration user (no API PSL) holds the group: a set granting a standard object
    is refused for that user; a muting set muting the same object grants nothing and
    joins; the group, still assigned, can't be deleted."""
    first = make_user(sf, "first@acme.example")
    second = make_user(sf, "second@acme.example")
    bundle = group(sf, "Int_Bundle")
    for user in (first, second):
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetGroupId": bundle})
    reader = make_set(sf, "Account_Reader")
    grant(sf, reader, "Account", Read=True)
    assert error_body(sf.PermissionSetGroupComponent.create, component(bundle, reader)) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "Can't assign permission set Account Reader to user first@acme.example. "
                   "The user license doesn't allow the permission: Read Accounts"}]
    muted = muting(sf, "Account_Muted")
    grant(sf, muted, "Account", Read=True)
    assert sf.PermissionSetGroupComponent.create(component(bundle, muted))["success"]
    assert error_body(sf.PermissionSetGroup.delete, bundle) == [{
        "errorCode": "DELETE_FAILED", "fields": [],
        "message": "Can't delete permission set group Int_Bundle: it is assigned to 2 users. "
                   "Remove the assignments first."}]


def test_a_muting_set_is_one_per_group_held_by_it_and_goes_with_its_rows(
        sf: Salesforce) -> None:
    held = muting(sf, "Held_Muted")
    bundle = group(sf, "Bundle", held)
    assert error_body(sf.PermissionSetGroupComponent.create,
                      component(bundle, muting(sf, "Second_Muted"))) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["PermissionSetId"],
        "message": "A permission set group can have only one muting permission set."}]
    assert error_body(sf.MutingPermissionSet.delete, held) == [{
        "errorCode": "DELETE_FAILED", "fields": [],
        "message": "Can't delete muting permission set Held_Muted: it is included in a "
                   "permission set group. Remove it from the group first."}]
    loose = muting(sf, "Loose_Muted")
    grant(sf, loose, "Account", Edit=True)
    sf.FieldPermissions.create({"ParentId": loose, "SobjectType": "Account",
                                "Field": "Account.Industry", "PermissionsEdit": True})
    sf.MutingPermissionSet.delete(loose)
    for rows in ("ObjectPermissions", "FieldPermissions"):
        assert sf.query(f"SELECT Id FROM {rows} WHERE ParentId = '{loose}'")[
            "totalSize"] == 0, rows


def test_recalculation_settings_and_a_failed_group_refusing_assignments(
        emu: Emulator, sf: Salesforce) -> None:
    """Seconds may go back to 0 (recalculation at once); a malformed setting is refused
    with what is wrong; a group named as failing ends Failed and takes no assignment."""
    assert admin(emu, "POST", "groups", {"seconds": 30}).status_code == 200
    back = admin(emu, "POST", "groups", {"seconds": 0})
    assert (back.status_code, back.json()) == (200, {"seconds": 0.0, "failing": []})
    for malformed, message in (
            ({"seconds": -1}, "group recalculation 'seconds' must be a number of at least 0"),
            ({"failing": "Doomed"},
             "group recalculation 'failing' must be a list of group names")):
        refused = admin(emu, "POST", "groups", malformed)
        assert (refused.status_code, refused.json()) == (400, [{
            "message": message, "errorCode": "INVALID_SETTING", "fields": []}])
    admin(emu, "POST", "groups", {"failing": ["Doomed"]})
    doomed = group(sf, "Doomed", make_set(sf, "Member"))
    assert one(sf, f"SELECT Status FROM PermissionSetGroup WHERE Id = '{doomed}'")[
        "Status"] == "Failed"
    user = make_user(sf, "int@acme.example")
    assert error_body(sf.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetGroupId": doomed}) == [{
        "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["PermissionSetGroupId"],
        "message": 'You can only assign users to permission set groups that have the '
                   '"Updated" status.'}]


def test_a_set_joining_and_leaving_a_group_is_audited(sf: Salesforce) -> None:
    member = make_set(sf, "Comes_And_Goes")
    bundle = group(sf, "Audited_Bundle", label="Audited Bundle")
    row = sf.PermissionSetGroupComponent.create(component(bundle, member))["id"]
    sf.PermissionSetGroupComponent.delete(row)
    rows = sf.query_all("SELECT Action, Section, Display FROM SetupAuditTrail WHERE "
                        "Section = 'Permission Set Groups' ORDER BY CreatedDate")["records"]
    assert [(r["Action"], r["Section"], r["Display"]) for r in rows
            if "Comes And Goes" in r["Display"]] == [
        ("PermSetGroupAddPermSet", "Permission Set Groups",
         "Permission set group Audited Bundle: added permission set Comes And Goes"),
        ("PermSetGroupRemovePermSet", "Permission Set Groups",
         "Permission set group Audited Bundle: removed permission set Comes And Goes"),
    ]


def test_a_group_renamed_is_audited_and_keeps_its_name_unique(emu: Emulator,
                                                               sf: Salesforce) -> None:
    group(sf, "Taken_Bundle")
    bundle = group(sf, "Renamed_Bundle", label="Renamed Bundle")
    assert error_body(sf.PermissionSetGroup.update, bundle,
                      {"DeveloperName": "taken_bundle"}) == [{
        "errorCode": "DUPLICATE_DEVELOPER_NAME", "fields": ["DeveloperName"],
        "message": "The DeveloperName \"taken_bundle\" is already in use. Enter a unique "
                   "name."}]
    sf.PermissionSetGroup.update(bundle, {"Description": "Now described"})
    rows = sf.query_all("SELECT Action, Section, Display, CreatedBy.Username FROM "
                        "SetupAuditTrail WHERE Action = 'PermSetGroupChanged'")["records"]
    assert [(r["Section"], r["Display"], r["CreatedBy"]["Username"]) for r in rows] == [
        ("Permission Set Groups", "Permission set group Renamed Bundle: changed Description "
                                  "from \"None\" to \"Now described\"",
         emu.credentials()["username"])]


def test_a_deleted_group_takes_its_components_and_own_set(sf: Salesforce) -> None:
    member = make_set(sf, "Stays")
    bundle = group(sf, "Going_Bundle", member, label="Going Bundle")
    sf.PermissionSetGroup.delete(bundle)
    assert sf.query("SELECT Id FROM PermissionSetGroupComponent WHERE "
                    f"PermissionSetGroupId = '{bundle}'")["totalSize"] == 0
    assert sf.query("SELECT Id FROM PermissionSet WHERE "
                    f"PermissionSetGroupId = '{bundle}'")["totalSize"] == 0
    assert one(sf, f"SELECT Name FROM PermissionSet WHERE Id = '{member}'")["Name"] == "Stays"
    assert one(sf, "SELECT Display FROM SetupAuditTrail WHERE Action = "
                   "'PermSetGroupDelete'")["Display"] == "Deleted permission set group Going Bundle"
