"""A record the org can't lock is sent again, up to three more times, each wait up to
twice the last (with jitter, so two appliers don't collide again in step), and every
call counted by transport: the writer against the emulator over HTTPS, its waits
recorded instead of slept."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from reconciler.apply import apply_plan
from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.org.reader import read
from reconciler.org.writer import Writer
from reconciler.plan import OrgRef, claims_for, plan_from_live
from tests.orgdir import INVOICE_SEED

CREATE = "create_permission_set:permission_sets.INT_A"
LOCK = "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"


class _Longest(random.Random):
    """Jitter that always waits the longest it may, so the waits are the bounds."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(("locks", "status", "waits"), [
    (2, "applied", [1.0, 2.0]),
    (None, "failed", [1.0, 2.0, 4.0]),  # never clears: three more tries, then its error
], ids=["clears", "never-clears"])
def test_a_locked_record_is_sent_again_with_growing_waits(
        tmp_path: Path, locks: int | None, status: str, waits: list[float]) -> None:
    (tmp_path / "a.yaml").write_text("permission_sets:\n  INT_A:\n    label: A\n")
    config = load_config(tmp_path)
    with start_emulator(None, INVOICE_SEED) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="client_credentials",
                          client_id=creds["client_id"], client_secret=creds["client_secret"],
                          ca_bundle=emu.ca_file)
        emu.faults.add(kind="lock", method="POST", path="composite/sobjects$", times=locks)
        with OrgClient(conn) as client:
            live = read(client, claims_for(config))
            plan = plan_from_live(config, live, org=OrgRef(
                "local", client.org_id, client.instance_url, client.username))
            slept: list[float] = []
            writer = Writer(client, live, sleep=slept.append, rng=_Longest())
            result = apply_plan(plan, writer, live, journal_path=tmp_path / "journal.json")
        calls = len(waits) + 1
        assert emu.stats()["by_route"]["POST composite/sobjects"] == calls
    outcome = result.outcomes[CREATE]
    assert outcome.status == status
    assert outcome.error == ("" if status == "applied" else LOCK)
    assert slept == waits
    assert (writer.write_calls, dict(writer.calls_by_transport)) == (
        calls, {"collections": calls})
    assert writer.records_written == (1 if status == "applied" else 0)
