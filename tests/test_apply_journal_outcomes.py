"""What apply reports and journals for each way a write can end: an answer lost after
the org made the write (outcome unknown: the apply fails even though the org reads back
converged, since nobody saw the write succeed), a call refused as a whole (failed, with
the org's words, and what waited on it skipped), and the journal's account of both.
Through the CLI against the emulator."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, Org

SET_ONLY = "permission_sets:\n  INT_A:\n    label: A\n"
SET_AND_ACCESS = SET_ONLY + "    objects:\n      Invoice__c: [read]\n"
CREATE = "create_permission_set:permission_sets.INT_A"
GRANT = "grant_object_access:permission_sets.INT_A.objects.Invoice__c"
COLLECTIONS = {"method": "POST", "path": "composite/sobjects$"}


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


def _entries(journal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each entry's outcome: what it holds besides the action, empty fields left out."""
    return {e["id"]: {k: v for k, v in e.items()
                      if k not in ("kind", "address", "action") and v is not None}
            for e in journal["actions"]}


def test_an_unknown_outcome_fails_the_apply_even_when_the_org_converged(org: Org) -> None:
    org.write("a.yaml", SET_ONLY)
    org.emu.faults.add(kind="drop", when="after", **COLLECTIONS)
    result = org.run("apply", "--auto-approve")
    # The set was made, so reading again finds nothing left to do; but the apply never
    # learned that, and says so.
    assert "Converged: no changes left." in result.output
    assert result.exit_code == 1, result.output
    assert "Applied 0, failed 1, skipped 0, not attempted 0 · 1 write calls, " \
           "0 records written" in result.output
    assert "permission_sets.INT_A: outcome unknown: " in result.output
    journal = org.journal()
    assert journal is not None and journal["finished_at"] and journal["stopped"] is None
    entry = _entries(journal)[CREATE]
    assert entry["status"] == "unknown", entry
    assert "the connection dropped before an answer came" in entry["error"], entry
    assert "the change may or may not have been applied" in entry["error"], entry
    assert (journal["write_calls"], journal["records_written"]) == (1, 0)


def test_a_refused_call_is_journaled_with_the_orgs_words_and_what_waited_on_it(
        org: Org) -> None:
    org.write("a.yaml", SET_AND_ACCESS)
    org.emu.faults.add(kind="error", status=400, error_code="INVALID_TYPE",
                       message="refused whole", **COLLECTIONS)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    journal = org.journal()
    assert journal is not None and journal["finished_at"] and journal["stopped"] is None
    assert _entries(journal) == {
        CREATE: {"id": CREATE, "status": "failed", "error": "INVALID_TYPE: refused whole"},
        GRANT: {"id": GRANT, "status": "skipped", "waited_on": CREATE},
    }
    assert (journal["write_calls"], journal["records_written"]) == (1, 0)


def test_a_clean_apply_journals_each_record_id_and_the_calls_it_made(org: Org) -> None:
    org.write("a.yaml", SET_AND_ACCESS)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Applied 2, failed 0, skipped 0, not attempted 0 · 2 write calls, " \
           "2 records written" in result.output
    assert "layer 1/2: 1/2 actions done" in result.output
    assert "layer 2/2: 2/2 actions done" in result.output
    journal = org.journal()
    assert journal is not None
    entries = _entries(journal)
    ps = org.sf.query("SELECT Id FROM PermissionSet WHERE Name = 'INT_A'")["records"][0]["Id"]
    row = org.sf.query("SELECT Id FROM ObjectPermissions WHERE Parent.Name = 'INT_A'"
                       )["records"][0]["Id"]
    assert entries == {CREATE: {"id": CREATE, "status": "applied", "record_id": ps},
                       GRANT: {"id": GRANT, "status": "applied", "record_id": row}}
    assert (journal["write_calls"], journal["records_written"],
            journal["status_polls"]) == (2, 2, 0)


