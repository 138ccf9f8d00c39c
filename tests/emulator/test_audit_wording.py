"""Setup Audit Trail rows worded as real orgs write them
(shared/real-salesforce/setupaudittrail.txt), read back through simple-salesforce."""

from __future__ import annotations

from tests.emulator.helpers import api_psl_id, make_set, make_user


def _rows(sf, action):
    soql = ("SELECT Action, Section, Display FROM SetupAuditTrail WHERE Action = "
            f"'{action}' ORDER BY CreatedDate")
    return [(r["Action"], r["Display"]) for r in sf.query(soql)["records"]]


def test_assignment_creation_and_user_rows_use_real_wording(sf):
    user_id = make_user(sf, "mary@acme.example", FirstName="Mary", LastName="Major")
    assert _rows(sf, "createduser") == [("createduser", "Created new user Mary Major")]
    free = make_set(sf, "INT_Free")
    make_set(sf, "INT_Std", api_psl_id(sf))
    assert _rows(sf, "PermSetCreateNoLicense") == [
        ("PermSetCreateNoLicense", "Created permission set INT Free: with no license")]
    # With a licence Setup's wording is not in the recorded data: ours, marked assumed.
    assert _rows(sf, "PermSetCreate") == [
        ("PermSetCreate", "Created permission set INT Std: with license Salesforce API "
                          "Integration")]
    sf.PermissionSetAssignment.create({"AssigneeId": user_id, "PermissionSetId": free})
    assert _rows(sf, "PermSetAssign") == [
        ("PermSetAssign", "Permission set INT Free: assigned to user Mary Major")]
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]
    integration = make_user(sf, "int@acme.example", LastName="Feed")
    sf.User.update(integration, {"ProfileId": profile["Id"]})
    assert _rows(sf, "changedprofileforuser") == [
        ("changedprofileforuser", "Changed profile for user Feed from Minimum Access - API "
                                  "Only Integrations to Standard User")]
