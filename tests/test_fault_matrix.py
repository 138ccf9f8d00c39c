"""The fault matrix: whatever goes wrong during an apply, a rerun converges.

Each case breaks one apply of the same config (transient errors, dropped connections,
an expired session, the daily limit, a SIGKILL in each layer, a second apply or a
drift run at the same time), then asserts what an operator relies on: the rerun
converges, the org holds no duplicate record, and the next plan is empty. Through the
CLI (in-process, or as a real process to kill) against the emulator over HTTPS.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org

# The walkthrough plus a permission set group: four layers, the last one waiting for
# the group's recalculation.
CONFIG = WALKTHROUGH.replace("\nusers:\n", """
  INT_Reports:
    label: Integration - Reports
    objects:
      Invoice__c: [read]

permission_set_groups:
  INT_All:
    label: Integration - All
    permission_sets: [INT_Reports]

users:
""").replace("    permission_sets: [INT_Standard_Objects, INT_Custom_Objects]\n",
             "    permission_sets: [INT_Standard_Objects, INT_Custom_Objects]\n"
             "    permission_set_groups: [INT_All]\n")
USERNAME = "mulesoft@acme.com.integration"
WRITES = "composite/sobjects"  # every write apply sends is an sObject Collections call
LATENCY = 0.2


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", CONFIG)
        yield org


def assert_converges_without_duplicates(org: Org) -> None:
    """A rerun finishes the job; nothing is in the org twice; the next plan is empty."""
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert ("Converged: no changes left." in rerun.output
            or "Nothing to apply." in rerun.output), rerun.output
    sf = org.sf

    def rows(soql: str, *fields: str) -> list[tuple[Any, ...]]:
        def value(record: dict[str, Any], path: str) -> Any:
            for part in path.split("."):
                record = record[part]
            return record

        return [tuple(value(r, f) for f in fields) for r in sf.query_all(soql)["records"]]

    found = {
        "users": rows(f"SELECT Username FROM User WHERE Username = '{USERNAME}'", "Username"),
        "sets": rows("SELECT Name FROM PermissionSet WHERE Name LIKE 'INT_%'", "Name"),
        "groups": rows("SELECT DeveloperName FROM PermissionSetGroup WHERE DeveloperName = "
                       "'INT_All'", "DeveloperName"),
        "components": rows("SELECT PermissionSetGroup.DeveloperName, PermissionSet.Name FROM "
                           "PermissionSetGroupComponent WHERE PermissionSet.Name LIKE 'INT_%'",
                           "PermissionSetGroup.DeveloperName", "PermissionSet.Name"),
        "object access": rows("SELECT Parent.Name, SobjectType FROM ObjectPermissions WHERE "
                              "Parent.Name LIKE 'INT_%'", "Parent.Name", "SobjectType"),
        "field access": rows("SELECT Parent.Name, Field FROM FieldPermissions WHERE "
                             "Parent.Name LIKE 'INT_%'", "Parent.Name", "Field"),
        "assignments": rows("SELECT PermissionSetId FROM PermissionSetAssignment WHERE "
                            f"Assignee.Username = '{USERNAME}'", "PermissionSetId"),
        "licence assignments": rows("SELECT PermissionSetLicenseId FROM "
                                    "PermissionSetLicenseAssign WHERE "
                                    f"Assignee.Username = '{USERNAME}'",
                                    "PermissionSetLicenseId"),
    }
    twice = {what: [row for row, n in Counter(got).items() if n > 1]
             for what, got in found.items()}
    assert not any(twice.values()), twice
    assert sorted(n for (n,) in found["sets"]) == ["INT_Custom_Objects", "INT_Reports",
                                                   "INT_Standard_Objects"]
    assert len(found["users"]) == len(found["groups"]) == len(found["components"]) == 1
    planned = org.run("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert "No changes. The org matches the config." in planned.output


# -- faults the emulator injects into one in-process apply --------------------------------------


def _daily_limit(org: Org) -> None:
    # enough for the login and the reads, not for the writes
    planned = org.run("plan")
    assert planned.exit_code == 0, planned.output
    reads = json.loads(Path("plans/emu.plan.json").read_text())["api_calls"]["read"]
    org.emu.set_daily_limit(org.emu.stats()["api_calls"] + reads + 2)


FAULTS: dict[str, Callable[[Org], None]] = {
    "503 burst": lambda org: org.emu.faults.add(kind="error", method="POST", path=WRITES,
                                                status=503, times=2),
    "row lock errors": lambda org: org.emu.faults.add(kind="lock", method="POST",
                                                      path=WRITES, times=2),
    "drop before a write": lambda org: org.emu.faults.add(kind="drop", method="POST",
                                                          path=WRITES, when="before"),
    "drop after a write": lambda org: org.emu.faults.add(kind="drop", method="POST",
                                                         path=WRITES, when="after"),
    "session expiry": lambda org: org.emu.faults.add(kind="expire_session", method="POST",
                                                     path=WRITES),
    "daily limit": _daily_limit,
}


@pytest.mark.parametrize("fault", FAULTS)
def test_after_a_fault_a_rerun_converges(org: Org, fault: str) -> None:
    FAULTS[fault](org)
    first = org.run("apply", "--auto-approve")
    assert first.exit_code in (0, 1), first.output
    assert "Traceback" not in first.output
    assert org.journal() is not None  # every apply leaves its account
    org.emu.faults.clear()
    org.emu.set_daily_limit(100_000)
    assert_converges_without_duplicates(org)


# -- SIGKILL in every layer ---------------------------------------------------------------------


def _layers(org: Org) -> list[list[str]]:
    planned = org.run("plan", "--out", "plans/p.json")
    assert planned.exit_code == 0, planned.output
    layers: list[list[str]] = json.loads(Path("plans/p.json").read_text())["layers"]
    return layers


def test_killed_in_every_layer_the_journal_tells_and_a_rerun_converges(tmp_path: Path,
                                                                       monkeypatch:
                                                                       pytest.MonkeyPatch,
                                                                       ) -> None:
    """One trial per layer: the apply is killed once its journal says that layer's
    writes are being sent, before their outcomes are known (each write call is slowed
    down, so it is always still in flight)."""
    converged = 0
    trials = 0
    for layer in range(4):
        root = tmp_path / f"layer{layer}"
        root.mkdir()
        monkeypatch.chdir(root)
        with start_emulator(root / "data", INVOICE_SEED) as emu:
            org = Org(emu, root)
            org.write("integration.yaml", CONFIG)
            layers = _layers(org)
            assert len(layers) == 4
            org.emu.faults.add(kind="latency", path=WRITES, delay=LATENCY, times=None)
            proc = org.spawn("apply", "plans/p.json")
            seen = org.kill_apply_when(proc, lambda entries, ids=layers[layer]: any(
                entries[i]["status"] == "writing" for i in ids))
            trials += 1
            # The journal existed before the first write and says what may have been
            # written: earlier layers' outcomes, this layer's intent, nothing after.
            assert all(seen[i]["status"] == "applied" for k in range(layer) for i in layers[k])
            assert any(seen[i]["status"] == "writing" for i in layers[layer])
            assert all(seen[i]["status"] == "pending"
                       for k in range(layer + 1, len(layers)) for i in layers[k])
            time.sleep(LATENCY + 0.3)  # the write it had sent still lands
            org.emu.faults.clear()
            assert_converges_without_duplicates(org)
            converged += 1
    assert (trials, converged) == (4, 4)


# -- two runs at once ---------------------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_second_apply_on_the_org_is_refused_and_the_first_converges(org: Org) -> None:
    org.emu.faults.add(kind="latency", path=WRITES, delay=LATENCY, times=None)
    first = org.spawn("apply", "--auto-approve")
    _wait_for(lambda: org.journal() is not None or first.poll() is not None,
              "the first apply to start writing")
    writes = org.writes()
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 1
    assert (f"Error: apply for org emu is already running: the lock is held by pid "
            f"{first.pid} (reconciler apply, since ") in second.output
    assert "Traceback" not in second.output
    assert first.wait(timeout=60) == 0, org.output(first)
    assert "Converged: no changes left." in org.output(first)
    assert org.writes() >= writes
    org.emu.faults.clear()
    assert_converges_without_duplicates(org)


def test_drift_during_an_apply_and_a_second_drift_refused(org: Org) -> None:
    org.emu.faults.add(kind="latency", path=WRITES, delay=LATENCY, times=None)
    applying = org.spawn("apply", "--auto-approve")
    _wait_for(lambda: org.journal() is not None or applying.poll() is not None,
              "the apply to start writing")
    # slow reads from now on: the drift run holds its lock long enough to meet another
    org.emu.faults.add(kind="latency", method="GET", path="query", delay=0.1, times=None)
    drifting = org.spawn("drift")
    lock = org.config / ".reconciler" / "emu" / "drift" / "lock"

    def drift_holds_the_lock() -> bool:
        try:
            return json.loads(lock.read_text()).get("pid") == drifting.pid
        except (OSError, ValueError):
            return drifting.poll() is not None

    _wait_for(drift_holds_the_lock, "drift to take its lock")
    second = org.run("drift")
    assert second.exit_code == 1, org.output(drifting)
    assert ("drift for org emu is already running: the lock is held by pid "
            f"{drifting.pid} (reconciler drift, since ") in second.output
    # drift only reads: it reports what it saw mid-apply (nothing, or drift)
    assert drifting.wait(timeout=60) in (0, 2, 3), org.output(drifting)
    assert "Traceback" not in org.output(drifting)
    assert applying.wait(timeout=60) == 0, org.output(applying)
    org.emu.faults.clear()
    assert_converges_without_duplicates(org)
    assert org.run("drift").exit_code == 0
