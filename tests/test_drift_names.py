"""Drift names who changed a thing when Setup's row calls it by another name: a set or
group by its label (the org's, or the config's once the org has lost it), a user by
full name, a permission set license by its label; and system permissions, which Setup
reports one row per permission.

The org is the emulator over HTTPS; a second admin changes it by hand, and Setup's rows
are the emulator's, in Salesforce's wording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator
from tests.test_drift import CONFIG, OPS, SEED, USERNAME, Org

GROUP = """\
permission_set_groups:
  INT_Bundle:
    label: Integration bundle
    permission_sets: [INT_Custom_Objects]
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        org = Org(emu, tmp_path)
        (org.config / "groups.yaml").write_text(GROUP)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        yield org


def _drift(org: Org, code: int) -> dict[str, dict[str, Any]]:
    result: Result = org.run("drift", "--format", "json")
    assert result.exit_code == code, result.output
    return {item["address"]: item for item in json.loads(result.stdout)["items"]}


def _by(item: dict[str, Any]) -> list[tuple[str, str]]:
    """Who changed the item, and what Setup wrote, newest first."""
    return [(c["by"], c["display"]) for c in item["attribution"]["changes"]]


def _id(sf: Salesforce, soql: str) -> str:
    return str(sf.query(soql)["records"][0]["Id"])


def _assignment(sf: Salesforce, set_name: str) -> str:
    return _id(sf, "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = "
                   f"'{USERNAME}' AND PermissionSet.Name = '{set_name}'")


