"""A plan saved against one org is refused by another, saying which org it was made for
(a rollback plan: which journal it undoes): applied to a sandbox's twin after a refresh,
or with the config pointed elsewhere, it would write changes nobody reviewed for that
org. Through the CLI against two emulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org


def _point_at(org: Org, first: Emulator, second: Emulator) -> dict[str, str]:
    """Point ``org``'s config directory at ``second``; the environment to log in there."""
    text = (org.config / "org.yaml").read_text()
    (org.config / "org.yaml").write_text(
        text.replace(first.url, second.url).replace(str(first.ca_file), str(second.ca_file)))
    creds = second.credentials()
    return {"EMU_CLIENT_ID": creds["client_id"], "EMU_CLIENT_SECRET": creds["client_secret"]}


def test_a_plan_saved_for_one_org_is_refused_by_another_naming_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "one", INVOICE_SEED) as first, \
            start_emulator(tmp_path / "two", INVOICE_SEED) as second:
        org = Org(first, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        assert org.run("plan", "--out", "plans/p.json").exit_code == 0
        planned_for = org.sf.query("SELECT Id FROM Organization")["records"][0]["Id"]
        # The same config directory, now pointing at the other org.
        refused = org.run("apply", "plans/p.json", env=_point_at(org, first, second))
        assert refused.exit_code == 1, refused.output
        now = client(second).query("SELECT Id FROM Organization")["records"][0]["Id"]
        assert planned_for != now
        assert (f"the plan was made for org {planned_for} ({first.url}), not this org "
                f"({now})") in refused.output
        assert second.stats()["by_route"].get("POST composite/sobjects", 0) == 0


def test_a_rollback_plan_applied_to_another_org_names_its_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "one", INVOICE_SEED) as first, \
            start_emulator(tmp_path / "two", INVOICE_SEED) as second:
        org = Org(first, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        assert org.run("apply", "--auto-approve").exit_code == 0
        org.write("integration.yaml", WALKTHROUGH.replace("      Contact: [read]\n", ""))
        assert org.run("apply", "--auto-approve").exit_code == 0
        journal = sorted(Path("plans").glob("emu.apply-*.json"))[-1]
        assert org.run("rollback", str(journal), "--out", "plans/undo.json").exit_code == 0
        made_in = client(first).query("SELECT Id FROM Organization")["records"][0]["Id"]
        refused = org.run("apply", "plans/undo.json", env=_point_at(org, first, second))
        assert refused.exit_code == 1, refused.output
        now = client(second).query("SELECT Id FROM Organization")["records"][0]["Id"]
        assert (f"{journal} is the journal of an apply to org {made_in} (emu), not to this "
                f"org ({now})") in refused.output
        assert second.stats()["by_route"].get("POST composite/sobjects", 0) == 0
