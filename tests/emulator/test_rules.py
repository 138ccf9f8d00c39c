"""Salesforce's rules: each says no with Salesforce's error code and a clear message."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulator.helpers import (
    api_psl_id,
    grant,
    make_set,
    make_user,
    one,
    profile_id,
    sf_error,
    user_license_id,
)


def refused(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(SalesforceMalformedRequest) as err:
        call(*args, **kwargs)
    return sf_error(err.value)


def test_required_fields(sf):
    code, message = refused(sf.User.create, {"Username": "x@acme.example"})
    assert code == "REQUIRED_FIELD_MISSING"
    assert message == ("Required fields are missing: [LastName, Alias, Email, ProfileId, "
                       "TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, LanguageLocaleKey]")


def test_create_only_field_cannot_be_updated(sf):
    ps = make_set(sf, "Lic_Set", user_license_id(sf, "Salesforce"))
    code, message = refused(sf.PermissionSet.update, ps,
                            {"LicenseId": user_license_id(sf, "Salesforce Platform")})
    assert code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert message.startswith("Unable to update fields: LicenseId.")


def test_read_only_field_cannot_be_written(sf):
    code, _ = refused(sf.User.create, {"UserType": "Standard"})
    assert code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_restricted_picklist(sf):
    code, message = refused(make_user, sf, "tz@acme.example", TimeZoneSidKey="Mars/Olympus")
    assert code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert message == "TimeZoneSidKey: bad value for restricted picklist field: Mars/Olympus"


def test_duplicate_username_case_insensitive(sf):
    make_user(sf, "dup@acme.example")
    code, message = refused(make_user, sf, "DUP@acme.example")
    assert code == "DUPLICATE_USERNAME"
    assert message.startswith("Duplicate Username.")


def test_duplicate_permission_set_name(sf):
    make_set(sf, "Same_Name")
    code, _ = refused(make_set, sf, "same_name")
    assert code == "DUPLICATE_DEVELOPER_NAME"


@pytest.mark.parametrize("name", ["1abc", "a__b", "trailing_", "has space", "x" * 81])
def test_permission_set_api_name_rule(sf, name):
    code, _ = refused(make_set, sf, name)
    assert code in ("FIELD_INTEGRITY_EXCEPTION", "STRING_TOO_LONG")


def test_duplicate_assignment(sf):
    user = make_user(sf, "a@acme.example", "Standard User")
    ps = make_set(sf, "Assigned")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    code, message = refused(sf.PermissionSetAssignment.create,
                            {"AssigneeId": user, "PermissionSetId": ps})
    assert code == "DUPLICATE_VALUE"
    assert message.startswith("Duplicate PermissionSetAssignment")


def test_duplicate_psl_assignment(sf):
    user = make_user(sf, "int@acme.example")
    sf.PermissionSetLicenseAssign.create({"AssigneeId": user,
                                          "PermissionSetLicenseId": api_psl_id(sf)})
    code, _ = refused(sf.PermissionSetLicenseAssign.create,
                      {"AssigneeId": user, "PermissionSetLicenseId": api_psl_id(sf)})
    assert code == "DUPLICATE_VALUE"


def test_object_permission_implications_and_vanishing_rows(sf):
    ps = make_set(sf, "Implied")
    code, message = refused(grant, sf, ps, "Account", Edit=True)
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert message == "Permission Edit Accounts depends on permission(s): Read Accounts"
    code, message = refused(grant, sf, ps, "Account", Read=True, Edit=True, Delete=False,
                            ModifyAllRecords=True)
    assert message == ("Permission Modify All Accounts depends on permission(s): Delete "
                       "Accounts, Read All Accounts")
    row = grant(sf, ps, "Account", Read=True, Edit=True)
    sf.ObjectPermissions.update(row, {"PermissionsRead": False, "PermissionsEdit": False})
    assert sf.query(f"SELECT COUNT() FROM ObjectPermissions WHERE ParentId = '{ps}'")[
        "totalSize"] == 0
    # an all-false row answers success and keeps nothing
    sf.ObjectPermissions.create({"ParentId": ps, "SobjectType": "Contact",
                                 "PermissionsRead": False})
    assert sf.query(f"SELECT COUNT() FROM ObjectPermissions WHERE ParentId = '{ps}'")[
        "totalSize"] == 0


def test_field_permission_implication_and_unknown_field(sf):
    ps = make_set(sf, "Fls")
    code, message = refused(sf.FieldPermissions.create, {
        "ParentId": ps, "SobjectType": "Account", "Field": "Account.Industry",
        "PermissionsEdit": True, "PermissionsRead": False})
    assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                               "Permission Edit on Account.Industry depends on permission(s): "
                               "Read")
    code, message = refused(sf.FieldPermissions.create, {
        "ParentId": ps, "SobjectType": "Account", "Field": "Account.Nope",
        "PermissionsRead": True})
    assert code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    # required fields are not permissionable
    code, _ = refused(sf.FieldPermissions.create, {
        "ParentId": ps, "SobjectType": "Account", "Field": "Account.Name",
        "PermissionsRead": True})
    assert code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_user_license_seats(sf):
    # The integration license has 5 seats.
    for i in range(5):
        make_user(sf, f"seat{i}@acme.example")
    lic = one(sf, "SELECT TotalLicenses, UsedLicenses FROM UserLicense "
                  "WHERE Name = 'Salesforce Integration'")
    assert (lic["TotalLicenses"], lic["UsedLicenses"]) == (5, 5)
    code, message = refused(make_user, sf, "seat5@acme.example")
    assert code == "LICENSE_LIMIT_EXCEEDED"
    assert "Salesforce Integration" in message
    # deactivating one frees its seat
    first = one(sf, "SELECT Id FROM User WHERE Username = 'seat0@acme.example'")["Id"]
    sf.User.update(first, {"IsActive": False})
    make_user(sf, "seat5@acme.example")
    code, _ = refused(sf.User.update, first, {"IsActive": True})
    assert code == "LICENSE_LIMIT_EXCEEDED"


def test_psl_seats(tmp_path):
    from reconciler.emulator import start_emulator
    from tests.emulator.helpers import client

    seed = {"permission_set_licenses": [{"developer_name": "SalesforceAPIIntegrationPsl",
                                         "label": "Salesforce API Integration", "seats": 1}]}
    with start_emulator(tmp_path / "org", seed) as emu:
        sf = client(emu)
        a, b = make_user(sf, "a@acme.example"), make_user(sf, "b@acme.example")
        sf.PermissionSetLicenseAssign.create({"AssigneeId": a,
                                              "PermissionSetLicenseId": api_psl_id(sf)})
        code, _ = refused(sf.PermissionSetLicenseAssign.create,
                          {"AssigneeId": b, "PermissionSetLicenseId": api_psl_id(sf)})
        assert code == "LICENSE_LIMIT_EXCEEDED"
        assert one(sf, "SELECT UsedLicenses FROM PermissionSetLicense")["UsedLicenses"] == 1


def test_set_licensed_to_a_user_license_only_for_its_users(sf):
    ps = make_set(sf, "Sf_Only", user_license_id(sf, "Salesforce"))
    integ = make_user(sf, "int@acme.example")
    code, message = refused(sf.PermissionSetAssignment.create,
                            {"AssigneeId": integ, "PermissionSetId": ps})
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert message.startswith("Can't assign permission set Sf Only to user int@acme.example.")
    std = make_user(sf, "std@acme.example", "Standard User")
    sf.PermissionSetAssignment.create({"AssigneeId": std, "PermissionSetId": ps})


def test_integration_user_gets_standard_objects_only_through_the_psl(sf):
    user = make_user(sf, "int@acme.example")
    plain = make_set(sf, "Plain_Std")
    grant(sf, plain, "Account", Read=True)
    code, message = refused(sf.PermissionSetAssignment.create,
                            {"AssigneeId": user, "PermissionSetId": plain})
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert message == ("Can't assign permission set Plain Std to user int@acme.example. "
                       "The user license doesn't allow the permission: Read Accounts")
    # custom objects are fine in a set without a license [community]
    custom = make_set(sf, "Custom_Only")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": custom})
    # ... and widening that assigned set to a standard object is refused
    code, _ = refused(grant, sf, custom, "Contact", Read=True)
    assert code == "FIELD_INTEGRITY_EXCEPTION"


def test_api_psl_only_for_integration_users(sf):
    std = make_user(sf, "std@acme.example", "Standard User")
    code, message = refused(sf.PermissionSetLicenseAssign.create,
                            {"AssigneeId": std, "PermissionSetLicenseId": api_psl_id(sf)})
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert "can only be assigned to users with the Salesforce Integration" in message


def test_profile_change_refused_while_old_license_sets_remain(sf):
    user = make_user(sf, "legacy@acme.example", "Standard User")
    ps = make_set(sf, "Sf_Licensed", user_license_id(sf, "Salesforce"))
    psa = sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})["id"]
    integration = profile_id(sf, "Minimum Access - API Only Integrations")
    code, message = refused(sf.User.update, user, {"ProfileId": integration})
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert "Remove those assignments first" in message and "Sf_Licensed" in message
    sf.PermissionSetAssignment.delete(psa)
    sf.User.update(user, {"ProfileId": integration})
    row = one(sf, f"SELECT Profile.UserLicense.Name FROM User WHERE Id = '{user}'")
    assert row["Profile"]["UserLicense"]["Name"] == "Salesforce Integration"


def test_psl_assignment_cannot_go_while_sets_need_it(sf):
    user = make_user(sf, "int@acme.example")
    psla = sf.PermissionSetLicenseAssign.create(
        {"AssigneeId": user, "PermissionSetLicenseId": api_psl_id(sf)})["id"]
    ps = make_set(sf, "Needs_Psl", api_psl_id(sf))
    psa = sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})["id"]
    code, message = refused(sf.PermissionSetLicenseAssign.delete, psla)
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert "Needs_Psl" in message
    sf.PermissionSetAssignment.delete(psa)
    sf.PermissionSetLicenseAssign.delete(psla)


def test_integration_profile_takes_no_object_permissions(sf):
    owned = one(sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                    "Profile.Name = 'Minimum Access - API Only Integrations'")["Id"]
    code, message = refused(grant, sf, owned, "Account", Read=True)
    assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                               "The user license doesn't allow the permission: Read Accounts")


def test_assigned_permission_set_cannot_be_deleted(sf):
    user = make_user(sf, "std@acme.example", "Standard User")
    ps = make_set(sf, "In_Use")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    code, message = refused(sf.PermissionSet.delete, ps)
    assert code == "DELETE_FAILED"
    assert message == ("Can't delete permission set In_Use: it is assigned to 1 user. "
                       "Remove the assignments first.")


def test_deleting_a_set_takes_its_permissions_with_it(sf):
    ps = make_set(sf, "Short_Lived")
    grant(sf, ps, "Account", Read=True)
    sf.PermissionSet.delete(ps)
    assert sf.query(f"SELECT COUNT() FROM ObjectPermissions WHERE ParentId = '{ps}'")[
        "totalSize"] == 0


def test_profile_owned_sets_and_their_assignments(sf):
    user = make_user(sf, "std@acme.example", "Standard User")
    psa = one(sf, "SELECT Id, PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name "
                  f"FROM PermissionSetAssignment WHERE AssigneeId = '{user}'")
    assert psa["PermissionSet"]["IsOwnedByProfile"] is True
    assert psa["PermissionSet"]["Profile"]["Name"] == "Standard User"
    code, _ = refused(sf.PermissionSetAssignment.delete, psa["Id"])
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    owned = one(sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                    "Profile.Name = 'Standard User'")["Id"]
    code, _ = refused(sf.PermissionSet.delete, owned)
    assert code == "FIELD_INTEGRITY_EXCEPTION"


def test_groups_own_an_aggregate_set_and_assign_through_it(sf):
    group = sf.PermissionSetGroup.create({"DeveloperName": "Int_All",
                                          "MasterLabel": "Integration all"})["id"]
    ps = make_set(sf, "Member")
    sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                           "PermissionSetId": ps})
    aggregate = one(sf, f"SELECT Id, Type FROM PermissionSet WHERE PermissionSetGroupId = "
                        f"'{group}'")
    assert aggregate["Type"] == "Group"
    user = make_user(sf, "std@acme.example", "Standard User")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetGroupId": group})
    row = one(sf, f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE "
                  f"PermissionSetGroupId = '{group}'")
    assert row["PermissionSetId"] == aggregate["Id"]
    code, _ = refused(sf.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetId": aggregate["Id"]})
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    code, _ = refused(sf.PermissionSetGroup.delete, group)
    assert code == "DELETE_FAILED"
    code, _ = refused(sf.PermissionSet.delete, ps)
    assert code == "DELETE_FAILED"


def test_every_change_is_in_the_audit_trail(emu, sf):
    user = make_user(sf, "int@acme.example")
    ps = make_set(sf, "Audited")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    rows = sf.query("SELECT Action, Section, Display, CreatedBy.Username, CreatedDate "
                    "FROM SetupAuditTrail ORDER BY CreatedDate")["records"]
    actions = [r["Action"] for r in rows]
    assert actions[-3:] == ["createduser", "PermSetCreateNoLicense", "PermSetAssign"]
    last = rows[-1]
    # Real orgs' wording: the user by name (make_user's LastName "int"), no Id.
    assert last["Display"] == "Permission set Audited: assigned to user int"
    assert last["CreatedBy"]["Username"] == emu.credentials()["username"]
    assert last["Section"] == "Manage Users"


def test_a_user_without_admin_rights_cannot_grant_access(tmp_path):
    from reconciler.emulator import start_emulator
    from tests.emulator.helpers import client, token

    seed = {"users": [{"username": "plain@acme.example", "last_name": "Plain",
                       "profile": "Minimum Access - Salesforce", "password": "plain-pass-1"}]}
    with start_emulator(tmp_path / "org", seed) as emu:
        creds = emu.credentials()
        sf = client(emu, token(emu, grant_type="password", client_id=creds["client_id"],
                               client_secret=creds["client_secret"],
                               username="plain@acme.example", password="plain-pass-1"))
        code, _ = refused(make_set, sf, "Sneaky")
        assert code == "INSUFFICIENT_ACCESS_OR_READONLY"
        code, message = refused(sf.query, "SELECT Id FROM Account")
        assert code == "INVALID_TYPE"
        assert message.startswith("sObject type 'Account' is not supported.")
