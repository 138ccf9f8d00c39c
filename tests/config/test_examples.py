"""The example configs load, mean what they say, and satisfy the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.config.yamlload import LList, LMap, read_yaml_file
from reconciler.errors import Problem
from reconciler.model import FieldAccess, ObjectAccess
from tests.config.helpers import CONFIGS, EXAMPLES, load


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(parsed)
    return parsed


def document(path: Path) -> Any:
    """A file as plain data, read the way reconciler reads it (YAML 1.2, as editors do)."""
    problems: list[Problem] = []
    ok, value = read_yaml_file(path, path.name, problems)
    assert ok and problems == []
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, LMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, LList):
        return [_plain(v) for v in value]
    return value


def config_files(example: str) -> list[Path]:
    return sorted(p for p in (CONFIGS / example).glob("*.y*ml"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_file_satisfies_the_schema(example: str, schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    files = config_files(example)
    assert files
    for path in files:
        errors = [f"{path.name}: {e.json_path}: {e.message}"
                  for e in validator.iter_errors(document(path))]
        assert errors == []


@pytest.mark.parametrize(("fixture", "complaint"), [
    ("unknown-key", "Additional properties are not allowed ('emial' was unexpected)"),
    ("wrong-type", "'yes' is not of type 'boolean'"),
    ("unknown-permission", "'raed' is not one of"),
    ("bad-api-name", "'INT__Double' does not match"),
    ("unknown-block", "'permission_set' does not match any of the regexes: '^x-'"),
    ("auth-flow", "'password' is not one of ['flow', 'client_id', 'private_key', "),
])
def test_the_schema_catches_shape_errors_in_the_editor(fixture: str, complaint: str,
                                                       schema: dict[str, Any]) -> None:
    data = document(CONFIGS / "invalid" / fixture / "main.yaml")
    messages = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert any(complaint in m for m in messages), messages


def test_integration_user_walkthrough() -> None:
    config = load(CONFIGS / "integration-user")
    user = config.users["mulesoft@acme.com.integration"]
    assert user.integration
    assert user.permission_set_licenses == {"Salesforce API Integration"}
    assert user.permission_sets == {"INT_Standard_Objects", "INT_Custom_Objects"}
    standard = config.permission_sets["INT_Standard_Objects"]
    assert standard.license == "Salesforce API Integration"
    assert standard.standard_objects == ("Account", "Contact")
    assert standard.objects["Account"] == ObjectAccess.of(["read", "create", "edit"])
    custom = config.permission_sets["INT_Custom_Objects"]
    assert custom.license is None and custom.standard_objects == ()
    assert custom.fields["Invoice__c.Amount__c"] == FieldAccess(read=True, edit=True)
    assert config.lifecycle("permission_sets.INT_Custom_Objects").prevent_destroy
    assert config.org().emulator


@pytest.mark.parametrize(("env", "org", "suffix"), [
    (None, "local", "dev"),
    ("uat", "sandbox", "uat"),
    ("prod", "prod", "prod"),
])
def test_multi_env_example_switches_with_var_files(env: str | None, org: str,
                                                   suffix: str) -> None:
    root = CONFIGS / "multi-env"
    var_files = [root / "env" / f"{env}.yaml"] if env else []
    config = load(root, var_files=var_files)
    assert config.settings.default_org == org
    assert set(config.users) == {f"{name}@acme.com.{suffix}"
                                 for name in ("erp-sync", "billing-bot", "etl")}
    assert config.permission_sets["INT_Billing"].label == f"Integration - Billing ({suffix})"
    assert config.permission_sets["INT_Legacy_Sync"].absent
    assert config.users[f"etl@acme.com.{suffix}"].active is False
    assert config.users[f"billing-bot@acme.com.{suffix}"].time_zone == "America/New_York"
    assert config.users[f"erp-sync@acme.com.{suffix}"].time_zone == "Europe/London"
    invoice_lines = config.permission_sets["INT_Billing"].objects["Invoice_Line__c"]
    assert invoice_lines.words == ("read", "edit", "delete", "view_all", "modify_all")


def test_multi_env_digest_differs_per_environment() -> None:
    root = CONFIGS / "multi-env"
    digests = {load(root, var_files=[root / "env" / f"{e}.yaml"]).digest
               for e in ("dev", "uat", "prod")}
    assert len(digests) == 3


def test_all_features_example() -> None:
    config = load(CONFIGS / "all-features")
    assert config.settings.scope.assignments == "additive"
    assert config.settings.scope.permission_set_prefix == "APP_"
    reports = config.permission_sets["APP_Reports"]
    assert reports.description == "Costs ${ nothing: a literal ${ is written $${"
    assert reports.objects["Account"] == reports.objects["acme__Usage__c"]  # shared anchor
    helper = config.users["helper@acme.com.staging"]
    assert (helper.last_name, helper.profile, helper.alias) == ("Runner", "Standard User",
                                                                "help")
    staging = config.orgs["staging"]
    assert staging.auth is not None and staging.auth.flow == "password"
    assert staging.instance_url == "https://acme--staging.sandbox.my.salesforce.com"
    assert [r.name for r in config.references if r.kind == "permission_set"] == [
        "Existing_Org_Set"]
