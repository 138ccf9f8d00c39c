"""The line a plan prints for each kind of change, as a reviewer reads it before apply:
what a new set, user or group will be; an attribute, access list or profile before and
after; what goes. Through the CLI against the emulator over HTTPS: one plan that makes
everything, then, once applied, one that changes or removes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, Org

MADE = """\
permission_sets:
  INT_Licensed:
    label: Licensed
    license: Salesforce API Integration
    system_permissions: [ApiEnabled, RunReports]
    objects:
      Account: [read, create]
    fields:
      Account.Industry: [read]
  INT_Plain:
    label: Plain
    objects:
      Invoice__c: [read, create, edit]
      Contact: [read]
  INT_Old:
    label: Old
    objects:
      Invoice__c: [read]
permission_set_groups:
  INT_Bundle:
    label: Bundle
    permission_sets: [INT_Plain]
  INT_Old_Bundle:
    label: Old bundle
    permission_sets: [INT_Old]
users:
  api:
    username: api@acme.example
    last_name: Api
    email: api@acme.example
    profile: Minimum Access - API Only Integrations
    license: Salesforce Integration
    permission_set_licenses: [Salesforce API Integration]
    permission_sets: [INT_Licensed]
  clerk:
    username: clerk@acme.example
    last_name: Clerk
    email: clerk@acme.example
    profile: Standard User
  dormant:
    username: dormant@acme.example
    last_name: Dormant
    email: dormant@acme.example
    profile: Standard User
    active: false
"""

CHANGED = """\
permission_sets:
  INT_Licensed:
    label: Licensed
    license: Salesforce API Integration
    system_permissions: [ApiEnabled, EditTask]
    objects:
      Account: [read]
    fields:
      Account.Website: [read, edit]
  INT_Plain:
    label: Plain and simple
    description: Invoices
    objects:
      Invoice__c: [read, create, edit]
  INT_Old:
    absent: true
permission_set_groups:
  INT_Bundle:
    label: Bundle of sets
    permission_sets: [INT_Plain]
  INT_Old_Bundle:
    absent: true
users:
  api:
    username: api@acme.example
    last_name: Api
    email: api-team@acme.example
    profile: Minimum Access - API Only Integrations
    license: Salesforce Integration
    permission_set_licenses: [Salesforce API Integration]
    permission_sets: [INT_Licensed]
    active: false
  clerk:
    username: clerk@acme.example
    last_name: Clerk
    email: clerk@acme.example
    profile: Minimum Access - Salesforce
  dormant:
    username: dormant@acme.example
    last_name: Dormant
    email: dormant@acme.example
    profile: Minimum Access - API Only Integrations
    license: Salesforce Integration
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


def _plan(org: Org, config: str) -> list[str]:
    """The plan's lines from its first resource to its manual steps, and its summary."""
    org.write("access.yaml", config)
    result = org.run("plan")
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    return [*lines[2:lines.index("Manual steps (the API can't do these):") - 1],
            next(line for line in lines if line.startswith("Plan: "))]


def test_each_kind_of_change_reads_as_a_line_of_the_plan(org: Org) -> None:
    assert _plan(org, MADE) == [
        "+ permission_set_groups.INT_Bundle",
        '+ create permission set group "Bundle"',
        "+ permission_sets: + INT_Plain",
        "+ permission_set_groups.INT_Old_Bundle",
        '+ create permission set group "Old bundle"',
        "+ permission_sets: + INT_Old",
        "+ permission_sets.INT_Licensed",
        '+ create permission set "Licensed", license Salesforce API Integration, system '
        "permissions ApiEnabled, RunReports",
        "+ objects.Account: read, create",
        "+ fields.Account.Industry: read",
        "+ permission_sets.INT_Old",
        '+ create permission set "Old", no license',
        "+ objects.Invoice__c: read",
        "+ permission_sets.INT_Plain",
        '+ create permission set "Plain", no license',
        "+ objects.Contact: read",
        "+ objects.Invoice__c: read, create, edit",
        "+ users.api",
        "+ create user api@acme.example (profile Minimum Access - API Only Integrations, "
        "license Salesforce Integration)",
        "+ permission_set_licenses: + Salesforce API Integration",
        "+ permission_sets: + INT_Licensed",
        "+ users.clerk",
        "+ create user clerk@acme.example (profile Standard User, license Salesforce)",
        "+ users.dormant",
        "+ create user dormant@acme.example (profile Standard User, license Salesforce, "
        "inactive)",
        "Plan: 17 to add, 0 to change, 0 to remove · 10 API calls to read, ~8 to apply "
        "(8 collections)"]
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert _plan(org, CHANGED) == [
        "~ permission_set_groups.INT_Bundle",
        "~ label: 'Bundle' → 'Bundle of sets'",
        "- permission_set_groups.INT_Old_Bundle",
        "- delete permission set group  # declared absent",
        "~ permission_sets.INT_Licensed",
        "- fields.Account.Industry: read → (none)  # not in config",
        "~ system permissions +EditTask -RunReports",
        "~ objects.Account: read, create → read",
        "+ fields.Account.Website: read, edit",
        "- permission_sets.INT_Old",
        "- delete permission set  # declared absent",
        "~ permission_sets.INT_Plain",
        "- objects.Contact: read → (none)  # not in config",
        "~ description: '' → 'Invoices', label: 'Plain' → 'Plain and simple'",
        "~ users.api",
        "- deactivate user (frees a seat; users are never deleted)  # declared active: false",
        "~ email: 'api@acme.example' → 'api-team@acme.example'",
        "~ users.clerk",
        "~ profile: Standard User → Minimum Access - Salesforce",
        "~ users.dormant",
        "+ reactivate user  # declared active: true",
        "~ profile: Standard User → Minimum Access - API Only Integrations (license "
        "Salesforce → Salesforce Integration)",
        "",
        "Destructive actions (7):",
        "- permission_set_groups.INT_Old_Bundle: delete permission set group  # declared absent",
        "- permission_sets.INT_Licensed.fields.Account.Industry: fields.Account.Industry: "
        "read → (none)  # not in config",
        "- permission_sets.INT_Plain.objects.Contact: objects.Contact: read → (none)  "
        "# not in config",
        "- permission_sets.INT_Old: delete permission set  # declared absent",
        "- users.api.active: deactivate user (frees a seat; users are never deleted)  "
        "# declared active: false",
        "- permission_sets.INT_Licensed.system_permissions: system permissions +EditTask "
        "-RunReports",
        "- permission_sets.INT_Licensed.objects.Account: objects.Account: read, create → read",
        "Plan: 2 to add, 7 to change, 5 to remove · 16 API calls to read, ~10 to apply "
        "(10 collections)"]
