"""Licences through the CLI: a set's PSL comes with it, goes with it, and the plan
after an apply is empty whether or not the config lists the PSL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import Org

USERNAME = "mulesoft@acme.example"
STANDARD_SET = """\
permission_sets:
  INT_Standard:
    label: Integration - Standard Objects
    license: Salesforce API Integration
    objects:
      Account: [read, edit]
"""
SEED: dict[str, Any] = {
    "permission_sets": [{"name": "INT_Standard", "label": "Integration - Standard Objects",
                         "license": "Salesforce API Integration",
                         "objects": {"Account": ["read", "edit"]}}],
    # Assigning the set made Salesforce assign the PSL too.
    "users": [{"username": USERNAME, "first_name": "", "last_name": "Integration",
               "email": USERNAME, "alias": "mulesoft",
               "profile": "Minimum Access - API Only Integrations",
               "permission_sets": ["INT_Standard"]}],
}


def user_block(lines: str = "") -> str:
    return ("users:\n  mulesoft:\n"
            f"    username: {USERNAME}\n    last_name: Integration\n    email: {USERNAME}\n"
            "    alias: mulesoft\n    profile: Minimum Access - API Only Integrations\n"
            + lines)


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data") as emu:
        yield Org(emu, tmp_path)


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def psls(org: Org) -> list[str]:
    return sorted(r["PermissionSetLicense"]["MasterLabel"] for r in org.sf.query(
        "SELECT PermissionSetLicense.MasterLabel FROM PermissionSetLicenseAssign "
        f"WHERE Assignee.Username = '{USERNAME}'")["records"])


def sets(org: Org) -> list[str]:
    return sorted(r["PermissionSet"]["Name"] for r in org.sf.query(
        "SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE "
        f"Assignee.Username = '{USERNAME}' AND PermissionSet.IsOwnedByProfile = false"
    )["records"])


def converges(org: Org) -> None:
    """apply converges, and the plan after it is empty."""
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "Converged: no changes left." in applied.output
    again = org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes. The org matches the config." in again.output


@pytest.mark.parametrize("scope", ["authoritative", "additive"])
def test_a_psl_licensed_set_without_a_psl_line_applies_and_replans_empty(
        org: Org, scope: str) -> None:
    org.write("main.yaml", f"settings: {{scope: {{assignments: {scope}}}}}\n" + STANDARD_SET
              + user_block("    permission_sets: [INT_Standard]\n"))
    plan = org.run("plan")
    assert plan.exit_code == 0, plan.output
    assert "needed by permission set INT_Standard" in plan.output
    converges(org)
    assert psls(org) == ["Salesforce API Integration"]
    assert sets(org) == ["INT_Standard"]


def test_an_unlicensed_standard_set_goes_to_a_holder_of_the_psl(org: Org) -> None:
    org.write("main.yaml", "permission_sets:\n  INT_Accounts:\n    label: Accounts\n"
                           "    objects: {Account: [read]}\n"
              + user_block("    permission_set_licenses: [Salesforce API Integration]\n"
                           "    permission_sets: [INT_Accounts]\n"))
    converges(org)
    assert (psls(org), sets(org)) == (["Salesforce API Integration"], ["INT_Accounts"])


def test_without_the_psl_the_unlicensed_set_is_refused_at_its_line(seeded: Org) -> None:
    # The user holds the PSL only through INT_Standard; the config drops that set.
    seeded.sf.PermissionSet.create({"Name": "Account_Reader", "Label": "Account reader"})
    ps = seeded.sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Account_Reader'")
    seeded.sf.ObjectPermissions.create({"ParentId": ps["records"][0]["Id"],
                                        "SobjectType": "Account", "PermissionsRead": True})
    seeded.write("main.yaml", user_block("    permission_sets: [Account_Reader]\n"))
    plan = seeded.run("plan")
    assert plan.exit_code == 1
    assert ('main.yaml:8:23: mulesoft@acme.example has the Salesforce Integration license: '
            '"Account_Reader" has no license and grants standard objects (Account)'
            in plan.output), plan.output


def test_the_set_goes_and_the_psl_salesforce_assigned_with_it_stays_when_listed(
        seeded: Org) -> None:
    seeded.write("main.yaml", STANDARD_SET + user_block(
        "    permission_set_licenses: [Salesforce API Integration]\n"))
    plan = seeded.run("plan")
    assert "kept: Salesforce takes away a PSL it assigned with a set" in plan.output
    converges(seeded)
    assert (psls(seeded), sets(seeded)) == (["Salesforce API Integration"], [])


@pytest.mark.parametrize("listed", [False, True], ids=["set-only", "set-and-psl-line"])
def test_a_set_and_its_psl_go_together(seeded: Org, listed: bool) -> None:
    seeded.write("main.yaml", STANDARD_SET + user_block())
    converges(seeded)
    assert (psls(seeded), sets(seeded)) == ([], [])
    # and back: the PSL line or not, one apply and the next plan is empty
    seeded.write("main.yaml", STANDARD_SET + user_block(
        ("    permission_set_licenses: [SalesforceAPIIntegrationPsl]\n" if listed else "")
        + "    permission_sets: [INT_Standard]\n"))
    converges(seeded)
    assert (psls(seeded), sets(seeded)) == (["Salesforce API Integration"], ["INT_Standard"])


REVOKED_SEED: dict[str, Any] = {
    "custom_objects": [{"name": "Invoice__c", "label": "Invoice",
                        "fields": {"Amount__c": "currency"}}],
    "permission_sets": [{"name": "INT_Keep", "label": "Keep",
                         "objects": {"Invoice__c": ["read"]}}],
    "users": [{"username": USERNAME, "first_name": "", "last_name": "Integration",
               "email": USERNAME, "alias": "mulesoft",
               "profile": "Minimum Access - API Only Integrations",
               "revoked_permission_sets": ["INT_Keep"]}],
}
KEEP_SET = "permission_sets:\n  INT_Keep:\n    label: Keep\n    objects: {Invoice__c: [read]}\n"


def revoked_rows(org: Org) -> list[bool]:
    return [r["IsRevoked"] for r in org.sf.query(
        "SELECT IsRevoked FROM PermissionSetAssignment WHERE PermissionSet.Name = 'INT_Keep'"
    )["records"]]


def test_a_revoked_assignment_is_not_held_and_is_reported_not_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", REVOKED_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", KEEP_SET + user_block("    permission_sets: [INT_Keep]\n"))
        writes = org.writes()
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 1
        assert ("main.yaml:12:23: mulesoft@acme.example's assignment of permission set INT_Keep "
                "was revoked by a user access policy" in applied.output), applied.output
        assert org.writes() == writes
        # Not in the config (authoritative): not held, so nothing to remove either.
        org.write("main.yaml", KEEP_SET + user_block())
        plan = org.run("plan", "--detailed-exitcode")
        assert plan.exit_code == 0, plan.output
        assert revoked_rows(org) == [True]


MANAGED_SEED: dict[str, Any] = {
    "custom_objects": [{"name": "Invoice__c", "label": "Invoice",
                        "fields": {"Amount__c": "currency"}}],
    "permission_sets": [{"name": "INT_Tools", "label": "Acme tools", "namespace": "acme",
                         "objects": {"Invoice__c": ["read", "edit"]}}],
    "users": [{"username": "packaged@acme.example", "last_name": "Packaged",
               "profile": "Standard User", "permission_sets": ["acme__INT_Tools"]}],
}


def test_a_managed_set_of_the_same_name_is_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", MANAGED_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("main.yaml", "settings: {scope: {permission_sets: {name_prefix: INT_}}}\n"
                  "permission_sets:\n  INT_Tools:\n    label: Our tools\n"
                  "    objects: {Invoice__c: [read]}\n"
                  + user_block("    permission_sets: [INT_Tools]\n"))
        converges(org)
        rows = org.sf.query("SELECT Label, NamespacePrefix, (SELECT Assignee.Username FROM "
                            "Assignments) FROM PermissionSet WHERE Name = 'INT_Tools' "
                            "ORDER BY Label")["records"]
        assert [(r["Label"], r["NamespacePrefix"],
                 [a["Assignee"]["Username"] for a in r["Assignments"]["records"]])
                for r in rows] == [("Acme tools", "acme", ["packaged@acme.example"]),
                                   ("Our tools", None, [USERNAME])]
        # Without the config's set, the prefix scope deletes nothing of the package's.
        org.write("main.yaml", "settings: {scope: {permission_sets: {name_prefix: INT_}}}\n")
        converges(org)
        assert [r["NamespacePrefix"] for r in org.sf.query(
            "SELECT NamespacePrefix FROM PermissionSet WHERE Name = 'INT_Tools'")["records"]
        ] == ["acme"]


def test_import_names_a_users_managed_set_without_declaring_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {**MANAGED_SEED, "users": [{**MANAGED_SEED["users"][0],
                                       "permission_sets": ["acme__INT_Tools"]}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        result = org.run("import", "--user", "packaged@acme.example", "-o", str(org.config))
        assert result.exit_code == 0, result.output
        written = "".join(p.read_text() for p in org.config.glob("*.yaml"))
        assert "acme__INT_Tools" in written
        assert "permission_sets:\n  acme__INT_Tools" not in written
        plan = org.run("plan", "--detailed-exitcode")
        assert plan.exit_code == 0, plan.output
