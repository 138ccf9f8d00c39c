"""Object and field permission rows: the refusals a client reads, and the audit rows
each change writes, through simple-salesforce over HTTPS."""

from __future__ import annotations

from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator
from tests.emulator.helpers import client, error_body, make_set, one


def test_an_unknown_object_is_a_bad_picklist_value_on_its_field(sf: Salesforce) -> None:
    ps = make_set(sf, "Unknown_Object")
    assert error_body(sf.ObjectPermissions.create, {"ParentId": ps, "SobjectType": "Nothing__c",
                                              "PermissionsRead": True}) == [{
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["SobjectType"],
        "message": "Sobject Type Name: bad value for restricted picklist field: Nothing__c"}]


def test_a_set_licensed_for_integration_users_takes_no_standard_object(sf: Salesforce) -> None:
    licence = one(sf, "SELECT Id FROM UserLicense WHERE Name = 'Salesforce Integration'")["Id"]
    ps = make_set(sf, "Integration_Licensed", LicenseId=licence)
    [error] = error_body(sf.ObjectPermissions.create, {"ParentId": ps, "SobjectType": "Account",
                                                 "PermissionsRead": True})
    assert (error["errorCode"], error["message"]) == (
        "FIELD_INTEGRITY_EXCEPTION", "The user license doesn't allow the permission: Read "
                                     "Accounts")


def test_each_permission_row_change_is_audited_with_its_action(sf: Salesforce) -> None:
    ps = make_set(sf, "Rows_Audited")
    row = sf.ObjectPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                       "PermissionsRead": True})["id"]
    sf.ObjectPermissions.update(row, {"PermissionsEdit": True})
    field = sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                        "Field": "Account.Industry",
                                        "PermissionsRead": True})["id"]
    sf.FieldPermissions.update(field, {"PermissionsEdit": True})
    sf.FieldPermissions.delete(field)
    rows = sf.query_all("SELECT Action, Display FROM SetupAuditTrail WHERE Section = "
                        "'Permission Sets' ORDER BY CreatedDate")["records"]
    assert [(r["Action"], r["Display"]) for r in rows if "Rows Audited" in r["Display"]
            and r["Action"] != "PermSetCreateNoLicense"] == [
        ("PermSetEntityPermChanged", "Changed Account object permissions for permission set "
                                     "Rows Audited: from [] to [Read]"),
        ("PermSetEntityPermChanged", "Changed Account object permissions for permission set "
                                     "Rows Audited: from [Read] to [Read, Edit]"),
        ("PermSetFlsChanged", "Changed permission set Rows Audited: field-level security for "
                              "Account.Industry was changed from No Access to Read Only"),
        ("PermSetFlsChanged", "Changed permission set Rows Audited: field-level security for "
                              "Account.Industry was changed from Read Only to Read/Edit"),
        ("PermSetFlsChanged", "Changed permission set Rows Audited: field-level security for "
                              "Account.Industry was changed from Read/Edit to No Access"),
    ]


def test_a_new_set_is_custom_and_regular_and_its_licence_must_be_one(sf: Salesforce) -> None:
    ps = make_set(sf, "Made_Here")
    row = one(sf, "SELECT IsCustom, IsOwnedByProfile, Type, PermissionSetGroupId "
                  f"FROM PermissionSet WHERE Id = '{ps}'")
    assert (row["IsCustom"], row["IsOwnedByProfile"], row["Type"],
            row["PermissionSetGroupId"]) == (True, False, "Regular", None)
    assert error_body(sf.PermissionSet.create, {"Name": "Bad_Licence", "Label": "Bad",
                                          "LicenseId": ps}) == [{
        "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["LicenseId"],
        "message": "invalid cross reference id"}]


def test_a_set_renamed_to_anothers_name_is_refused(sf: Salesforce) -> None:
    make_set(sf, "First_Name")
    second = make_set(sf, "Second_Name")
    assert error_body(sf.PermissionSet.update, second, {"Name": "first_name"}) == [{
        "errorCode": "DUPLICATE_DEVELOPER_NAME", "fields": ["Name"],
        "message": "The Name \"first_name\" is already in use. Enter a unique name."}]


def test_a_profiles_own_set_is_not_deleted(sf: Salesforce) -> None:
    owned = one(sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true LIMIT 1")
    assert error_body(sf.PermissionSet.delete, owned["Id"]) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "You can't delete this permission set because it's owned by a profile."}]


def test_a_deleted_set_takes_its_rows_with_it() -> None:
    with start_emulator(None, {"apex_classes": ["OrderService"]}) as emu:
        sf = client(emu)
        ps = make_set(sf, "Going")
        sf.ObjectPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                     "PermissionsRead": True})
        sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                    "Field": "Account.Industry", "PermissionsRead": True})
        apex = one(sf, "SELECT Id FROM ApexClass WHERE Name = 'OrderService'")
        sf.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": apex["Id"]})
        sf.PermissionSet.delete(ps)
        for child in ("ObjectPermissions", "FieldPermissions", "SetupEntityAccess"):
            assert sf.query(f"SELECT Id FROM {child} WHERE ParentId = '{ps}'")["totalSize"] == 0


def test_rows_are_kept_once_per_object_in_its_own_spelling(sf: Salesforce) -> None:
    ps = make_set(sf, "Spelt")
    first = sf.ObjectPermissions.create({"ParentId": ps, "SobjectType": "account",
                                         "PermissionsRead": True})["id"]
    assert one(sf, f"SELECT SobjectType FROM ObjectPermissions WHERE Id = '{first}'")[
        "SobjectType"] == "Account"
    [error] = error_body(sf.ObjectPermissions.create, {"ParentId": ps, "SobjectType": "Account",
                                                 "PermissionsRead": True})
    assert error["errorCode"] == "DUPLICATE_VALUE"
    # A row with nothing ticked is answered success and not kept.
    assert sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Account",
                                       "Field": "Account.Industry",
                                       "PermissionsRead": False})["success"]
    assert sf.query(f"SELECT Id FROM FieldPermissions WHERE ParentId = '{ps}'")[
        "totalSize"] == 0


def test_a_dependency_is_met_only_within_the_same_set(sf: Salesforce) -> None:
    reader = make_set(sf, "Reads_Accounts")
    sf.ObjectPermissions.create({"ParentId": reader, "SobjectType": "Account",
                                 "PermissionsRead": True})
    contracts = make_set(sf, "Reads_Contracts")
    [error] = error_body(sf.ObjectPermissions.create, {"ParentId": contracts,
                                                 "SobjectType": "Contract",
                                                 "PermissionsRead": True})
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_system_permission_and_detail_changes_are_audited(sf: Salesforce) -> None:
    ps = make_set(sf, "Switched")
    sf.PermissionSet.update(ps, {"PermissionsApiEnabled": True})
    sf.PermissionSet.update(ps, {"PermissionsApiEnabled": False, "Description": "Now described"})
    rows = sf.query_all("SELECT Action, Section, Display FROM SetupAuditTrail "
                        "ORDER BY CreatedDate")["records"]
    assert [(r["Action"], r["Section"], r["Display"]) for r in rows
            if "Switched" in r["Display"]] == [
        ("PermSetCreateNoLicense", "Permission Sets",
         "Created permission set Switched: with no license"),
        ("PermSetEnableUserPerm", "Permission Sets",
         "Permission set Switched: enabled system permission ApiEnabled"),
        ("PermSetDisableUserPerm", "Permission Sets",
         "Permission set Switched: disabled system permission ApiEnabled"),
        ("PermSetChanged", "Permission Sets",
         "Permission set Switched: changed Description from \"None\" to \"Now described\""),
    ]
