"""Drift items that are not a plan's action, and drift's notes: a set whose licence is
not the config's (Salesforce sets a licence only at creation, so apply can't fix it):
where the config writes it, what it says when either side has none, who made the set
as it is; a policy violation made in the org, at the config line that grants it; and
the notes drift keeps beside its items: what scope leaves alone, what apply would
refuse, groups the org failed to recalculate.

The org is the emulator over HTTPS; a second admin changes it by hand, as in
`tests/test_drift.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator
from tests.emulator.helpers import make_set
from tests.test_drift import CONFIG, OPS, SEED, USERNAME, Org

CUSTOM_LABEL = "    label: Integration - Custom Objects\n"
API_PSL = "Salesforce API Integration"
FIXED_AT_CREATION = ("(a license is set at creation: apply can't change it; delete the set "
                     "or give the new one another name)")


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    # The org fails to recalculate a group INT_Bundle, should a test declare one.
    seed = {**SEED, "org": {"group_recalculation": {"failing": ["INT_Bundle"]}}}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        yield org


def _report(org: Org, code: int) -> dict[str, Any]:
    result = org.run("drift", "--format", "json")
    assert result.exit_code == code, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["address"]: item for item in report["items"]}


def _by(item: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Who made the item as it is, what Setup wrote, whether it was our own apply."""
    return [(c["by"], c["display"], c["by_reconciler"]) for c in item["attribution"]["changes"]]


def _line_of(path: Path, after: str, needle: str) -> str:
    """``path:line:col`` of the first line holding ``needle`` after the one holding ``after``."""
    lines = path.read_text().splitlines()
    start = next(n for n, text in enumerate(lines) if after in text)
    number = next(n for n in range(start, len(lines)) if needle in lines[n])
    return f"{path}:{number + 1}:{lines[number].index(needle) + 1}"


def _id(sf: Salesforce, soql: str) -> str:
    return str(sf.query(soql)["records"][0]["Id"])


def _make_set_again(sf: Salesforce, license_id: str | None) -> None:
    """Delete INT_Custom_Objects (its assignment first) and make it again, by hand."""
    assignment = sf.query("SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = "
                          f"'{USERNAME}' AND PermissionSet.Name = 'INT_Custom_Objects'")
    for row in assignment["records"]:
        sf.PermissionSetAssignment.delete(row["Id"])
    sf.PermissionSet.delete(_id(sf, "SELECT Id FROM PermissionSet WHERE Name = "
                                    "'INT_Custom_Objects'"))
    sf.PermissionSet.create({"Name": "INT_Custom_Objects",
                             "Label": "Integration - Custom Objects",
                             **({"LicenseId": license_id} if license_id else {})})


def test_a_licence_the_config_adds_is_drift_at_its_line_made_by_our_own_apply(org: Org) -> None:
    config = org.config / "access.yaml"
    config.write_text(CONFIG.replace(CUSTOM_LABEL, f"{CUSTOM_LABEL}    license: {API_PSL}\n"))
    item = _items(_report(org, 3))["permission_sets.INT_Custom_Objects.license"]
    assert item["kind"] == "permission_set_license_changed"
    assert item["resource"] == "permission_sets.INT_Custom_Objects"
    assert item["summary"] == (f"license: the org has none, the config {API_PSL} "
                               + FIXED_AT_CREATION)
    assert item["config_location"] == _line_of(config, "INT_Custom_Objects", "license:")
    # The set as the org has it is the one the reconciler made, with no licence.
    ((_by_whom, display, ours),) = _by(item)
    assert (display, ours) == ("Created permission set Integration - Custom Objects: with no "
                               "license", True)


def test_a_set_made_again_by_hand_with_a_licence_names_who_and_that_creation(org: Org) -> None:
    sf = org.ops()
    psl = _id(sf, f"SELECT Id FROM PermissionSetLicense WHERE MasterLabel = '{API_PSL}'")
    _make_set_again(sf, None)  # first made again without a licence, then with one
    _make_set_again(sf, psl)
    item = _items(_report(org, 3))["permission_sets.INT_Custom_Objects.license"]
    assert item["summary"] == f"license: the org has {API_PSL}, the config none " + (
        FIXED_AT_CREATION)
    # The config writes no licence line: the item is at the set.
    config = org.config / "access.yaml"
    assert item["config_location"] == _line_of(config, "permission_sets:", "INT_Custom_Objects")
    # Only the creation with this licence made the set as it is.
    assert _by(item) == [(OPS, "Created permission set Integration - Custom Objects: with "
                               f"license {API_PSL}", False)]


def test_notes_keep_what_scope_leaves_what_apply_refuses_and_failed_groups(org: Org) -> None:
    (org.config / "groups.yaml").write_text(
        "permission_set_groups:\n  INT_Bundle:\n    label: Integration bundle\n"
        "    permission_sets: [INT_Custom_Objects]\n")
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    (org.config / "settings.yaml").write_text("settings:\n  scope: {assignments: additive}\n")
    org.widen_out_of_band()  # an extra set assigned, Delete added on Account
    config = org.config / "access.yaml"
    config.write_text(CONFIG.replace("      Invoice__c:", "      Contract: [read]\n"
                                                      "      Invoice__c:"))
    report = _report(org, 3)
    assert set(_items(report)) == {
        "permission_sets.INT_Standard_Objects.objects.Account",
        "permission_sets.INT_Custom_Objects.objects.Contract"}
    contract = _line_of(config, "INT_Custom_Objects", "Contract")
    assert report["notes"] == [
        f"users.mulesoft.permission_sets: {USERNAME} also holds Manual_Extra, not in config "
        "(scope: additive)",
        f"apply would refuse: {contract}: read on Contract needs read on Account in the same "
        "permission set, or Salesforce refuses the row (\"depends on permission(s)\"); set "
        "Account: [read] in permission_sets.INT_Custom_Objects.objects",
        "permission set group INT_Bundle: the org's last recalculation of it failed (Status "
        "Failed): its users may lack what its permission sets grant, and the org refuses new "
        "assignments of it until a recalculation succeeds (Setup > Permission Set Groups)"]


