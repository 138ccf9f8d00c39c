"""Composite calls carrying sObject Collections subrequests: limits, per-record and
per-subrequest results, and how the two ``allOrNone`` flags combine."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulator.helpers import API_VERSION, sf_error

COLLECTIONS = f"/services/data/v{API_VERSION}/composite/sobjects"


def accounts(names: list[str], *, all_or_none: bool = False, ref: str = "accounts",
             method: str = "POST") -> dict[str, Any]:
    """A collections subrequest creating one Account per name ("" makes a bad one)."""
    records = [{"attributes": {"type": "Account"}, **({"Name": n} if n else {})}
               for n in names]
    return {"method": method, "url": COLLECTIONS, "referenceId": ref,
            "body": {"allOrNone": all_or_none, "records": records}}


def composite(sf: Any, subs: list[dict[str, Any]], *,
              all_or_none: bool = False) -> list[dict[str, Any]]:
    body = {"allOrNone": all_or_none, "compositeRequest": subs}
    return list(sf.restful("composite", method="POST", json=body)["compositeResponse"])


def count(sf: Any, where: str = "") -> int:
    return int(sf.query(f"SELECT COUNT() FROM Account {where}")["totalSize"])


def test_five_collections_of_200_write_1000_records_in_one_call(emu, sf):
    before = emu.stats()["api_calls"]
    subs = [accounts([f"A{n}-{i}" for i in range(200)], ref=f"r{n}") for n in range(5)]
    out = composite(sf, subs)
    assert emu.stats()["api_calls"] == before + 1
    assert [r["httpStatusCode"] for r in out] == [200] * 5
    assert [r["referenceId"] for r in out] == [f"r{n}" for n in range(5)]
    assert all(len(r["body"]) == 200 and all(x["success"] for x in r["body"]) for r in out)
    assert count(sf) == 1000
    # each per-record result names the record it made, in the order sent
    first = out[3]["body"][7]["id"]
    assert sf.Account.get(first)["Name"] == "A3-7"


def test_a_sixth_collections_or_query_subrequest_is_refused_whole(emu, sf):
    subs = [accounts([f"A{n}"], ref=f"r{n}") for n in range(5)]
    query = {"method": "GET", "referenceId": "q",
             "url": f"/services/data/v{API_VERSION}/query?q=SELECT+Id+FROM+Account"}
    with pytest.raises(SalesforceMalformedRequest) as err:
        composite(sf, [*subs, query])
    assert sf_error(err.value)[0] == "LIMIT_EXCEEDED"
    assert count(sf) == 0
    # five of them, and other subrequests up to 25 in all, are fine
    single = [{"method": "POST", "url": f"/services/data/v{API_VERSION}/sobjects/Account",
               "referenceId": f"s{n}", "body": {"Name": f"S{n}"}} for n in range(20)]
    out = composite(sf, [*subs[:4], query, *single])
    assert len(out) == 25 and all(r["httpStatusCode"] < 300 for r in out)
    assert count(sf) == 24


def test_records_fail_one_by_one_and_other_subrequests_carry_on(sf):
    out = composite(sf, [accounts(["One", "", "Three"], ref="a"), accounts(["Four"], ref="b")])
    assert [r["httpStatusCode"] for r in out] == [200, 200]
    assert [x["success"] for x in out[0]["body"]] == [True, False, True]
    assert out[0]["body"][1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert count(sf) == 3


def test_a_subrequest_refused_as_a_whole_leaves_the_others(sf):
    too_many = accounts([f"X{i}" for i in range(201)], ref="big")
    out = composite(sf, [too_many, accounts(["Kept"], ref="small")])
    assert out[0]["httpStatusCode"] == 400
    assert out[0]["body"][0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert out[1]["httpStatusCode"] == 200
    assert count(sf) == 1


def test_the_composite_all_or_none_overrides_the_collections_flag(sf):
    subs = [accounts(["Good"], ref="a"), accounts(["Fine", ""], ref="b"),
            accounts(["Later"], ref="c")]
    out = composite(sf, subs, all_or_none=True)
    assert count(sf) == 0
    # the failing subrequest shows each record's fate; the others were halted
    codes = [x["errors"][0]["statusCode"] for x in out[1]["body"]]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING"]
    assert [r["body"][0]["errorCode"] for r in (out[0], out[2])] == ["PROCESSING_HALTED"] * 2


def test_without_it_each_collections_flag_rules_its_own_records(sf):
    subs = [accounts(["Rolled", ""], all_or_none=True, ref="a"),
            accounts(["Kept", ""], ref="b")]
    out = composite(sf, subs)
    assert out[0]["body"][0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert out[1]["body"][0]["success"] is True
    assert [r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]] == ["Kept"]


def test_update_and_delete_subrequests(sf):
    ids = [sf.Account.create({"Name": f"A{i}"})["id"] for i in range(3)]
    update = {"method": "PATCH", "url": COLLECTIONS, "referenceId": "u", "body": {
        "allOrNone": False, "records": [{"attributes": {"type": "Account"}, "Id": ids[0],
                                         "Industry": "Energy"}]}}
    delete = {"method": "DELETE", "referenceId": "d",
              "url": f"{COLLECTIONS}?ids={ids[1]},{ids[2]}&allOrNone=false"}
    out = composite(sf, [update, delete])
    assert out[0]["body"] == [{"id": ids[0], "success": True, "errors": []}]
    assert [x["success"] for x in out[1]["body"]] == [True, True]
    assert sf.Account.get(ids[0])["Industry"] == "Energy"
    assert count(sf) == 1


def test_a_row_lock_answers_per_record_inside_the_composite(emu, sf):
    emu.faults.add(kind="lock", method="POST", path="composite$")
    out = composite(sf, [accounts(["One", "Two"], ref="a"), accounts(["Three"], ref="b")])
    assert [r["httpStatusCode"] for r in out] == [200, 200]
    codes = {x["errors"][0]["statusCode"] for r in out for x in r["body"]}
    assert codes == {"UNABLE_TO_LOCK_ROW"}
    assert count(sf) == 0
    # the lock cleared: the same call goes through
    composite(sf, [accounts(["One", "Two"], ref="a"), accounts(["Three"], ref="b")])
    assert count(sf) == 3
