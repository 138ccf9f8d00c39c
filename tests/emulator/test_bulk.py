"""Bulk API 2.0 ingest as the local org serves it, through simple-salesforce's bulk2."""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client, make_set, sf_error

SEED = {"custom_objects": [{"name": "Widget__c", "label": "Widget",
                            "fields": {f"F{i}__c": "text" for i in range(6)}}]}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "org", SEED) as emulator:
        yield emulator


def job_client(sf: Salesforce, sobject: str) -> Any:
    """simple-salesforce's one-call-per-step Bulk 2.0 client for ``sobject``."""
    return getattr(sf.bulk2, sobject)._client


def run_job(sf: Salesforce, sobject: str, operation: str, data: str,
            line_ending: str = "LF") -> dict[str, Any]:
    """Create, upload, close and wait: the job's final info."""
    jobs = job_client(sf, sobject)
    job = jobs.create_job(operation, line_ending=line_ending)
    jobs.upload_job_data(job["id"], data)
    jobs.close_job(job["id"])
    return wait_done(sf, sobject, job["id"])


def wait_done(sf: Salesforce, sobject: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        info = dict(job_client(sf, sobject).get_job(job_id, False))
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.05)


def results(sf: Salesforce, sobject: str, job_id: str, which: str) -> list[dict[str, str]]:
    text = job_client(sf, sobject).get_ingest_results(job_id, which)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def field_rows(sf: Salesforce, set_id: str) -> dict[str, tuple[bool, bool]]:
    got = sf.query_all("SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                       f"WHERE ParentId = '{set_id}'")["records"]
    return {r["Field"]: (r["PermissionsRead"], r["PermissionsEdit"]) for r in got}


def test_an_insert_job_writes_its_rows_and_answers_with_their_ids(sf: Salesforce) -> None:
    ps = make_set(sf, "Bulk_A")
    data = "ParentId,SobjectType,Field,PermissionsRead,PermissionsEdit\n" + "".join(
        f"{ps},Widget__c,Widget__c.F{i}__c,true,{'true' if i % 2 else 'false'}\n"
        for i in range(4))
    info = run_job(sf, "FieldPermissions", "insert", data)
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == \
        ("JobComplete", 4, 0)
    assert info["jobType"] == "V2Ingest" and info["object"] == "FieldPermissions"
    ok = results(sf, "FieldPermissions", info["id"], "successfulResults")
    stored = sf.query_all(f"SELECT Id, Field FROM FieldPermissions WHERE ParentId = '{ps}'")
    assert {(r["sf__Id"], r["Field"]) for r in ok} == {
        (r["Id"], r["Field"]) for r in stored["records"]}
    assert {r["sf__Created"] for r in ok} == {"true"}
    assert field_rows(sf, ps)["Widget__c.F1__c"] == (True, True)
    assert field_rows(sf, ps)["Widget__c.F2__c"] == (True, False)
    failed = job_client(sf, "FieldPermissions").get_ingest_results(info["id"], "failedResults")
    assert failed == '"sf__Id","sf__Error",ParentId,SobjectType,Field,PermissionsRead,' \
                     'PermissionsEdit\n'


def test_results_asked_for_before_the_upload_still_hold_every_row_after_it(
        sf: Salesforce) -> None:
    ps = make_set(sf, "Bulk_R")
    jobs = job_client(sf, "FieldPermissions")
    job = jobs.create_job("insert")
    header = '"sf__Id","sf__Created",ParentId,SobjectType,Field,PermissionsRead\n'
    # What an Open job's results are is not pinned here; what they are later is.
    with contextlib.suppress(SalesforceError):
        jobs.get_ingest_results(job["id"], "successfulResults")
    jobs.upload_job_data(job["id"], "ParentId,SobjectType,Field,PermissionsRead\n" + "".join(
        f"{ps},Widget__c,Widget__c.F{i}__c,true\n" for i in range(3)))
    jobs.close_job(job["id"])
    wait_done(sf, "FieldPermissions", job["id"])
    for _ in range(2):  # and the same when asked again
        text = jobs.get_ingest_results(job["id"], "successfulResults")
        assert text.startswith(header)
        assert sorted(r["Field"] for r in csv.DictReader(io.StringIO(text))) == [
            "Widget__c.F0__c", "Widget__c.F1__c", "Widget__c.F2__c"]


def test_rows_the_org_refuses_fail_alone_with_their_code(sf: Salesforce) -> None:
    ps = make_set(sf, "Bulk_B")
    data = ("ParentId,SobjectType,Field,PermissionsRead\n"
            f"{ps},Widget__c,Widget__c.F0__c,true\n"
            f"{ps},Widget__c,Widget__c.Nope__c,true\n"   # no such field: refused
            f"{ps},Widget__c,Widget__c.F1__c,true\n"
            f"{ps},Widget__c,Widget__c.F0__c,true\n")    # the same row twice: a duplicate
    info = run_job(sf, "FieldPermissions", "insert", data)
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == \
        ("JobComplete", 4, 2)
    failed = results(sf, "FieldPermissions", info["id"], "failedResults")
    codes = sorted((r["Field"], r["sf__Error"].split(":")[0]) for r in failed)
    assert codes == [("Widget__c.F0__c", "DUPLICATE_VALUE"),
                     ("Widget__c.Nope__c", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")]
    assert [r["sf__Error"] for r in failed if r["Field"].endswith("Nope__c")] == [
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Field Name: bad value for restricted picklist "
        "field: Widget__c.Nope__c:Field --"]
    assert set(field_rows(sf, ps)) == {"Widget__c.F0__c", "Widget__c.F1__c"}


def test_crlf_quoting_and_the_null_marker(sf: Salesforce) -> None:
    data = ('Name,Label,Description\r\n'
            'Bulk_C,"Label, with a comma","He said ""hi""\r\nover two lines"\r\n')
    info = run_job(sf, "PermissionSet", "insert", data, line_ending="CRLF")
    assert info["state"] == "JobComplete", info
    [made] = results(sf, "PermissionSet", info["id"], "successfulResults")
    record = sf.PermissionSet.get(made["sf__Id"])
    assert (record["Label"], record["Description"]) == (
        "Label, with a comma", 'He said "hi"\r\nover two lines')
    # An empty value leaves a field alone; #N/A sets it to null.
    info = run_job(sf, "PermissionSet", "update",
                   f"Id,Label,Description\n{made['sf__Id']},,#N/A\n")
    assert info["state"] == "JobComplete", info
    record = sf.PermissionSet.get(made["sf__Id"])
    assert (record["Label"], record["Description"]) == ("Label, with a comma", None)


def test_a_job_whose_data_the_org_cant_read_fails_as_a_whole(sf: Salesforce) -> None:
    wrong_ending = run_job(sf, "PermissionSet", "insert", "Name,Label\r\nBulk_D,D\r\n")
    assert wrong_ending["state"] == "Failed"
    assert wrong_ending["errorMessage"] == ("ClientInputError : LineEnding is invalid on user "
                                            "data. Current LineEnding setting is LF")
    unknown = run_job(sf, "PermissionSet", "insert", "Name,Label,Colour\nBulk_D,D,red\n")
    assert (unknown["state"], unknown["errorMessage"]) == (
        "Failed", "InvalidBatch : Field name not found : Colour")
    assert results(sf, "PermissionSet", unknown["id"], "unprocessedrecords") == [
        {"Name": "Bulk_D", "Label": "D", "Colour": "red"}]
    assert sf.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'Bulk_D'")["totalSize"] == 0


def test_job_states_refuse_what_they_dont_allow(sf: Salesforce) -> None:
    jobs = job_client(sf, "PermissionSet")
    job = jobs.create_job("insert")
    assert (job["state"], job["contentUrl"]) == (
        "Open", f"services/data/v62.0/jobs/ingest/{job['id']}/batches")
    jobs.upload_job_data(job["id"], "Name,Label\nBulk_E,E\n")
    jobs.close_job(job["id"])
    with pytest.raises(SalesforceError) as upload_again:
        jobs.upload_job_data(job["id"], "Name,Label\nBulk_F,F\n")
    assert sf_error(upload_again.value)[0] == "INVALIDJOBSTATE"
    wait_done(sf, "PermissionSet", job["id"])
    with pytest.raises(SalesforceError) as abort_done:
        jobs.abort_job(job["id"], False)
    assert sf_error(abort_done.value) == ("INVALIDJOBSTATE",
                                          "Aborting already Completed Job not allowed")
    with pytest.raises(SalesforceError) as unknown:
        jobs.get_job("7505g00000ZZZZZAAA", False)
    assert sf_error(unknown.value)[0] == "NOT_FOUND"
    with pytest.raises(SalesforceError) as no_object:
        job_client(sf, "Nothing__c").create_job("insert")
    assert sf_error(no_object.value)[0] == "INVALIDJOB"


def test_lock_faults_fail_some_rows_and_an_error_fault_fails_the_job(
        emu: Emulator, sf: Salesforce) -> None:
    ps = make_set(sf, "Bulk_G")
    data = "ParentId,SobjectType,Field,PermissionsRead\n" + "".join(
        f"{ps},Widget__c,Widget__c.F{i}__c,true\n" for i in range(6))
    emu.faults.add(kind="lock", method="PROCESS", path="jobs/ingest", times=2)
    info = run_job(sf, "FieldPermissions", "insert", data)
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 2)
    failed = results(sf, "FieldPermissions", info["id"], "failedResults")
    assert {r["sf__Error"].split(":")[0] for r in failed} == {"UNABLE_TO_LOCK_ROW"}
    assert len(field_rows(sf, ps)) == 4

    emu.faults.add(kind="error", method="PROCESS", path="jobs/ingest",
                   message="InvalidBatch : Failed to process query")
    info = run_job(sf, "PermissionSet", "insert", "Name,Label\nBulk_H,H\nBulk_I,I\n")
    assert (info["state"], info["errorMessage"]) == ("Failed",
                                                     "InvalidBatch : Failed to process query")
    assert len(results(sf, "PermissionSet", info["id"], "unprocessedrecords")) == 2
    assert sf.query("SELECT COUNT() FROM PermissionSet WHERE Name LIKE 'Bulk_H%'"
                    )["totalSize"] == 0


def slow_sets_job(emu: Emulator, prefix: str, rows: int) -> tuple[Salesforce, str]:
    """A closed insert job of ``rows`` permission sets, each row taking 50 ms."""
    sf = client(emu)
    emu.faults.add(kind="latency", method="PROCESS", path="jobs/ingest", delay=0.05,
                   times=None)
    jobs = job_client(sf, "PermissionSet")
    job = jobs.create_job("insert")
    jobs.upload_job_data(job["id"], "Name,Label\n" + "".join(
        f"{prefix}{i},{i}\n" for i in range(rows)))
    assert jobs.close_job(job["id"])["state"] == "UploadComplete"
    return sf, str(job["id"])


def test_a_closed_job_runs_to_the_end_with_nobody_polling(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "org2", SEED) as emu:
        sf, job_id = slow_sets_job(emu, "Bulk_J", 10)
        assert job_client(sf, "PermissionSet").get_job(job_id, False)["state"] in (
            "UploadComplete", "InProgress")
        time.sleep(1.2)  # nobody asks; the org goes on
        emu.faults.clear()
        assert sf.query("SELECT COUNT() FROM PermissionSet WHERE Name LIKE 'Bulk_J%'"
                        )["totalSize"] == 10
        assert wait_done(sf, "PermissionSet", job_id)["state"] == "JobComplete"


def test_a_job_stopped_with_the_org_resumes_where_it_was_when_served_again(
        tmp_path: Path) -> None:
    rows = 30
    with start_emulator(tmp_path / "org3", SEED) as emu:
        _, job_id = slow_sets_job(emu, "Bulk_R", rows)
        time.sleep(0.5)  # some rows written, then the org stops
    with start_emulator(tmp_path / "org3") as emu:
        sf = client(emu)
        done = wait_done(sf, "PermissionSet", job_id)
        assert (done["state"], done["numberRecordsProcessed"]) == ("JobComplete", rows)
        written = sf.query_all("SELECT Name FROM PermissionSet WHERE Name LIKE 'Bulk_R%'")
        assert sorted(r["Name"] for r in written["records"]) == sorted(
            f"Bulk_R{i}" for i in range(rows))
        assert len(results(sf, "PermissionSet", job_id, "successfulResults")) == rows


def test_delete_and_update_jobs_and_the_job_list(sf: Salesforce) -> None:
    ps = make_set(sf, "Bulk_K")
    made = run_job(sf, "FieldPermissions", "insert",
                   "ParentId,SobjectType,Field,PermissionsRead\n"
                   f"{ps},Widget__c,Widget__c.F0__c,true\n{ps},Widget__c,Widget__c.F1__c,true\n")
    ids = [r["sf__Id"] for r in results(sf, "FieldPermissions", made["id"],
                                         "successfulResults")]
    edited = run_job(sf, "FieldPermissions", "update",
                     f"Id,PermissionsEdit\n{ids[0]},true\n")
    assert edited["numberRecordsFailed"] == 0
    assert field_rows(sf, ps)["Widget__c.F0__c"] == (True, True)
    gone = run_job(sf, "FieldPermissions", "delete", "Id\n" + "\n".join(ids) + "\n")
    assert (gone["numberRecordsProcessed"], gone["numberRecordsFailed"]) == (2, 0)
    assert field_rows(sf, ps) == {}
    listed = sf.restful("jobs/ingest")
    assert {j["id"] for j in listed["records"]} >= {made["id"], edited["id"], gone["id"]}
