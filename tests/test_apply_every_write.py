"""Every kind of write apply makes lands in the org as the config says: one apply that
creates, changes and deletes sets, their access, groups, users and assignments, read
back through simple-salesforce and planned again, through the CLI against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator
from tests.emulator.helpers import one
from tests.orgdir import INVOICE_SEED, Org

PSL = "Salesforce API Integration"
INTEGRATION = "Minimum Access - API Only Integrations"
SEED: dict[str, Any] = {
    **INVOICE_SEED,
    "connected_apps": [{"name": "Orders Sync"}, {"name": "Helpdesk App"}],
    "permission_sets": [
        {"name": "INT_Keep", "label": "Keep (old)", "description": "Made by hand",
         "system_permissions": ["ApiEnabled", "RunReports"],
         "objects": {"Invoice__c": ["read"], "Contact": ["read"]},
         "fields": {"Invoice__c.Amount__c": ["read"]},
         "connected_apps": ["Helpdesk App"]},
        {"name": "INT_Member", "label": "Member"},
        {"name": "INT_Gone", "label": "Gone", "objects": {"Invoice__c": ["read", "edit"]},
         "fields": {"Invoice__c.Amount__c": ["read"]}},
    ],
    "permission_set_groups": [
        {"name": "INT_Bundle", "label": "Bundle (old)", "permission_sets": ["INT_Member"]},
        {"name": "INT_Old_Bundle", "label": "Old bundle", "permission_sets": []},
    ],
    "users": [
        {"username": "keep@acme.example", "first_name": "Kep", "last_name": "Integration",
         "email": "old@acme.example", "profile": "Standard User",
         "permission_sets": ["INT_Member"], "permission_set_groups": ["INT_Old_Bundle"]},
        {"username": "leaver@acme.example", "last_name": "Leaver",
         "email": "leaver@acme.example", "profile": INTEGRATION,
         "permission_set_licenses": [PSL]},
        {"username": "back@acme.example", "last_name": "Back", "email": "back@acme.example",
         "profile": INTEGRATION, "active": False},
    ],
}
CONFIG = f"""\
permission_sets:
  INT_Keep:
    label: Keep
    description: Kept by the config
    system_permissions: [ApiEnabled, ViewSetup]
    objects:
      Invoice__c: [read, create, edit]
      Account: [read]
    fields:
      Invoice__c.Amount__c: [read, edit]
    connected_apps: [Orders Sync]
  INT_Member:
    label: Member
  INT_New:
    label: New
    description: Made by the config
    license: {PSL}
    system_permissions: [ApiEnabled]
    objects:
      Invoice__c: [read]
    fields:
      Invoice__c.Amount__c: [read]
    connected_apps: [Helpdesk App]
  INT_Full:
    label: Full
    license: Salesforce
  INT_Gone:
    absent: true
permission_set_groups:
  INT_Bundle:
    label: Bundle
    description: The config's bundle
    permission_sets: [INT_Keep]
  INT_Fresh:
    label: Fresh
    permission_sets: [INT_Member]
  INT_Old_Bundle:
    absent: true
users:
  keep:
    username: keep@acme.example
    first_name: Keep
    last_name: Integration
    email: keep@acme.example
    profile: System Administrator
    permission_set_groups: [INT_Bundle]
  leaver:
    username: leaver@acme.example
    last_name: Leaver
    email: leaver@acme.example
    profile: {INTEGRATION}
    active: false
  back:
    username: back@acme.example
    last_name: Back
    email: back@acme.example
    profile: {INTEGRATION}
    permission_set_licenses: [{PSL}]
    permission_sets: [INT_New]
    permission_set_groups: [INT_Fresh]
  new:
    username: new@acme.example
    first_name: Newton
    last_name: Comer
    email: new@acme.example
    alias: newc
    time_zone: Europe/London
    profile: {INTEGRATION}
    active: false
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def _names(sf: Salesforce, soql: str, field: str) -> list[str]:
    return sorted(str(r[field]) for r in sf.query_all(soql)["records"])


