"""Error bodies word for word as real orgs answer them
(shared/real-salesforce/errors.txt), through simple-salesforce and raw requests."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from tests.emulator.helpers import API_VERSION, admin, http_session

INVALID_TYPE = (
    "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\n"
    "sObject type 'XYZZY' is not supported. If you are attempting to use a custom object, "
    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names.")


def test_invalid_session_is_401_with_salesforce_body(emu):
    resp = http_session(emu).get(f"{emu.url}/services/data/v{API_VERSION}/limits",
                                 headers={"Authorization": "Bearer 00Dnot-a-session"})
    assert (resp.status_code, resp.json()) == (401, [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])


def test_expired_session_through_simple_salesforce(emu, sf):
    emu.auth.expire_all()
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.query("SELECT Id FROM Organization")
    assert err.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_daily_limit_is_403_total_requests_limit_exceeded(emu, sf):
    sf.query("SELECT Id FROM Organization")
    used = emu.stats()["api_calls"]
    assert admin(emu, "POST", "limits", {"daily_api_max": used}).status_code == 204
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM Organization")
    assert err.value.status == 403
    assert err.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_unknown_object_in_a_query_is_invalid_type_with_the_query_pointed_at(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("select count() from XYZZY")
    assert err.value.content == [{"message": INVALID_TYPE, "errorCode": "INVALID_TYPE"}]


def test_composite_answers_as_the_recorded_cassettes(emu, sf):
    base = f"/services/data/v{API_VERSION}"
    out = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "GET", "url": f"{base}/query?q=select+count()+from+Account",
         "referenceId": "refAccount"},
        {"method": "GET", "url": f"{base}/query?q=select+count()+from+XYZZY",
         "referenceId": "refXYZZY"},
        {"method": "GET", "url": f"{base}/sobjects/Account/001000000000000AAA",
         "referenceId": "refGone"},
    ]})
    assert out == {"compositeResponse": [
        {"body": {"totalSize": 0, "done": True, "records": []}, "httpHeaders": {},
         "httpStatusCode": 200, "referenceId": "refAccount"},
        {"body": [{"message": INVALID_TYPE, "errorCode": "INVALID_TYPE"}],
         "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "refXYZZY"},
        {"body": [{"message": "The requested resource does not exist",
                   "errorCode": "NOT_FOUND"}],
         "httpHeaders": {}, "httpStatusCode": 404, "referenceId": "refGone"},
    ]}


def test_a_locked_row_is_named_in_the_message(emu, sf):
    account = sf.Account.create({"Name": "busy"})["id"]
    emu.faults.add(kind="lock", method="PATCH", path=r"sobjects/Account/")
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.update(account, {"Name": "still busy"})
    assert err.value.content == [{
        "message": f"unable to obtain exclusive access to this record or 1 records: {account}",
        "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]
    emu.faults.add(kind="lock", path=r"composite/sobjects")
    out = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "Id": account, "Name": "x"}]})
    assert out == [{"id": None, "success": False, "errors": [{
        "statusCode": "UNABLE_TO_LOCK_ROW",
        "message": f"unable to obtain exclusive access to this record or 1 records: {account}",
        "fields": []}]}]
