"""A group with a muting permission set, end to end: `access` leaves out what it mutes,
and `plan`, `apply` and `drift` leave it alone (the config doesn't claim it).

The muting set is made out of band through simple-salesforce, as an admin would in
Setup; everything the reconciler does goes through the CLI against the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.emulator.helpers import grant, one
from tests.orgdir import INVOICE_SEED, Org

USER = "mulesoft@acme.example"
OTHER = "reader@acme.example"
CONFIG = """\
permission_sets:
  INT_Invoices:
    label: Invoices
    system_permissions: [ApiEnabled, RunReports]
    objects:
      Invoice__c: [create, edit]
      Account: [edit]
    fields:
      Invoice__c.Amount__c: [edit]
  INT_Readers:
    label: Readers
    objects:
      Invoice__c: [read]
      Account: [edit]
    fields:
      Invoice__c.Amount__c: [read]
permission_set_groups:
  INT_Bundle:
    label: Bundle
    permission_sets: [INT_Invoices, INT_Readers]
users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - Salesforce
    permission_set_groups: [INT_Bundle]
  reader:
    username: reader@acme.example
    last_name: Reader
    email: reader@acme.example
    profile: Minimum Access - Salesforce
    permission_sets: [INT_Invoices]
"""
INVOICES = {"group": "INT_Bundle", "permission_set": "INT_Invoices"}
READERS = {"group": "INT_Bundle", "permission_set": "INT_Readers"}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    root = tmp_path_factory.mktemp("muting")
    with start_emulator(root / "data", INVOICE_SEED) as emu:
        org = Org(emu, root)
        org.write("main.yaml", CONFIG)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        # The group's muting set mutes an object right, a field right and a system
        # permission that both of its sets, or one of them, grant.
        muting = org.sf.MutingPermissionSet.create({
            "DeveloperName": "INT_Bundle_Muted", "MasterLabel": "Bundle Muted",
            "PermissionsRunReports": True})["id"]
        grant(org.sf, muting, "Invoice__c", Edit=True)
        org.sf.FieldPermissions.create({"ParentId": muting, "SobjectType": "Invoice__c",
                                        "Field": "Invoice__c.Amount__c",
                                        "PermissionsEdit": True})
        group = one(org.sf, "SELECT Id FROM PermissionSetGroup WHERE DeveloperName = "
                            "'INT_Bundle'")["Id"]
        org.sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                                   "PermissionSetId": muting})
        yield org


def _json(org: Org, *args: str) -> dict[str, Any]:
    result = org.run("access", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def _muting_component(org: Org) -> list[str]:
    rows = org.sf.query("SELECT PermissionSetId FROM PermissionSetGroupComponent WHERE "
                        "PermissionSetGroup.DeveloperName = 'INT_Bundle'")["records"]
    return sorted(r["PermissionSetId"][:3] for r in rows)


def test_access_leaves_out_what_the_groups_muting_set_mutes(org: Org) -> None:
    data = _json(org, USER)
    # Edit on Invoice__c is muted; read and create stay, each with its paths.
    assert data["objects"]["Invoice__c"] == {"read": [INVOICES, READERS],
                                             "create": [INVOICES]}
    # Account's edit is muted nowhere.
    assert data["objects"]["Account"] == {"read": [INVOICES, READERS],
                                          "edit": [INVOICES, READERS]}
    assert data["fields"]["Invoice__c.Amount__c"] == {"read": [INVOICES, READERS]}
    assert data["system_permissions"] == {"ApiEnabled": [INVOICES]}
    text = org.run("access", USER, "--object", "Invoice__c")
    assert "  Invoice__c: read create" in text.output.splitlines(), text.output


def test_who_omits_the_user_for_a_muted_right_but_not_a_set_held_outside_the_group(
        org: Org) -> None:
    for right in ("Invoice__c:edit", "Invoice__c.Amount__c:edit", "RunReports"):
        holders = _json(org, "--who", right)["holders"]
        assert [(h["user"], h["via"]) for h in holders] == [
            (OTHER, [{"permission_set": "INT_Invoices"}])], right
    create = _json(org, "--who", "Invoice__c:create")["holders"]
    assert [h["user"] for h in create] == [USER, OTHER]


def test_plan_apply_and_drift_leave_the_muting_set_alone(org: Org) -> None:
    plan = org.run("plan")
    assert plan.exit_code == 0, plan.output
    assert "No changes. The org matches the config." in plan.output
    assert "INT_Bundle_Muted" not in plan.output
    drift = org.run("drift")
    assert drift.exit_code == 0, drift.output
    assert "No drift in org emu" in drift.output
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert _muting_component(org) == ["0PS", "0PS", "0QM"]
    assert one(org.sf, "SELECT PermissionsRunReports FROM MutingPermissionSet WHERE "
                       "DeveloperName = 'INT_Bundle_Muted'")["PermissionsRunReports"] is True