def test_one_apply_makes_every_kind_of_write_and_the_org_reads_back_as_the_config(
        org: Org) -> None:
    org.write("access.yaml", CONFIG)
    result = org.run("apply", "--auto-approve", "--group-wait", "30")
    assert result.exit_code == 0, result.output
    assert "failed 0, skipped 0, not attempted 0" in result.output
    assert "Converged: no changes left." in result.output
    # The journal keeps the whole of the set it deleted, for a rollback to make it again.
    journal = org.journal()
    assert journal is not None
    gone = journal["replaced"]["permission_sets.INT_Gone"]
    assert (gone["objects"], gone["fields"]) == ({"Invoice__c": ["read", "edit"]},
                                                 {"Invoice__c.Amount__c": ["read"]})
    # ... and what it replaced of every set, group and user it read.
    replaced = journal["replaced"]
    assert (replaced["permission_sets.INT_Keep"]["label"],
            replaced["permission_set_groups.INT_Bundle"]["label"],
            replaced["users:keep@acme.example"]["email"]) == (
        "Keep (old)", "Bundle (old)", "old@acme.example")
    # The group assignment waited for the groups this apply changed, and said so.
    assert "waiting for permission set groups to recalculate: 29/32 actions done" in \
        result.output
    sf = org.sf
    keep = one(sf, "SELECT Id, Label, Description, PermissionsApiEnabled, "
                   "PermissionsViewSetup, PermissionsRunReports FROM PermissionSet "
                   "WHERE Name = 'INT_Keep'")
    assert (keep["Label"], keep["Description"], keep["PermissionsApiEnabled"],
            keep["PermissionsViewSetup"], keep["PermissionsRunReports"]) == (
        "Keep", "Kept by the config", True, True, False)
    new = one(sf, "SELECT Label, Description, LicenseId, PermissionsApiEnabled "
                  "FROM PermissionSet WHERE Name = 'INT_New'")
    psl = one(sf, f"SELECT Id FROM PermissionSetLicense WHERE MasterLabel = '{PSL}'")
    assert (new["Label"], new["Description"], new["LicenseId"], new["PermissionsApiEnabled"]
            ) == ("New", "Made by the config", psl["Id"], True)
    full = one(sf, "SELECT LicenseId FROM PermissionSet WHERE Name = 'INT_Full'")
    licence = one(sf, "SELECT Id FROM UserLicense WHERE Name = 'Salesforce'")
    assert full["LicenseId"] == licence["Id"]
    objects = {(r["Parent"]["Name"], r["SobjectType"]): (
        r["PermissionsRead"], r["PermissionsCreate"], r["PermissionsEdit"])
        for r in sf.query_all("SELECT Parent.Name, SobjectType, PermissionsRead, "
                              "PermissionsCreate, PermissionsEdit FROM ObjectPermissions "
                              "WHERE Parent.Name LIKE 'INT_%'")["records"]}
    assert objects == {("INT_Keep", "Invoice__c"): (True, True, True),
                       ("INT_Keep", "Account"): (True, False, False),
                       ("INT_New", "Invoice__c"): (True, False, False)}
    fields = {(r["Parent"]["Name"], r["Field"]): (r["PermissionsRead"], r["PermissionsEdit"])
              for r in sf.query_all("SELECT Parent.Name, Field, PermissionsRead, "
                                    "PermissionsEdit FROM FieldPermissions "
                                    "WHERE Parent.Name LIKE 'INT_%'")["records"]}
    assert fields == {("INT_Keep", "Invoice__c.Amount__c"): (True, True),
                      ("INT_New", "Invoice__c.Amount__c"): (True, False)}
    apps = sorted((r["Parent"]["Name"], r["SetupEntityType"]) for r in sf.query_all(
        "SELECT Parent.Name, SetupEntityType FROM SetupEntityAccess "
        "WHERE Parent.Name LIKE 'INT_%'")["records"])
    assert apps == [("INT_Keep", "ConnectedApplication"), ("INT_New", "ConnectedApplication")]
    assert _names(sf, "SELECT Name FROM PermissionSet WHERE Name LIKE 'INT_%'", "Name") == [
        "INT_Full", "INT_Keep", "INT_Member", "INT_New"]
    groups = {r["DeveloperName"]: (r["MasterLabel"], r["Description"]) for r in sf.query_all(
        "SELECT DeveloperName, MasterLabel, Description FROM PermissionSetGroup")["records"]}
    assert groups == {"INT_Bundle": ("Bundle", "The config's bundle"),
                      "INT_Fresh": ("Fresh", None)}
    components = sorted(
        (r["PermissionSetGroup"]["DeveloperName"], r["PermissionSet"]["Name"])
        for r in sf.query_all("SELECT PermissionSetGroup.DeveloperName, PermissionSet.Name "
                              "FROM PermissionSetGroupComponent")["records"])
    assert components == [("INT_Bundle", "INT_Keep"), ("INT_Fresh", "INT_Member")]
    users = {r["Username"]: (r["FirstName"], r["Email"], r["Profile"]["Name"], r["IsActive"])
             for r in sf.query_all("SELECT Username, FirstName, Email, Profile.Name, IsActive "
                                   "FROM User WHERE Username LIKE '%@acme.example'")["records"]}
    assert users == {
        "keep@acme.example": ("Keep", "keep@acme.example", "System Administrator", True),
        "leaver@acme.example": (None, "leaver@acme.example", INTEGRATION, False),
        "back@acme.example": (None, "back@acme.example", INTEGRATION, True),
        "new@acme.example": ("Newton", "new@acme.example", INTEGRATION, False),
    }
    newcomer = one(sf, "SELECT Alias, TimeZoneSidKey FROM User "
                       "WHERE Username = 'new@acme.example'")
    assert (newcomer["Alias"], newcomer["TimeZoneSidKey"]) == ("newc", "Europe/London")
    # A group's assignment names the group; the set it carries is the org's own.
    held = sorted(
        (r["Assignee"]["Username"],
         (r["PermissionSetGroup"] or {}).get("DeveloperName") or r["PermissionSet"]["Name"])
        for r in sf.query_all(
            "SELECT Assignee.Username, PermissionSet.Name, PermissionSetGroup.DeveloperName "
            "FROM PermissionSetAssignment WHERE Assignee.Username LIKE '%@acme.example' "
            "AND PermissionSet.IsOwnedByProfile = false")["records"])
    assert held == [("back@acme.example", "INT_Fresh"), ("back@acme.example", "INT_New"),
                    ("keep@acme.example", "INT_Bundle")]
    licences = sorted((r["Assignee"]["Username"], r["PermissionSetLicense"]["MasterLabel"])
                      for r in sf.query_all(
        "SELECT Assignee.Username, PermissionSetLicense.MasterLabel FROM "
        "PermissionSetLicenseAssign WHERE Assignee.Username LIKE '%@acme.example'")["records"])
    assert licences == [("back@acme.example", PSL)]