def test_system_permissions_turned_on_and_off_in_setup(org: Org) -> None:
    sf = org.ops()
    standard = _id(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Standard_Objects'")
    custom = _id(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Custom_Objects'")
    sf.PermissionSet.update(standard, {"PermissionsApiEnabled": False})
    sf.PermissionSet.update(custom, {"PermissionsViewSetup": True})

    items = _drift(org, 3)
    lost = items["permission_sets.INT_Standard_Objects.system_permissions"]
    assert (lost["severity"], lost["summary"]) == (
        "narrowing", "system permissions: the org lacks ApiEnabled")
    assert _by(lost) == [(OPS, "Permission set Integration - Standard Objects: disabled "
                               "system permission ApiEnabled")]
    # each item names the config line it comes from
    lines = (org.config / "access.yaml").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "system_permissions" in text)
    assert lost["config_location"] == f"{org.config / 'access.yaml'}:{line}:5"
    gained = items["permission_sets.INT_Custom_Objects.system_permissions"]
    assert (gained["severity"], gained["summary"]) == (
        "widening", "system permissions: the org also enables ViewSetup")
    assert _by(gained) == [(OPS, "Permission set Integration - Custom Objects: enabled "
                                 "system permission ViewSetup")]


def test_a_row_that_turned_a_permission_the_other_way_is_not_evidence(org: Org) -> None:
    sf = org.ops()
    custom = _id(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Custom_Objects'")
    sf.PermissionSet.update(custom, {"PermissionsViewSetup": True})
    sf.PermissionSet.update(custom, {"PermissionsViewSetup": False})
    sf.PermissionSet.update(custom, {"PermissionsViewSetup": True, "PermissionsRunReports": True})
    item = _drift(org, 3)["permission_sets.INT_Custom_Objects.system_permissions"]
    assert item["summary"] == "system permissions: the org also enables RunReports, ViewSetup"
    assert sorted(_by(item)) == [(OPS, "Permission set Integration - Custom Objects: enabled "
                                       f"system permission {name}")
                                 for name in ("RunReports", "ViewSetup", "ViewSetup")]


def test_permissions_changed_both_ways_on_one_set(org: Org) -> None:
    config = org.config / "access.yaml"
    config.write_text(config.read_text().replace(
        "    label: Integration - Custom Objects\n",
        "    label: Integration - Custom Objects\n"
        "    system_permissions: [RunReports, EditTask]\n"))
    assert org.run("apply", "--auto-approve").exit_code == 0
    sf = org.ops()
    custom = _id(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Custom_Objects'")
    sf.PermissionSet.update(custom, {"PermissionsRunReports": False, "PermissionsEditTask": False,
                                     "PermissionsViewSetup": True})
    item = _drift(org, 3)["permission_sets.INT_Custom_Objects.system_permissions"]
    assert item["summary"] == ("system permissions: the org also enables ViewSetup; "
                               "the org lacks EditTask, RunReports")
    assert sorted(display.split(": ", 1)[1] for _, display in _by(item)) == [
        "disabled system permission EditTask", "disabled system permission RunReports",
        "enabled system permission ViewSetup"]


def test_two_attributes_changed_are_both_said(org: Org) -> None:
    sf = org.ops()
    custom = _id(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Custom_Objects'")
    sf.PermissionSet.update(custom, {"Label": "Custom", "Description": "by hand"})
    item = _drift(org, 2)["permission_sets.INT_Custom_Objects"]
    assert item["summary"] == ("description: the org has 'by hand', the config none; "
                               "label: the org has 'Custom', the config "
                               "'Integration - Custom Objects'")


def test_a_set_deleted_in_setup_is_known_by_its_config_label(org: Org) -> None:
    sf = org.ops()
    sf.PermissionSetGroupComponent.delete(_id(
        sf, "SELECT Id FROM PermissionSetGroupComponent WHERE PermissionSet.Name = "
            "'INT_Custom_Objects'"))
    sf.PermissionSetAssignment.delete(_assignment(sf, "INT_Custom_Objects"))
    sf.PermissionSet.delete(_id(sf, "SELECT Id FROM PermissionSet WHERE Name = "
                                    "'INT_Custom_Objects'"))
    item = _drift(org, 2)["permission_sets.INT_Custom_Objects"]
    assert item["summary"] == "the org lacks this permission set"
    assert _by(item) == [(OPS, "Deleted permission set Integration - Custom Objects")]


def test_a_group_deleted_in_setup_is_known_by_its_config_label(org: Org) -> None:
    sf = org.ops()
    sf.PermissionSetGroup.delete(_id(sf, "SELECT Id FROM PermissionSetGroup WHERE "
                                         "DeveloperName = 'INT_Bundle'"))
    item = _drift(org, 2)["permission_set_groups.INT_Bundle"]
    assert _by(item) == [(OPS, "Deleted permission set group Integration bundle")]


def test_a_renamed_group_is_known_by_its_label_in_the_org(org: Org) -> None:
    sf = org.ops()
    group = _id(sf, "SELECT Id FROM PermissionSetGroup WHERE DeveloperName = 'INT_Bundle'")
    standard = _id(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Standard_Objects'")
    sf.PermissionSetGroup.update(group, {"MasterLabel": "Bundle by hand"})
    sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                           "PermissionSetId": standard})
    items = _drift(org, 3)
    added = next(item for address, item in items.items()
                 if address.startswith("permission_set_groups.INT_Bundle.permission_sets"))
    assert [by for by, _ in _by(added)] == [OPS]
    assert _by(added)[0][1].startswith("Permission set group Bundle by hand: added "
                                       "permission set")


def test_a_licence_removed_in_setup_is_known_by_its_label_and_the_users_full_name(
        org: Org) -> None:
    sf = org.ops()
    sf.PermissionSetAssignment.delete(_assignment(sf, "INT_Standard_Objects"))
    sf.PermissionSetLicenseAssign.delete(_id(
        sf, "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = "
            f"'{USERNAME}'"))
    # the config names the licence by its API name; Setup writes its label
    config = org.config / "access.yaml"
    config.write_text(config.read_text().replace(
        "permission_set_licenses: [Salesforce API Integration]",
        "permission_set_licenses: [SalesforceAPIIntegrationPsl]"))
    items = _drift(org, 2)
    item = next(item for address, item in items.items()
                if address.startswith("users.mulesoft.permission_set_licenses"))
    assert _by(item) == [(OPS, "Permission set license Salesforce API Integration: "
                               "unassigned from user MuleSoft Integration")]


def test_a_declared_user_the_org_lacks_is_drift_not_a_crash(org: Org) -> None:
    (org.config / "second.yaml").write_text(
        CONFIG[CONFIG.index("users:\n"):]
        .replace("  mulesoft:\n", "  boomi:\n")
        .replace(USERNAME, "boomi@acme.com.integration"))
    items = _drift(org, 2)
    assert items["users.boomi"]["summary"] == "the org lacks this user"
    assert items["users.boomi"]["attribution"]["status"] == "unknown"
