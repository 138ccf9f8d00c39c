"""Access policy on the config alone: `validate`, `policy check --offline` and `policy list`
through the CLI. Each violation must name the config file:line:col that grants the access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.policy.baseline import DENIED_PERMISSIONS, INTERACTIVE_PERMISSIONS, baseline
from tests.paths import REPO, SHARED

SARIF_SCHEMA = REPO / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"

BASELINE = "policies:\n  rule_sets:\n    integration-baseline:\n"


def access(system: str = "[ApiEnabled]", objects: str = "{Invoice__c: [read, edit]}",
           profile: str = "Minimum Access - API Only Integrations",
           license: str = "Salesforce Integration") -> str:
    """One integration user holding one set, its access as given."""
    return f"""\
permission_sets:
  INT_Sync:
    description: What the sync job needs
    system_permissions: {system}
    objects: {objects}
    fields:
      Invoice__c.Amount__c: [edit]
  INT_Extra:
    description: A second set
    system_permissions: [ViewSetup]
users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: {profile}
    license: {license}
    permission_sets: [INT_Sync]
"""


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args])


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "config"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def at(root: Path, name: str, needle: str, nth: int = 0) -> str:
    """``file:line:col`` of the ``nth`` ``needle`` in the file ``name``."""
    lines = (root / name).read_text().splitlines()
    hits = [(n, line.index(needle)) for n, line in enumerate(lines, 1) if needle in line]
    line, col = hits[nth]
    return f"{root / name}:{line}:{col + 1}"


@pytest.mark.parametrize("permission", DENIED_PERMISSIONS + INTERACTIVE_PERMISSIONS)
def test_the_baseline_refuses_each_denied_permission_at_its_line(tmp_path: Path,
                                                                   permission: str) -> None:
    root = make(tmp_path, {"access.yaml": access(system=f"[ApiEnabled, {permission}]"),
                           "policies/baseline.yaml": BASELINE})
    result = run(root, "validate")
    assert result.exit_code == 1
    where = at(root, "access.yaml", permission)
    assert f"{where}: policy integration-baseline." in result.stderr
    assert f"holds {permission} through set INT_Sync" in result.stderr
    # Only that one: the config is otherwise within the baseline.
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("word", ["view_all", "modify_all"])
def test_the_baseline_refuses_view_all_and_modify_all_unless_allowed(tmp_path: Path,
                                                                      word: str) -> None:
    root = make(tmp_path, {"access.yaml": access(objects=f"{{Shipment__c: [{word}]}}"),
                           "policies.yaml": BASELINE})
    refused = run(root, "validate")
    assert refused.exit_code == 1
    assert (f"{at(root, 'access.yaml', 'Shipment__c: [')}: policy "
            "integration-baseline.object-view-all") in refused.stderr
    assert f"holds {word if word == 'view_all' else 'view_all, modify_all'} on Shipment__c" \
        in refused.stderr
    (root / "policies.yaml").write_text(BASELINE + "      allow_view_all: [Ship*]\n")
    assert run(root, "validate").exit_code == 0


def test_the_baseline_wants_an_api_only_profile(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(profile="Integration Clone"),
                           "policies.yaml": BASELINE})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert (f"{at(root, 'access.yaml', 'profile:')}: policy integration-baseline.api-only: "
            "mulesoft@acme.example lacks ApiUserOnly (profile Integration Clone)") \
        in result.stderr


def test_a_config_within_the_baseline_validates_and_says_so(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(), "policies.yaml": BASELINE})
    result = run(root, "validate")
    assert result.exit_code == 0, result.output
    assert "Policy: 11 rules in force, no violation; 0 waivers in force." in result.stdout


def test_the_baseline_covers_only_integration_users(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "access.yaml": access(system="[ApiEnabled, ModifyAllData]", profile="Standard User",
                              license="Salesforce"),
        "policies.yaml": BASELINE})
    assert run(root, "validate").exit_code == 0
    (root / "policies.yaml").write_text(
        BASELINE + "      scope: {users: ['*@acme.example']}\n")
    assert "integration-baseline.modify-all-data" in run(root, "validate").stderr


WAIVER = """\
  waivers:
    - rule: integration-baseline.view-setup
      {subject}
      reason: Reads the audit trail for the monitoring job
