"""The real Salesforce CLI, run against an emulator with a state directory of its own."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from reconciler.emulator import Emulator
from tests.emulator.helpers import token

ALIAS = "emu"
COMMAND_TIMEOUT = 120

# The CLI stays on this machine: no update checks, release notes, telemetry or log
# files, and nothing inherited from the user's own sf set-up (target org, API version…).
QUIET = {
    "SF_AUTOUPDATE_DISABLE": "true",
    "SF_DISABLE_AUTOUPDATE": "true",
    "SF_SKIP_NEW_VERSION_CHECK": "true",
    "SF_HIDE_RELEASE_NOTES": "true",
    "SF_HIDE_RELEASE_NOTES_FOOTER": "true",
    "SF_DISABLE_TELEMETRY": "true",
    "SFDX_DISABLE_TELEMETRY": "true",
    "SF_DISABLE_LOG_FILE": "true",
    "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
    "NO_COLOR": "1",
    "NO_PROXY": "127.0.0.1,localhost",
}


class SfCli:
    """``sf`` as an admin runs it, logged in to one emulator under the alias ``emu``."""

    def __init__(self, sf_bin: Path, home: Path, emu: Emulator) -> None:
        self.sf_bin = sf_bin
        self.emu = emu
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith(("SF_", "SFDX_", "XDG_")) and "PROXY" not in k.upper()}
        self.env = {
            **inherited, **QUIET,
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            # Plugins start the launcher by name: it must be on PATH.
            "PATH": f"{sf_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "NODE_EXTRA_CA_CERTS": str(emu.ca_file),
            "SF_TARGET_ORG": ALIAS,
        }
        self.login = self.ok("org", "login", "access-token", "--instance-url", emu.url,
                             "--no-prompt", "--alias", ALIAS,
                             env={"SF_ACCESS_TOKEN": token(emu)})

    def run(self, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        """The ``--json`` document of one command (status, result, warnings)."""
        out = self.text(*args, "--json", env=env)
        try:
            doc: dict[str, Any] = json.loads(out)
        except json.JSONDecodeError:
            raise AssertionError(f"sf {' '.join(args)} printed no JSON:\n{out}") from None
        return doc

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """The result of a command that must succeed."""
        doc = self.run(*args, env=env)
        assert doc.get("status") == 0, (args, doc)
        return doc["result"]

    def text(self, *args: str, env: dict[str, str] | None = None) -> str:
        """What the command prints on standard output."""
        done = subprocess.run([str(self.sf_bin), *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=COMMAND_TIMEOUT, check=False)
        return done.stdout
