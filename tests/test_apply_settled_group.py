"""Assigning a permission set group the org has finished recalculating (Status Updated)
and this apply doesn't change needs no wait: no status queries, no waiting message.
Through the CLI against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, Org

SEED = {**INVOICE_SEED,
        "permission_sets": [{"name": "INT_Invoices", "label": "Invoices",
                             "objects": {"Invoice__c": ["read"]}}],
        "permission_set_groups": [{"name": "INT_All", "label": "All",
                                   "permission_sets": ["INT_Invoices"]}],
        "users": [{"username": "mulesoft@acme.example", "last_name": "Integration",
                   "email": "mulesoft@acme.example",
                   "profile": "Minimum Access - API Only Integrations"}]}
CONFIG = """\
permission_sets:
  INT_Invoices:
    label: Invoices
    objects:
      Invoice__c: [read]
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
    permission_set_groups: [INT_All]
"""


def test_an_updated_group_unchanged_by_the_apply_is_assigned_without_waiting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        org = Org(emu, tmp_path)
        status = org.sf.query("SELECT Status FROM PermissionSetGroup "
                              "WHERE DeveloperName = 'INT_All'")["records"][0]["Status"]
        assert status == "Updated"
        org.write("a.yaml", CONFIG)
        result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Applied 1, failed 0, skipped 0, not attempted 0 · 1 write calls, " \
           "1 records written (planned ~1 calls)\n" in result.output
    assert "waiting for permission set groups" not in result.output
