"""`rollback JOURNAL` through the CLI, against the emulator over HTTPS: the plan that
undoes an apply, what it leaves alone, and an apply killed half-way."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org
from tests.test_apply_groups import CONFIG as GROUPS_A

# The walkthrough changed every way an apply can change things: access revoked,
# changed and granted, a label, a system permission; and in a file of its own, a new
# set and a new user holding it.
CHANGED = (WALKTHROUGH
           .replace("      Contact: [read]\n", "")
           .replace("Account: [read, create, edit]", "Account: [read]\n      Opportunity: [read]")
           .replace("label: Integration - Custom Objects", "label: Custom Objects (renamed)")
           .replace("system_permissions: [ApiEnabled]",
                    "system_permissions: [ApiEnabled, ViewSetup]"))
REPORTS = """
permission_sets:
  INT_Reports:
    label: Reports
    license: Salesforce API Integration
    objects:
      Account: [read]
users:
  reports:
    username: reports@acme.com.integration
    last_name: Reports
    email: reports@acme.com
    profile: Minimum Access - API Only Integrations
    permission_set_licenses: [Salesforce API Integration]
    permission_sets: [INT_Reports]
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


def _journals() -> list[Path]:
    return sorted(Path("plans").glob("emu.apply-*.json"))


def _changed_twice(org: Org) -> Path:
    """The walkthrough applied, then CHANGED and REPORTS: the journal of the second apply."""
    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("apply", "--auto-approve").exit_code == 0
    org.write("integration.yaml", CHANGED)
    org.write("reports.yaml", REPORTS)
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 0, second.output
    return _journals()[-1]


def _access(org: Org, name: str) -> dict[str, list[str]]:
    rows = org.sf.query("SELECT SobjectType, PermissionsRead, PermissionsCreate, "
                        "PermissionsEdit FROM ObjectPermissions WHERE Parent.Name = "
                        f"'{name}'")["records"]
    return {r["SobjectType"]: [w for w in ("Read", "Create", "Edit") if r[f"Permissions{w}"]]
            for r in rows}


def test_rollback_returns_the_org_to_what_the_apply_replaced(org: Org) -> None:
    journal = _changed_twice(org)
    made = org.run("rollback", str(journal), "--out", "plans/undo.json")
    assert made.exit_code == 0, made.output
    assert "Saved the rollback plan to plans/undo.json" in made.output
    assert "users.reports: created by the apply: deactivated, not deleted" in made.output
    assert "Left alone" not in made.output
    # an ordinary plan file: shown, then applied as any
    shown = org.run("show", "plans/undo.json")
    assert "- permission_sets.INT_Reports" in shown.output, shown.output
    applied = org.run("apply", "plans/undo.json")
    assert applied.exit_code == 0, applied.output
    assert "Converged: no changes left." in applied.output
    assert _access(org, "INT_Standard_Objects") == {"Account": ["Read", "Create", "Edit"],
                                                    "Contact": ["Read"]}
    assert org.sf.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'INT_Reports'")[
        "totalSize"] == 0
    user = org.sf.query("SELECT IsActive FROM User WHERE Username = "
                        "'reports@acme.com.integration'")["records"][0]
    assert user["IsActive"] is False
    org.write("integration.yaml", WALKTHROUGH)
    (org.config / "reports.yaml").unlink()
    again = org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_a_stale_rollback_plan_says_to_make_the_rollback_again(org: Org) -> None:
    journal = _changed_twice(org)
    assert org.run("rollback", str(journal), "--out", "plans/undo.json").exit_code == 0
    org.write("integration.yaml", WALKTHROUGH)
    refused = org.run("apply", "plans/undo.json")
    assert refused.exit_code == 1, refused.output
    assert (f"the config changed since the plan was made; run `reconciler rollback "
            f"{journal}` again") in refused.output


def test_the_journal_of_another_org_is_refused(org: Org) -> None:
    journal = _changed_twice(org)
    data = json.loads(journal.read_text())
    data["org"]["org_id"] = "00D000000000001AAA"
    journal.write_text(json.dumps(data))
    refused = org.run("rollback", str(journal))
    assert refused.exit_code == 1, refused.output
    assert (f"{journal} is the journal of an apply to org 00D000000000001AAA (emu), not to "
            "this org") in refused.output
    assert not Path("plans/emu.rollback.json").exists()


@pytest.mark.parametrize(("text", "why"), [
    ('{"format": "reconciler-journal", "format": "x"}', 'duplicate key "format"'),
    ('{"format": NaN}', "NaN is not a JSON value"),
    ("\xff", "not UTF-8 text"),
])
def test_a_file_that_is_not_a_journal_is_refused_in_one_line(org: Org, text: str,
                                                             why: str) -> None:
    Path("plans").mkdir()
    Path("plans/bad.json").write_bytes(text.encode("latin-1"))
    refused = org.run("rollback", "plans/bad.json")
    assert refused.exit_code == 1, refused.output
    assert f"plans/bad.json: not a readable journal: {why}" in refused.output


