"""`plan`, `show` and `graph` through the CLI, over HTTPS, with each auth flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from reconciler.emulator import start_emulator
from tests.emulator.helpers import token
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org, jwt_seed


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        yield org


def _plan_ok(org: Org) -> dict:
    result = org.run("plan", "--json", "--out", "plans/p.json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_plan_shows_the_diff_and_saves_the_plan(org: Org) -> None:
    result = org.run("plan")
    assert result.exit_code == 0, result.output
    assert "+ users.mulesoft" in result.output
    assert "+ permission_set_licenses: + Salesforce API Integration" in result.output
    assert "Plan: 11 to add, 0 to change, 0 to remove · " in result.output
    assert "Saved the plan to plans/emu.plan.json" in result.output
    saved = json.loads(Path("plans/emu.plan.json").read_text())
    assert saved["format"] == "reconciler-plan" and saved["version"] == 1
    assert saved["summary"] == {"add": 11, "change": 0, "remove": 0, "destructive": 0}
    assert "\x1b[" not in result.output  # no colour off a terminal
    assert org.writes() == 0  # planning writes nothing


def test_detailed_exitcode(org: Org) -> None:
    assert org.run("plan", "--detailed-exitcode").exit_code == 2
    assert org.run("apply", "--auto-approve").exit_code == 0
    assert org.run("plan", "--detailed-exitcode").exit_code == 0


def test_plans_are_byte_identical_for_the_same_inputs(org: Org) -> None:
    first, second = _plan_ok(org), _plan_ok(org)
    first.pop("created_at"), second.pop("created_at")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_show_renders_a_saved_plan_and_refuses_junk(org: Org, tmp_path: Path) -> None:
    planned = _plan_ok(org)
    shown = org.run("show", "plans/p.json", "--json")
    assert shown.exit_code == 0
    assert json.loads(shown.output) == planned
    text = org.run("show", "plans/p.json")
    assert "Plan: 11 to add" in text.output
    (tmp_path / "junk.json").write_text("{not json")
    bad = org.run("show", str(tmp_path / "junk.json"))
    assert bad.exit_code == 1
    assert bad.output.startswith(f"Error: {tmp_path / 'junk.json'}: not a readable plan file")
    missing = org.run("show", "nope.json")
    assert missing.exit_code == 1 and "no such plan file" in missing.output


def test_graph_in_dot_and_mermaid(org: Org) -> None:
    dot = org.run("graph")
    assert dot.exit_code == 0, dot.output
    assert dot.output.startswith("digraph plan {")
    assert ('"assign_permission_set_license:users.mulesoft.permission_set_licenses.'
            'Salesforce API Integration" -> "assign_permission_set:users.mulesoft.'
            'permission_sets.INT_Standard_Objects";') in dot.output
    mermaid = org.run("graph", "--format", "mermaid")
    assert mermaid.output.startswith("flowchart LR")
    assert mermaid.output.count("-->") == dot.output.count("->")


def test_target_and_exclude(org: Org) -> None:
    result = org.run("plan", "--json", "--target", "permission_sets.INT_Custom_Objects")
    kinds = [a["kind"] for a in json.loads(result.output)["actions"]]
    assert kinds == ["create_permission_set", "grant_object_access", "grant_field_access"]
    result = org.run("plan", "--json", "--exclude", "permission_sets.INT_Standard_Objects")
    ids = [a["id"] for a in json.loads(result.output)["actions"]]
    assert not any("INT_Standard_Objects" in i for i in ids)
    assert "create_user:users.mulesoft" in ids


def test_plan_errors_point_at_the_config_line(org: Org) -> None:
    org.write("integration.yaml", WALKTHROUGH.replace("Account.Industry", "Account.Nope"))
    result = org.run("plan")
    assert result.exit_code == 1
    lines = WALKTHROUGH.splitlines()
    row = next(i for i, x in enumerate(lines) if "Account.Industry" in x) + 1
    assert f"integration.yaml:{row}:7: field \"Account.Nope\" does not exist in the org" \
        in result.output
    assert "Traceback" not in result.output


def test_password_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {**INVOICE_SEED, "users": [{"username": "ops@acme.example", "last_name": "Ops",
                                       "profile": "System Administrator",
                                       "password": "ops-password-1"}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path, auth={
            "flow": "password", "client_id": "${env.EMU_CLIENT_ID}",
            "client_secret": "${env.EMU_CLIENT_SECRET}", "username": "${env.SF_USER}",
            "password": "${env.SF_PASSWORD}"},
            env={"SF_USER": "ops@acme.example", "SF_PASSWORD": "ops-password-1"})
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("plan")
        assert result.exit_code == 0, result.output
        assert "as ops@acme.example" in result.output
        assert "ops-password-1" not in result.output
        org.env["SF_PASSWORD"] = "wrong-password"
        refused = org.run("plan")
        assert refused.exit_code == 1
        assert "invalid_grant: authentication failure" in refused.output
        assert "wrong-password" not in refused.output


def test_jwt_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    leaf = trustme.CA().issue_cert("jwt@acme.example", key_type=trustme.KeyType.RSA)
    (tmp_path / "jwt.key").write_bytes(leaf.private_key_pem.bytes())
    seed = jwt_seed(leaf.cert_chain_pems[0].bytes().decode())
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path, auth={
            "flow": "jwt", "client_id": "${env.JWT_CLIENT}", "username": "${env.JWT_USER}",
            "private_key_file": str(tmp_path / "jwt.key")},
            env={"JWT_CLIENT": "jwt-app", "JWT_USER": "jwt@acme.example"})
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("plan")
        assert result.exit_code == 0, result.output
        assert "as jwt@acme.example" in result.output
        # the key really is checked: a stranger's key is refused
        stranger = trustme.CA().issue_cert("x", key_type=trustme.KeyType.RSA)
        (tmp_path / "jwt.key").write_bytes(stranger.private_key_pem.bytes())
        refused = org.run("plan")
        assert refused.exit_code == 1
        assert "invalid_grant: invalid assertion" in refused.output


def test_access_token_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path, auth={"flow": "access_token",
                                       "access_token": "${env.SF_TOKEN}"},
                  env={"SF_TOKEN": token(emu)})
        org.write("integration.yaml", WALKTHROUGH)
        result = org.run("plan")
        assert result.exit_code == 0, result.output
        assert f"as {emu.credentials()['username']}" in result.output
        emu.auth.expire_all()
        expired = org.run("plan")
        assert expired.exit_code == 1
        assert "sf org auth show-access-token" in expired.output


def test_soap_login_only_when_asked_and_with_a_warning(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ops = {"username": "ops@acme.example", "last_name": "Ops",
           "profile": "System Administrator", "password": "ops-password-1"}
    with start_emulator(tmp_path / "data", {**INVOICE_SEED, "users": [ops]}) as emu:
        org = Org(emu, tmp_path, auth={
            "flow": "password", "soap_login": "true", "username": "${env.SF_USER}",
            "password": "${env.SF_PASSWORD}"},
            env={"SF_USER": "ops@acme.example", "SF_PASSWORD": "ops-password-1"})
        org.write("integration.yaml", WALKTHROUGH)
        with pytest.warns(UserWarning, match="Summer '27"):
            result = org.run("plan")
        assert result.exit_code == 0, result.output
        assert "as ops@acme.example" in result.output
        # a wrong password: SOAP's own refusal, no traceback
        with pytest.warns(UserWarning, match="Summer '27"):
            refused = org.run("plan", env={"SF_PASSWORD": "not-it"})
        assert refused.exit_code == 1
        assert ("INVALID_LOGIN: Invalid username, password, security token; or user locked "
                "out." in refused.output)
        assert "Traceback" not in refused.output and "not-it" not in refused.output
