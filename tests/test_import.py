"""`import` from a live org, end to end through the CLI, against the emulator over HTTPS.

The round-trip guarantee: a plan of the imported config against the same org is empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.config import load_config
from reconciler.emulator import Emulator, start_emulator
from reconciler.importer.imported import minimal_object_words, user_keys
from reconciler.model import ObjectAccess, SetupEntity
from tests.emulator.helpers import client
from tests.orgdir import Org as BaseOrg

INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"
PSL = "Salesforce API Integration"


class Org(BaseOrg):
    """An org directory whose `orgs.emu` points at the emulator, plus import helpers."""

    def yaml_files(self) -> list[str]:
        return sorted(p.name for p in self.config.glob("*.yaml"))


def _user(username: str, last: str, *, profile: str = INTEGRATION_PROFILE,
          **extra: Any) -> dict[str, Any]:
    return {"username": username, "first_name": "Api", "last_name": last,
            "email": f"ops+{last.lower()}@acme.example", "profile": profile,
            "alias": last[:8].lower(), **extra}


# Three integration users, five sets (one only named on the command line), a group,
# PSL assignments, setup-entity access; plus people --integration-users must leave out
# or flag.
SEED: dict[str, Any] = {
    "connected_apps": ["MuleSoft Integration"],
    "apex_classes": ["OrderRestResource", "acme__InvoiceController", "Unused"],
    "custom_permissions": ["View_Reports"],
    "apps": ["Reporting"],
    "custom_objects": [
        {"name": "Invoice__c", "label": "Invoice",
         "fields": {"Amount__c": "currency", "Status__c": "text"}},
        {"name": "Shipment__c", "label": "Shipment", "fields": {"Carrier__c": "text"}},
    ],
    "profiles": [{"name": "API Only Sync", "license": "Salesforce",
                  "system_permissions": ["ApiEnabled", "ApiUserOnly"]}],
    "permission_sets": [
        {"name": "INT_Standard", "label": "Integration - Standard objects",
         "description": 'Standard objects for "sync" jobs: ${not a variable}',
         "license": PSL, "system_permissions": ["ApiEnabled"],
         "objects": {"Account": ["read", "create", "edit"], "Contact": ["read"],
                     "Case": ["read", "view_all"]},
         "fields": {"Account.Industry": ["read", "edit"], "Contact.Email": ["read"]},
         "connected_apps": ["MuleSoft Integration"],
         "apex_classes": ["OrderRestResource", "acme__InvoiceController"]},
        {"name": "INT_Invoices", "label": "Integration - Invoices",
         "objects": {"Invoice__c": ["read", "create", "edit", "delete"]},
         "fields": {"Invoice__c.Amount__c": ["read", "edit"],
                    "Invoice__c.Status__c": ["read"]}},
        {"name": "INT_Shipments", "label": "Integration - Shipments",
         "objects": {"Shipment__c": ["modify_all", "create"]},
         "fields": {"Shipment__c.Carrier__c": ["edit"]}},
        {"name": "INT_Reports", "label": "Integration: reports # read only",
         "license": PSL, "objects": {"Opportunity": ["read"]},
         "custom_permissions": ["View_Reports"], "apps": ["Reporting"]},
        {"name": "INT_Unassigned", "label": "Not assigned to anyone",
         "objects": {"Invoice__c": ["read"]}},
        {"name": "API_Only", "label": "API only", "system_permissions": ["ApiUserOnly"]},
    ],
    "permission_set_groups": [
        {"name": "INT_Logistics", "label": "Integration - Logistics",
         "description": "Invoices and shipments", "permission_sets": ["INT_Invoices",
                                                                      "INT_Shipments"]},
    ],
    "users": [
        _user("mulesoft@acme.example", "MuleSoft", permission_set_licenses=[PSL],
              permission_sets=["INT_Standard", "INT_Reports"],
              permission_set_groups=["INT_Logistics"], time_zone="Europe/Paris",
              locale="fr_FR", language="fr"),
        _user("boomi@acme.example", "Boomi", permission_set_licenses=[PSL],
              permission_sets=["INT_Standard"]),
        _user("boomi@acme.example.uat", "BoomiUat", permission_sets=["INT_Invoices"]),
        _user("old@acme.example", "Retired", active=False),
        _user("ana@acme.example", "Human", profile="Standard User"),
        _user("etl@acme.example", "Etl", profile="Standard User", permission_sets=["API_Only"]),
        _user("sync@acme.example", "Sync", profile="API Only Sync"),
    ],
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    # One org for the module: every test here only reads it.
    with start_emulator(tmp_path_factory.mktemp("org") / "data", SEED) as emu:
        yield emu


@pytest.fixture
def org(seeded: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Org:
    monkeypatch.chdir(tmp_path)
    return Org(seeded, tmp_path)


def test_integration_users_import_then_plan_shows_no_changes(org: Org) -> None:
    result = org.run("import", "--integration-users", "--permission-set", "INT_Unassigned",
                     "-o", str(org.config))
    assert result.exit_code == 0, result.output
    assert org.yaml_files() == ["org.yaml", "permission_set_groups.yaml", "permission_sets.yaml",
                                "users.yaml"]
    config = load_config(org.config, environ=org.env)
    # three on the integration license, one on an API-only full-license profile; not the
    # deactivated one, not the people on Standard User
    assert sorted(config.users) == ["boomi@acme.example", "boomi@acme.example.uat",
                                    "mulesoft@acme.example", "sync@acme.example"]
    assert sorted(config.permission_sets) == ["INT_Invoices", "INT_Reports", "INT_Shipments",
                                              "INT_Standard", "INT_Unassigned"]
    assert list(config.permission_set_groups) == ["INT_Logistics"]
    mule = config.users["mulesoft@acme.example"]
    assert mule.permission_set_groups == {"INT_Logistics"}
    assert mule.permission_set_licenses == {PSL}
    assert (mule.time_zone, mule.locale, mule.language) == ("Europe/Paris", "fr_FR", "fr")
    assert config.permission_sets["INT_Standard"].description == (
        'Standard objects for "sync" jobs: ${not a variable}')
    assert config.permission_sets["INT_Standard"].setup_entities == {
        SetupEntity("ConnectedApplication", "MuleSoft Integration"),
        SetupEntity("ApexClass", "OrderRestResource"),
        SetupEntity("ApexClass", "acme__InvoiceController")}
    assert config.permission_sets["INT_Reports"].setup_entities == {
        SetupEntity("CustomPermission", "View_Reports"), SetupEntity("TabSet", "Reporting")}

    plan = org.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes. The org matches the config." in plan.output


def test_the_written_yaml_reads_like_hand_written_config(org: Org) -> None:
    assert org.run("import", "--integration-users", "-o", str(org.config)).exit_code == 0
    users = (org.config / "users.yaml").read_text()
    assert "  mulesoft:\n    username: mulesoft@acme.example\n" in users
    assert "  boomi:\n" in users and "  boomi_2:\n" in users  # boomi@…uat
    assert ("    license: Salesforce Integration  # derived: the profile fixes the user "
            "license\n") in users
    assert "    permission_sets: [INT_Reports, INT_Standard]\n" in users
    sets = (org.config / "permission_sets.yaml").read_text()
    assert "      Shipment__c: [create, modify_all]  # implies read, edit, delete, view_all\n" \
        in sets
    assert "      Account.Industry: [edit]  # implies read\n" in sets
    assert "    label: \"Integration: reports # read only\"\n" in sets
    assert "$${not a variable}" in sets
    assert ("    connected_apps: [MuleSoft Integration]\n"
            "    apex_classes: [acme__InvoiceController, OrderRestResource]\n") in sets
    assert "    custom_permissions: [View_Reports]\n    apps: [Reporting]\n" in sets
    # deterministic: a second import writes the same bytes
    first = {p.name: p.read_bytes() for p in org.config.glob("*.yaml")}
    again = org.run("import", "--integration-users", "-o", str(org.config), "--force")
    assert again.exit_code == 0, again.output
    assert {p.name: p.read_bytes() for p in org.config.glob("*.yaml")} == first


def test_named_users_and_sets_import_then_plan_shows_no_changes(org: Org) -> None:
    result = org.run("import", "--user", "MuleSoft@acme.example", "--user", "ana@acme.example",
                     "--permission-set", "INT_Unassigned", "-o", str(org.config))
    assert result.exit_code == 0, result.output
    config = load_config(org.config, environ=org.env)
    assert sorted(config.users) == ["ana@acme.example", "mulesoft@acme.example"]
    # the user's sets, the members of its group, and the named set
    assert sorted(config.permission_sets) == ["INT_Invoices", "INT_Reports", "INT_Shipments",
                                              "INT_Standard", "INT_Unassigned"]
    plan = org.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_a_deactivated_user_round_trips_as_inactive(org: Org) -> None:
    assert org.run("import", "--user", "old@acme.example", "-o",
                   str(org.config)).exit_code == 0
    assert "    active: false\n" in (org.config / "users.yaml").read_text()
    plan = org.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_unknown_user_or_set_is_one_error_and_nothing_is_written(org: Org) -> None:
    result = org.run("import", "--user", "nobody@acme.example", "--permission-set", "Nope",
                     "-o", str(org.config))
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: org emu has no user nobody@acme.example; "
                                     "no permission set Nope")
    assert org.yaml_files() == ["org.yaml"]


def test_existing_files_are_not_overwritten_without_force(org: Org) -> None:
    (org.config / "users.yaml").write_text("# mine\n")
    result = org.run("import", "--user", "boomi@acme.example", "-o", str(org.config))
    assert result.exit_code == 1
    assert "refusing to overwrite" in result.output and "users.yaml" in result.output
    assert (org.config / "users.yaml").read_text() == "# mine\n"
    assert not (org.config / "permission_sets.yaml").exists()  # all or nothing
    forced = org.run("import", "--user", "boomi@acme.example", "-o", str(org.config),
                     "--force")
    assert forced.exit_code == 0, forced.output
    assert "boomi@acme.example" in (org.config / "users.yaml").read_text()


def test_integration_candidates_lists_api_only_full_license_users_and_free_seats(
        org: Org) -> None:
    result = org.run("import", "--integration-candidates")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2 active users on the full Salesforce license are API-only: candidates for the "
        "cheaper Salesforce Integration license",
        "  etl@acme.example (Api Etl, profile Standard User): permission set API_Only is "
        "API-only",
        '  sync@acme.example (Api Sync, profile API Only Sync): profile "API Only Sync" is '
        "API-only",
        # three active integration users hold seats (the deactivated one frees its seat)
        "Salesforce Integration license: 2 of 5 seats free; Salesforce API Integration "
        "permission set license: 3 of 5 seats free.",
    ]
    assert org.yaml_files() == ["org.yaml"]


def test_candidates_through_a_group_are_found(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {"permission_sets": [{"name": "API_Only", "label": "API only",
                                 "system_permissions": ["ApiUserOnly"]}],
            "permission_set_groups": [{"name": "Headless", "label": "Headless",
                                       "permission_sets": ["API_Only"]}],
            "users": [_user("svc@acme.example", "Svc", profile="Standard User",
                            permission_set_groups=["Headless"])]}
    with start_emulator(tmp_path / "data", seed) as emu:
        result = Org(emu, tmp_path).run("import", "--integration-candidates")
    assert result.exit_code == 0, result.output
    assert ("  svc@acme.example (Api Svc, profile Standard User): group Headless holds "
            "API-only API_Only") in result.output.splitlines()


def test_usage_errors() -> None:
    runner = CliRunner()
    both = runner.invoke(cli, ["import", "--user", "a@b.c", "--from-metadata", "x", "-o", "y"])
    assert both.exit_code == 2 and "choose one of" in both.output
    no_out = runner.invoke(cli, ["import", "--user", "a@b.c"])
    assert no_out.exit_code == 2 and "-o DIR" in no_out.output
    nothing = runner.invoke(cli, ["import", "-o", "y"])
    assert nothing.exit_code == 2


def test_minimal_words_imply_exactly_the_effective_access() -> None:
    from itertools import combinations

    words = ("read", "create", "edit", "delete", "view_all", "modify_all")
    for n in range(len(words) + 1):
        for combo in combinations(words, n):
            access = ObjectAccess.of(combo)
            minimal = minimal_object_words(access)
            assert ObjectAccess.of(minimal) == access
            # nothing in it is implied by the rest
            for word in minimal:
                assert ObjectAccess.of([w for w in minimal if w != word]) != access
    assert minimal_object_words(ObjectAccess.of(["modify_all"])) == ("modify_all",)


def test_user_keys_are_unique_valid_and_stable() -> None:
    keys = user_keys(["api@acme.com", "API@acme.com.uat", "9lives@x.io", "first.last+tag@x.io",
                      "__@x.io"])
    assert keys == {"api@acme.com": "api", "api@acme.com.uat": "api_2",
                    "9lives@x.io": "user_9lives", "first.last+tag@x.io": "first_last_tag",
                    "__@x.io": "user"}


def test_the_org_side_reads_through_the_real_client(seeded: Emulator) -> None:
    # the discovery queries are plain SOQL a real org accepts: no semi-join inside OR
    sf = client(seeded)
    rows = sf.query("SELECT Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = true "
                    "AND PermissionsApiUserOnly = true")["records"]
    assert {r["Profile"]["Name"] for r in rows} == {INTEGRATION_PROFILE, "API Only Sync"}
