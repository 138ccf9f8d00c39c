"""An assignment the org refuses because another writer changed the org since apply read
it fails with the org's words: only DUPLICATE_VALUE (the same assignment already made)
counts as done. Through the writer against the emulator over HTTPS, the other writer
acting between apply's read and its writes."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply import apply_plan
from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.org.reader import read
from reconciler.org.writer import Writer
from reconciler.plan import OrgRef, claims_for, plan_from_live
from tests.emulator.helpers import client as sf_client
from tests.emulator.helpers import one
from tests.orgdir import INVOICE_SEED

SEED = {**INVOICE_SEED,
        "permission_sets": [{"name": "INT_A", "label": "A"}],
        "users": [{"username": "u@acme.example", "last_name": "U", "email": "u@acme.example",
                   "profile": "Minimum Access - API Only Integrations"}]}
CONFIG = """\
permission_sets:
  INT_A:
    label: A
users:
  u:
    username: u@acme.example
    last_name: U
    email: u@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_A]
"""
ASSIGN = "assign_permission_set:users.u.permission_sets.INT_A"


def test_an_assignment_of_a_set_deleted_meanwhile_fails(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CONFIG)
    config = load_config(tmp_path)
    with start_emulator(None, SEED) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="client_credentials",
                          client_id=creds["client_id"], client_secret=creds["client_secret"],
                          ca_bundle=emu.ca_file)
        with OrgClient(conn) as client:
            live = read(client, claims_for(config))
            plan = plan_from_live(config, live, org=OrgRef(
                "local", client.org_id, client.instance_url, client.username))
            assert [a.id for a in plan.actions] == [ASSIGN]
            sf = sf_client(emu)
            sf.PermissionSet.delete(one(sf, "SELECT Id FROM PermissionSet "
                                            "WHERE Name = 'INT_A'")["Id"])
            result = apply_plan(plan, Writer(client, live), live,
                                journal_path=tmp_path / "journal.json")
    outcome = result.outcomes[ASSIGN]
    assert outcome.status == "failed", outcome
    assert (outcome.error, outcome.note) == (
        "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id", "")
    assert not result.ok
