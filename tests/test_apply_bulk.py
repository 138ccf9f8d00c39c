"""Applying a layer past the Bulk API threshold: one ingest job, the collections path's
per-record semantics, and reruns that converge, through the CLI against the emulator."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.actions import BULK_THRESHOLD
from reconciler.emulator import start_emulator
from tests.orgdir import Org, assert_converged, field_rows

# Past the threshold (5,000 records) in one layer: 17 sets of 300 field rows.
FIELDS = 300
SETS = tuple(f"BULK_{chr(65 + n)}" for n in range(17))
GONE = SETS[-1]
SEED = {"custom_objects": [{"name": "Widget__c", "label": "Widget",
                            "fields": {f"F{i}__c": "text" for i in range(FIELDS)}}]}
CONFIG = "permission_sets:\n" + "".join(
    f"  {name}:\n    label: {name}\n    objects:\n      Widget__c: [read]\n    fields:\n"
    + "".join(f"      Widget__c.F{i}__c: [read]\n" for i in range(FIELDS))
    for name in SETS)
INGEST = "jobs/ingest$"


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("bulk.yaml", CONFIG)
        yield org


def calls(org: Org, route: str) -> int:
    return int(org.emu.stats()["by_route"].get(route, 0))


def test_the_plan_counts_a_job_and_apply_runs_one_through_locks_and_drops(org: Org) -> None:
    assert len(SETS) * FIELDS > BULK_THRESHOLD
    planned = org.run("plan")
    # 17 sets and 17 object rows by collections; 5,100 field rows in one job (~7 calls)
    assert "~9 to apply" in planned.output, planned.output
    org.emu.faults.add(kind="lock", method="PROCESS", path="jobs/ingest", times=3)
    org.emu.faults.add(kind="drop", method="PATCH", path=r"jobs/ingest/\w+$", when="after")
    org.emu.faults.add(kind="drop", method="GET", path=r"jobs/ingest/\w+$", when="before")
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "failed 0" in applied.output
    # One job, never sent twice; the three locked rows resent by collections.
    assert calls(org, "POST jobs/ingest") == 1
    assert calls(org, "PUT jobs/ingest") == 1
    assert calls(org, "POST composite/sobjects") == 3
    assert_converged(org, "BULK_%", len(SETS) * FIELDS)


def test_a_job_that_fails_as_a_whole_fails_its_records_with_its_error(org: Org) -> None:
    org.emu.faults.add(kind="error", method="PROCESS", path="jobs/ingest",
                       message="InvalidBatch : Failed to process the batch")
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert f"failed {len(SETS) * FIELDS}," in applied.output
    assert ("BULK_JOB_UNPROCESSED: Bulk API 2.0 job 7505g0000000001AAA ended Failed before "
            "this record was processed: InvalidBatch : Failed to process the batch"
            ) in applied.output
    assert field_rows(org, "BULK_%") == Counter()
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert calls(org, "POST jobs/ingest") == 2
    assert_converged(org, "BULK_%", len(SETS) * FIELDS)


def _journal_entries(org: Org) -> dict[str, dict[str, object]]:
    journal = org.journal()
    return {e["id"]: e for e in journal["actions"]} if journal else {}


def test_rows_a_rule_refuses_fail_alone_and_the_rest_is_written(org: Org) -> None:
    """A set deleted out of band while its field rows wait in the job: those rows are
    refused (their parent is gone), the other sets' rows are written."""
    org.emu.faults.add(kind="latency", method="POST", path=INGEST, delay=2.0)
    proc = org.spawn("apply", "--auto-approve")
    deadline = time.monotonic() + 60
    while not any(e["status"] == "writing" and "fields" in str(e["address"])
                  for e in _journal_entries(org).values()):
        assert proc.poll() is None and time.monotonic() < deadline, org.output(proc)
        time.sleep(0.05)
    gone = org.sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{GONE}'")["records"]
    org.sf.PermissionSet.delete(gone[0]["Id"])
    assert proc.wait(timeout=120) == 1, org.output(proc)
    output = org.output(proc)
    assert f"failed {FIELDS + 1}," in output, output  # and the set's object row
    assert "INVALID_CROSS_REFERENCE_KEY" in output
    assert Counter(name for name, _ in field_rows(org, "BULK_%")) == {
        name: FIELDS for name in SETS if name != GONE}
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert_converged(org, "BULK_%", len(SETS) * FIELDS)


def test_killed_mid_job_the_rerun_waits_for_the_job_and_writes_nothing_twice(
        org: Org) -> None:
    # Each row takes a little while, so the job is still running when the apply dies.
    org.emu.faults.add(kind="latency", method="PROCESS", path="jobs/ingest", delay=0.001,
                       times=None)
    proc = org.spawn("apply", "--auto-approve")
    deadline = time.monotonic() + 60
    while calls(org, "PATCH jobs/ingest") == 0:
        assert proc.poll() is None and time.monotonic() < deadline, org.output(proc)
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=10)
    journal = org.journal()
    assert journal is not None and journal["finished_at"] is None
    state = org.sf.restful("jobs/ingest")["records"][0]["state"]
    assert state in ("UploadComplete", "InProgress")  # the org goes on without the client
    rerun = org.run("apply", "--auto-approve")
    org.emu.faults.clear()
    assert rerun.exit_code == 0, rerun.output
    assert calls(org, "POST jobs/ingest") == 1  # waited for the first job: no second one
    assert_converged(org, "BULK_%", len(SETS) * FIELDS)
