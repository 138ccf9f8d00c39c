"""`doctor` through the CLI, against the emulator over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.actions import KINDS
from reconciler.config import load_config
from reconciler.doctor import grade, is_my_domain
from reconciler.emulator import start_emulator
from reconciler.model import FrozenMap
from reconciler.org.permissions import NEEDS, need_for_action
from reconciler.org.preflight import Facts
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org

# doctor must stay a handful of calls: users notice a preflight that eats their API limit.
MAX_CALLS = 8


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        yield org


def _lines(output: str) -> dict[str, str]:
    """Checklist lines by title: "✓ login: …" → {"login": "✓ login: …"}."""
    out = {}
    for line in output.splitlines():
        if line[:2] in ("✓ ", "✗ ", "– "):
            out[line[2:].split(":", 1)[0]] = line
    return out


def test_walkthrough_on_the_embedded_org_is_all_green(org: Org) -> None:
    result = org.run("doctor")
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines["login"].startswith("✓ login: the client_credentials flow logged in as "
                                     "admin@reconciler.local")
    assert lines["API version"].startswith("✓ API version: 62.0 is served")
    assert lines["My Domain"].startswith("✓ My Domain:") and "local org" in lines["My Domain"]
    for title in ("permission to create and update users",
                  "permission to assign permission set licenses",
                  "permission to assign permission sets and groups",
                  "permission to create, change and delete permission sets and their "
                  "object and field permissions"):
        assert lines[title].startswith("✓ "), result.output
    # The walkthrough declares no groups: that permission is not asked for.
    assert lines["permission to create, change and delete permission set groups"].startswith(
        "– ")
    assert lines['seats of the "Salesforce Integration" user license'] == (
        '✓ seats of the "Salesforce Integration" user license: 5 free (0 of 5 in use); the '
        "config needs 1 more")
    assert lines["Setup Audit Trail"] == "✓ Setup Audit Trail: readable"
    assert lines["objects and fields"].startswith("✓ objects and fields: the 3 objects")
    assert "✗" not in result.output and "ready" in result.output
    assert org.writes() == 0  # read-only


def test_prints_its_calls_and_they_are_few(org: Org) -> None:
    org.emu.reset_stats()
    result = org.run("doctor")
    assert result.exit_code == 0, result.output
    served = org.emu.stats()["api_calls"]
    printed = int(result.output.rsplit("doctor: ", 1)[1].split()[0])
    # What the org counted, plus the version list, which sits outside the versioned API
    # the emulator meters.
    assert printed == served + 1
    assert 1 <= printed <= MAX_CALLS


def test_after_apply_the_walkthrough_needs_no_more_seats(org: Org) -> None:
    assert org.run("apply", "--auto-approve").exit_code == 0
    result = org.run("doctor")
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert lines['seats of the "Salesforce Integration" user license'].endswith(
        "4 free (1 of 5 in use); the config needs no more")
    assert lines['seats of the "Salesforce API Integration" permission set license'].endswith(
        "4 free (1 of 5 in use); the config needs no more")


NARROW_SEED: dict[str, Any] = {
    **INVOICE_SEED,
    "permission_sets": [{"name": "Helpdesk", "label": "Helpdesk",
                         "system_permissions": ["ApiEnabled", "ViewSetup",
                                                "AssignPermissionSets"]}],
    "users": [{"username": "helpdesk@acme.com", "last_name": "Desk",
               "profile": "Standard User", "permission_sets": ["Helpdesk"]}],
    "connected_apps": [{"name": "Helpdesk App", "client_id": "helpdesk-app",
                        "client_secret": "helpdesk-secret-0123456789",
                        "run_as": "helpdesk@acme.com"}],
}


def test_a_running_user_without_manage_users_fails_with_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", NARROW_SEED) as emu:
        org = Org(emu, tmp_path, auth={"flow": "client_credentials",
                                       "client_id": "${env.HELP_ID}",
                                       "client_secret": "${env.HELP_SECRET}"},
                  env={"HELP_ID": "helpdesk-app", "HELP_SECRET": "helpdesk-secret-0123456789"})
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("doctor")
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert lines["login"].startswith("✓ login: the client_credentials flow logged in as "
                                     "helpdesk@acme.com")
    assert lines["permission to create and update users"] == (
        "✗ permission to create and update users: helpdesk@acme.com lacks Manage Users (or "
        "Manage Internal Users)")
    assert ("    fix: give helpdesk@acme.com Manage Users (or Manage Internal Users) through "
            "a permission set (or run as a user who has it)") in result.output.splitlines()
    assert lines["permission to assign permission sets and groups"] == (
        "✓ permission to assign permission sets and groups: helpdesk@acme.com has "
        "AssignPermissionSets")
    assert lines["permission to create, change and delete permission sets and their object "
                 "and field permissions"].startswith("✗ ")
    assert "not ready" in result.output


def test_missing_psl_seats_fail_with_who_needs_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {**INVOICE_SEED, "permission_set_licenses": [{
        "developer_name": "SalesforceAPIIntegrationPsl", "label": "Salesforce API Integration",
        "seats": 0}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("doctor")
    assert result.exit_code == 1, result.output
    line = _lines(result.output)['seats of the "Salesforce API Integration" permission set '
                                 'license']
    assert line == ('✗ seats of the "Salesforce API Integration" permission set license: the '
                    "config needs 1 more (mulesoft@acme.com.integration), 0 free (0 of 0 in "
                    "use)")
    assert ("    fix: remove the license from a user who no longer needs it, or buy more"
            in result.output.splitlines())


def test_an_unknown_field_fails_at_its_config_line(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH.replace("Account.Industry:", "Account.Industri:"))
    result = org.run("doctor")
    assert result.exit_code == 1, result.output
    assert _lines(result.output)["objects and fields"] == (
        "✗ objects and fields: 1 problem in the config")
    problem = next(line for line in result.output.splitlines()
                   if "Account.Industri" in line)
    assert problem.startswith(f"    {org.config / 'integration.yaml'}:")
    assert problem.endswith('field "Account.Industri" does not exist in the org')


def test_json_is_a_versioned_document(org: Org) -> None:
    result = org.run("doctor", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["format"] == "reconciler-doctor" and doc["version"] == 1
    assert doc["org"] == "emu" and doc["ok"] is True
    assert doc["running_user"] == "admin@reconciler.local"
    assert 1 <= doc["api_calls"] <= MAX_CALLS
    ids = [c["id"] for c in doc["checks"]]
    assert ids[:3] == ["login", "api_version", "my_domain"]
    assert {"permissions.users", "seats.integration_psl", "audit_trail",
            "objects_and_fields"} <= set(ids)
    assert all(set(c) == {"id", "title", "status", "detail", "fix", "problems"}
               for c in doc["checks"])
    assert {c["status"] for c in doc["checks"]} <= {"pass", "skip"}


def test_an_unserved_api_version_fails_and_skips_the_rest(org: Org) -> None:
    org.write("settings.yaml", 'settings:\n  api_version: "99.0"\n')
    org.write("integration.yaml", WALKTHROUGH.replace('  api_version: "62.0"\n', ""))
    result = org.run("doctor", "--json")
    assert result.exit_code == 1, result.output
    checks = {c["id"]: c for c in json.loads(result.output)["checks"]}
    assert checks["api_version"]["status"] == "fail"
    assert checks["api_version"]["detail"].startswith("99.0 is not served (the org serves ")
    assert checks["api_version"]["fix"].startswith("set settings.api_version to one it serves")
    assert checks["audit_trail"]["status"] == "skip"


def test_a_failed_login_names_the_fix(org: Org) -> None:
    result = org.run("doctor", env={"EMU_CLIENT_SECRET": "not-the-secret"})
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert lines["login"].startswith("✗ login: ")
    assert "fix: client_secret is not the connected app's consumer secret" in result.output
    assert lines["Setup Audit Trail"] == "– Setup Audit Trail: not checked: login failed"
    assert "not-the-secret" not in result.output


def test_my_domain_hosts() -> None:
    for url in ("https://acme.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com",
                "https://acme-dev-ed.develop.my.salesforce.com",
                "https://ability-fun-1234.scratch.my.salesforce.com"):
        assert is_my_domain(url), url
    for url in ("https://login.salesforce.com", "https://test.salesforce.com",
                "https://na42.salesforce.com", "https://my.salesforce.com.evil.example"):
        assert not is_my_domain(url), url


def test_a_non_my_domain_org_fails_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "integration.yaml").write_text(WALKTHROUGH)
    config = load_config(tmp_path)
    # What a real org answers a client-credentials login on the generic login host.
    refused = Facts(org="prod", flow="client_credentials",
                    login_url="https://login.salesforce.com", api_version="62.0",
                    login_error="login to https://login.salesforce.com failed: invalid_grant: "
                                "request not supported on this domain")
    report = grade(config, refused)
    checks = {c.id: c for c in report.checks}
    assert not report.ok
    assert checks["login"].fix is not None
    assert checks["login"].fix.startswith("the client_credentials flow works only on the "
                                          "org's My Domain: set login_url to it")
    assert checks["my_domain"].status == "fail"
    assert "https://acme.my.salesforce.com" in (checks["my_domain"].fix or "")
    # Another flow on an old instance URL: My Domain is advised, not a login failure.
    old_host = Facts(org="prod", flow="jwt", login_url="https://login.salesforce.com",
                     api_version="62.0", instance_url="https://na42.salesforce.com",
                     running_user="api@acme.com", versions=("62.0",))
    checks = {c.id: c for c in grade(config, old_host).checks}
    assert checks["login"].status == "pass"
    assert checks["my_domain"].status == "fail"
    assert checks["my_domain"].detail == "https://na42.salesforce.com is not a My Domain URL"
    on_my_domain = Facts(org="prod", flow="client_credentials",
                         login_url="https://acme.my.salesforce.com", api_version="62.0",
                         instance_url="https://acme.my.salesforce.com",
                         running_user="api@acme.com", versions=("62.0",))
    checks = {c.id: c for c in grade(config, on_my_domain).checks}
    assert checks["my_domain"].status == "pass"


def test_unreadable_permissions_and_trail_name_view_setup(tmp_path: Path) -> None:
    (tmp_path / "integration.yaml").write_text(WALKTHROUGH)
    config = load_config(tmp_path)
    # A user with none of View Setup, Assign Permission Sets, Manage Users can't read
    # permission set assignments or the audit trail in a real org.
    facts = Facts(org="prod", flow="client_credentials",
                  login_url="https://acme.my.salesforce.com", api_version="62.0",
                  instance_url="https://acme.my.salesforce.com", running_user="api@acme.com",
                  versions=("62.0",), errors=FrozenMap({
                      "permissions": "INSUFFICIENT_ACCESS: insufficient access rights",
                      "audit_trail": "INSUFFICIENT_ACCESS: insufficient access rights"}))
    checks = {c.id: c for c in grade(config, facts).checks}
    assert checks["permissions"].status == "fail"
    assert checks["permissions"].detail == ("can't read api@acme.com's permissions: "
                                            "INSUFFICIENT_ACCESS: insufficient access rights")
    assert (checks["permissions"].fix or "").startswith(
        "give the running user View Setup and Configuration")
    assert (checks["audit_trail"].fix or "").startswith(
        "give the running user View Setup and Configuration")


def test_every_plan_action_needs_a_permission_the_table_names() -> None:
    for kind in KINDS:
        need = need_for_action(kind)
        assert need.permissions and need.source
    assert {n.kind for n in NEEDS} >= {"users", "assignments", "permission_sets", "groups",
                                       "audit_trail"}
