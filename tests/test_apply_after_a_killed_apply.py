"""An apply waits for the org's running ingest jobs only when the newest apply journal
says the last apply never finished (killed mid-job, its Bulk API job goes on in the
org). Older journals, and one that can't be read, don't make it wait. Through the CLI
against the emulator, counting the calls that list the jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, WALKTHROUGH, Org

LIST_JOBS = "GET jobs/ingest"


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        yield org


def _journal(stamp: str, *, finished: bool) -> None:
    """A journal named as apply names them, finished or left as a killed apply leaves it."""
    newest = sorted(Path("plans").glob("emu.apply-*.json"))[-1]
    data = json.loads(newest.read_text())
    data["finished_at"] = data["finished_at"] if finished else None
    Path(f"plans/emu.apply-{stamp}.json").write_text(json.dumps(data))


def _listed_jobs(org: Org) -> int:
    return int(org.emu.stats()["by_route"].get(LIST_JOBS, 0))


def test_after_a_finished_apply_the_next_does_not_wait_for_jobs(org: Org) -> None:
    # Older journals, one of them unfinished, don't count: the newest finished.
    _journal("19990101T000000000000Z", finished=True)
    _journal("19990102T000000000000Z", finished=False)
    again = org.run("apply", "--auto-approve")
    assert again.exit_code == 0, again.output
    assert "Nothing to apply." in again.output
    assert _listed_jobs(org) == 0


def test_after_a_killed_apply_the_next_waits_for_jobs_first(org: Org) -> None:
    _journal("29990101T000000000000Z", finished=False)
    again = org.run("apply", "--auto-approve")
    assert again.exit_code == 0, again.output
    assert _listed_jobs(org) == 1


def test_a_newest_journal_that_cannot_be_read_does_not_make_apply_wait(org: Org) -> None:
    Path("plans/emu.apply-29990101T000000000000Z.json").write_text("{not json")
    again = org.run("apply", "--auto-approve")
    assert again.exit_code == 0, again.output
    assert _listed_jobs(org) == 0
