"""`apply` end to end through the CLI, against the emulator over HTTPS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


def test_walkthrough_from_an_empty_org_then_nothing_to_do(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    first = org.run("apply", "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "Converged: no changes left." in first.output
    assert "Applied 11, failed 0, skipped 0" in first.output
    user = org.sf.query("SELECT Id, Profile.UserLicense.Name FROM User WHERE Username = "
                        "'mulesoft@acme.com.integration'")["records"][0]
    assert user["Profile"]["UserLicense"]["Name"] == "Salesforce Integration"
    sets = org.sf.query("SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE "
                        f"AssigneeId = '{user['Id']}' AND PermissionSet.IsOwnedByProfile = "
                        "false ORDER BY PermissionSet.Name")["records"]
    assert [r["PermissionSet"]["Name"] for r in sets] == ["INT_Custom_Objects",
                                                          "INT_Standard_Objects"]
    writes = org.writes()
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 0, second.output
    assert "Nothing to apply." in second.output
    assert org.writes() == writes
    plan = org.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes. The org matches the config." in plan.output


def test_converting_an_api_user_to_the_integration_license(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    seed = {**INVOICE_SEED,
            "permission_sets": [{"name": "Legacy_API", "label": "Legacy API",
                                 "license": "Salesforce", "objects": {"Account": ["read"]}}],
            "users": [{"username": "mulesoft@acme.com.integration", "first_name": "MuleSoft",
                       "last_name": "Integration", "email": "integrations@acme.com",
                       "profile": "Standard User", "permission_sets": ["Legacy_API"]}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "Converged: no changes left." in result.output
        trail = [f'{r["Action"]} {r["Display"]}' for r in org.sf.query(
            "SELECT Action, Display FROM SetupAuditTrail WHERE CreatedDate = TODAY "
            "ORDER BY CreatedDate")["records"]]

        def when(prefix: str) -> int:
            return next(i for i, row in enumerate(trail) if row.startswith(prefix))

        # the emulator refuses any other order; the trail shows the one taken
        assert when("PermSetUnassign Permission set Legacy API") \
            < when("changedprofileforuser") \
            < when("PermSetLicenseAssigned") \
            < when("PermSetAssign Permission set Integration - Standard Objects")


def test_a_stale_saved_plan_is_refused_and_nothing_is_written(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("apply", "--auto-approve").exit_code == 0
    # the config now wants one more object; plan it and save the plan
    org.write("integration.yaml", WALKTHROUGH.replace("      Contact: [read]",
                                                      "      Contact: [read]\n"
                                                      "      Case: [read]"))
    planned = org.run("plan", "--out", "plans/next.json")
    assert planned.exit_code == 0, planned.output
    # meanwhile somebody assigns a set by hand in Setup
    sf = org.sf
    user = sf.query("SELECT Id FROM User WHERE Username = "
                    "'mulesoft@acme.com.integration'")["records"][0]["Id"]
    extra = sf.PermissionSet.create({"Name": "Manual_Extra", "Label": "Manual extra"})["id"]
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": extra})
    writes = org.writes()
    refused = org.run("apply", "plans/next.json")
    assert refused.exit_code == 1
    assert "the org changed since the plan was made (users.mulesoft)" in refused.output
    assert org.writes() == writes


def test_a_plan_for_another_config_is_refused(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    org.write("integration.yaml", WALKTHROUGH.replace("MuleSoft", "Mule"))
    refused = org.run("apply", "plans/p.json")
    assert refused.exit_code == 1
    assert "the config changed since the plan was made" in refused.output


def test_apply_without_a_terminal_or_approval_refuses(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    result = org.run("apply")
    assert result.exit_code == 1
    assert "there is no terminal to ask on" in result.output
    assert org.writes() == 0


def test_transient_faults_are_retried_and_the_org_converges(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    org.emu.faults.add(kind="error", method="POST", path="composite/sobjects$", status=503,
                       times=2)
    org.emu.faults.add(kind="lock", method="POST", path="composite/sobjects$", times=2)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Converged: no changes left." in result.output


def test_a_dropped_connection_mid_write_then_a_rerun_converges(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    # the permission sets are created, but the answer never arrives
    org.emu.faults.add(kind="drop", method="POST", path="composite/sobjects$", when="after")
    first = org.run("apply", "--auto-approve")
    assert first.exit_code == 1
    assert "outcome unknown" in first.output
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 0, second.output
    assert "Converged: no changes left." in second.output
    names = [r["Name"] for r in org.sf.query(
        "SELECT Name FROM PermissionSet WHERE Name LIKE 'INT_%'")["records"]]
    assert sorted(names) == ["INT_Custom_Objects", "INT_Standard_Objects"]


def test_one_failing_record_skips_its_dependents_only(org: Org) -> None:
    # The emulator's time zone picklist lacks Europe/Madrid: the user create fails.
    org.write("integration.yaml", WALKTHROUGH.replace(
        "    lifecycle: {ignore_changes: [email]}",
        "    time_zone: Europe/Madrid\n    lifecycle: {ignore_changes: [email]}"))
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "Applied 7, failed 1, skipped 3" in result.output
    line = next(x for x in result.output.splitlines() if "users.mulesoft: failed" in x)
    text = (org.config / "integration.yaml").read_text().splitlines()
    user_line = text.index("  mulesoft:                        # the address users.mulesoft") + 1
    assert line.startswith(f"{org.config / 'integration.yaml'}:{user_line}:3: ")
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in line
    # the permission sets and their access went in all the same
    assert org.sf.query("SELECT COUNT() FROM ObjectPermissions WHERE Parent.Name LIKE "
                        "'INT_%'")["totalSize"] == 3
    assert "Not converged" in result.output


def test_session_expiry_mid_apply_re_authenticates(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    org.emu.faults.add(kind="expire_session", method="POST", path="composite/sobjects$")
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output


def test_the_daily_limit_stops_the_apply_cleanly(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    # enough for the login's reads and the first layer, not for the rest
    planned = org.run("plan")
    assert planned.exit_code == 0
    reads = json.loads(Path("plans/emu.plan.json").read_text())["api_calls"]["read"]
    org.emu.set_daily_limit(org.emu.stats()["api_calls"] + reads + 1)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "Stopped:" in result.output and "daily API request limit" in result.output
    assert "not attempted: " in result.output
    journal = sorted(Path("plans").glob("emu.apply-*.json"))[-1]
    statuses = {e["status"] for e in json.loads(journal.read_text())["actions"]}
    assert "not_attempted" in statuses


def _many_sets_config(sets: int, users: int) -> str:
    lines = ["permission_sets:"]
    for s in range(sets):
        lines += [f"  INT_Bulk_{s}:", f"    label: Bulk {s}", "    objects:",
                  "      Invoice__c: [read, edit]", "    fields:",
                  "      Invoice__c.Amount__c: [read]"]
    lines.append("users:")
    for u in range(users):
        assigned = ", ".join(f"INT_Bulk_{(u + k) % sets}" for k in range(3))
        lines += [f"  bulk{u}:", f"    username: bulk{u}@acme.example",
                  f"    last_name: Bulk {u}", f"    email: bulk{u}@acme.example",
                  "    profile: Minimum Access - API Only Integrations",
                  f"    permission_sets: [{assigned}]"]
    return "\n".join(lines) + "\n"


def test_killed_mid_apply_then_rerun_converges_without_duplicates(org: Org) -> None:
    org.write("bulk.yaml", _many_sets_config(sets=40, users=4))
    # every write call takes a while, so the kill lands in the middle
    org.emu.faults.add(kind="latency", path="composite/sobjects$", delay=0.4, times=None)
    proc = org.spawn("apply", "--auto-approve")
    entries = org.kill_apply_when(
        proc, lambda entries: any(e["status"] == "applied" for e in entries.values()))
    assert "pending" in {e["status"] for e in entries.values()}  # it really was interrupted
    time.sleep(0.6)  # the write it had sent still lands, as it would in a real org
    org.emu.faults.clear()
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert "Converged: no changes left." in rerun.output
    sf = org.sf
    assert sf.query("SELECT COUNT() FROM PermissionSet WHERE Name LIKE 'INT_Bulk_%'")[
        "totalSize"] == 40
    assert sf.query("SELECT COUNT() FROM ObjectPermissions WHERE Parent.Name LIKE "
                    "'INT_Bulk_%'")["totalSize"] == 40
    rows = sf.query("SELECT Assignee.Username, PermissionSet.Name FROM "
                    "PermissionSetAssignment WHERE PermissionSet.Name LIKE 'INT_Bulk_%'")
    got = sorted((r["Assignee"]["Username"], r["PermissionSet"]["Name"])
                 for r in rows["records"])
    wanted = sorted((f"bulk{u}@acme.example", f"INT_Bulk_{(u + k) % 40}")
                    for u in range(4) for k in range(3))
    assert got == wanted


def test_the_journal_records_outcomes_created_ids_and_replaced_values(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    planned = json.loads(Path("plans/p.json").read_text())
    result = org.run("apply", "plans/p.json")
    assert result.exit_code == 0, result.output
    # the write calls stay within the plan's bound: Σ ceil(records / 200) per layer
    calls = int(result.output.split(" write calls")[0].rsplit("· ", 1)[1])
    assert calls <= planned["api_calls"]["apply_estimate"] == 6
    journal = json.loads(next(Path("plans").glob("emu.apply-*.json")).read_text())
    assert journal["format"] == "reconciler-journal" and journal["finished_at"]
    entries = {e["id"]: e for e in journal["actions"]}
    assert {e["status"] for e in entries.values()} == {"applied"}
    created = entries["create_user:users.mulesoft"]["record_id"]
    assert org.sf.query(f"SELECT Username FROM User WHERE Id = '{created}'")["records"][0][
        "Username"] == "mulesoft@acme.com.integration"
    secrets = set(org.env.values())
    text = json.dumps(journal)
    assert not any(s in text for s in secrets)
    # a second change: the journal keeps what the org had before it
    org.write("integration.yaml", WALKTHROUGH.replace("      Contact: [read]", ""))
    assert org.run("apply", "--auto-approve").exit_code == 0
    second = json.loads(sorted(Path("plans").glob("emu.apply-*.json"))[-1].read_text())
    before = second["replaced"]["permission_sets.INT_Standard_Objects"]
    assert before["objects"]["Contact"] == ["read"]


def test_an_apply_whose_journal_cannot_be_written_writes_nothing(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    Path("plans").write_text("a file where the journal's directory would be\n")
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "Error: can't write the apply journal plans/emu.apply-"), result.output
    assert "Traceback" not in result.output
    assert org.writes() == 0


def test_interactive_apply_lists_destruction_and_asks(org: Org) -> None:
    import os
    import pty
    import subprocess
    import sys

    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("apply", "--auto-approve").exit_code == 0
    org.write("integration.yaml", WALKTHROUGH.replace("      Contact: [read]", ""))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-c", str(org.config), "--org", "emu", "--no-color",
         "apply"], cwd=org.root, env={**os.environ, **org.env},
        stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    while b"Apply these changes? (yes/no)" not in seen:
        chunk = os.read(leader, 4096)
        assert chunk, seen.decode()
        seen += chunk
    os.write(leader, b"yes\n")
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=30) == 0
    text = seen.decode()
    assert text.index("Destructive actions (1):") < text.index("Apply these changes?")
    assert "objects.Contact: read → (none)" in text
    assert "Converged: no changes left." in text
