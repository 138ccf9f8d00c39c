"""What the reconciler keeps on disk: one process per local org, owner-only files.

Through the CLI and `reconciler emulator serve` as real processes, as a user runs them.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator import start_emulator
from tests.emulator.helpers import client

CONFIG = """\
permission_sets:
  INT_Reports:
    label: Reports
    objects:
      Account: [read]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A config with no orgs: its org is the embedded one, kept in .reconciler/local."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.yaml").write_text(CONFIG)
    old = os.umask(0o022)  # the usual umask: what it lets through is not our business
    try:
        yield tmp_path
    finally:
        os.umask(old)


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def serve(data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--data", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_a_second_process_on_a_local_orgs_data_is_refused_naming_the_holder(config: Path):
    data = config / ".reconciler" / "local"
    server = serve(data)
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        # the CLI's embedded org would work from a copy the server no longer has
        refused = run(config, "plan")
        assert refused.exit_code == 1
        assert (f"Error: the local org in {data} is in use by another process: the lock is "
                f"held by pid {server.pid} (reconciler emulator serve, since ") \
            in refused.output
        assert f"serving {ready['url']}" in refused.output
        assert f"point the org in the config at it (instance_url and login_url " \
               f"{ready['url']}, ca_bundle {data / 'ca.pem'}" in refused.output
        assert "Traceback" not in refused.output
        # nor may a second server open it
        again = serve(data)
        _, err = again.communicate(timeout=30)
        assert again.returncode == 1
        assert f"held by pid {server.pid} (reconciler emulator serve" in err
        assert "Traceback" not in err
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=10)
    assert server.returncode == 0
    # once the server is gone, the directory is free
    planned = run(config, "plan")
    assert planned.exit_code == 0, planned.output


def test_everything_kept_about_an_org_is_readable_by_its_owner_only(config: Path) -> None:
    assert run(config, "apply", "--auto-approve").exit_code == 0
    assert run(config, "plan").exit_code == 0
    assert run(config, "drift").exit_code == 0
    data = config / ".reconciler" / "local"
    with start_emulator(data) as emu:
        client(emu).PermissionSet.create({"Name": "Out_Of_Band", "Label": "Out of band"})
        secret = emu.credentials()["client_secret"]
        # SQLite's write-ahead log and index exist while the org is open
        live = {p.name: mode(p) for p in data.iterdir() if p.name.startswith("org.sqlite")}
        assert live == {"org.sqlite": 0o600, "org.sqlite-wal": 0o600, "org.sqlite-shm": 0o600}
    # why it matters: the store holds the connected app's secret
    assert secret.encode() in (data / "org.sqlite").read_bytes()
    kept = sorted(p for p in [*data.rglob("*"), *(config / "plans").iterdir()])
    names = {str(p.relative_to(config)) for p in kept}
    assert {".reconciler/local/ca-key.pem", ".reconciler/local/ca.pem",
            ".reconciler/local/org.sqlite", ".reconciler/local/drift/last-report.json",
            "plans/local.plan.json"} <= names
    assert any(n.startswith("plans/local.apply-") for n in names)
    loose = {str(p.relative_to(config)): oct(mode(p)) for p in [data, *kept]
             if mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}


def test_looser_files_from_before_are_tightened_when_the_org_is_opened(config: Path) -> None:
    data = config / ".reconciler" / "local"
    assert run(config, "plan").exit_code == 0
    for path in data.iterdir():
        path.chmod(0o644)
    data.chmod(0o755)
    assert run(config, "plan").exit_code == 0
    assert mode(data) == 0o700
    assert {p.name: oct(mode(p)) for p in data.iterdir() if mode(p) != 0o600} == {}
