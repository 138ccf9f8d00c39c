"""Setup-entity access (connected apps, Apex classes…) through the CLI: the integration
walkthrough with its connected app and its Apex REST class applies in one go and
converges, every kind converges, access granted out of band is drift, and a name the
org lacks is told at the config line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org

APP = "MuleSoft Orders"
SEED: dict[str, Any] = {
    **INVOICE_SEED,
    "connected_apps": [{"name": APP, "client_id": "mulesoft-orders"},
                       {"name": "Data Export", "admin_approved_users_only": False}],
    "apex_classes": ["OrdersRestResource", "acme__InvoiceApi"],
    "custom_permissions": ["Bypass_Validation"],
    "visualforce_pages": [{"name": "OrderSummary", "label": "Order Summary"}],
    "apps": [{"name": "Orders_Console", "label": "Orders Console"}],
}
# The walkthrough's standard-object set also gives access to the integration's app
# and to the Apex REST class it calls.
WITH_APP = WALKTHROUGH.replace(
    "    system_permissions: [ApiEnabled]\n",
    f"    system_permissions: [ApiEnabled]\n    connected_apps: [{APP}]\n"
    "    apex_classes: [OrdersRestResource]\n", 1)
EVERY_KIND = """permission_sets:
  INT_Api:
    label: Integration - API
    apex_classes: [OrdersRestResource, acme__InvoiceApi]
    custom_permissions: [Bypass_Validation]
    visualforce_pages: [OrderSummary]
    apps: [Orders_Console]
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def _access(org: Org, set_name: str) -> set[tuple[str, str]]:
    """(SetupEntityType, entity Id) of a set's access rows, as the org holds them."""
    rows = org.sf.query("SELECT SetupEntityId, SetupEntityType FROM SetupEntityAccess "
                        f"WHERE Parent.Name = '{set_name}'")["records"]
    return {(r["SetupEntityType"], r["SetupEntityId"]) for r in rows}


def _app_id(org: Org, name: str, sobject: str = "ConnectedApplication") -> str:
    rows = org.sf.query(f"SELECT Id FROM {sobject} WHERE Name = '{name}'")
    return str(rows["records"][0]["Id"])


