"""sObject Collections and composite: per-record results, allOrNone, references."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulator.helpers import make_set, make_user, one, sf_error


def test_collections_create_reports_each_record(sf):
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": "One"},
        {"attributes": {"type": "Account"}, "Nope": "x"},
        {"attributes": {"type": "Account"}, "Name": "Three"},
    ]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2


def test_collections_all_or_none_rolls_back(sf):
    body = {"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "One"},
        {"attributes": {"type": "Account"}},
    ]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_collections_update_and_delete(sf):
    ids = [sf.Account.create({"Name": f"A{i}"})["id"] for i in range(3)]
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "Id": ids[0], "Industry": "Energy"},
        {"attributes": {"type": "Account"}, "Id": ids[1], "Name": ""},
    ]})
    assert results[0] == {"id": ids[0], "success": True, "errors": []}
    assert results[1]["success"] is False and results[1]["id"] == ids[1]
    assert sf.Account.get(ids[0])["Industry"] == "Energy"
    results = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": ",".join(ids), "allOrNone": "false"})
    assert all(r["success"] for r in results)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert sf.query_all("SELECT Id FROM Account WHERE IsDeleted = true",
                        include_deleted=True)["totalSize"] == 3


def test_collections_limit_is_200(sf):
    records = [{"attributes": {"type": "Account"}, "Name": str(i)} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert sf_error(err.value)[0] == "EXCEEDED_ID_LIMIT"
    ok = sf.restful("composite/sobjects", method="POST", json={"records": records[:200]})
    assert len(ok) == 200 and all(r["success"] for r in ok)


def test_setup_and_data_objects_do_not_mix(sf):
    results = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Account"}, "Name": "One"},
        {"attributes": {"type": "PermissionSet"}, "Name": "Mixed", "Label": "Mixed"},
    ]})
    assert {r["errors"][0]["statusCode"] for r in results} == {"MIXED_DML_OPERATION"}


def test_collections_assignments_partial_failure(sf):
    user = make_user(sf, "int@acme.example")
    fine = make_set(sf, "Fine")
    std = make_set(sf, "Std")
    sf.ObjectPermissions.create({"ParentId": std, "SobjectType": "Account",
                                 "PermissionsRead": True})
    results = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "PermissionSetAssignment"}, "AssigneeId": user,
         "PermissionSetId": fine},
        {"attributes": {"type": "PermissionSetAssignment"}, "AssigneeId": user,
         "PermissionSetId": std},
    ]})
    assert results[0]["success"] and not results[1]["success"]
    assert results[1]["errors"][0]["message"].endswith(
        "The user license doesn't allow the permission: Read Accounts")


def test_composite_references_and_one_call(emu, sf):
    before = emu.stats()["api_calls"]
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/PermissionSet",
         "referenceId": "ps", "body": {"Name": "Via_Composite", "Label": "Via composite"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/ObjectPermissions",
         "referenceId": "op", "body": {"ParentId": "@{ps.id}", "SobjectType": "Account",
                                       "PermissionsRead": True}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/PermissionSet/@{ps.id}",
         "referenceId": "get"},
        {"method": "GET", "referenceId": "q",
         "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+PermissionSet+WHERE+"
                "Name+%3D+%27Via_Composite%27"},
        {"method": "PATCH", "url": "/services/data/v62.0/sobjects/PermissionSet/"
                                   "@{q.records[0].Id}",
         "referenceId": "upd", "body": {"Label": "Renamed"}},
    ]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [201, 201, 200, 200, 204]
    assert out[2]["body"]["Name"] == "Via_Composite"
    assert emu.stats()["api_calls"] == before + 1
    assert one(sf, "SELECT Label FROM PermissionSet WHERE Name = 'Via_Composite'")[
        "Label"] == "Renamed"


def test_composite_all_or_none_halts_and_rolls_back(sf):
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/PermissionSet",
         "referenceId": "ps", "body": {"Name": "Rolled", "Label": "Rolled"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/PermissionSet",
         "referenceId": "bad", "body": {"Name": "1bad", "Label": "Bad"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/PermissionSet",
         "referenceId": "after", "body": {"Name": "After", "Label": "After"}},
    ]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    codes = [r["body"][0]["errorCode"] for r in out]
    assert codes == ["PROCESSING_HALTED", "FIELD_INTEGRITY_EXCEPTION", "PROCESSING_HALTED"]
    assert sf.query("SELECT COUNT() FROM PermissionSet WHERE Name IN ('Rolled', 'After')")[
        "totalSize"] == 0


def test_composite_without_all_or_none_keeps_the_good_ones(sf):
    body = {"compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account",
         "referenceId": "bad", "body": {}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact",
         "referenceId": "c", "body": {"LastName": "Kept", "AccountId": "@{bad.id}"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account",
         "referenceId": "ok", "body": {"Name": "Kept"}},
    ]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [400, 400, 201]
    assert out[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1


def test_composite_limit_is_25(sf):
    subs = [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": f"r{i}"}
            for i in range(26)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": subs})