def test_the_daily_limit_stops_after_a_layer_and_the_journal_says_what_was_not_tried(
        org: Org) -> None:
    org.write("a.yaml", SET_AND_ACCESS)
    planned = org.run("plan", "--out", "plans/p.json")
    assert planned.exit_code == 0, planned.output
    reads = json.loads(Path("plans/p.json").read_text())["api_calls"]["read"]
    # Enough for the apply's reads and its first write, not for the second.
    org.emu.set_daily_limit(org.emu.stats()["api_calls"] + reads + 1)
    result = org.run("apply", "plans/p.json")
    assert result.exit_code == 1, result.output
    assert "layer 1/2: 1/2 actions done" in result.output
    assert "layer 2/2" not in result.output
    assert "Applied 1, failed 0, skipped 0, not attempted 1" in result.output
    assert "not attempted: permission_sets.INT_A.objects.Invoice__c" in result.output
    journal = org.journal()
    assert journal is not None and journal["finished_at"]
    assert "daily API request limit" in journal["stopped"]
    assert {k: e["status"] for k, e in _entries(journal).items()} == {
        CREATE: "applied", GRANT: "not_attempted"}


def test_records_of_one_kind_in_a_layer_go_in_one_call_each_sent_once(org: Org) -> None:
    org.write("a.yaml", "permission_sets:\n" + "".join(
        f"  INT_{n}:\n    label: Set {n}\n" for n in "ABC"))
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Applied 3, failed 0, skipped 0, not attempted 0 · 1 write calls, " \
           "3 records written (planned ~1 calls)" in result.output
    assert org.writes() == 1


def test_a_saved_plans_journal_goes_beside_the_plan_file(org: Org) -> None:
    org.write("a.yaml", SET_ONLY)
    assert org.run("plan", "--out", "reviewed/p.json").exit_code == 0
    result = org.run("apply", "reviewed/p.json")
    assert result.exit_code == 0, result.output
    journals = sorted(Path("reviewed").glob("emu.apply-*.json"))
    assert len(journals) == 1
    assert f"Journal: {journals[0]}" in result.output
    assert not Path("plans").exists()


def test_the_daily_limit_reached_before_any_write_lists_every_action_not_tried(
        org: Org) -> None:
    org.write("a.yaml", SET_AND_ACCESS)
    planned = org.run("plan", "--out", "plans/p.json")
    assert planned.exit_code == 0, planned.output
    reads = json.loads(Path("plans/p.json").read_text())["api_calls"]["read"]
    org.emu.set_daily_limit(org.emu.stats()["api_calls"] + reads)
    result = org.run("apply", "plans/p.json")
    assert result.exit_code == 1, result.output
    assert "Applied 0, failed 0, skipped 0, not attempted 2" in result.output
    assert ("not attempted: permission_sets.INT_A\n"
            "not attempted: permission_sets.INT_A.objects.Invoice__c\n") in result.output
    assert org.writes() == 0


def test_the_journal_says_which_actions_are_being_written_while_they_are(org: Org) -> None:
    """A process killed mid-call leaves the journal saying which writes may have gone out."""
    org.write("a.yaml", SET_ONLY)
    org.emu.faults.add(kind="latency", delay=1.0, **COLLECTIONS)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            journal = org.journal()
            if journal is not None:
                seen.extend(e["status"] for e in journal["actions"])
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = org.run("apply", "--auto-approve")
    finally:
        done.set()
        watcher.join()
    assert result.exit_code == 0, result.output
    assert "writing" in seen


def test_a_record_the_org_refuses_is_not_sent_again(org: Org) -> None:
    """Only a lock is worth another try: a refused value fails after one call."""
    # The emulator's time zone picklist lacks Europe/Madrid: the create is refused.
    org.write("u.yaml", "users:\n  u:\n    username: u@acme.example\n    last_name: U\n"
                        "    email: u@acme.example\n    profile: Standard User\n"
                        "    time_zone: Europe/Madrid\n")
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "Applied 0, failed 1, skipped 0, not attempted 0 · 1 write calls, " \
           "0 records written" in result.output
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in result.output
    assert org.writes() == 1


def test_a_journal_is_named_by_utc_time_whatever_the_machines_zone(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """Journals sort by name, newest last, and rollback and resume pick the newest: a
    machine's own zone in the name would misorder them across a zone change."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a local stamp is a day ahead
    time.tzset()
    try:
        before = datetime.now(UTC).strftime("%Y%m%dT%H%M")
        org.write("a.yaml", SET_AND_ACCESS)
        assert org.run("apply", "--auto-approve").exit_code == 0
    finally:
        monkeypatch.undo()
        time.tzset()
    [journal] = (org.root / "plans").glob("emu.apply-*.json")
    assert journal.name.split(".apply-")[1][:13] in (
        before, datetime.now(UTC).strftime("%Y%m%dT%H%M"))
