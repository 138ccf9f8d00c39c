"""Object and field permission rules through the CLI: dependencies across objects,
Task and Event, read-only fields. Apply runs against the emulator, which refuses
what a real org refuses, so a wrong order fails the apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import Org

SEED: dict[str, Any] = {
    "custom_objects": [
        {"name": "Invoice__c", "label": "Invoice",
         "fields": {"Amount__c": "currency",
                    "Total__c": {"type": "formula", "returns": "currency"}}},
        {"name": "Invoice_Line__c", "label": "Invoice Line",
         "fields": {"Invoice__c": {"type": "masterdetail", "reference_to": "Invoice__c"}}},
    ],
    "custom_fields": {"Task": {"Channel__c": "text"}},
}
FULL = """permission_sets:
  INT_Sales:
    label: Integration - Sales
    objects:
      Contract: [read, edit, view_all]
      Account: [read, view_all]
      Invoice_Line__c: [read, create]
      Invoice__c: [read]
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def _converges(org: Org) -> None:
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def _objects(org: Org) -> dict[str, bool]:
    rows = org.sf.query("SELECT SobjectType, PermissionsViewAllRecords FROM ObjectPermissions "
                        "WHERE Parent.Name = 'INT_Sales'")["records"]
    return {r["SobjectType"]: r["PermissionsViewAllRecords"] for r in rows}


def test_dependent_access_goes_in_after_and_out_before_its_prerequisite(org: Org) -> None:
    org.write("sets.yaml", FULL)
    _converges(org)
    assert _objects(org) == {"Account": True, "Contract": True, "Invoice__c": False,
                             "Invoice_Line__c": False}
    org.write("sets.yaml", "permission_sets:\n  INT_Sales:\n    label: Integration - Sales\n")
    _converges(org)
    assert _objects(org) == {}


def test_plan_refuses_access_missing_its_prerequisite_at_the_line(org: Org) -> None:
    org.write("sets.yaml", FULL.replace("Account: [read, view_all]", "Account: [read]")
              .replace("      Invoice__c: [read]\n", ""))
    result = org.run("plan")
    assert result.exit_code == 1
    sets = org.config / "sets.yaml"
    assert (f"{sets}:5:7: view_all on Contract needs view_all on Account in the same "
            "permission set, or Salesforce refuses the row (\"depends on permission(s)\"); "
            "set Account: [read, view_all] in permission_sets.INT_Sales.objects") in result.output
    assert (f"{sets}:7:7: read, create on Invoice_Line__c needs read on Invoice__c"
            in result.output)
    assert org.writes() == 0


def test_validate_refuses_task_and_event_objects_offline(org: Org) -> None:
    org.write("sets.yaml", "permission_sets:\n  INT_Act:\n    label: Act\n    objects:\n"
                           "      Event: [read]\n")
    result = org.run("validate")
    assert result.exit_code == 1
    assert (f"{org.config / 'sets.yaml'}:5:7: permission_sets.INT_Act.objects.Event: Task and "
            "Event take no object permissions; activity access comes from the system "
            'permission EditEvent: add "EditEvent" to system_permissions') in result.output
    assert org.emu.stats()["api_calls"] == 0  # decided offline


def test_an_activity_field_converges_and_its_pair_is_one_key(org: Org) -> None:
    org.write("sets.yaml", "permission_sets:\n  INT_Act:\n    label: Act\n"
                           "    system_permissions: [EditTask]\n    fields:\n"
                           "      Task.Channel__c: [read, edit]\n")
    _converges(org)
    rows = org.sf.query("SELECT Field, PermissionsEdit FROM FieldPermissions "
                        "WHERE Parent.Name = 'INT_Act'")["records"]
    assert {r["Field"]: r["PermissionsEdit"] for r in rows} == {
        "Task.Channel__c": True, "Event.Channel__c": True}
    # Naming it through Event instead is the same field: nothing to do.
    org.write("sets.yaml", "permission_sets:\n  INT_Act:\n    label: Act\n"
                           "    system_permissions: [EditTask]\n    fields:\n"
                           "      Event.Channel__c: [read, edit]\n")
    assert org.run("plan", "--detailed-exitcode").exit_code == 0


def test_both_names_of_an_activity_field_with_different_access_are_refused(org: Org) -> None:
    org.write("sets.yaml", "permission_sets:\n  INT_Act:\n    label: Act\n    fields:\n"
                           "      Task.Channel__c: [read, edit]\n"
                           "      Event.Channel__c: [read]\n")
    result = org.run("validate")
    assert result.exit_code == 1
    assert (f"{org.config / 'sets.yaml'}:6:7: permission_sets.INT_Act.fields.Event.Channel__c: "
            "Task.Channel__c and Event.Channel__c are one activity field") in result.output


def test_plan_refuses_edit_on_a_formula_field(org: Org) -> None:
    org.write("sets.yaml", "permission_sets:\n  INT_Inv:\n    label: Inv\n    objects:\n"
                           "      Invoice__c: [read]\n    fields:\n"
                           "      Invoice__c.Total__c: [read, edit]\n")
    result = org.run("plan")
    assert result.exit_code == 1
    assert (f"{org.config / 'sets.yaml'}:7:7: field \"Invoice__c.Total__c\" is a formula "
            "field: it can be read, not edited; write Invoice__c.Total__c: [read]"
            in result.output)
    org.write("sets.yaml", "permission_sets:\n  INT_Inv:\n    label: Inv\n    objects:\n"
                           "      Invoice__c: [read]\n    fields:\n"
                           "      Invoice__c.Total__c: [read]\n")
    _converges(org)
