"""A config directory whose org is an emulator, and the CLI run against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from simple_salesforce import Salesforce

from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.org.login import Connection
from tests.emulator.helpers import client

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WALKTHROUGH = (FIXTURES / "configs" / "integration-user" / "integration.yaml").read_text()
INVOICE_SEED: dict[str, Any] = {"custom_objects": [{
    "name": "Invoice__c", "label": "Invoice", "fields": {"Amount__c": "currency"}}]}


def jwt_seed(certificate_pem: str) -> dict[str, Any]:
    """The Invoice org with a connected app for the JWT bearer flow (signed by
    ``certificate_pem``'s key) and the System Administrator ``jwt@acme.example``."""
    return {**INVOICE_SEED,
            "connected_apps": [{"name": "Jwt", "client_id": "jwt-app",
                                "certificate": certificate_pem,
                                "admin_approved_users_only": False}],
            "users": [{"username": "jwt@acme.example", "last_name": "Jwt",
                       "profile": "System Administrator"}]}


class Org:
    """An emulated org, a config directory pointing at it, and the CLI to run."""

    def __init__(self, emu: Emulator, root: Path, *, auth: dict[str, str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        """``auth`` is the org's auth block (values may use ${env.…}); client
        credentials of the emulator's connected app by default."""
        self.emu = emu
        self.root = root
        self._logs: dict[int, Path] = {}
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

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """The CLI as a process of its own (it can be killed); its output, stdout and
        stderr together, goes to a file read by :meth:`output` (a pipe nobody reads
        would stall it)."""
        log = self.root / f"cli-{len(self._logs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "-c", str(self.config), "--org", "emu",
                 *args], cwd=self.root, env={**os.environ, **self.env},
                stdout=out, stderr=subprocess.STDOUT)
        self._logs[proc.pid] = log
        return proc

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        """What a spawned CLI printed so far."""
        return self._logs[proc.pid].read_text(errors="replace")

    def journal(self) -> dict[str, Any] | None:
        """The newest apply journal under plans/, None while there is none (or while it
        can't be read)."""
        found = sorted((self.root / "plans").glob("emu.apply-*.json"))
        if not found:
            return None
        try:
            data = json.loads(found[-1].read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def kill_apply_when(self, proc: subprocess.Popen[bytes],
                        condition: Callable[[dict[str, dict[str, Any]]], bool],
                        timeout: float = 60) -> dict[str, dict[str, Any]]:
        """SIGKILL ``proc`` as soon as its journal's entries (by action id) meet
        ``condition``; the entries it saw then. Fails if the apply ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            journal = self.journal()
            entries = {e["id"]: e for e in journal["actions"]} if journal else {}
            if entries and condition(entries):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                return entries
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"the apply ended before it could be killed:\n{self.output(proc)}")

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


def app_conn(emu: Emulator, **over: Any) -> Connection:
    """Client credentials for the emulator's default connected app."""
    creds = emu.credentials()
    values: dict[str, Any] = {"login_url": emu.url, "flow": "client_credentials",
                              "client_id": creds["client_id"],
                              "client_secret": creds["client_secret"],
                              "ca_bundle": emu.ca_file}
    values.update(over)
    return Connection(**values)


def field_rows(org: Org, sets_like: str) -> Counter[tuple[str, str]]:
    """(set, field) of every field permission row of the sets named LIKE ``sets_like``,
    counted: a row written twice counts 2."""
    rows = org.sf.query_all("SELECT Parent.Name, Field FROM FieldPermissions "
                            f"WHERE Parent.Name LIKE '{sets_like}'")["records"]
    return Counter((r["Parent"]["Name"], r["Field"]) for r in rows)


def assert_converged(org: Org, sets_like: str, rows: int) -> None:
    """The ``rows`` field rows of those sets each there once, and the next plan empty."""
    found = field_rows(org, sets_like)
    assert len(found) == rows and set(found.values()) == {1}, "missing or twice"
    planned = org.run("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert "No changes. The org matches the config." in planned.output
