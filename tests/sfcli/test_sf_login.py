"""``auth: {flow: sf_cli}``: the reconciler logs in through the real Salesforce CLI,
itself logged in to the embedded org, and plans through the CLI (click runner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from simple_salesforce import Salesforce

from reconciler.cli import cli as reconciler
from reconciler.emulator import Emulator
from tests.emulator.helpers import make_set, make_user, token
from tests.sfcli.helpers import ALIAS, SfCli

pytestmark = [pytest.mark.sfcli, pytest.mark.slow]

SET = """\
permission_sets:
  INT_From_Sf_Cli:
    label: Integration - from sf
    objects:
      Account: [read]
"""


def _config(tmp_path: Path, emu: Emulator, target_org: str) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "org.yaml").write_text(
        "orgs:\n  emu:\n"
        f"    ca_bundle: {emu.ca_file}\n"
        f"    auth: {{flow: sf_cli, target_org: {target_org}}}\n")
    (config / "sets.yaml").write_text(SET)
    return config


def _plan(cli: SfCli, config: Path, tmp_path: Path) -> Result:
    return CliRunner().invoke(reconciler, ["-c", str(config), "--org", "emu", "plan",
                                           "--out", str(tmp_path / "emu.plan.json")],
                              env=cli.env)


def test_plan_logs_in_with_the_session_the_cli_holds(
        cli: SfCli, emu: Emulator, tmp_path: Path) -> None:
    result = _plan(cli, _config(tmp_path, emu, ALIAS), tmp_path)
    assert result.exit_code == 0, result.output
    assert f"Org emu ({emu.url}, org {emu.org.org_id}), as admin@reconciler.local" \
        in result.output
    assert "+ permission_sets.INT_From_Sf_Cli" in result.output
    secret = cli.ok("org", "auth", "show-access-token")["accessToken"]
    assert secret not in result.output


def test_an_alias_the_cli_does_not_know_is_named_with_the_way_out(
        cli: SfCli, emu: Emulator, tmp_path: Path) -> None:
    result = _plan(cli, _config(tmp_path, emu, "nosuch"), tmp_path)
    assert result.exit_code == 1
    assert "No authorization information found for nosuch" in result.output
    assert "sf org list" in result.output
    assert "Traceback" not in result.output


def test_an_expired_session_the_cli_cannot_renew_says_to_log_in_again(
        cli: SfCli, emu: Emulator, tmp_path: Path) -> None:
    # The first query finds the session ended; the reconciler asks the CLI again, and
    # a login made from a bare access token has no refresh token to renew it with.
    emu.faults.add(kind="expire_session", path=r"/query$", times=1)
    try:
        result = _plan(cli, _config(tmp_path, emu, ALIAS), tmp_path)
    finally:
        emu.faults.clear()
        cli.ok("org", "login", "access-token", "--instance-url", emu.url, "--no-prompt",
               "--alias", ALIAS, env={"SF_ACCESS_TOKEN": token(emu)})
    assert result.exit_code == 1
    assert f"the session the Salesforce CLI holds for '{ALIAS}' has expired" in result.output
    assert f"sf org login web --alias {ALIAS}" in result.output


def test_init_from_org_imports_its_integration_users_and_plans_no_change(
        cli: SfCli, emu: Emulator, sf: Salesforce, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user(sf, "orders.api@acme.test")
    ps = make_set(sf, "INT_Orders_Api")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    monkeypatch.chdir(tmp_path)
    made = CliRunner().invoke(reconciler, ["init", "--from-org", ALIAS, "--ca-bundle",
                                           str(emu.ca_file), "acme"], env=cli.env)
    assert made.exit_code == 0, made.output
    assert {p.name for p in (tmp_path / "acme").iterdir()} >= {
        "reconciler.yaml", ".gitignore", "users.yaml", "permission_sets.yaml"}
    assert "orders.api@acme.test" in (tmp_path / "acme" / "users.yaml").read_text()
    assert made.output.splitlines()[-3:] == [
        "  reconciler validate", "  reconciler plan", f"  reconciler apply plans/{ALIAS}.plan.json"]
    monkeypatch.chdir(tmp_path / "acme")
    planned = CliRunner().invoke(reconciler, ["plan"], env=cli.env)
    assert planned.exit_code == 0, planned.output
    assert "No changes. The org matches the config." in planned.output
