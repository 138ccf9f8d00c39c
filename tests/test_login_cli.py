"""Logging in to an org as real orgs allow it, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.emulator.helpers import admin
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org

OPS = {"username": "ops@acme.example", "last_name": "Ops", "profile": "System Administrator",
       "password": "ops-password-1"}
PASSWORD_AUTH = {"flow": "password", "client_id": "${env.EMU_CLIENT_ID}",
                 "client_secret": "${env.EMU_CLIENT_SECRET}", "username": "${env.SF_USER}",
                 "password": "${env.SF_PASSWORD}"}


def test_a_blocked_password_flow_is_explained_with_the_setting_to_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {**INVOICE_SEED, "users": [OPS],
            "org": {"allow_oauth_username_password_flows": False}}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path, auth=PASSWORD_AUTH,
                  env={"SF_USER": OPS["username"], "SF_PASSWORD": OPS["password"]})
        org.write("integration.yaml", WALKTHROUGH)
        blocked = org.run("plan")
        assert blocked.exit_code == 1
        assert "invalid_grant: authentication failure" in blocked.output
        assert ('"Allow OAuth Username-Password Flows" in Setup > OAuth and OpenID Connect '
                "Settings" in blocked.output)
        assert "flow: client_credentials" in blocked.output
        assert OPS["password"] not in blocked.output and "Traceback" not in blocked.output
        # The admin allows the flow: the same config now plans.
        admin(emu, "POST", "settings", {"allow_oauth_username_password_flows": True})
        allowed = org.run("plan")
        assert allowed.exit_code == 0, allowed.output
        assert f"as {OPS['username']}" in allowed.output