def test_what_someone_changed_since_the_apply_is_left_alone_and_listed(org: Org) -> None:
    journal = _changed_twice(org)
    sf = org.sf
    # an admin gives Account edit back by hand, and uses the set the apply created
    account = sf.query("SELECT Id FROM ObjectPermissions WHERE Parent.Name = "
                       "'INT_Standard_Objects' AND SobjectType = 'Account'")["records"][0]
    sf.ObjectPermissions.update(account["Id"], {"PermissionsEdit": True})
    reports = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'INT_Reports'")["records"][0]
    sf.ObjectPermissions.create({"ParentId": reports["Id"], "SobjectType": "Contact",
                                 "PermissionsRead": True})
    made = org.run("rollback", str(journal), "--out", "plans/undo.json")
    assert made.exit_code == 0, made.output
    left = made.output.split("Left alone (changed since the apply):\n", 1)[1]
    assert ("permission_sets.INT_Standard_Objects.objects.Account: changed since the apply "
            "(now [read, edit], the apply left [read]); left as it is") in left
    assert "permission_sets.INT_Reports: created by the apply and changed or used since" in left
    applied = org.run("apply", "plans/undo.json")
    assert applied.exit_code == 0, applied.output
    # the rest went back; what the admin did stayed
    assert _access(org, "INT_Standard_Objects") == {"Account": ["Read", "Edit"],
                                                    "Contact": ["Read"]}
    assert _access(org, "INT_Reports") == {"Account": ["Read"], "Contact": ["Read"]}


def test_a_rollback_plan_is_refused_once_its_journal_changed(org: Org) -> None:
    journal = _changed_twice(org)
    assert org.run("rollback", str(journal), "--out", "plans/undo.json").exit_code == 0
    data = json.loads(journal.read_text())
    data["replaced"]["permission_sets.INT_Standard_Objects"]["objects"]["Account"] = [
        "modify_all"]
    journal.write_text(json.dumps(data))
    writes = org.writes()
    refused = org.run("apply", "plans/undo.json")
    assert refused.exit_code == 1
    assert f"the journal {journal} changed since the rollback plan was made" in refused.output
    assert org.writes() == writes
    # a plan file is not a journal
    wrong = org.run("rollback", "plans/undo.json")
    assert wrong.exit_code == 1
    assert wrong.output.startswith("Error: plans/undo.json: not an apply journal"), wrong.output


def test_rollback_of_a_killed_apply_converges(org: Org) -> None:
    from tests.test_apply import _many_sets_config

    org.write("bulk.yaml", _many_sets_config(sets=12, users=3))
    org.emu.faults.add(kind="latency", path="composite/sobjects$", delay=0.4, times=None)
    proc = org.spawn("apply", "--auto-approve")
    entries = org.kill_apply_when(
        proc, lambda entries: any(e["status"] == "applied" for e in entries.values()))
    assert "pending" in {e["status"] for e in entries.values()}  # it really was interrupted
    time.sleep(0.6)  # the write it had sent still lands, as it would in a real org
    org.emu.faults.clear()
    bulk = "SELECT COUNT() FROM PermissionSet WHERE Name LIKE 'INT_Bulk_%'"
    assert org.sf.query(bulk)["totalSize"] > 0  # the killed apply made some
    made = org.run("rollback", str(_journals()[-1]), "--out", "plans/undo.json")
    assert made.exit_code == 0, made.output
    applied = org.run("apply", "plans/undo.json")
    assert applied.exit_code == 0, applied.output
    assert "Converged: no changes left." in applied.output
    sf = org.sf
    assert sf.query(bulk)["totalSize"] == 0
    assert sf.query("SELECT COUNT() FROM User WHERE Username LIKE 'bulk%' AND IsActive = true")[
        "totalSize"] == 0


# A member added to a group, a new group assigned, a direct assignment taken away.
GROUPS_B = (GROUPS_A.replace("permission_sets: [INT_Invoices]",
                             "permission_sets: [INT_Invoices, INT_Reports]\n  INT_More:\n"
                             "    label: More\n    permission_sets: [INT_Reports]")
            .replace("    permission_sets: [INT_Reports]\n", "")
            .replace("permission_set_groups: [INT_All]", "permission_set_groups: [INT_All, "
                                                         "INT_More]"))


def test_rollback_of_group_changes(org: Org) -> None:
    org.write("main.yaml", GROUPS_A)
    assert org.run("apply", "--auto-approve").exit_code == 0
    org.write("main.yaml", GROUPS_B)
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 0, second.output
    made = org.run("rollback", str(_journals()[-1]), "--out", "plans/undo.json")
    assert made.exit_code == 0, made.output
    applied = org.run("apply", "plans/undo.json")
    assert applied.exit_code == 0, made.output + applied.output
    sf = org.sf
    assert sf.query("SELECT COUNT() FROM PermissionSetGroup WHERE DeveloperName = "
                    "'INT_More'")["totalSize"] == 0
    members = sf.query("SELECT PermissionSet.Name FROM PermissionSetGroupComponent WHERE "
                       "PermissionSetGroup.DeveloperName = 'INT_All'")["records"]
    assert [r["PermissionSet"]["Name"] for r in members] == ["INT_Invoices"]
    org.write("main.yaml", GROUPS_A)
    again = org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