"""


@pytest.mark.parametrize("subject", ["user: mulesoft@acme.example",
                                     "permission_set: INT_Extra"])
def test_a_waiver_without_expiry_switches_a_rule_off_and_is_listed(tmp_path: Path,
                                                                   subject: str) -> None:
    config = access().replace("permission_sets: [INT_Sync]", "permission_sets: [INT_Sync, "
                                                              "INT_Extra]")
    root = make(tmp_path, {"access.yaml": config, "policies.yaml": BASELINE})
    assert "integration-baseline.view-setup" in run(root, "validate").stderr
    (root / "policies.yaml").write_text(BASELINE + WAIVER.format(subject=subject))
    result = run(root, "validate")
    assert result.exit_code == 0, result.output
    name = subject.split(": ")[1]
    assert (f"integration-baseline.view-setup waived for {subject.split(':')[0].replace('_', ' ')}"
            f" {name} (no expiry): Reads the audit trail") in result.stdout
    check = run(root, "policy", "check", "--offline", "--format", "json")
    assert check.exit_code == 0
    report = json.loads(check.stdout)
    assert [v["rule"] for v in report["waived"]] == ["integration-baseline.view-setup"]
    assert report["waivers"][0]["expires"] is None


def test_a_waiver_for_a_set_leaves_the_same_right_from_another_set(tmp_path: Path) -> None:
    config = access(system="[ApiEnabled, ViewSetup]").replace(
        "permission_sets: [INT_Sync]", "permission_sets: [INT_Sync, INT_Extra]")
    root = make(tmp_path, {"access.yaml": config, "policies.yaml": BASELINE + WAIVER.format(
        subject="permission_set: INT_Extra")})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert "through set INT_Extra; set INT_Sync" in result.stderr


def test_a_waiver_holds_until_its_expiry_and_is_a_violation_after(tmp_path: Path) -> None:
    config = access().replace("permission_sets: [INT_Sync]", "permission_sets: [INT_Sync, "
                                                              "INT_Extra]")
    waiver = BASELINE + WAIVER.format(subject="user: mulesoft@acme.example")
    root = make(tmp_path, {"access.yaml": config,
                           "policies.yaml": waiver + '      expires: "2999-12-31"\n'})
    result = run(root, "validate")
    assert result.exit_code == 0, result.output
    assert "(until 2999-12-31)" in result.stdout
    (root / "policies.yaml").write_text(waiver + '      expires: "2001-02-03"\n')
    expired = run(root, "validate")
    assert expired.exit_code == 1
    assert (f"{at(root, 'policies.yaml', 'rule:')}: policy integration-baseline.view-setup: "
            "the waiver for user mulesoft@acme.example expired on 2001-02-03") in expired.stderr
    # ...and the rule it waived is back in force.
    assert f"{at(root, 'access.yaml', 'ViewSetup')}: policy integration-baseline.view-setup" \
        in expired.stderr


def test_a_waiver_naming_no_rule_in_force_is_a_violation(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(), "policies.yaml": BASELINE + WAIVER.format(
        subject="user: mulesoft@acme.example").replace("view-setup", "view-set-up")})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert "names no rule in force: integration-baseline.view-set-up" in result.stderr


OWN = """\
policies:
  rules:
    invoices:
      reason: Invoices are kept seven years and changed only by billing
      source: https://security.acme.example/policies/invoices
      scope: {{licenses: [Salesforce Integration], users: ["*@acme.example"]}}
{checks}
"""


@pytest.mark.parametrize(("checks", "needle", "words"), [
    ("      deny_system_permissions: [Api*]", "ApiEnabled", "holds ApiEnabled"),
    ("      allow_system_permissions: [ViewSetup]", "ApiEnabled",
     "holds ApiEnabled, which is not allowed"),
    ("      deny_objects: {Inv*: [delete, edit]}", "Invoice__c: [", "holds edit on Invoice__c"),
    ("      allow_objects: {Invoice__c: [read]}", "Invoice__c: [", "holds edit on Invoice__c"),
    ("      deny_field_edit: ['*.Amount__c']", "Invoice__c.Amount__c",
     "can edit Invoice__c.Amount__c"),
    ("      max_objects_with_edit: 0", "mulesoft:", "can edit 1 objects, more than 0"),
])
def test_rules_of_ones_own(tmp_path: Path, checks: str, needle: str, words: str) -> None:
    root = make(tmp_path, {"access.yaml": access(),
                           "policies/own.yaml": OWN.format(checks=checks)})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert f"{at(root, 'access.yaml', needle)}: policy invoices: mulesoft@acme.example " \
           f"{words}" in result.stderr


def test_a_rule_scoped_to_sets_counts_only_their_grants(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(), "policies.yaml": OWN.format(
        checks="      deny_field_edit: ['*.*']").replace(
            'users: ["*@acme.example"]', "permission_sets: [INT_Other*]")})
    assert run(root, "validate").exit_code == 0
    (root / "policies.yaml").write_text(
        (root / "policies.yaml").read_text().replace("INT_Other*", "INT_S*"))
    assert "can edit Invoice__c.Amount__c" in run(root, "validate").stderr


def test_every_set_has_a_description(tmp_path: Path) -> None:
    config = access().replace("    description: A second set\n", "")
    root = make(tmp_path, {"access.yaml": config, "policies.yaml": OWN.format(
        checks="      require_description: true")})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert (f"{at(root, 'access.yaml', 'INT_Extra:')}: policy invoices: permission set "
            "INT_Extra has no description") in result.stderr


def test_setup_entity_rules(tmp_path: Path) -> None:
    config = access().replace("    fields:\n", "    apex_classes: [OrderRest]\n"
                                                "    connected_apps: [MuleSoft]\n    fields:\n")
    root = make(tmp_path, {"access.yaml": config, "policies.yaml": OWN.format(
        checks="      allow_setup_entities: {connected_apps: [Mule*]}")})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert (f"{at(root, 'access.yaml', 'OrderRest')}: policy invoices: mulesoft@acme.example "
            "has access to ApexClass OrderRest") in result.stderr
    assert "MuleSoft" not in result.stderr


def test_a_malformed_rule_is_a_config_problem_at_its_line(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(), "policies.yaml": OWN.format(
        checks="      deny_objects: {Account: [destroy]}")})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert f"{at(root, 'policies.yaml', 'destroy')}" in result.stderr
    assert "policies.rules.invoices.deny_objects.Account[0]" in result.stderr


def test_policy_list_prints_the_rules_with_reason_and_source(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(), "policies.yaml": BASELINE
                           + OWN.format(checks="      deny_field_edit: ['*.OwnerId']")
                           .removeprefix("policies:\n")})
    listed = run(root, "policy", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rules = {r["id"]: r for r in json.loads(listed.stdout)["rules"]}
    assert len(rules) == 12
    assert rules["integration-baseline.modify-all-data"]["sources"][0].startswith(
        "https://help.salesforce.com/")
    assert all(r["reason"] and (r["sources"] or r["id"] == "invoices") for r in rules.values())
    assert rules["invoices"]["sources"] == ["https://security.acme.example/policies/invoices"]
    text = run(root, "policy", "list").stdout
    assert "integration-baseline.api-only: the API Only User permission" in text
    assert "scope: license Salesforce Integration; users *@acme.example" in text


def test_the_baseline_names_only_real_system_permissions() -> None:
    real = SHARED / "real-salesforce" / "permissionset-fields.txt"
    names = {line.strip().removeprefix("Permissions") for line in real.read_text().splitlines()}
    assert set(DENIED_PERMISSIONS + INTERACTIVE_PERMISSIONS + ("ApiUserOnly",)) <= names


def test_the_reference_documents_every_built_in_rule_with_its_source() -> None:
    doc = (REPO / "docs" / "policy.md").read_text()
    for rule in baseline():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{rule.id}` |")),
                   None)
        assert row is not None, rule.id
        assert all(source in row for source in rule.sources), rule.id


def test_sarif_output_is_valid_sarif_2_1_0(tmp_path: Path) -> None:
    config = access(system="[ApiEnabled, AuthorApex]").replace(
        "permission_sets: [INT_Sync]", "permission_sets: [INT_Sync, INT_Extra]")
    root = make(tmp_path, {"access.yaml": config, "policies.yaml": BASELINE + WAIVER.format(
        subject="permission_set: INT_Extra")})
    result = run(root, "policy", "check", "--offline", "--format", "sarif")
    assert result.exit_code == 1
    log: dict[str, Any] = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    (run_,) = log["runs"]
    by_rule = {r["ruleId"]: r for r in run_["results"]}
    assert set(by_rule) == {"integration-baseline.author-apex",
                            "integration-baseline.view-setup"}
    apex = by_rule["integration-baseline.author-apex"]
    region = apex["locations"][0]["physicalLocation"]["region"]
    file, line, col = at(root, "access.yaml", "AuthorApex").rsplit(":", 2)
    assert (region["startLine"], region["startColumn"]) == (int(line), int(col))
    assert Path(apex["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .removeprefix("file://")) == Path(file)
    rules = run_["tool"]["driver"]["rules"]
    assert rules[apex["ruleIndex"]]["id"] == "integration-baseline.author-apex"
    # The waived one is there, suppressed with the waiver's reason.
    assert by_rule["integration-baseline.view-setup"]["suppressions"] == [
        {"kind": "external", "status": "accepted",
         "justification": "Reads the audit trail for the monitoring job"}]


def test_an_unknown_rule_set_is_a_config_problem_at_its_key(tmp_path: Path) -> None:
    root = make(tmp_path, {"access.yaml": access(),
                           "policies.yaml": BASELINE.replace("integration-", "integration_")})
    result = run(root, "validate")
    assert result.exit_code == 1
    assert (f"{at(root, 'policies.yaml', 'integration_')}: policies.rule_sets: "
            '"integration_baseline" is not a built-in rule set') in result.stderr
