"""What an apply reports about its last steps: a delete the org refuses, a journal that
can't be written once the writes are done, and when the apply ran."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler import actions as a
from reconciler.apply import ApplyResult, apply_plan
from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.org.client import OrgClient
from reconciler.org.reader import read
from reconciler.org.writer import Outcome, Writer
from reconciler.plan import OrgRef, Plan, claims_for, plan_from_live
from tests.emulator.helpers import one
from tests.orgdir import INVOICE_SEED, Org, app_conn

CONFIG = """\
permission_sets:
  INT_Old:
    label: Integration - Old
    objects:
      Invoice__c: [read]
"""
USER = {"username": "other@acme.example", "last_name": "Other", "email": "other@acme.example",
        "profile": "Standard User"}


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", {**INVOICE_SEED, "users": [USER]}) as emu:
        org = Org(emu, tmp_path)
        org.write("access.yaml", CONFIG)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        yield org


def _apply(org: Org, config: str, journal: Path, *, writer: type[Writer] = Writer,
           between: Sequence[str] = ()) -> tuple[Plan, ApplyResult]:
    """Plan ``config`` against the org, let ``between`` (set names) be assigned to the
    other user as another admin would, then apply the plan with ``writer``."""
    org.write("access.yaml", config)
    with OrgClient(app_conn(org.emu)) as client:
        live = read(client, claims_for(load_config(org.config)))
        plan = plan_from_live(load_config(org.config), live,
                              org=OrgRef("emu", client.org_id, client.instance_url,
                                         client.username))
        user = one(org.sf, f"SELECT Id FROM User WHERE Username = '{USER['username']}'")["Id"]
        for name in between:
            ps = one(org.sf, f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")["Id"]
            org.sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
        return plan, apply_plan(plan, writer(client, live), live, journal_path=journal)


def test_a_delete_the_org_refuses_is_a_failure_not_already_gone(org: Org,
                                                                tmp_path: Path) -> None:
    """Another admin assigns the set between the plan and its delete: the org refuses the
    delete, and apply says so (it is not a delete someone else made first)."""
    plan, result = _apply(org, CONFIG.replace("    label: Integration - Old\n    objects:\n"
                                              "      Invoice__c: [read]\n",
                                              "    absent: true\n"),
                          tmp_path / "journal.json", between=["INT_Old"])
    assert [x.kind for x in plan.actions] == ["delete_permission_set"]
    outcome = result.outcomes["delete_permission_set:permission_sets.INT_Old"]
    assert outcome.status == "failed" and not outcome.note, outcome
    assert not result.ok
    assert org.sf.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'INT_Old'")[
        "totalSize"] == 1


class _JournalBlockedAtTheEnd(Writer):
    """The real writer; once its last layer is written, the journal's directory can no
    longer take the journal (a directory where its temporary file goes)."""

    journal: Path

    def run_layer(self, layer: Sequence[a.Action],
                  outcomes: dict[str, Outcome] | None = None) -> dict[str, Outcome]:
        outcomes = super().run_layer(layer, outcomes)
        self.journal.with_name(self.journal.name + ".tmp").mkdir(exist_ok=True)
        return outcomes


def test_a_journal_that_cannot_be_written_at_the_end_stops_the_apply_with_why(
        org: Org, tmp_path: Path) -> None:
    """The writes were made, but the journal doesn't say so: the apply must not read as
    finished cleanly."""
    _JournalBlockedAtTheEnd.journal = tmp_path / "journal.json"
    plan, result = _apply(org, CONFIG.replace("[read]", "[read, edit]"),
                          _JournalBlockedAtTheEnd.journal, writer=_JournalBlockedAtTheEnd)
    assert [x.kind for x in plan.actions] == ["change_object_access"]
    assert all(o.status == "applied" for o in result.outcomes.values()), result.outcomes
    assert result.stopped.startswith("can't write the apply journal "), result.stopped
    assert not result.ok


def test_the_journal_says_when_the_plan_was_made_and_the_apply_ran_in_utc(
        org: Org, tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    _, result = _apply(org, CONFIG.replace("[read]", "[read, edit]"), tmp_path / "journal.json")
    assert result.ok, result.outcomes
    journal = json.loads((tmp_path / "journal.json").read_text())
    planned = datetime.strptime(journal["plan_created_at"], "%Y-%m-%dT%H:%M:%SZ")
    started, finished = (datetime.strptime(journal[k], "%Y-%m-%dT%H:%M:%S.%fZ")
                         for k in ("started_at", "finished_at"))
    stamps = [t.replace(tzinfo=UTC) for t in (planned, started, finished)]
    assert before <= stamps[0] <= stamps[1] <= stamps[2] <= datetime.now(UTC)
