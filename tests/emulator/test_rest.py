"""The REST surface through unmodified simple-salesforce and raw requests."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from reconciler.emulator.ids import is_id, to18
from tests.emulator.helpers import http_session


def _get(emu, sf, path):
    return http_session(emu).get(f"{emu.url}{path}",
                                 headers={"Authorization": f"Bearer {sf.session_id}"})


def test_account_crud_round_trip(sf):
    created = sf.Account.create({"Name": "Acme", "Industry": "Banking"})
    assert created["success"] is True and created["errors"] == []
    rid = created["id"]
    assert len(rid) == 18 and rid.startswith("001") and is_id(rid)
    got = sf.Account.get(rid)
    assert got["Name"] == "Acme" and got["Industry"] == "Banking"
    assert got["attributes"] == {"type": "Account",
                                 "url": f"/services/data/v62.0/sobjects/Account/{rid}"}
    assert sf.Account.update(rid, {"Industry": "Energy"}) == 204
    assert sf.Account.get(rid)["Industry"] == "Energy"
    # a 15-character Id is accepted and answered with the 18-character one
    assert sf.Account.get(rid[:15])["Id"] == rid
    assert sf.Account.delete(rid) == 204
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Account.get(rid)
    assert err.value.content[0]["errorCode"] == "NOT_FOUND"


def test_get_with_a_field_list(sf):
    rid = sf.Account.create({"Name": "Fields"})["id"]
    got = sf.restful(f"sobjects/Account/{rid}", params={"fields": "Name,Industry"})
    assert set(got) == {"attributes", "Name", "Industry"}


def test_describe_reports_createable_and_permissionable(sf):
    desc = sf.PermissionSet.describe()
    fields = {f["name"]: f for f in desc["fields"]}
    assert desc["keyPrefix"] == "0PS"
    assert fields["LicenseId"]["createable"] and not fields["LicenseId"]["updateable"]
    assert "PermissionsApiEnabled" in fields
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert account["Industry"]["permissionable"] is True
    assert account["Name"]["permissionable"] is False
    user = {f["name"]: f for f in sf.User.describe()["fields"]}
    assert user["TimeZoneSidKey"]["restrictedPicklist"] is True
    assert {"value": "GMT", "label": "GMT", "active": True, "defaultValue": False} in \
        user["TimeZoneSidKey"]["picklistValues"]
    children = {c["relationshipName"] for c in desc["childRelationships"]}
    assert {"Assignments", "ObjectPerms", "FieldPerms"} <= children


def test_describe_global_lists_setup_and_data_objects(sf):
    names = {s["name"] for s in sf.describe()["sobjects"]}
    expected = {"User", "Profile", "UserLicense", "PermissionSet", "PermissionSetLicense",
                "PermissionSetLicenseAssign", "PermissionSetAssignment", "PermissionSetGroup",
                "PermissionSetGroupComponent", "ObjectPermissions", "FieldPermissions",
                "SetupEntityAccess", "ConnectedApplication", "SetupAuditTrail", "Organization",
                "Account", "Contact", "Lead", "Opportunity", "Case", "Campaign", "Task",
                "Event", "Product2", "Order", "Contract", "Asset"}
    assert expected <= names


def test_limits_and_the_limit_header_count_calls(emu, sf):
    before = sf.limits()["DailyApiRequests"]
    resp = _get(emu, sf, "/services/data/v62.0/limits")
    used, _, maximum = resp.headers["Sforce-Limit-Info"].removeprefix("api-usage=").partition("/")
    assert int(maximum) == before["Max"] == 100_000
    assert int(used) == before["Max"] - before["Remaining"] + 1
    assert emu.stats()["api_calls"] == int(used)


def test_versions_are_those_a_current_org_serves(emu, sf):
    # No session needed to list them, as in a real org.
    versions = http_session(emu).get(f"{emu.url}/services/data/").json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0",
                           "version": "31.0"}
    assert versions[-1] == {"label": "Winter '27", "url": "/services/data/v68.0",
                            "version": "68.0"}
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(31, 69)]
    assert _get(emu, sf, "/services/data/v31.0/limits").status_code == 200
    assert _get(emu, sf, "/services/data/v68.0/limits").status_code == 200
    future = _get(emu, sf, "/services/data/v69.0/limits")
    assert (future.status_code, future.json()) == (404, [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    retired = _get(emu, sf, "/services/data/v30.0/limits")
    assert retired.status_code == 410
    assert retired.json()[0]["errorCode"] == "GONE"


def test_unknown_field_and_type_errors(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.create({"Name": "x", "Nope__c": 1})
    assert err.value.content == [{"message": "No such column 'Nope__c' on sobject of type "
                                  "Account", "errorCode": "INVALID_FIELD", "fields": []}]
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Nope__c", method="POST", json={"Name": "x"})


def test_malformed_id_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("not-an-id")


def test_users_cannot_be_deleted(emu, sf):
    user_id = sf.query("SELECT Id FROM User LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceGeneralError) as err:
        sf.User.delete(user_id)
    assert err.value.status == 405
    assert err.value.content[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_query_only_objects_refuse_writes(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Profile.create({"Name": "Mine"})
    assert err.value.content[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_error_bodies_are_arrays(emu, sf):
    resp = _get(emu, sf, "/services/data/v62.0/sobjects/Account/001000000000000AAA")
    assert resp.status_code == 404
    assert resp.json() == [{"message": "The requested resource does not exist",
                            "errorCode": "NOT_FOUND"}]


def test_ids_have_valid_checksums():
    assert to18("001M000000qfPyS") == "001M000000qfPySIAU"
    assert is_id("001M000000qfPySIAU") and not is_id("001M000000qfPySAAA")
