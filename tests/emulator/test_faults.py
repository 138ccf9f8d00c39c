"""Faults injected on request: each kind, through the Python API and the admin path."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from tests.emulator.helpers import admin


def test_error_fault_fires_n_times_then_stops(emu, sf):
    emu.faults.add(kind="error", method="GET", path=r"/query$", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as err:
            sf.query("SELECT Id FROM Organization")
        assert err.value.status == 503
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1


def test_lock_fault_on_a_single_call_and_on_collections(emu, sf):
    emu.faults.add(kind="lock", method="POST", path=r"sobjects/Account$")
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.create({"Name": "x"})
    assert err.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    emu.faults.add(kind="lock", path=r"composite/sobjects")
    out = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Account"}, "Name": "a"}]})
    assert out[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_drop_before_does_nothing_drop_after_does_the_work(emu, sf):
    emu.faults.add(kind="drop", path=r"sobjects/Account$", when="before")
    with pytest.raises(requests.ConnectionError):
        sf.Account.create({"Name": "dropped before"})
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    emu.faults.add(kind="drop", path=r"composite/sobjects", when="after")
    with pytest.raises(requests.ConnectionError):
        sf.restful("composite/sobjects", method="POST", json={"records": [
            {"attributes": {"type": "Account"}, "Name": "written"}]})
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "written"


def test_latency(emu, sf):
    emu.faults.add(kind="latency", path="limits", delay=0.3)
    start = time.perf_counter()
    sf.limits()
    assert time.perf_counter() - start >= 0.3


def test_expire_session_fault(emu, sf):
    emu.faults.add(kind="expire_session", path="query")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Organization")


def test_daily_limit(emu, sf):
    used = emu.stats()["api_calls"]
    emu.set_daily_limit(used + 1)
    sf.query("SELECT Id FROM Organization")
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM Organization")
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_admin_path_manages_faults_stats_and_reset(emu, sf):
    resp = admin(emu, "POST", "faults", {"kind": "error", "path": "limits", "status": 500,
                                         "error_code": "UNKNOWN_EXCEPTION", "times": None})
    assert resp.status_code == 201
    for _ in range(3):
        with pytest.raises(SalesforceGeneralError):
            sf.limits()
    assert admin(emu, "GET", "faults").json()[0]["fired"] == 3
    assert admin(emu, "DELETE", "faults").status_code == 204
    sf.limits()
    stats = admin(emu, "GET", "stats").json()
    assert stats["by_route"]["GET limits"] == 4
    bad = admin(emu, "POST", "faults", {"kind": "explode"})
    assert bad.status_code == 400
    sf.Account.create({"Name": "before reset"})
    assert admin(emu, "POST", "reset").status_code == 204
    fresh = emu  # same server, same credentials, empty org again
    from tests.emulator.helpers import client

    assert client(fresh).query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert admin(emu, "DELETE", "sessions").json()["expired"] >= 1