def test_walkthrough_with_its_connected_app_applies_in_one_go_and_converges(org: Org) -> None:
    assert WITH_APP != WALKTHROUGH
    org.write("integration.yaml", WITH_APP)
    planned = org.run("plan", "--json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    addresses = [a["address"] for a in plan["actions"]]
    assert "permission_sets.INT_Standard_Objects.connected_apps." + APP in addresses
    assert "permission_sets.INT_Standard_Objects.apex_classes.OrdersRestResource" in addresses
    steps = " ".join(s["text"] for s in plan["manual_steps"])
    # The grant is the plan's now; Run As stays manual and names the app and its page.
    assert "give one of this user's permission sets access" not in steps
    assert "list its connected app" not in steps
    assert f'"Run As" user of "{APP}"' in steps
    assert f"Setup > App Manager > {APP} > Manage > Edit Policies" in steps
    # The app pre-authorizes its users (the org says so): no step about that.
    assert "Permitted Users" not in steps

    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Converged" in applied.output
    assert _access(org, "INT_Standard_Objects") == {
        ("ConnectedApplication", _app_id(org, APP)),
        ("ApexClass", _app_id(org, "OrdersRestResource", "ApexClass"))}
    again = org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output


def test_every_kind_is_granted_then_revoked_and_converges(org: Org) -> None:
    org.write("sets.yaml", EVERY_KIND)
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert {t for t, _ in _access(org, "INT_Api")} == {
        "ApexClass", "CustomPermission", "ApexPage", "TabSet"}
    assert len(_access(org, "INT_Api")) == 5
    assert org.run("plan", "--detailed-exitcode").exit_code == 0
    org.write("sets.yaml", EVERY_KIND.replace(", acme__InvoiceApi", "").replace(
        "    apps: [Orders_Console]\n", ""))
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert {t for t, _ in _access(org, "INT_Api")} == {"ApexClass", "CustomPermission",
                                                       "ApexPage"}
    assert len(_access(org, "INT_Api")) == 3
    assert org.run("plan", "--detailed-exitcode").exit_code == 0


def test_access_granted_in_the_org_is_widening_drift_then_revoked(org: Org) -> None:
    org.write("integration.yaml", WITH_APP)
    assert org.run("apply", "--auto-approve").exit_code == 0
    set_id = org.sf.query("SELECT Id FROM PermissionSet WHERE Name = 'INT_Standard_Objects'"
                          )["records"][0]["Id"]
    org.sf.SetupEntityAccess.create({"ParentId": set_id,
                                     "SetupEntityId": _app_id(org, "Data Export")})

    drift = org.run("drift", "--format", "json")
    assert drift.exit_code == 3, drift.output  # access-widening drift
    report = json.loads(drift.output)
    item = next(i for i in report["items"]
                if i["address"].endswith("connected_apps.Data Export"))
    assert item["severity"] == "widening"
    # The audit row of the out-of-band grant explains it (the admin made it).
    assert item["attribution"]["status"] == "found", item
    assert item["attribution"]["changes"][0]["by"] == "admin@reconciler.local"

    assert org.run("apply", "--auto-approve").exit_code == 0
    assert ("ConnectedApplication", _app_id(org, "Data Export")) not in _access(
        org, "INT_Standard_Objects")


def test_a_misspelt_connected_app_is_refused_at_its_line(org: Org) -> None:
    text = WITH_APP.replace(f"[{APP}]", "[MuleSoft Order]")
    org.write("integration.yaml", text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "MuleSoft Order]" in t)
    col = text.splitlines()[line - 1].index("MuleSoft Order") + 1
    planned = org.run("plan")
    assert planned.exit_code == 1
    assert (f'integration.yaml:{line}:{col}: connected app "MuleSoft Order" does not exist '
            f'in the org; did you mean "{APP}"?') in planned.output


def test_a_self_authorizing_app_is_one_manual_step_with_its_setup_path(org: Org) -> None:
    second = WITH_APP.replace(f"[{APP}]", f"[{APP}, Data Export]").replace(
        "    objects:\n      Invoice__c", "    connected_apps: [data export]\n"
        "    objects:\n      Invoice__c", 1)
    org.write("integration.yaml", second)
    planned = org.run("plan", "--json")
    assert planned.exit_code == 0, planned.output
    steps = [s for s in json.loads(planned.output)["manual_steps"]
             if "Permitted Users" in s["text"]]
    assert len(steps) == 1, steps  # two sets give it, the other app pre-authorizes: once
    assert ('"All users may self-authorize"; set it to "Admin approved users are '
            'pre-authorized" (Setup > App Manager > Data Export > Manage > Edit Policies > '
            "OAuth Policies)") in steps[0]["text"]


def test_a_group_is_assigned_only_once_its_sets_new_access_is_recalculated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # The org refuses to assign a group while it is Updating: only waiting succeeds.
    seed = {**SEED, "org": {"group_recalculation": {"seconds": 1.0}},
            "permission_sets": [{"name": "INT_Api", "label": "Integration - API"}],
            "permission_set_groups": [{"name": "INT_All", "label": "Integration - All",
                                       "permission_sets": ["INT_Api"]}],
            "users": [{"username": "mulesoft@acme.example", "last_name": "Integration",
                       "profile": "Minimum Access - API Only Integrations"}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", EVERY_KIND + """
permission_set_groups:
  INT_All:
    label: Integration - All
    permission_sets: [INT_Api]

users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_set_groups: [INT_All]
""")
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "waiting for permission set groups to recalculate" in result.output
        assert "Converged: no changes left." in result.output


def test_ignore_changes_leaves_one_list_alone(org: Org) -> None:
    org.write("sets.yaml", EVERY_KIND)
    assert org.run("apply", "--auto-approve").exit_code == 0
    # The org's extra class stays while the config ignores apex_classes; the page goes.
    org.write("sets.yaml", EVERY_KIND.replace(", acme__InvoiceApi", "").replace(
        "    visualforce_pages: [OrderSummary]\n", "") + (
        "    lifecycle: {ignore_changes: [apex_classes]}\n"))
    planned = org.run("plan", "--json")
    assert planned.exit_code == 0, planned.output
    assert [a["address"] for a in json.loads(planned.output)["actions"]] == [
        "permission_sets.INT_Api.visualforce_pages.OrderSummary"]


def test_a_grant_salesforce_refuses_is_told_at_its_line_and_a_rerun_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {**SEED, "permission_sets": [{"name": "INT_Api", "label": "Integration - API"}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("sets.yaml", EVERY_KIND)
        # The set exists: the grants are the apply's only write call, and the org
        # refuses it (as it would a licence that can't hold the access).
        emu.faults.add(kind="error", method="POST", path="composite/sobjects", status=400,
                       error_code="FIELD_INTEGRITY_EXCEPTION",
                       message="The user license doesn't allow this access")
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 1, result.output
        lines = (org.config / "sets.yaml").read_text().splitlines()
        line = next(n for n, t in enumerate(lines, 1) if "custom_permissions:" in t)
        told = next(t for t in result.output.splitlines()
                    if "custom_permissions.Bypass_Validation: failed" in t)
        assert told.startswith(f"{org.config / 'sets.yaml'}:{line}:"), result.output
        assert "The user license doesn't allow this access" in told
        assert _access(org, "INT_Api") == set()
        again = org.run("apply", "--auto-approve")
        assert again.exit_code == 0, again.output
        assert len(_access(org, "INT_Api")) == 5


def test_access_planned_shows_the_setup_entities_a_plan_grants(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH)
    assert org.run("apply", "--auto-approve").exit_code == 0
    org.write("integration.yaml", WITH_APP)
    saved = org.run("plan", "--out", str(org.root / "app.plan.json"))
    assert saved.exit_code == 0, saved.output
    right = "apex_classes:OrdersRestResource"
    now = org.run("access", "--who", right, "--json")
    planned = org.run("access", "--who", right, "--json", "--planned",
                      str(org.root / "app.plan.json"))
    assert now.exit_code == 0 and planned.exit_code == 0, planned.output
    assert json.loads(now.output)["holders"] == []
    assert [h["user"] for h in json.loads(planned.output)["holders"]] == [
        "mulesoft@acme.com.integration"]
