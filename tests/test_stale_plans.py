"""A saved plan applies only to the org and selection it was made for.

Beyond the records a config declares (``tests/test_unnoticed_bugs.py``), a config that
owns every set with a name prefix owns sets it doesn't list: one created or edited in
Setup after the plan must stop the apply too. A plan made for some addresses only
(``--target``, ``--exclude``) must apply as saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.apply import check_fresh
from reconciler.emulator import start_emulator
from reconciler.errors import StalePlanError
from reconciler.plan import load_plan
from tests.emulator.helpers import grant, make_set, one
from tests.orgdir import FIXTURES, INVOICE_SEED, Org

SEED = {**INVOICE_SEED, "permission_sets": [
    {"name": "INT_Old", "label": "Old", "objects": {"Invoice__c": ["read"]}}]}
# The config owns every INT_ set; INT_Old, not listed, is to be deleted.
PREFIXED = """\
settings:
  scope:
    permission_sets: {name_prefix: INT_}
permission_sets:
  INT_Current:
    label: Current
    objects:
      Invoice__c: [read]
"""
TWO_SETS = """\
permission_sets:
  INT_A:
    label: A
  INT_B:
    label: B
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def _set_names(org: Org) -> set[str]:
    return {r["Name"] for r in org.sf.query_all(
        "SELECT Name FROM PermissionSet WHERE Name LIKE 'INT%'")["records"]}


def _refused(org: Org, resource: str) -> None:
    writes = org.writes()
    refused = org.run("apply", "plans/p.json")
    assert refused.exit_code == 1, refused.output
    assert f"the org changed since the plan was made ({resource})" in refused.output
    assert org.writes() == writes


def test_a_set_created_under_the_owned_prefix_after_the_plan_stops_it(org: Org) -> None:
    """The plan never saw INT_Rogue; applying it as if the org were unchanged would
    leave a set the config owns unreviewed (the next plan deletes it unannounced)."""
    org.write("access.yaml", PREFIXED)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    make_set(org.sf, "INT_Rogue")
    _refused(org, "permission_sets.INT_Rogue")


def test_an_owned_set_edited_after_the_plan_stops_it(org: Org) -> None:
    """The reviewer agreed to delete INT_Old as it was; somebody widened it since."""
    org.write("access.yaml", PREFIXED)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    old = one(org.sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Old'")["Id"]
    row = one(org.sf, "SELECT Id FROM ObjectPermissions WHERE ParentId = "
                      f"'{old}' AND SobjectType = 'Invoice__c'")
    org.sf.ObjectPermissions.update(row["Id"], {"PermissionsEdit": True})
    _refused(org, "permission_sets.INT_Old")


def test_a_set_outside_the_prefix_edited_after_the_plan_does_not_stop_it(org: Org) -> None:
    """Sets the config neither lists nor owns are none of the plan's business."""
    org.write("access.yaml", PREFIXED)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    grant(org.sf, make_set(org.sf, "Ops_Set"), "Invoice__c", Read=True)
    applied = org.run("apply", "plans/p.json", "--group-wait", "30")
    assert applied.exit_code == 0, applied.output
    assert _set_names(org) == {"INT_Current"}


@pytest.mark.parametrize(("option", "created"), [
    ("--target", {"INT_A", "INT_Old"}), ("--exclude", {"INT_B", "INT_Old"})])
def test_a_plan_for_some_addresses_applies_as_saved(org: Org, option: str,
                                                   created: set[str]) -> None:
    """The saved plan keeps its selection: applying it proves it against a plan for
    the same addresses, and writes only those."""
    org.write("access.yaml", TWO_SETS)
    planned = org.run("plan", option, "permission_sets.INT_A", "--out", "plans/p.json")
    assert planned.exit_code == 0, planned.output
    applied = org.run("apply", "plans/p.json", "--group-wait", "30")
    assert applied.exit_code == 0, applied.output
    assert _set_names(org) == created


def test_many_moved_resources_are_named_ten_at_a_time() -> None:
    """A plan stale in a dozen places names the first ten, in order, and counts the
    rest, so the refusal stays one readable line."""
    plan = load_plan(FIXTURES / "plans" / "v1" / "psl-implied-through-group.plan.json")
    now = {f"users.u{n:02}": "0" for n in range(12)}
    with pytest.raises(StalePlanError) as refused:
        check_fresh(plan, config_digest=plan.config_digest, org_id=plan.org.org_id,
                    fingerprint_now={**plan.fingerprint, **now})
    named = ", ".join(f"users.u{n:02}" for n in range(10))
    assert str(refused.value) == (f"the org changed since the plan was made ({named} and 2 "
                                  "more); nothing was written. Run `reconciler plan` again "
                                  "and review the new plan")


def test_a_plan_made_for_another_api_version_is_refused(org: Org) -> None:
    """The API version decides what the org's answers mean (and what a write may
    carry): a plan reviewed against one version is not applied under another."""
    org.write("access.yaml", TWO_SETS)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    org.write("access.yaml", 'settings:\n  api_version: "67.0"\n' + TWO_SETS)
    refused = org.run("apply", "plans/p.json")
    assert refused.exit_code == 1, refused.output
    assert "the config changed since the plan was made" in refused.output
    assert _set_names(org) == {"INT_Old"}
