"""A config directory whose org is an emulator, and the CLI run against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from simple_salesforce import Salesforce

from reconciler.cli import cli
from reconciler.emulator import Emulator
from tests.emulator.helpers import client

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WALKTHROUGH = (FIXTURES / "configs" / "integration-user" / "integration.yaml").read_text()
INVOICE_SEED: dict[str, Any] = {"custom_objects": [{
    "name": "Invoice__c", "label": "Invoice", "fields": {"Amount__c": "currency"}}]}


class Org:
    """An emulated org, a config directory pointing at it, and the CLI to run."""

    def __init__(self, emu: Emulator, root: Path, *, auth: dict[str, str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        """``auth`` is the org's auth block (values may use ${env.…}); client
        credentials of the emulator's connected app by default."""
        self.emu = emu
        self.root = root
        self.config = root / "config"
        self.config.mkdir()
        creds = emu.credentials()
        self.env = {"EMU_CLIENT_ID": creds["client_id"],
                    "EMU_CLIENT_SECRET": creds["client_secret"], **(env or {})}
        auth = auth or {"flow": "client_credentials", "client_id": "${env.EMU_CLIENT_ID}",
                        "client_secret": "${env.EMU_CLIENT_SECRET}"}
        (self.config / "org.yaml").write_text(
            "orgs:\n  emu:\n"
            f"    instance_url: {emu.url}\n    login_url: {emu.url}\n"
            f"    ca_bundle: {emu.ca_file}\n    auth:\n"
            + "".join(f"      {k}: {v}\n" for k, v in auth.items()))

    def write(self, name: str, text: str) -> None:
        (self.config / name).write_text(text)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """The CLI with `-c config --org emu` and the credentials in the environment."""
        return CliRunner().invoke(cli, ["-c", str(self.config), "--org", "emu", *args],
                                  env={**self.env, **(env or {})})

    def writes(self) -> int:
        """Write calls the org has served (collections and single-record writes)."""
        total = 0
        for route, n in self.emu.stats()["by_route"].items():
            method, _, path = route.partition(" ")
            if method in ("POST", "PATCH", "DELETE") and path.startswith(
                    ("composite/sobjects", "sobjects/")):
                total += n
        return total

    @property
    def sf(self) -> Salesforce:
        """simple-salesforce, as an admin would use the org out of band."""
        return client(self.emu)
