"""`apply` and permission set group recalculation, and refusals of the running user's
permissions: through the CLI, against the emulator over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, Org

CONFIG = """\
permission_sets:
  INT_Invoices:
    label: Invoices
    objects:
      Invoice__c: [read]
  INT_Reports:
    label: Reports
    objects:
      Invoice__c: [read, edit]

permission_set_groups:
  INT_All:
    label: All
    permission_sets: [INT_Invoices]

users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_Reports]
    permission_set_groups: [INT_All]
"""


def seeded(**recalculation: Any) -> dict[str, Any]:
    return {**INVOICE_SEED, "org": {"group_recalculation": recalculation}}


def assigned_groups(org: Org) -> list[str]:
    return [r["PermissionSetGroup"]["DeveloperName"] for r in org.sf.query(
        "SELECT PermissionSetGroup.DeveloperName FROM PermissionSetAssignment WHERE "
        "Assignee.Username = 'mulesoft@acme.example' AND PermissionSetGroupId != null"
    )["records"]]


def reported_at(output: str, org: Org, line_text: str, report: str) -> bool:
    """``report`` is printed at ``file:line:col`` of the config line holding ``line_text``."""
    path = org.config / "main.yaml"
    number = next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                  if line_text in line)
    return re.search(re.escape(f"{path}:{number}:") + r"\d+: " + re.escape(report),
                     output) is not None


def test_apply_waits_for_a_changed_group_before_assigning_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # The org refuses to assign a group while it is Updating: only waiting succeeds.
    with start_emulator(tmp_path / "data", seeded(seconds=1.2)) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", CONFIG)
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "Applied 9, failed 0, skipped 0" in result.output
        assert "waiting for permission set groups to recalculate" in result.output
        checks = re.search(r"(\d+) group status checks?", result.output)
        assert checks is not None and int(checks.group(1)) >= 2, result.output
        assert "Converged: no changes left." in result.output
        assert assigned_groups(org) == ["INT_All"]


def test_a_failed_recalculation_fails_the_group_assignment_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", seeded(failing=["INT_All"])) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", CONFIG)
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 1, result.output
        assert "Applied 8, failed 1, skipped 0" in result.output
        assert reported_at(result.output, org, "permission_set_groups: [INT_All]",
                           "users.mulesoft.permission_set_groups.INT_All: failed: "), result.output
        assert ("the org's recalculation of permission set group INT_All failed (Status "
                "Failed)") in result.output
        assert assigned_groups(org) == []
        # The rest went in; the next plan has only the assignment left, and says why.
        plan = org.run("plan")
        assert plan.exit_code == 0, plan.output
        assert "1 to add, 0 to change, 0 to remove" in plan.output
        assert ("permission set group INT_All: the org's last recalculation of it failed "
                "(Status Failed)") in plan.output
        drift = org.run("drift")
        assert "permission set group INT_All: the org's last recalculation" in drift.output


def test_a_group_that_takes_too_long_is_reported_and_a_rerun_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", seeded(seconds=3)) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", CONFIG)
        result = org.run("apply", "--auto-approve", "--group-wait", "0.3")
        assert result.exit_code == 1, result.output
        assert ("permission set group INT_All was still being recalculated (Status Updating) "
                "after 0.3 s; it was not assigned") in result.output
        assert assigned_groups(org) == []
        plan = org.run("plan")
        assert "the org is still recalculating it (Status Updating)" in plan.output
        rerun = org.run("apply", "--auto-approve")
        assert rerun.exit_code == 0, rerun.output
        assert assigned_groups(org) == ["INT_All"]


# An org whose reconciler runs as a user holding only Assign Permission Sets.
ASSIGNER_SEED: dict[str, Any] = {
    **INVOICE_SEED,
    "connected_apps": [{"name": "Assigner", "client_id": "assigner-id",
                        "client_secret": "assigner-secret", "run_as": "assigner@acme.example"}],
    "permission_sets": [{"name": "Assigning",
                         "system_permissions": ["ApiEnabled", "AssignPermissionSets"]}],
    "users": [{"username": "assigner@acme.example", "last_name": "Assigner",
               "profile": "Minimum Access - Salesforce", "permission_sets": ["Assigning"]}]}


def as_assigner(emu: Any, root: Path) -> Org:
    return Org(emu, root, auth={"flow": "client_credentials", "client_id": "assigner-id",
                                "client_secret": "${env.ASSIGNER_SECRET}"},
               env={"ASSIGNER_SECRET": "assigner-secret"})


def test_a_running_user_without_the_permission_is_refused_at_the_config_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", ASSIGNER_SEED) as emu:
        org = as_assigner(emu, tmp_path)
        org.write("main.yaml", "permission_sets:\n  INT_New:\n    label: New\n")
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 1, result.output
        assert reported_at(result.output, org, "INT_New:",
                           "permission_sets.INT_New: failed: "), result.output
        assert ("INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id "
                "(the org refused the running user assigner@acme.example the right to create "
                "PermissionSet records") in result.output


def test_a_member_set_changed_in_the_same_layer_is_waited_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # Nothing orders the set's new access before the group's assignment: they share a
    # layer, and the org would refuse the assignment while the group recalculates.
    seed = {**seeded(seconds=1.2),
            "permission_sets": [{"name": "INT_Invoices", "label": "Invoices",
                                 "objects": {"Invoice__c": ["read"]}},
                                {"name": "INT_Reports", "label": "Reports",
                                 "objects": {"Invoice__c": ["read", "edit"]}}],
            "permission_set_groups": [{"name": "INT_All", "label": "All",
                                       "permission_sets": ["INT_Invoices"]}],
            "users": [{"username": "mulesoft@acme.example", "last_name": "Integration",
                       "email": "mulesoft@acme.example",
                       "profile": "Minimum Access - API Only Integrations",
                       "permission_sets": ["INT_Reports"]}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", CONFIG.replace("      Invoice__c: [read]\n",
                                              "      Invoice__c: [read, edit]\n", 1))
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "Applied 2, failed 0, skipped 0" in result.output
        assert "group status check" in result.output
        assert assigned_groups(org) == ["INT_All"]


def test_drift_without_view_setup_reports_and_says_nothing_is_attributed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", ASSIGNER_SEED) as emu:
        org = as_assigner(emu, tmp_path)
        org.write("main.yaml", "permission_sets:\n  INT_New:\n    label: New\n")
        result = org.run("drift")
        assert result.exit_code == 2, result.output
        assert ("the running user assigner@acme.example can't read the Setup Audit Trail (it "
                "needs the View Setup and Configuration permission)") in result.output
