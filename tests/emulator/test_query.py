"""SOQL over HTTPS: paging, relationships, child subqueries, queryAll, errors."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulator.helpers import api_psl_id, http_session, make_set, make_user, sf_error


def _bulk_accounts(emu, n):
    org = emu.org
    admin_id = org.where("User", Username=emu.credentials()["username"])[0]["Id"]
    with org.lock, org.store.transaction():
        for i in range(n):
            org.insert_raw("Account", {"Name": f"Acct {i:05d}", "OwnerId": admin_id}, admin_id)


def test_paging_over_5000_rows(emu, sf):
    _bulk_accounts(emu, 5200)
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert first["totalSize"] == 5200 and first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    everything = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    names = [r["Name"] for r in everything["records"]]
    assert names == [f"Acct {i:05d}" for i in range(5200)]
    assert len({r["Id"] for r in everything["records"]}) == 5200


def test_batch_size_header(emu, sf):
    _bulk_accounts(emu, 700)
    resp = http_session(emu).get(
        f"{emu.url}/services/data/v62.0/query", params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": f"Bearer {sf.session_id}",
                 "Sforce-Query-Options": "batchSize=300"})
    page = resp.json()
    assert len(page["records"]) == 300 and page["nextRecordsUrl"].endswith("-300")


def test_bad_locator(emu, sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query_more("01gdeadbeef-2000")
    assert sf_error(err.value)[0] == "INVALID_QUERY_LOCATOR"


def test_relationship_fields_and_child_subqueries(sf):
    user = make_user(sf, "int@acme.example")
    sf.PermissionSetLicenseAssign.create({"AssigneeId": user,
                                          "PermissionSetLicenseId": api_psl_id(sf)})
    std = make_set(sf, "Int_Std", api_psl_id(sf))
    custom = make_set(sf, "Int_Custom")
    for ps in (std, custom):
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    empty = make_set(sf, "Nobody")
    rows = sf.query(
        "SELECT Name, License.Name, (SELECT Assignee.Username FROM Assignments) "
        "FROM PermissionSet WHERE IsOwnedByProfile = false AND Id IN "
        f"('{std}', '{custom}', '{empty}') ORDER BY Name")["records"]
    by_name = {r["Name"]: r for r in rows}
    assert by_name["Int_Std"]["License"]["Name"] == "Salesforce API Integration"
    assert by_name["Int_Std"]["License"]["attributes"]["type"] == "PermissionSetLicense"
    assert by_name["Int_Custom"]["License"] is None
    assert by_name["Nobody"]["Assignments"] is None
    assigned = by_name["Int_Std"]["Assignments"]
    assert assigned["totalSize"] == 1 and assigned["done"] is True
    assert assigned["records"][0]["Assignee"]["Username"] == "int@acme.example"
    users = sf.query("SELECT Username, Profile.UserLicense.Name FROM User WHERE Id IN "
                     "(SELECT AssigneeId FROM PermissionSetLicenseAssign)")["records"]
    assert [(u["Username"], u["Profile"]["UserLicense"]["Name"]) for u in users] == [
        ("int@acme.example", "Salesforce Integration")]


def test_query_all_sees_deleted_rows(sf):
    rid = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(rid)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    deleted = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert deleted["records"][0]["Id"] == rid and deleted["records"][0]["IsDeleted"] is True


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
    ("SELECT Nope FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'x' garbage", "MALFORMED_QUERY"),
])
def test_query_errors(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(soql)
    assert sf_error(err.value)[0] == code


def test_count_and_limits(sf):
    for i in range(5):
        sf.Account.create({"Name": f"N{i}", "NumberOfEmployees": i * 10})
    assert sf.query("SELECT COUNT() FROM Account WHERE NumberOfEmployees >= 20")[
        "totalSize"] == 3
    rows = sf.query("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC LIMIT 2 "
                    "OFFSET 1")["records"]
    assert [r["Name"] for r in rows] == ["N3", "N2"]
    assert sf.query("SELECT Name FROM Account WHERE Name LIKE 'n%' AND Name NOT IN "
                    "('N0', 'N1')")["totalSize"] == 3
