"""A layer past the Bulk API job size goes in several ingest jobs, all submitted before the
first is waited on, each job's records handled as one job's are: through the CLI against
the emulator over HTTPS. The job size and threshold are shrunk (configuration) so that
the org stays small: 11 sets, 110 object rows (one job) and 550 field rows (three jobs)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import actions
from reconciler.emulator import start_emulator
from reconciler.org import bulk
from tests.orgdir import Org, assert_converged, field_rows
from tests.test_apply_bulk import calls

OBJECTS, FIELDS, SETS = 10, 5, 11
FIELD_ROWS, OBJECT_ROWS = SETS * OBJECTS * FIELDS, SETS * OBJECTS
SEED = {"custom_objects": [{"name": f"Part{o}__c", "label": f"Part {o}",
                            "fields": {f"F{f}__c": "text" for f in range(FIELDS)}}
                           for o in range(OBJECTS)]}
CONFIG = "permission_sets:\n" + "".join(
    f"  PIPE_{s}:\n    label: Pipe {s}\n    objects:\n"
    + "".join(f"      Part{o}__c: [read]\n" for o in range(OBJECTS))
    + "    fields:\n"
    + "".join(f"      Part{o}__c.F{f}__c: [read]\n"
              for o in range(OBJECTS) for f in range(FIELDS))
    for s in range(SETS))
#: Field rows per job: 550 rows in three jobs of at most 200, as even as can be.
JOB_ROWS = [184, 184, 182]


def job(n: int) -> str:
    """The path of the org's ``n``-th ingest job (the emulator numbers them in turn)."""
    return f"jobs/ingest/7505g000000000{n}AAA"


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    # Bulk past 100 records, at most 200 a job (the configured table, made small).
    bulk_row = dataclasses.replace(actions.TRANSPORTS[-1], from_records=101, per_chunk=200)
    monkeypatch.setattr(actions, "TRANSPORTS", (*actions.TRANSPORTS[:-1], bulk_row))
    with start_emulator(tmp_path / "data", SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("pipe.yaml", CONFIG)
        yield org


def jobs(org: Org) -> list[dict[str, Any]]:
    """The org's ingest jobs, oldest first."""
    records = org.sf.restful("jobs/ingest")["records"]
    return sorted(records, key=lambda j: (j["createdDate"], j["id"]))


def sizes(org: Org) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for info in jobs(org):
        if info["state"] == "JobComplete":
            out.setdefault(info["object"], []).append(info["numberRecordsProcessed"])
    return out


def test_a_layer_goes_in_even_jobs_all_submitted_before_the_first_is_waited_on(
        org: Org) -> None:
    planned = org.run("plan")
    # the sets by one collections call; 3 field jobs and 1 object job, ~7 calls each
    assert "~29 to apply (1 collections, 28 bulk)" in planned.output, planned.output
    # The first job's rows take a while: the client submits the rest meanwhile.
    org.emu.faults.add(kind="latency", method="PROCESS", path=job(1), delay=0.003,
                       times=None)
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert f"Applied {SETS + OBJECT_ROWS + FIELD_ROWS}, failed 0" in applied.output
    assert sizes(org) == {"FieldPermissions": JOB_ROWS, "ObjectPermissions": [OBJECT_ROWS]}
    first, *rest = jobs(org)
    # Every job of the layer, the other sObject's too, was in the org before the first
    # one ended.
    assert len(rest) == 3
    assert all(j["createdDate"] < first["systemModstamp"] for j in rest), jobs(org)
    assert_converged(org, "PIPE_%", FIELD_ROWS)


def test_locked_rows_of_the_second_job_are_resent_and_all_is_written(org: Org) -> None:
    org.emu.faults.add(kind="lock", method="PROCESS", path=job(2), times=3)
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "failed 0" in applied.output
    assert calls(org, "POST jobs/ingest") == 4  # no job sent again
    assert calls(org, "POST composite/sobjects") == 2  # the sets; the 3 locked rows
    assert_converged(org, "PIPE_%", FIELD_ROWS)


def test_a_job_that_fails_as_a_whole_leaves_the_other_jobs_written(org: Org) -> None:
    org.emu.faults.add(kind="error", method="PROCESS", path=job(2),
                       message="InvalidBatch : Failed to process the batch")
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert f"failed {JOB_ROWS[1]}," in applied.output
    assert applied.output.count("BULK_JOB_UNPROCESSED: Bulk API 2.0 job "
                                "7505g0000000002AAA ended Failed") == JOB_ROWS[1]
    assert sizes(org) == {"FieldPermissions": [JOB_ROWS[0], JOB_ROWS[2]],
                          "ObjectPermissions": [OBJECT_ROWS]}
    assert len(field_rows(org, "PIPE_%")) == FIELD_ROWS - JOB_ROWS[1]
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert f"Applied {JOB_ROWS[1]}, failed 0" in rerun.output
    assert_converged(org, "PIPE_%", FIELD_ROWS)


def test_an_upload_dropped_twice_leaves_only_that_jobs_records_unknown(org: Org) -> None:
    # The second chunk's job and the one started again for it: both uploads dropped.
    org.emu.faults.add(kind="drop", method="PUT", path=r"7505g000000000[23]AAA/batches",
                       times=2)
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert applied.output.count("outcome unknown") == JOB_ROWS[1]
    assert f"failed {JOB_ROWS[1]}," in applied.output
    # Nothing of the dropped jobs was written; the other jobs were, in full.
    assert [j["state"] for j in jobs(org)] == ["JobComplete", "Aborted", "Aborted",
                                               "JobComplete", "JobComplete"]
    assert len(field_rows(org, "PIPE_%")) == FIELD_ROWS - JOB_ROWS[1]
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert_converged(org, "PIPE_%", FIELD_ROWS)


def test_polls_that_keep_dropping_leave_that_jobs_records_unknown_and_the_org_ends_it(
        org: Org) -> None:
    # More drops than the client retries a read.
    org.emu.faults.add(kind="drop", method="GET", path=job(2) + "$", times=5)
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert applied.output.count("outcome unknown") == JOB_ROWS[1]
    assert "Applied" in applied.output and f"failed {JOB_ROWS[1]}," in applied.output
    # The org finished the job nobody could poll: the next plan finds nothing to do.
    assert sizes(org) == {"FieldPermissions": JOB_ROWS, "ObjectPermissions": [OBJECT_ROWS]}
    assert_converged(org, "PIPE_%", FIELD_ROWS)


def test_jobs_past_the_upload_size_are_halved_and_all_written(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    # A field row is ~70 bytes of CSV: 184 rows are over 8 KB, 92 are under (and the
    # 110 object rows too).
    monkeypatch.setattr(bulk, "MAX_JOB_BYTES", 8 * 1024)
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "failed 0" in applied.output
    assert sizes(org) == {"FieldPermissions": [92, 92, 92, 92, 91, 91],
                          "ObjectPermissions": [OBJECT_ROWS]}
    assert_converged(org, "PIPE_%", FIELD_ROWS)


def test_the_daily_limit_mid_layer_leaves_the_jobs_the_org_runs_unknown_not_unattempted(
        org: Org) -> None:
    """The limit is hit polling the second job: the first job's records were written
    and say so; the jobs the org had been given go on without the apply, so their
    records' outcomes are unknown, not "not attempted" (a rollback must look at them)."""
    org.emu.faults.add(kind="error", method="GET", path=job(2) + "$", status=403,
                       error_code="REQUEST_LIMIT_EXCEEDED",
                       message="TotalRequests Limit exceeded.")
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    entries = org.journal()["actions"]
    field_entries = [e for e in entries if e["kind"] == "grant_field_access"]
    statuses = Counter(e["status"] for e in field_entries)
    assert statuses == {"applied": JOB_ROWS[0], "unknown": JOB_ROWS[1] + JOB_ROWS[2]}, statuses
    assert {e["status"] for e in entries if e["kind"] == "grant_object_access"} == {"unknown"}
    assert all("Bulk API 2.0 job 7505g" in e["error"] for e in entries
               if e["status"] == "unknown")
    # The org finished every job it was given.
    assert sizes(org) == {"FieldPermissions": JOB_ROWS, "ObjectPermissions": [OBJECT_ROWS]}
    assert_converged(org, "PIPE_%", FIELD_ROWS)