def test_a_policy_violation_is_drift_about_the_config_line_that_grants_it(org: Org) -> None:
    (org.config / "policies.yaml").write_text(
        "policies:\n  rule_sets:\n    integration-baseline:\n")
    sf = org.ops()
    sf.PermissionSet.update(_id(sf, "SELECT Id FROM PermissionSet WHERE Name = "
                                    "'INT_Custom_Objects'"), {"PermissionsViewSetup": True})
    report = _report(org, 3)
    (violation,) = (item for item in report["items"] if item["kind"] == "policy_violation")
    assert violation["address"] == f"integration-baseline.view-setup:{USERNAME}:ViewSetup"
    assert violation["severity"] == "widening"
    # The set's system permissions, where the config would turn ViewSetup on (it writes no
    # system_permissions line for this set, so the set's own line).
    assert violation["resource"] == ('permission_sets.INT_Custom_Objects.system_permissions'
                                     '["ViewSetup"]')
    assert violation["config_location"] == _line_of(org.config / "access.yaml",
                                                    "permission_sets:", "INT_Custom_Objects")
    assert violation["summary"] == (
        f"policy integration-baseline.view-setup: {USERNAME} holds ViewSetup through set "
        "INT_Custom_Objects (no View Setup and Configuration)")


def test_a_set_the_prefix_claims_but_the_config_no_longer_declares_has_no_config_line(
        org: Org) -> None:
    # The team moved the sets out of this config; its prefix still claims them.
    users = CONFIG[CONFIG.index("users:\n"):].replace(
        "    permission_sets: [INT_Standard_Objects, INT_Custom_Objects]\n", "")
    config = org.config / "access.yaml"
    config.write_text("settings:\n  scope:\n    permission_sets: {name_prefix: INT_}\n" + users)
    items = _items(_report(org, 3))
    assert {address: item["config_location"] for address, item in items.items()} == {
        "permission_sets.INT_Custom_Objects": None,
        "permission_sets.INT_Standard_Objects": None,
        "users.mulesoft.permission_sets.INT_Custom_Objects": _line_of(config, "users:",
                                                                      "mulesoft"),
        "users.mulesoft.permission_sets.INT_Standard_Objects": _line_of(config, "users:",
                                                                        "mulesoft")}


def test_an_item_is_at_the_list_entry_that_names_it_or_else_at_the_user(org: Org) -> None:
    sf = org.ops()
    make_set(sf, "Org_Reader")  # made in Setup; the config assigns it, first of the list
    extra = make_set(sf, "Manual_Extra", PermissionsManageUsers=True)
    sf.PermissionSetAssignment.create({  # assigned by hand: the config doesn't list it
        "AssigneeId": _id(sf, f"SELECT Id FROM User WHERE Username = '{USERNAME}'"),
        "PermissionSetId": extra})
    config = org.config / "access.yaml"
    config.write_text(CONFIG.replace("[INT_Standard_Objects, INT_Custom_Objects]",
                                     "[Org_Reader, INT_Standard_Objects, INT_Custom_Objects]"))
    (org.config / "settings.yaml").write_text(
        "settings:\n  scope: {assignments: additive}\n"
        "policies:\n  rule_sets:\n    integration-baseline:\n")
    items = _items(_report(org, 3))
    assert items["users.mulesoft.permission_sets.Org_Reader"]["config_location"] == (
        _line_of(config, "users:", "Org_Reader"))
    (violation,) = (item for item in items.values() if item["kind"] == "policy_violation")
    assert violation["resource"] == 'users.mulesoft.permission_sets["Manual_Extra"]'
    assert violation["config_location"] == _line_of(config, "users:", "mulesoft")


def test_an_item_is_in_the_file_that_declares_it_or_at_the_block_that_claims_it(
        org: Org) -> None:
    start = CONFIG.index("  INT_Custom_Objects:\n")
    end = CONFIG.index("users:\n")
    access, custom = org.config / "access.yaml", org.config / "custom.yaml"
    access.write_text("settings:\n  scope:\n    permission_sets: {name_prefix: INT_}\n"
                      + CONFIG[:start] + CONFIG[end:])
    custom.write_text("permission_sets:\n" + CONFIG[start:end])
    sf = org.ops()
    sf.PermissionSet.update(_id(sf, "SELECT Id FROM PermissionSet WHERE Name = "
                                    "'INT_Custom_Objects'"), {"Label": "Custom"})
    make_set(sf, "INT_Manual")  # under the prefix, declared nowhere
    items = _items(_report(org, 2))
    assert items["permission_sets.INT_Custom_Objects"]["config_location"] == (
        f"{custom}:2:3")
    # declared nowhere: at the config's block of sets, whose prefix claims it
    block = access.read_text().splitlines().index("permission_sets:") + 1
    assert items["permission_sets.INT_Manual"]["config_location"] == f"{access}:{block}:1"
