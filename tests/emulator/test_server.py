"""The server as a process and as a store: restarts, isolation, concurrency, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from reconciler.emulator.errors import LocalOrgError
from tests.emulator.helpers import client, http_session, make_user, token


def test_data_survives_a_restart(tmp_path):
    data = tmp_path / "org"
    with start_emulator(data) as emu:
        sf = client(emu)
        make_user(sf, "kept@acme.example")
        sf.Account.create({"Name": "Kept"})
        creds, ca = emu.credentials(), emu.ca_file.read_bytes()
    with start_emulator(data) as emu:
        assert emu.credentials()["client_secret"] == creds["client_secret"]
        assert emu.ca_file.read_bytes() == ca
        sf = client(emu)
        assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Kept"
        assert sf.query("SELECT COUNT() FROM User WHERE Username = 'kept@acme.example'")[
            "totalSize"] == 1
        # seats were counted from the stored users, not reset
        lic = sf.query("SELECT UsedLicenses FROM UserLicense WHERE Name = "
                       "'Salesforce Integration'")["records"][0]
        assert lic["UsedLicenses"] == 1
        # new Ids do not collide with the stored ones
        assert sf.Account.create({"Name": "New"})["success"]


def test_two_orgs_do_not_mix(tmp_path):
    with start_emulator(tmp_path / "a") as a, start_emulator(tmp_path / "b") as b:
        assert a.credentials()["client_secret"] != b.credentials()["client_secret"]
        client(a).Account.create({"Name": "only in a"})
        assert client(b).query("SELECT COUNT() FROM Account")["totalSize"] == 0
        # b's CA does not vouch for a's server
        session = http_session(b)
        with pytest.raises(Exception, match="certificate verify failed"):
            session.get(f"{a.url}/services/data")


def test_refuses_a_non_loopback_host(tmp_path):
    from reconciler.emulator.server import open_emulator

    with pytest.raises(LocalOrgError, match="loopback only"):
        open_emulator(tmp_path / "org", host="0.0.0.0")  # noqa: S104


def test_concurrent_writers(emu):
    sf_token = token(emu)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            sf = client(emu, sf_token)
            for i in range(15):
                sf.Account.create({"Name": f"T{n}-{i}"})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = client(emu, sf_token).query_all("SELECT Id FROM Account")["records"]
    assert len(rows) == 90 and len({r["Id"] for r in rows}) == 90


def test_serve_command_prints_one_line_and_answers_curl(tmp_path):
    data = tmp_path / "org"
    seed = Path(__file__).resolve().parents[2] / "fixtures" / "seeds" / "example.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--data", str(data),
         "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert set(ready) == {"url", "ca_file", "credentials_file"}
        assert ready["url"].startswith("https://127.0.0.1:")
        creds_path = Path(ready["credentials_file"])
        assert stat.S_IMODE(creds_path.stat().st_mode) == 0o600
        creds = json.loads(creds_path.read_text())
        assert {"client_id", "client_secret", "username"} <= set(creds)
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        tok = json.loads(subprocess.run(
            ["curl", "-s", "--cacert", ready["ca_file"], f"{ready['url']}/services/oauth2/token",
             "-d", "grant_type=client_credentials", "-u",
             f"{creds['client_id']}:{creds['client_secret']}"],
            check=True, capture_output=True, text=True).stdout)["access_token"]
        limits = json.loads(subprocess.run(
            ["curl", "-s", "--cacert", ready["ca_file"],
             f"{ready['url']}/services/data/v62.0/limits", "-H", f"Authorization: Bearer {tok}"],
            check=True, capture_output=True, text=True).stdout)
        assert limits["DailyApiRequests"]["Max"] == 100_000
        users = json.loads(subprocess.run(
            ["curl", "-s", "--cacert", ready["ca_file"], "-G",
             f"{ready['url']}/services/data/v62.0/query", "--data-urlencode",
             "q=SELECT Username FROM User WHERE Username LIKE '%acme.example'",
             "-H", f"Authorization: Bearer {tok}"],
            check=True, capture_output=True, text=True).stdout)
        assert users["totalSize"] == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "emulator stopped" in err
