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


def test_rollback_returns_the_org_to_what_the_apply_replaced(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("apply", "--auto-approve").exit_code == 0
    org.write("integration.yaml", CHANGED)
    org.write("reports.yaml", REPORTS)
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 0, second.output
    journal = _journals()[-1]
    result = org.run("rollback", str(journal), "--out", "plans/undo.json")
    print(result.output)
    assert result.exit_code == 0, result.output
    applied = org.run("apply", "plans/undo.json")
    print(applied.output)
    assert applied.exit_code == 0, applied.output
    org.write("integration.yaml", WALKTHROUGH)
    (org.config / "reports.yaml").unlink()
    again = org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
